"""timm's epoch/update schedulers (``timm.scheduler``) as pure schedules.

Each function takes the base learning rate first, then the timm class's arguments in
timm's order (less ``optimizer`` and ``initialize``). The returned schedule's value at
``k`` is the rate timm sets with ``scheduler.step(k)`` (``t_in_epochs=True``) or
``scheduler.step_update(k)`` (``t_in_epochs=False``). To drive an epoch schedule per
update, pass ``steps_per_epoch``: update ``k`` then reads epoch ``k // steps_per_epoch``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Annotated

import jax.numpy as jnp

from .._base import Array, Schedule
from .._validate import Count, Flag, Integer, Items, Real, Steps, validated
from ..schedules._common import (
    NonNegativeNumber,
    Number,
    PositiveNumber,
    div,
    float64_log_position,
    power,
)
from ..schedules._hf import cosine_schedule
from ._common import (
    CycleMul,
    NoisePct,
    NoiseRange,
    NoiseStd,
    NoiseType,
    OptionalSteps,
    Seed,
    assemble,
    cycles,
    warmed,
)

DecayT = Annotated[float, Real(low=0.0, low_open=True, schedule=False, concrete=True)]
DecayMilestones = Annotated[Sequence[int], Items(Integer(low=0))]


@validated
def CosineLRScheduler(
    lr: NonNegativeNumber,
    t_initial: Steps,
    lr_min: NonNegativeNumber = 0.0,
    cycle_mul: CycleMul = 1.0,
    cycle_decay: NonNegativeNumber = 1.0,
    cycle_limit: Count = 1,
    warmup_t: Count = 0,
    warmup_lr_init: NonNegativeNumber = 0.0,
    warmup_prefix: Flag = False,
    t_in_epochs: Flag = True,
    noise_range_t: NoiseRange = None,
    noise_pct: NoisePct = 0.67,
    noise_std: NoiseStd = 1.0,
    noise_seed: Seed = 42,
    k_decay: PositiveNumber = 1.0,
    *,
    steps_per_epoch: OptionalSteps = None,
    noise_type: NoiseType = "normal",
) -> Schedule:
    """Cosine decay with restarts, warmup, k-decay and noise (timm's ``CosineLRScheduler``).

    In cycle ``i`` (length ``t_initial * cycle_mul ** i``, at position ``t_curr``):
    ``lr_min + 0.5 * (lr * cycle_decay ** i - lr_min) * (1 + cos(pi * t_curr ** k / t_i ** k))``
    with ``k = k_decay``; ``lr_min`` after ``cycle_limit`` cycles. For ``t < warmup_t`` the
    value is ``warmup_lr_init + t * (lr - warmup_lr_init) / warmup_t``; with
    ``warmup_prefix`` the cosine starts after the warmup, else at ``t = 0``.
    Inside ``noise_range_t`` (a start, or a ``[start, end)`` pair) the value is multiplied
    by ``1 + noise``: a normal of std ``noise_std`` truncated to ``|noise| < noise_pct``
    (``noise_type="normal"``) or uniform in ``[-noise_pct, noise_pct)``, drawn from a JAX
    key of ``noise_seed`` folded with ``t`` (so the draws differ from torch's).

    Args:
      lr: the base learning rate (timm reads it from the optimizer).
      t_initial: length of the first cycle (int >= 1).
      lr_min: the floor, >= 0.
      cycle_mul: growth of each cycle's length, >= 1.
      cycle_decay: factor on each cycle's peak, >= 0.
      cycle_limit: number of cycles (int >= 0).
      warmup_t: warmup length (int >= 0).
      warmup_lr_init: the rate at ``t = 0`` of the warmup.
      warmup_prefix: start the cosine after the warmup.
      t_in_epochs: ``t`` counts epochs (``step``), else updates (``step_update``).
      noise_range_t: None, a start, or a ``[start, end)`` pair where noise applies.
      noise_pct: bound on the relative noise, > 0.
      noise_std: std of the normal noise, > 0.
      noise_seed: seed of the noise.
      k_decay: the k-decay exponent, > 0.
      steps_per_epoch: with ``t_in_epochs=True``, read step ``k`` as epoch
        ``k // steps_per_epoch`` (the rate a timm loop holds through the epoch).
      noise_type: ``"normal"`` or ``"uniform"`` (timm's base-class option).

    Returns:
      A schedule ``t -> float32 rate``.

    Example:
      >>> from jaxsched.timm import CosineLRScheduler
      >>> lr = CosineLRScheduler(0.1, t_initial=10, warmup_t=2, warmup_lr_init=0.01)
      >>> print(lr(1), lr(10))
      0.055 0.0

    References:
      Loshchilov & Hutter, SGDR (arXiv:1608.03983); Zhang & Li, k-decay
      (arXiv:2004.05909); ``timm.scheduler.CosineLRScheduler``.
    """

    rate = cosine_schedule(
        float64_log_position,
        lr,
        t_initial,
        lr_min,
        cycle_mul,
        cycle_decay,
        cycle_limit,
        k_decay,
        warmup_t,
        warmup_lr_init,
        warmup_prefix,
    )
    return assemble(
        rate,
        t_in_epochs=t_in_epochs,
        steps_per_epoch=steps_per_epoch,
        noise=(noise_range_t, noise_pct, noise_std, noise_seed, noise_type),
    )


@validated
def TanhLRScheduler(
    lr: NonNegativeNumber,
    t_initial: Steps,
    lb: Number = -7.0,
    ub: Number = 3.0,
    lr_min: NonNegativeNumber = 0.0,
    cycle_mul: CycleMul = 1.0,
    cycle_decay: NonNegativeNumber = 1.0,
    cycle_limit: Count = 1,
    warmup_t: Count = 0,
    warmup_lr_init: NonNegativeNumber = 0.0,
    warmup_prefix: Flag = False,
    t_in_epochs: Flag = True,
    noise_range_t: NoiseRange = None,
    noise_pct: NoisePct = 0.67,
    noise_std: NoiseStd = 1.0,
    noise_seed: Seed = 42,
    *,
    steps_per_epoch: OptionalSteps = None,
    noise_type: NoiseType = "normal",
) -> Schedule:
    """Hyperbolic-tangent decay with restarts (timm's ``TanhLRScheduler``).

    In cycle ``i`` at progress ``r = t_curr / t_i``:
    ``lr_min + 0.5 * (lr * cycle_decay ** i - lr_min) * (1 - tanh(lb * (1 - r) + ub * r))``;
    ``lr_min`` after ``cycle_limit`` cycles. The warmup line ends at ``lr`` with
    ``warmup_prefix``, else (as in timm) at the tanh value at ``t = warmup_t``. Cycles,
    warmup, time and noise are as in :func:`CosineLRScheduler`.

    Args:
      lr: the base learning rate.
      t_initial: length of the first cycle (int >= 1).
      lb: the tanh argument at the start of a cycle (< ``ub``).
      ub: the tanh argument at the end of a cycle.
      lr_min: the floor, >= 0.
      cycle_mul: growth of each cycle's length, >= 1.
      cycle_decay: factor on each cycle's peak, >= 0.
      cycle_limit: number of cycles (int >= 0).
      warmup_t: warmup length (int >= 0).
      warmup_lr_init: the rate at ``t = 0`` of the warmup.
      warmup_prefix: start the tanh after the warmup.
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
      >>> from jaxsched.timm import TanhLRScheduler
      >>> lr = TanhLRScheduler(1.0, t_initial=10)
      >>> print(lr(0), lr(10))
      0.99999917 0.0

    References:
      Hsueh et al., Stochastic Gradient Descent with Hyperbolic-Tangent Decay
      (arXiv:1806.01593); ``timm.scheduler.TanhLRScheduler``.
    """
    if lb >= ub:
        raise ValueError(f"lb must be below ub, got lb={lb!r}, ub={ub!r}")

    def decayed(t: Array) -> Array:
        on, gamma, t_curr, t_i, _ = cycles(t, t_initial, cycle_mul, cycle_decay, cycle_limit)
        r = div(t_curr, t_i)
        th = jnp.tanh(lb * (1.0 - r) + ub * r)
        return jnp.where(on, lr_min + 0.5 * (lr * gamma - lr_min) * (1.0 - th), lr_min)

    target = lr if warmup_prefix or not warmup_t else decayed(jnp.float32(warmup_t))
    return assemble(
        warmed(decayed, warmup_t, warmup_lr_init, warmup_prefix, target),
        t_in_epochs=t_in_epochs,
        steps_per_epoch=steps_per_epoch,
        noise=(noise_range_t, noise_pct, noise_std, noise_seed, noise_type),
    )


@validated
def PolyLRScheduler(
    lr: NonNegativeNumber,
    t_initial: Steps,
    power: PositiveNumber = 0.5,
    lr_min: NonNegativeNumber = 0.0,
    cycle_mul: CycleMul = 1.0,
    cycle_decay: NonNegativeNumber = 1.0,
    cycle_limit: Count = 1,
    warmup_t: Count = 0,
    warmup_lr_init: NonNegativeNumber = 0.0,
    warmup_prefix: Flag = False,
    t_in_epochs: Flag = True,
    noise_range_t: NoiseRange = None,
    noise_pct: NoisePct = 0.67,
    noise_std: NoiseStd = 1.0,
    noise_seed: Seed = 42,
    k_decay: PositiveNumber = 1.0,
    *,
    steps_per_epoch: OptionalSteps = None,
    noise_type: NoiseType = "normal",
) -> Schedule:
    """Polynomial decay with restarts and k-decay (timm's ``PolyLRScheduler``).

    In cycle ``i``:
    ``lr_min + (lr * cycle_decay ** i - lr_min) * (1 - t_curr ** k / t_i ** k) ** power``;
    ``lr_min`` after ``cycle_limit`` cycles. Cycles, warmup, time and noise are as in
    :func:`CosineLRScheduler`.

    Args:
      lr: the base learning rate.
      t_initial: length of the first cycle (int >= 1).
      power: the polynomial's exponent, > 0.
      lr_min: the floor, >= 0.
      cycle_mul: growth of each cycle's length, >= 1.
      cycle_decay: factor on each cycle's peak, >= 0.
      cycle_limit: number of cycles (int >= 0).
      warmup_t: warmup length (int >= 0).
      warmup_lr_init: the rate at ``t = 0`` of the warmup.
      warmup_prefix: start the decay after the warmup.
      t_in_epochs: ``t`` counts epochs, else updates.
      noise_range_t: None, a start, or a ``[start, end)`` pair where noise applies.
      noise_pct: bound on the relative noise, > 0.
      noise_std: std of the normal noise, > 0.
      noise_seed: seed of the noise.
      k_decay: the k-decay exponent, > 0.
      steps_per_epoch: read step ``k`` as epoch ``k // steps_per_epoch``.
      noise_type: ``"normal"`` or ``"uniform"``.

    Returns:
      A schedule ``t -> float32 rate``.

    Example:
      >>> from jaxsched.timm import PolyLRScheduler
      >>> lr = PolyLRScheduler(1.0, t_initial=4, power=1.0)
      >>> print(lr(1), lr(4))
      0.75 0.0

    References:
      Zhang & Li, k-decay (arXiv:2004.05909); ``timm.scheduler.PolyLRScheduler``.
    """

    def decayed(t: Array) -> Array:
        on, gamma, _, t_i, left = cycles(t, t_initial, cycle_mul, cycle_decay, cycle_limit)
        # 1 - (1 - y)^k with y = left / t_i, from y itself: it is small at a cycle's end.
        # y is 1 at a cycle's start, where the tabled end and t_i may part by an ulp.
        y = jnp.minimum(div(left, t_i), 1.0)
        rest = y if k_decay == 1.0 else -jnp.expm1(k_decay * jnp.log1p(-y))
        poly = jnp.power(rest, power)
        return jnp.where(on, lr_min + (lr * gamma - lr_min) * poly, lr_min)

    return assemble(
        warmed(decayed, warmup_t, warmup_lr_init, warmup_prefix, lr),
        t_in_epochs=t_in_epochs,
        steps_per_epoch=steps_per_epoch,
        noise=(noise_range_t, noise_pct, noise_std, noise_seed, noise_type),
    )


@validated
def StepLRScheduler(
    lr: NonNegativeNumber,
    decay_t: DecayT,
    decay_rate: NonNegativeNumber = 1.0,
    warmup_t: Count = 0,
    warmup_lr_init: NonNegativeNumber = 0.0,
    warmup_prefix: Flag = True,
    t_in_epochs: Flag = True,
    noise_range_t: NoiseRange = None,
    noise_pct: NoisePct = 0.67,
    noise_std: NoiseStd = 1.0,
    noise_seed: Seed = 42,
    *,
    steps_per_epoch: OptionalSteps = None,
    noise_type: NoiseType = "normal",
) -> Schedule:
    """Step decay: ``lr * decay_rate ** (t // decay_t)`` (timm's ``StepLRScheduler``).

    With ``warmup_prefix`` (timm's default here) ``t`` counts from the end of the warmup.
    Warmup, time and noise are as in :func:`CosineLRScheduler`.

    Args:
      lr: the base learning rate.
      decay_t: the interval between decays, > 0.
      decay_rate: factor per interval, >= 0.
      warmup_t: warmup length (int >= 0).
      warmup_lr_init: the rate at ``t = 0`` of the warmup.
      warmup_prefix: count the decay from the end of the warmup.
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
      >>> from jaxsched.timm import StepLRScheduler
      >>> lr = StepLRScheduler(0.1, decay_t=3, decay_rate=0.5)
      >>> print(lr(2), lr(3))
      0.1 0.05

    References:
      ``timm.scheduler.StepLRScheduler``.
    """

    def decayed(t: Array) -> Array:
        return lr * power(decay_rate, jnp.floor(div(t, decay_t)))

    return assemble(
        warmed(decayed, warmup_t, warmup_lr_init, warmup_prefix, lr),
        t_in_epochs=t_in_epochs,
        steps_per_epoch=steps_per_epoch,
        noise=(noise_range_t, noise_pct, noise_std, noise_seed, noise_type),
    )


@validated
def MultiStepLRScheduler(
    lr: NonNegativeNumber,
    decay_t: DecayMilestones,
    decay_rate: NonNegativeNumber = 1.0,
    warmup_t: Count = 0,
    warmup_lr_init: NonNegativeNumber = 0.0,
    warmup_prefix: Flag = True,
    t_in_epochs: Flag = True,
    noise_range_t: NoiseRange = None,
    noise_pct: NoisePct = 0.67,
    noise_std: NoiseStd = 1.0,
    noise_seed: Seed = 42,
    *,
    steps_per_epoch: OptionalSteps = None,
    noise_type: NoiseType = "normal",
) -> Schedule:
    """Decay by ``decay_rate`` at each milestone (timm's ``MultiStepLRScheduler``).

    The value is ``lr * decay_rate ** n`` with ``n`` the number of milestones ``<= t + 1``:
    timm's convention, one step earlier than ``torch.optim.lr_scheduler.MultiStepLR``
    (a milestone of 10 applies at ``t = 9``). With ``warmup_prefix`` (the default here)
    ``t`` counts from the end of the warmup. Warmup, time and noise are as in
    :func:`CosineLRScheduler`.

    Args:
      lr: the base learning rate.
      decay_t: the milestones, non-decreasing ints >= 0.
      decay_rate: factor per milestone, >= 0.
      warmup_t: warmup length (int >= 0).
      warmup_lr_init: the rate at ``t = 0`` of the warmup.
      warmup_prefix: count the milestones from the end of the warmup.
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
      >>> from jaxsched.timm import MultiStepLRScheduler
      >>> lr = MultiStepLRScheduler(0.1, decay_t=[3, 6], decay_rate=0.1)
      >>> print(lr(1), lr(2), lr(5))
      0.1 0.01 0.001

    References:
      ``timm.scheduler.MultiStepLRScheduler``.
    """
    if any(b < a for a, b in itertools.pairwise(decay_t)):
        raise ValueError(f"decay_t must be non-decreasing, got {list(decay_t)!r}")
    milestones = jnp.asarray(list(decay_t), jnp.float32)

    def decayed(t: Array) -> Array:
        n = jnp.sum(milestones <= t + 1.0).astype(jnp.float32)
        return lr * power(decay_rate, n)

    return assemble(
        warmed(decayed, warmup_t, warmup_lr_init, warmup_prefix, lr),
        t_in_epochs=t_in_epochs,
        steps_per_epoch=steps_per_epoch,
        noise=(noise_range_t, noise_pct, noise_std, noise_seed, noise_type),
    )
