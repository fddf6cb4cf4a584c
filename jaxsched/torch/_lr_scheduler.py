"""The schedules of :mod:`jaxsched.torch.lr_scheduler`, under torch's names (the cycling
ones are in ``_lr_cycles``).

They live here so that the public module holds nothing but the schedules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import jax.numpy as jnp

from .._base import Array, Schedule
from .._validate import CallableSpec, Count, Integer, Items, Real, Steps, validated
from ..schedules import (
    cosine,
    join,
    multiplicative,
    multistep_decay,
    polynomial_decay,
    step_decay,
    warmup_cosine,
)
from ..schedules._common import (
    Fraction,
    Function,
    Milestones,
    NonNegativeNumber,
    PositiveNumber,
    as_step,
    as_value,
)

# Schedules combined by SequentialLR and ChainedScheduler: at least one, each callable.
Schedulers = Annotated[Sequence[Schedule], Items(CallableSpec(), min_length=1)]
# SequentialLR's milestones: steps, strictly increasing.
SequentialMilestones = Annotated[Sequence[int], Items(Integer(low=0), increasing=True)]


@validated
def LambdaLR(lr: NonNegativeNumber, lr_lambda: Function) -> Schedule:
    """``lr * lr_lambda(step)``.

    Args:
      lr: base learning rate (>= 0).
      lr_lambda: jax-traceable ``step -> factor``; it receives the step as a float32 array
        (torch passes a Python int), so write ``0.95 ** k`` or ``jnp.where(k < 10, ...)``
        rather than Python ``if``.

    Returns:
      A schedule ``step -> float32 learning rate``.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> lr = lr_scheduler.LambdaLR(0.1, lambda k: 1.0 / (1.0 + k))
      >>> print(lr(0), lr(1), lr(3))
      0.1 0.05 0.025

    References:
      ``torch.optim.lr_scheduler.LambdaLR``.
    """

    def schedule(step: Any) -> Array:
        return as_value(lr * lr_lambda(as_step(step)))

    return schedule


@validated
def MultiplicativeLR(
    lr: NonNegativeNumber, lr_lambda: Function, horizon: Count = 10_000
) -> Schedule:
    """``lr * prod(lr_lambda(i) for i in 1..step)``.

    Args:
      lr: base learning rate (>= 0).
      lr_lambda: jax-traceable ``i -> factor`` (gets ``i`` as a float array).
      horizon: steps precomputed in float64 at construction (not a torch argument); see
        :func:`jaxsched.multiplicative` for what happens past it.

    Returns:
      A schedule ``step -> float32 learning rate``.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> lr = lr_scheduler.MultiplicativeLR(0.1, lambda i: 0.5 + 0.0 * i, horizon=10)
      >>> print(lr(0), lr(2))
      0.1 0.025

    References:
      ``torch.optim.lr_scheduler.MultiplicativeLR``.
    """
    return multiplicative(lr, lr_lambda, horizon)


@validated
def StepLR(lr: NonNegativeNumber, step_size: Steps, gamma: NonNegativeNumber = 0.1) -> Schedule:
    """``lr * gamma ** (step // step_size)``.

    Args:
      lr: base learning rate (>= 0).
      step_size: steps between decays (an int >= 1).
      gamma: factor per decay (>= 0).

    Returns:
      A schedule ``step -> float32 learning rate``; see :func:`jaxsched.step_decay`.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> lr = lr_scheduler.StepLR(0.1, step_size=30, gamma=0.5)
      >>> print(lr(29), lr(30))
      0.1 0.05

    References:
      ``torch.optim.lr_scheduler.StepLR``.
    """
    return step_decay(lr, step_size, gamma)


@validated
def MultiStepLR(
    lr: NonNegativeNumber, milestones: Milestones, gamma: NonNegativeNumber = 0.1
) -> Schedule:
    """``lr * gamma ** bisect_right(sorted(milestones), step)``.

    Args:
      lr: base learning rate (>= 0).
      milestones: steps (ints >= 0) where ``gamma`` applies; repeated milestones stack.
      gamma: factor per milestone (>= 0).

    Returns:
      A schedule ``step -> float32 learning rate``; see :func:`jaxsched.multistep_decay`.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> lr = lr_scheduler.MultiStepLR(0.1, milestones=[10, 10], gamma=0.5)
      >>> print(lr(9), lr(10))
      0.1 0.025

    References:
      ``torch.optim.lr_scheduler.MultiStepLR``.
    """
    return multistep_decay(lr, milestones, gamma)


@validated
def ConstantLR(
    lr: NonNegativeNumber, factor: Fraction = 1.0 / 3, total_iters: Steps = 5
) -> Schedule:
    """``lr * factor`` for ``step < total_iters``, then ``lr``.

    Args:
      lr: base learning rate (>= 0).
      factor: the factor, in [0, 1].
      total_iters: steps at the reduced rate (an int >= 1).

    Returns:
      A schedule ``step -> float32 learning rate``.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> lr = lr_scheduler.ConstantLR(0.1, factor=0.5, total_iters=4)
      >>> print(lr(3), lr(4))
      0.05 0.1

    References:
      ``torch.optim.lr_scheduler.ConstantLR``.
    """

    def schedule(step: Any) -> Array:
        return as_value(lr * jnp.where(as_step(step) < total_iters, factor, 1.0))

    return schedule


@validated
def LinearLR(
    lr: NonNegativeNumber,
    start_factor: Annotated[float, Real(0.0, 1.0, low_open=True, schedule=False)] = 1.0 / 3,
    end_factor: Fraction = 1.0,
    total_iters: Steps = 5,
) -> Schedule:
    """``lr * (start + (end - start) * min(step, total_iters) / total_iters)``.

    Args:
      lr: base learning rate (>= 0).
      start_factor: factor at step 0, in (0, 1].
      end_factor: factor from ``total_iters`` on, in [0, 1].
      total_iters: length of the ramp (an int >= 1).

    Returns:
      A schedule ``step -> float32 learning rate``.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> lr = lr_scheduler.LinearLR(0.1, start_factor=0.5, total_iters=10)
      >>> print(lr(0), lr(10))
      0.05 0.1

    References:
      ``torch.optim.lr_scheduler.LinearLR``.
    """
    return polynomial_decay(lr * start_factor, total_iters, lr * end_factor, power=1.0)


@validated
def ExponentialLR(lr: NonNegativeNumber, gamma: NonNegativeNumber) -> Schedule:
    """``lr * gamma ** step``.

    Args:
      lr: base learning rate (>= 0).
      gamma: factor per step (>= 0).

    Returns:
      A schedule ``step -> float32 learning rate``.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> lr = lr_scheduler.ExponentialLR(0.1, gamma=0.5)
      >>> print(lr(2))
      0.025

    References:
      ``torch.optim.lr_scheduler.ExponentialLR``.
    """
    return step_decay(lr, 1, gamma)


@validated
def PolynomialLR(
    lr: NonNegativeNumber, total_iters: Steps = 5, power: NonNegativeNumber = 1.0
) -> Schedule:
    """``lr * (1 - min(step, total_iters) / total_iters) ** power``.

    Args:
      lr: base learning rate (>= 0).
      total_iters: steps until the rate reaches 0 (an int >= 1).
      power: exponent (>= 0).

    Returns:
      A schedule ``step -> float32 learning rate``.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> lr = lr_scheduler.PolynomialLR(0.1, total_iters=10, power=2.0)
      >>> print(lr(5), lr(10))
      0.025 0.0

    References:
      ``torch.optim.lr_scheduler.PolynomialLR``.
    """
    return polynomial_decay(lr, total_iters, 0.0, power)


@validated
def CosineAnnealingLR(
    lr: NonNegativeNumber, T_max: Steps, eta_min: NonNegativeNumber = 0.0
) -> Schedule:
    """``eta_min + (lr - eta_min) * (1 + cos(pi * step / T_max)) / 2``, periodic past ``T_max``.

    torch computes this by a recursion that, past ``T_max``, climbs back up along the same
    cosine (it does not hold ``eta_min``); the closed form here gives the same values
    (torch's recursion stays within 1e-12 relative of it over 1000 steps).

    Args:
      lr: base learning rate (>= 0).
      T_max: half period (an int >= 1).
      eta_min: the minimum (>= 0).

    Returns:
      A schedule ``step -> float32 learning rate``; see :func:`jaxsched.warmup_cosine`.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> lr = lr_scheduler.CosineAnnealingLR(0.1, T_max=100)
      >>> print(lr(50), lr(100), lr(150))
      0.049999997 0.0 0.05

    References:
      Loshchilov & Hutter, "SGDR" (2017); ``torch.optim.lr_scheduler.CosineAnnealingLR``.
    """
    return warmup_cosine(lr, 0, T_max, min_value=eta_min)


@validated
def CosineAnnealingWarmRestarts(
    lr: NonNegativeNumber, T_0: Steps, T_mult: Steps = 1, eta_min: NonNegativeNumber = 0.0
) -> Schedule:
    """Cosine from ``lr`` to ``eta_min`` over ``T_0 * T_mult**i`` steps, restarting each time.

    In period ``i``, ``t`` steps in: ``eta_min + (lr - eta_min) * (1 + cos(pi * t /
    (T_0 * T_mult**i))) / 2``.

    Args:
      lr: base learning rate (>= 0).
      T_0: length of the first period (an int >= 1).
      T_mult: period growth (an int >= 1).
      eta_min: the floor (>= 0).

    Returns:
      A schedule ``step -> float32 learning rate``; see :func:`jaxsched.cosine`.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> lr = lr_scheduler.CosineAnnealingWarmRestarts(0.1, T_0=10, T_mult=2)
      >>> print(lr(5), lr(10), lr(20))
      0.049999997 0.1 0.049999997

    References:
      Loshchilov & Hutter, "SGDR" (2017);
      ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``.
    """
    return cosine(lr, T_0, min_value=eta_min, cycle_mul=T_mult, cycle_limit=None)


@validated
def SequentialLR(schedulers: Schedulers, milestones: SequentialMilestones) -> Schedule:
    """``schedulers[i]`` from ``milestones[i-1]`` on, restarted at its own step 0.

    ``schedulers[0](step)`` before ``milestones[0]``, then ``schedulers[i](step -
    milestones[i-1])``; see :func:`jaxsched.join`. torch restarts a scheduler at a
    milestone with its closed form; for ``MultiplicativeLR`` (which has none) torch
    instead continues from the previous scheduler's last rate, which this does not
    reproduce.

    Args:
      schedulers: schedules (one more than ``milestones``).
      milestones: strictly increasing steps (ints >= 0) where the next schedule starts.

    Returns:
      A schedule ``step -> float32 learning rate``.

    Raises:
      ValueError: if ``len(milestones) != len(schedulers) - 1``.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> warm = lr_scheduler.LinearLR(0.1, start_factor=0.5, total_iters=10)
      >>> lr = lr_scheduler.SequentialLR([warm, lr_scheduler.ExponentialLR(0.1, 0.5)], [10])
      >>> print(lr(0), lr(10), lr(11))
      0.05 0.1 0.05

    References:
      ``torch.optim.lr_scheduler.SequentialLR``.
    """
    if len(milestones) != len(schedulers) - 1:
        raise ValueError(
            f"milestones must have len(schedulers) - 1 = {len(schedulers) - 1} entries, "
            f"got {len(milestones)}"
        )
    return join(schedulers, milestones)


@validated
def ChainedScheduler(schedulers: Schedulers, lr: PositiveNumber) -> Schedule:
    """The product of the schedulers' factors: ``lr * prod(s(step) / lr for s in schedulers)``.

    Every scheduler must have been built with the same base learning rate ``lr`` (as
    torch's all share one optimizer); ``lr`` takes the place of torch's ``optimizer``
    argument. torch multiplies the rate in place, so this equals torch for schedulers
    whose torch update is a pure factor: ``StepLR``, ``MultiStepLR``, ``ConstantLR``,
    ``LinearLR``, ``ExponentialLR``, ``PolynomialLR``, ``MultiplicativeLR`` and
    ``CosineAnnealingLR`` with ``eta_min=0`` up to ``T_max``. torch's closed-form
    schedulers (``LambdaLR``, ``CyclicLR``, ``OneCycleLR``, ``CosineAnnealingWarmRestarts``)
    overwrite the rate instead of scaling it; here they are multiplied like the others.

    Args:
      schedulers: schedules built with base learning rate ``lr``.
      lr: the shared base learning rate (> 0).

    Returns:
      A schedule ``step -> float32 learning rate``.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> parts = [lr_scheduler.ConstantLR(0.1, 0.5, 10), lr_scheduler.ExponentialLR(0.1, 0.5)]
      >>> lr = lr_scheduler.ChainedScheduler(parts, lr=0.1)
      >>> print(lr(1), lr(10))
      0.025 9.765625e-05

    References:
      ``torch.optim.lr_scheduler.ChainedScheduler``.
    """
    parts = list(schedulers)

    def schedule(step: Any) -> Array:
        s = as_step(step)
        value = as_value(lr)
        for part in parts:
            value = value * (part(s) / lr)
        return as_value(value)

    return schedule
