"""Hugging Face ``transformers`` and timm schedules.

HF expresses its schedules as a multiplier on the optimizer's learning rate; here the
learning rate is the first argument (``peak_value``) and the schedule returns the
product. Warmup is ``peak * step / max(1, warmup_steps)`` everywhere in HF.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

import jax.numpy as jnp

from .._base import Array, Schedule
from .._validate import Choice, Count, Flag, Integer, Real, validated
from ._combine import linear_warmup
from ._common import (
    Fraction,
    NonNegativeNumber,
    OptionalCount,
    OptionalSteps,
    PositiveNumber,
    as_step,
    as_value,
    cycle_position,
    div,
    power,
)

# The rising and falling curves of warmup_stable_decay.
Shape = Annotated[str, Choice(("linear", "cosine", "1-sqrt"))]


@validated
def warmup_cosine(
    peak_value: NonNegativeNumber,
    warmup_steps: Count,
    total_steps: Count,
    min_value: NonNegativeNumber = 0.0,
    num_cycles: NonNegativeNumber = 0.5,
) -> Schedule:
    """Linear warmup from 0, then cosine from ``peak_value`` towards ``min_value``.

    After the warmup, with ``p = (step - warmup_steps) / max(1, total_steps -
    warmup_steps)``: ``min_value + (peak_value - min_value) * 0.5 * (1 + cos(2 pi
    num_cycles p))``. As in HF the cosine is not clamped at ``total_steps``: with
    ``num_cycles=0.5`` it rises again afterwards (use :func:`cosine_decay` under
    :func:`linear_warmup` for a clamped decay).

    Args:
      peak_value: value at the end of the warmup (>= 0).
      warmup_steps: length of the warmup (an int >= 0).
      total_steps: step where the cosine reaches ``min_value`` for ``num_cycles=0.5``
        (an int >= warmup_steps).
      min_value: the floor of the cosine (>= 0).
      num_cycles: number of cosine waves over ``total_steps - warmup_steps`` (>= 0).

    Returns:
      A schedule ``step -> float32 value``.

    Raises:
      ValueError: if ``total_steps < warmup_steps``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.warmup_cosine(0.1, warmup_steps=10, total_steps=110)
      >>> print(lr(5), lr(10), lr(60), lr(110))
      0.05 0.1 0.049999997 0.0

    References:
      HF ``get_cosine_schedule_with_warmup`` (``min_value=0``),
      ``get_cosine_with_min_lr_schedule_with_warmup`` (``min_value=min_lr`` or
      ``lr * min_lr_rate``) and, with ``warmup_steps=0``,
      ``torch.optim.lr_scheduler.CosineAnnealingLR`` (``total_steps=T_max``,
      ``min_value=eta_min``).
    """
    if total_steps < warmup_steps:
        raise ValueError(
            f"total_steps must be an integer >= warmup_steps={warmup_steps}, got {total_steps}"
        )
    span = max(1, total_steps - warmup_steps)

    def decay(t: Array) -> Array:
        # The phase 2 num_cycles t is reduced modulo 2 span before the cosine (exactly, for
        # whole or half cycles), so steps long past the end keep an accurate argument.
        phase = jnp.mod(2.0 * num_cycles * t, 2.0 * span)
        factor = 0.5 * (1.0 + jnp.cos(math.pi * div(phase, span)))
        return min_value + (peak_value - min_value) * factor

    return linear_warmup(decay, warmup_steps)


@validated
def inverse_sqrt(
    peak_value: NonNegativeNumber, warmup_steps: Count, timescale: OptionalSteps = None
) -> Schedule:
    """Linear warmup from 0, then ``peak_value / sqrt((step - warmup + timescale) / timescale)``.

    Args:
      peak_value: value at the end of the warmup (>= 0).
      warmup_steps: length of the warmup (an int >= 0).
      timescale: decay time scale (an int >= 1); default ``warmup_steps``, or 10000
        without warmup.

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.inverse_sqrt(0.1, warmup_steps=100)
      >>> print(lr(50), lr(100), lr(400))
      0.05 0.1 0.05

    References:
      Vaswani et al., "Attention Is All You Need" (2017); HF ``get_inverse_sqrt_schedule``.
    """
    if timescale is None:
        timescale = warmup_steps or 10_000

    def decay(t: Array) -> Array:
        return peak_value / jnp.sqrt(div(t + timescale, timescale))

    return linear_warmup(decay, warmup_steps)


def _warmup_shape(kind: str, p: Array) -> Array:
    """Rising curve of a warmup-stable-decay warmup, 0 -> 1 over ``p`` in [0, 1]."""
    if kind == "linear":
        return p
    if kind == "cosine":
        return 0.5 * (1.0 - jnp.cos(math.pi * p))
    return 1.0 - jnp.sqrt(1.0 - p)


def _decay_shape(kind: str, p: Array, num_cycles: Any) -> Array:
    """Falling curve of a warmup-stable-decay decay, 1 -> 0 over ``p`` in [0, 1]."""
    if kind == "linear":
        return 1.0 - p
    if kind == "cosine":
        return 0.5 * (1.0 + jnp.cos(math.pi * num_cycles * 2.0 * p))
    return 1.0 - jnp.sqrt(p)


@validated
def warmup_stable_decay(
    peak_value: NonNegativeNumber,
    warmup_steps: Count,
    decay_steps: Count,
    total_steps: OptionalCount = None,
    stable_steps: OptionalCount = None,
    warmup_type: Shape = "linear",
    decay_type: Shape = "cosine",
    min_lr_ratio: Fraction = 0.0,
    num_cycles: NonNegativeNumber = 0.5,
) -> Schedule:
    """Warmup, a stable plateau at ``peak_value``, then a decay (WSD).

    With ``r = min_lr_ratio`` every phase is ``peak_value * (f * (1 - r) + r)``:
    warmup ``f`` = ``p``, ``0.5 (1 - cos(pi p))`` or ``1 - sqrt(1 - p)`` with ``p =
    step / max(1, warmup_steps)`` (so the warmup starts at ``r * peak_value``, as in
    HF); then ``f = 1`` for ``stable_steps``; then decay ``f`` = ``1 - p``,
    ``0.5 (1 + cos(2 pi num_cycles p))`` or ``1 - sqrt(p)`` over ``decay_steps``; then
    ``r * peak_value``.

    Args:
      peak_value: the plateau value (>= 0).
      warmup_steps, decay_steps: phase lengths (ints >= 0).
      total_steps: total length; the plateau is ``total - warmup - decay`` steps.
      stable_steps: plateau length (an int >= 0); give this or ``total_steps`` (if both
        are given they must add up; HF would silently use ``stable_steps``).
      warmup_type, decay_type: 'linear', 'cosine' or '1-sqrt'.
      min_lr_ratio: the floor as a fraction of ``peak_value``, in [0, 1].
      num_cycles: cosine waves over the decay (>= 0).

    Returns:
      A schedule ``step -> float32 value``.

    Raises:
      ValueError: if neither ``total_steps`` nor ``stable_steps`` is given, if
        ``total_steps < warmup_steps + decay_steps``, or if the phases do not add up.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.warmup_stable_decay(0.1, 10, 20, stable_steps=70, decay_type="linear")
      >>> print(lr(5), lr(50), lr(90), lr(200))
      0.05 0.1 0.05 0.0

    References:
      Hu et al., "MiniCPM" (2024); HF ``get_wsd_schedule``.
    """
    if stable_steps is None and total_steps is None:
        raise ValueError("give total_steps or stable_steps (the length of the plateau)")
    if total_steps is not None and total_steps < warmup_steps + decay_steps:
        raise ValueError(
            "total_steps must be an integer >= warmup_steps + decay_steps = "
            f"{warmup_steps + decay_steps}, got {total_steps}"
        )
    if stable_steps is None:
        stable_steps = total_steps - warmup_steps - decay_steps
    if total_steps is not None and warmup_steps + stable_steps + decay_steps != total_steps:
        raise ValueError(
            f"warmup_steps + stable_steps + decay_steps must equal total_steps={total_steps}, "
            f"got {warmup_steps} + {stable_steps} + {decay_steps}"
        )
    decay_start = warmup_steps + stable_steps

    def schedule(step: Any) -> Array:
        s = as_step(step)
        r = min_lr_ratio
        # Clipped so that the branches jnp.where drops stay finite (and so do gradients).
        p_up = jnp.clip(div(s, max(1, warmup_steps)), 0.0, 1.0)
        up = _warmup_shape(warmup_type, p_up) * (1.0 - r) + r
        p_down = jnp.clip(div(s - decay_start, max(1, decay_steps)), 0.0, 1.0)
        down = _decay_shape(decay_type, p_down, num_cycles) * (1.0 - r) + r
        factor = jnp.where(
            s < warmup_steps,
            jnp.maximum(0.0, up),
            jnp.where(
                s < decay_start,
                1.0,
                jnp.where(s < decay_start + decay_steps, jnp.maximum(0.0, down), r),
            ),
        )
        return as_value(peak_value * factor)

    return schedule


@validated
def cosine(
    peak_value: NonNegativeNumber,
    cycle_steps: Annotated[float, Real(low=0.0, low_open=True, schedule=False, concrete=True)],
    min_value: NonNegativeNumber = 0.0,
    cycle_mul: Annotated[float, Real(low=1.0, schedule=False, concrete=True)] = 1.0,
    cycle_decay: NonNegativeNumber = 1.0,
    cycle_limit: Annotated[int | None, Integer(low=1, optional=True)] = 1,
    k_decay: PositiveNumber = 1.0,
    warmup_steps: Count = 0,
    warmup_init_value: NonNegativeNumber = 0.0,
    warmup_prefix: Flag = False,
) -> Schedule:
    """Cosine with restarts, cycle growth and decay, k-decay and warmup (timm's SGDR).

    Cycle ``i`` lasts ``cycle_steps * cycle_mul**i`` steps and peaks at ``peak_value *
    cycle_decay**i``; at ``t`` steps into a cycle of length ``T_i`` the value is
    ``min + 0.5 (peak_i - min) (1 + cos(pi t**k / T_i**k))``. After ``cycle_limit``
    cycles it stays at ``min_value`` (``None``: no limit). During the warmup the value is
    ``warmup_init_value + step * (peak_value - warmup_init_value) / warmup_steps``; the
    cosine counts steps from 0 (overlapping the warmup), or from the end of the warmup
    with ``warmup_prefix``. Cycle boundaries are exact (timm takes a float log).

    Args:
      peak_value: peak of the first cycle (>= 0).
      cycle_steps: length of the first cycle (> 0; may be fractional).
      min_value: the floor (>= 0).
      cycle_mul: cycle length growth (>= 1).
      cycle_decay: peak factor per cycle (>= 0).
      cycle_limit: number of cycles (an int >= 1) or None.
      k_decay: the k of k-decay (> 0).
      warmup_steps: length of the warmup (an int >= 0).
      warmup_init_value: value at step 0 with warmup (>= 0).
      warmup_prefix: start the cosine after the warmup.

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.cosine(0.1, cycle_steps=10, cycle_decay=0.5, cycle_limit=None)
      >>> print(lr(0), lr(5), lr(10), lr(15))
      0.1 0.049999997 0.05 0.024999999

    References:
      Loshchilov & Hutter, "SGDR" (2017); Zhang & Li, "k-decay" (2020); timm
      ``CosineLRScheduler`` (``t_initial=cycle_steps``, ``lr_min=min_value``,
      ``warmup_t=warmup_steps``, ``warmup_lr_init=warmup_init_value``, no noise) and,
      with ``cycle_limit=None``, ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``.
    """
    return cosine_schedule(
        cycle_position,
        peak_value,
        cycle_steps,
        min_value,
        cycle_mul,
        cycle_decay,
        cycle_limit,
        k_decay,
        warmup_steps,
        warmup_init_value,
        warmup_prefix,
    )


def cosine_schedule(
    position: Callable[[Array, float, float], tuple[Array, Array, Array]],
    peak_value: Any,
    cycle_steps: float,
    min_value: Any,
    cycle_mul: float,
    cycle_decay: Any,
    cycle_limit: int | None,
    k_decay: Any,
    warmup_steps: int,
    warmup_init_value: Any,
    warmup_prefix: bool,
) -> Schedule:
    """:func:`cosine` (arguments checked) with the cycles found by ``position``: the exact
    :func:`cycle_position`, or timm's float64 log (``jaxsched.timm``)."""
    # Python floats: they shape the computation (position branches on them).
    cycle_steps, cycle_mul = float(cycle_steps), float(cycle_mul)

    def schedule(step: Any) -> Array:
        s = as_step(step)
        t = jnp.maximum(s - warmup_steps, 0.0) if warmup_prefix else s
        i, t_cur, length = position(t, cycle_steps, cycle_mul)
        peak = peak_value * power(cycle_decay, i)
        fraction = jnp.power(t_cur / length, k_decay)
        value = min_value + 0.5 * (peak - min_value) * (1.0 + jnp.cos(math.pi * fraction))
        if cycle_limit is not None:
            value = jnp.where(i < cycle_limit, value, min_value)
        if warmup_steps:
            rate = (peak_value - warmup_init_value) / warmup_steps
            value = jnp.where(s < warmup_steps, warmup_init_value + s * rate, value)
        return as_value(value)

    return schedule


__all__ = ["cosine", "inverse_sqrt", "warmup_cosine", "warmup_stable_decay"]
