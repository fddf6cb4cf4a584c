"""What timm's ``Scheduler`` base class adds to every schedule: time, warmup and noise.

timm computes a rate from the epoch (or update) count ``t``, replaces it by a linear
warmup for ``t < warmup_t`` and multiplies it by ``1 + noise`` inside ``noise_range_t``.
:func:`assemble` does the same on a traced step, around a ``decayed(t)`` rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import jax
import jax.numpy as jnp
import numpy as np

from .._base import Array, Schedule
from .._validate import Choice, Either, Integer, Items, Real
from ..schedules._common import (
    as_step,
    as_value,
    div,
    float64_cycle_starts,
    float64_log_position,
    power,
)

# timm's noise range: None (no noise), a start (noise from it on) or a [start, end) pair.
NoiseRange = Annotated[
    Any,
    Either(
        (
            Real(low=0.0, schedule=False, concrete=True, optional=True),
            Items(Real(low=0.0, schedule=False, concrete=True), length=2),
        )
    ),
]
NoiseType = Annotated[str, Choice(("normal", "uniform"))]
# timm's rejection sampler never ends for noise_pct = 0, so the bound must be positive.
NoisePct = Annotated[float, Real(low=0.0, low_open=True, schedule=False, concrete=True)]
NoiseStd = Annotated[float, Real(low=0.0, low_open=True, schedule=False, concrete=True)]
Seed = Annotated[int, Integer()]
OptionalSteps = Annotated[int | None, Integer(low=1, optional=True)]
# timm's cycle index is log(1 - t / t_initial * (1 - cycle_mul)) / log(cycle_mul), which
# leaves the log's domain for cycle_mul < 1 once the shrinking cycles are used up.
CycleMul = Annotated[float, Real(low=1.0, schedule=False, concrete=True)]


def cycles(
    t: Array, t_initial: int, cycle_mul: float, cycle_decay: float, cycle_limit: int
) -> tuple[Array, Array, Array, Array, Array]:
    """``(in_cycle, gamma, t_curr, t_i, left)``: timm's restart bookkeeping at ``t >= 0``.

    ``in_cycle`` is False once ``cycle_limit`` cycles are over (timm then holds
    ``lr_min``); ``gamma = cycle_decay ** i`` scales cycle ``i``'s peak. The cycle index
    is timm's, also where its float64 log starts a cycle a step late. ``left`` is
    ``t_i - t_curr`` (>= 0) to float32 precision of its own size, from the cycle's
    float64 end (see :func:`_cycle_ends`): near a cycle's end the float32 difference of
    ``t_i`` and ``t_curr`` keeps few of its digits, and ``left ** power`` with
    ``power < 1`` magnifies their error.
    """
    i, t_curr, t_i = float64_log_position(t, float(t_initial), float(cycle_mul))
    hi, lo = _cycle_ends(float(t_initial), float(cycle_mul), cycle_limit)
    left = t_i - t_curr
    if hi.size:
        n = jnp.clip(i, 0, hi.size - 1).astype(jnp.int32)
        tabled = (jnp.asarray(hi)[n] - t) + jnp.asarray(lo)[n]
        left = jnp.where(i < hi.size, tabled, left)
    return i < cycle_limit, power(cycle_decay, i), t_curr, t_i, jnp.maximum(left, 0.0)


def _cycle_ends(first: float, mul: float, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """The float64 ends of the first cycles (the next cycles' starts) as float32 pairs
    ``hi + lo``: up to ``limit`` cycles and at most 4096, while the ends are under 2^24
    (where float32 steps are exact)."""
    ends = float64_cycle_starts(first, mul, min(limit, 4096) + 1)[1:]
    ends = ends[ends <= 2**24]
    hi = ends.astype(np.float32)
    return hi, (ends - hi).astype(np.float32)


def noisy(
    value: Array,
    t: Array,
    noise_range_t: Any,
    noise_pct: float,
    noise_std: float,
    noise_seed: int,
    noise_type: str,
) -> Array:
    """``value * (1 + noise)`` where ``t`` is inside ``noise_range_t``, else ``value``."""
    if noise_range_t is None:
        return value
    if isinstance(noise_range_t, (list, tuple)):
        on = (t >= noise_range_t[0]) & (t < noise_range_t[1])
    else:
        on = t >= noise_range_t
    # timm seeds a torch generator with noise_seed + t; a key folded with t plays its part.
    key = jax.random.fold_in(jax.random.key(noise_seed), t.astype(jnp.int32))
    if noise_type == "normal":
        # timm redraws N(0, 1) * noise_std until |noise| < noise_pct: a truncated normal.
        bound = noise_pct / noise_std
        noise = jax.random.truncated_normal(key, -bound, bound) * noise_std
    else:
        noise = (2.0 * jax.random.uniform(key) - 1.0) * noise_pct
    return jnp.where(on, value + value * noise, value)


def warmed(
    decayed: Callable[[Array], Array],
    warmup_t: int,
    warmup_lr_init: float,
    warmup_prefix: bool,
    warmup_target: Any,
) -> Callable[[Array], Array]:
    """``decayed`` after timm's linear warmup from ``warmup_lr_init`` to ``warmup_target``.

    With ``warmup_prefix`` the decay counts from the end of the warmup, else from 0.
    """

    def rate(t: Array) -> Array:
        value = decayed(jnp.maximum(t - warmup_t, 0.0) if warmup_prefix else t)
        if not warmup_t:
            return value
        slope = div(jnp.asarray(warmup_target, jnp.float32) - warmup_lr_init, warmup_t)
        return jnp.where(t < warmup_t, warmup_lr_init + t * slope, value)

    return rate


def assemble(
    rate: Callable[[Array], Array],
    *,
    t_in_epochs: bool,
    steps_per_epoch: int | None,
    noise: tuple,
) -> Schedule:
    """The schedule of a timm scheduler whose rate at epoch (update) ``t`` is ``rate(t)``.

    ``noise`` is ``(noise_range_t, noise_pct, noise_std, noise_seed, noise_type)``.
    """
    if steps_per_epoch is not None and not t_in_epochs:
        raise ValueError(
            "steps_per_epoch converts updates to epochs, so it needs t_in_epochs=True, "
            "got t_in_epochs=False"
        )

    def schedule(step: Any) -> Array:
        t = as_step(step)
        if steps_per_epoch is not None:
            t = jnp.floor(div(t, steps_per_epoch))
        return as_value(noisy(rate(t), t, *noise))

    return schedule
