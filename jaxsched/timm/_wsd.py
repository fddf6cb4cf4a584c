"""timm's warmup-stable-decay scheduler (``timm.scheduler.WSDLRScheduler``)."""

from __future__ import annotations

import math
from typing import Annotated, Any

import jax.numpy as jnp

from .._base import Array, Schedule
from .._validate import CallableSpec, Choice, Count, Either, Flag, Real, Steps, validated
from ..schedules._common import NonNegativeNumber, PositiveNumber, div, power
from ._common import (
    NoisePct,
    NoiseRange,
    NoiseStd,
    NoiseType,
    OptionalSteps,
    Seed,
    assemble,
    warmed,
)

StableFn = Annotated[str, Choice(("constant", "rsqrt", "power"))]
DecayFn = Annotated[
    Any, Either((Choice(("linear", "1-sqrt", "cosine", "power", "exp")), CallableSpec()))
]
DecayRatio = Annotated[float, Real(0.0, 1.0, low_open=True, high_open=True, schedule=False)]
Timescale = Annotated[
    float | None, Real(low=0.0, low_open=True, schedule=False, optional=True, concrete=True)
]


def _decay(decay_fn: Any, frac: Array, decay_power: float, decay_ratio: float) -> Array:
    """timm's decay factor at progress ``frac`` in [0, 1], from 1 down to 0."""
    if callable(decay_fn):
        return jnp.asarray(decay_fn(frac), jnp.float32)
    if decay_fn == "linear":
        return 1.0 - frac
    if decay_fn == "1-sqrt":
        return 1.0 - jnp.sqrt(frac)
    if decay_fn == "cosine":
        return 0.5 * (1.0 + jnp.cos(math.pi * frac))
    if decay_fn == "power":
        return 1.0 - jnp.power(frac, decay_power)
    # "exp": decay_ratio ** frac reaches decay_ratio at frac = 1, normalized to reach 0.
    return div(power(decay_ratio, frac) - decay_ratio, 1.0 - decay_ratio)


@validated
def WSDLRScheduler(
    lr: NonNegativeNumber,
    t_initial: Steps,
    decay_t: Steps,
    lr_min: NonNegativeNumber = 0.0,
    stable_fn: StableFn = "constant",
    stable_timescale: Timescale = None,
    stable_power: PositiveNumber = 0.5,
    decay_fn: DecayFn = "1-sqrt",
    decay_power: PositiveNumber = 0.5,
    decay_ratio: DecayRatio = 0.1,
    warmup_t: Count = 0,
    warmup_lr_init: NonNegativeNumber = 0.0,
    t_in_epochs: Flag = True,
    noise_range_t: NoiseRange = None,
    noise_pct: NoisePct = 0.67,
    noise_std: NoiseStd = 1.0,
    noise_seed: Seed = 42,
    *,
    steps_per_epoch: OptionalSteps = None,
    noise_type: NoiseType = "normal",
) -> Schedule:
    """Warmup, stable phase, decay to ``lr_min`` (timm's ``WSDLRScheduler``).

    After a linear warmup of ``warmup_t`` (always a prefix), at ``t_s = t - warmup_t``:
    ``stable = max(lr * s(t_s), lr_min)`` with ``s = 1`` (``"constant"``),
    ``(1 + t_s / stable_timescale) ** -0.5`` (``"rsqrt"``) or ``** -stable_power``
    (``"power"``); over the last ``decay_t`` of ``t_initial`` the value is
    ``lr_min + (stable - lr_min) * d(frac)`` with ``d`` one of ``"linear"`` (``1 - f``),
    ``"1-sqrt"``, ``"cosine"``, ``"power"`` (``1 - f ** decay_power``), ``"exp"``
    (``(decay_ratio ** f - decay_ratio) / (1 - decay_ratio)``) or a callable of a jax
    array. After ``warmup_t + t_initial`` it holds ``lr_min``. Time and noise are as in
    :func:`CosineLRScheduler`.

    Args:
      lr: the base learning rate.
      t_initial: length of the stable and decay phases (int >= 1).
      decay_t: length of the decay phase, in ``[1, t_initial]``.
      lr_min: the final rate, >= 0.
      stable_fn: ``"constant"``, ``"rsqrt"`` or ``"power"``.
      stable_timescale: timescale of a decaying stable phase (default ``warmup_t``), > 0.
      stable_power: exponent of the ``"power"`` stable phase, > 0.
      decay_fn: the decay shape (a name above or a jax-traceable callable).
      decay_power: exponent of the ``"power"`` decay, > 0.
      decay_ratio: the ``"exp"`` decay's ratio, in (0, 1).
      warmup_t: warmup length (int >= 0).
      warmup_lr_init: the rate at ``t = 0`` of the warmup.
      t_in_epochs: ``t`` counts epochs, else updates.
      noise_range_t: None, a start, or a ``[start, end)`` pair where noise applies.
      noise_pct: bound on the relative noise, > 0.
      noise_std: std of the normal noise, > 0.
      noise_seed: seed of the noise.
      steps_per_epoch: read step ``k`` as epoch ``k // steps_per_epoch``.
      noise_type: ``"normal"`` or ``"uniform"``.

    Returns:
      A schedule ``t -> float32 rate``.

    Example:
      >>> from jaxsched.timm import WSDLRScheduler
      >>> lr = WSDLRScheduler(1.0, t_initial=10, decay_t=4, decay_fn="linear")
      >>> print(lr(5), lr(8), lr(10))
      1.0 0.5 0.0

    References:
      Hu et al., MiniCPM (arXiv:2404.06395); Hägele et al. (arXiv:2405.18392);
      ``timm.scheduler.WSDLRScheduler``.
    """
    if decay_t > t_initial:
        raise ValueError(f"decay_t must be in [1, t_initial={t_initial}], got {decay_t}")
    if stable_fn != "constant":
        stable_timescale = warmup_t if stable_timescale is None else stable_timescale
        if stable_timescale <= 0:
            raise ValueError(
                f"stable_fn={stable_fn!r} needs stable_timescale > 0; it defaults to "
                f"warmup_t ({warmup_t}), so set it when there is no warmup"
            )
    stable_exponent = 0.5 if stable_fn == "rsqrt" else stable_power

    def decayed(t_s: Array) -> Array:
        stable = lr * jnp.ones_like(t_s)
        if stable_fn != "constant":
            stable = lr * jnp.power(1.0 + div(t_s, stable_timescale), -stable_exponent)
        stable = jnp.maximum(stable, lr_min)
        t_decay = t_s - (t_initial - decay_t)
        frac = jnp.clip(div(t_decay, decay_t), 0.0, 1.0)
        cooled = lr_min + (stable - lr_min) * _decay(decay_fn, frac, decay_power, decay_ratio)
        return jnp.where(t_decay <= 0, stable, cooled)

    return assemble(
        warmed(decayed, warmup_t, warmup_lr_init, True, lr),
        t_in_epochs=t_in_epochs,
        steps_per_epoch=steps_per_epoch,
        noise=(noise_range_t, noise_pct, noise_std, noise_seed, noise_type),
    )
