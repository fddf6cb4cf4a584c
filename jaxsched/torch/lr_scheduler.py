"""``torch.optim.lr_scheduler`` as jaxsched schedules: torch's class and argument names,
with the optimizer replaced by its base learning rate (the first argument).

Each function returns a pure ``step -> lr`` schedule whose value at step ``k`` is the
learning rate torch's optimizer uses for its ``k``-th ``step()`` (0-based) when the
scheduler steps once after every optimizer step, i.e. ``param_groups[0]["lr"]`` after
``k`` calls of ``scheduler.step()``. torch runs most schedulers as float64 recursions
(``lr *= ratio``); these evaluate the closed forms in float32. Over 1000 steps torch's
recursions stay within 1e-12 relative of their closed forms, so the float32 rounding is
the only difference. The momentum that ``CyclicLR`` and ``OneCycleLR`` write into the
optimizer is given by :func:`CyclicMomentum` and :func:`OneCycleMomentum`, which take
the same arguments. ``ReduceLROnPlateau`` is metric-driven: it returns a
:class:`~jaxsched.StatefulSchedule` that reads ``update(..., value=metric)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp

from .._base import Array, Schedule, check_choice, check_int
from ..schedules import (
    cosine,
    cyclic,
    join,
    multiplicative,
    multistep_decay,
    one_cycle,
    polynomial_decay,
    step_decay,
    warmup_cosine,
)
from ..schedules._common import (
    as_step,
    as_value,
    check_bool,
    check_callable,
    check_number,
    static_float,
)
from ..schedules._torch_like import anneal_phases, one_cycle_phase_ends
from ._plateau import ReduceLROnPlateau as ReduceLROnPlateau


def LambdaLR(lr: Any, lr_lambda: Callable[[Array], Any]) -> Schedule:
    """``lr * lr_lambda(step)``.

    Args:
      lr: base learning rate (>= 0).
      lr_lambda: jax-traceable ``step -> factor``; it receives the step as a float32 array
        (torch passes a Python int), so write ``0.95 ** k`` or ``jnp.where(k < 10, ...)``
        rather than Python ``if``.

    Matches ``torch.optim.lr_scheduler.LambdaLR``.
    """
    check_number("lr", lr, low=0.0)
    lr_lambda = check_callable("lr_lambda", lr_lambda)

    def schedule(step: Any) -> Array:
        return as_value(lr * lr_lambda(as_step(step)))

    return schedule


def MultiplicativeLR(lr: Any, lr_lambda: Callable[[Array], Any], horizon: int = 10_000) -> Schedule:
    """``lr * prod(lr_lambda(i) for i in 1..step)``.

    Args:
      lr: base learning rate (>= 0).
      lr_lambda: jax-traceable ``i -> factor`` (gets ``i`` as a float array).
      horizon: steps precomputed in float64 at construction (not a torch argument); see
        :func:`jaxsched.schedules.multiplicative` for what happens past it.

    Matches ``torch.optim.lr_scheduler.MultiplicativeLR``.
    """
    return multiplicative(lr, lr_lambda, horizon)


def StepLR(lr: Any, step_size: int, gamma: Any = 0.1) -> Schedule:
    """``lr * gamma ** (step // step_size)``.

    Args:
      lr: base learning rate (>= 0).
      step_size: steps between decays (an int >= 1).
      gamma: factor per decay (>= 0).

    Matches ``torch.optim.lr_scheduler.StepLR``.
    """
    return step_decay(lr, step_size, gamma)


def MultiStepLR(lr: Any, milestones: Sequence[int], gamma: Any = 0.1) -> Schedule:
    """``lr * gamma ** bisect_right(sorted(milestones), step)``.

    Args:
      lr: base learning rate (>= 0).
      milestones: steps (ints >= 0) where ``gamma`` applies; repeated milestones stack.
      gamma: factor per milestone (>= 0).

    Matches ``torch.optim.lr_scheduler.MultiStepLR``.
    """
    return multistep_decay(lr, milestones, gamma)


def ConstantLR(lr: Any, factor: Any = 1.0 / 3, total_iters: int = 5) -> Schedule:
    """``lr * factor`` for ``step < total_iters``, then ``lr``.

    Args:
      lr: base learning rate (>= 0).
      factor: the factor, in [0, 1].
      total_iters: steps at the reduced rate (an int >= 1).

    Matches ``torch.optim.lr_scheduler.ConstantLR``.
    """
    check_number("lr", lr, low=0.0)
    check_number("factor", factor, low=0.0, high=1.0)
    total_iters = check_int("total_iters", total_iters, low=1)

    def schedule(step: Any) -> Array:
        return as_value(lr * jnp.where(as_step(step) < total_iters, factor, 1.0))

    return schedule


def LinearLR(
    lr: Any, start_factor: Any = 1.0 / 3, end_factor: Any = 1.0, total_iters: int = 5
) -> Schedule:
    """``lr * (start + (end - start) * min(step, total_iters) / total_iters)``.

    Args:
      lr: base learning rate (>= 0).
      start_factor: factor at step 0, in (0, 1].
      end_factor: factor from ``total_iters`` on, in [0, 1].
      total_iters: length of the ramp (an int >= 1).

    Matches ``torch.optim.lr_scheduler.LinearLR``.
    """
    check_number("lr", lr, low=0.0)
    check_number("start_factor", start_factor, low=0.0, high=1.0, low_open=True)
    check_number("end_factor", end_factor, low=0.0, high=1.0)
    total_iters = check_int("total_iters", total_iters, low=1)
    return polynomial_decay(lr * start_factor, total_iters, lr * end_factor, power=1.0)


def ExponentialLR(lr: Any, gamma: Any) -> Schedule:
    """``lr * gamma ** step``.

    Args:
      lr: base learning rate (>= 0).
      gamma: factor per step (>= 0).

    Matches ``torch.optim.lr_scheduler.ExponentialLR``.
    """
    return step_decay(lr, 1, gamma)


def PolynomialLR(lr: Any, total_iters: int = 5, power: Any = 1.0) -> Schedule:
    """``lr * (1 - min(step, total_iters) / total_iters) ** power``.

    Args:
      lr: base learning rate (>= 0).
      total_iters: steps until the rate reaches 0 (an int >= 1).
      power: exponent (>= 0).

    Matches ``torch.optim.lr_scheduler.PolynomialLR``.
    """
    total_iters = check_int("total_iters", total_iters, low=1)
    return polynomial_decay(lr, total_iters, 0.0, power)


def CosineAnnealingLR(lr: Any, T_max: int, eta_min: Any = 0.0) -> Schedule:
    """``eta_min + (lr - eta_min) * (1 + cos(pi * step / T_max)) / 2``, periodic past ``T_max``.

    torch computes this by a recursion that, past ``T_max``, climbs back up along the same
    cosine (it does not hold ``eta_min``); the closed form here gives the same values
    (torch's recursion stays within 1e-12 relative of it over 1000 steps).

    Args:
      lr: base learning rate (>= 0).
      T_max: half period (an int >= 1).
      eta_min: the minimum (>= 0).

    Matches ``torch.optim.lr_scheduler.CosineAnnealingLR``.
    """
    T_max = check_int("T_max", T_max, low=1)
    check_number("eta_min", eta_min, low=0.0)
    return warmup_cosine(lr, 0, T_max, min_value=eta_min)


def CosineAnnealingWarmRestarts(lr: Any, T_0: int, T_mult: int = 1, eta_min: Any = 0.0) -> Schedule:
    """Cosine from ``lr`` to ``eta_min`` over ``T_0 * T_mult**i`` steps, restarting each time.

    Args:
      lr: base learning rate (>= 0).
      T_0: length of the first period (an int >= 1).
      T_mult: period growth (an int >= 1).
      eta_min: the floor (>= 0).

    Matches ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``.
    """
    T_0 = check_int("T_0", T_0, low=1)
    T_mult = check_int("T_mult", T_mult, low=1)
    check_number("eta_min", eta_min, low=0.0)
    return cosine(lr, T_0, min_value=eta_min, cycle_mul=T_mult, cycle_limit=None)


def CyclicLR(
    base_lr: Any,
    max_lr: Any,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: Any = 1.0,
    scale_fn: Callable[[Array], Any] | None = None,
    scale_mode: str = "cycle",
    cycle_momentum: bool = True,
    base_momentum: Any = 0.8,
    max_momentum: Any = 0.9,
) -> Schedule:
    """The cyclical learning rate between ``base_lr`` and ``max_lr``.

    See :func:`jaxsched.schedules.cyclic`. The momentum arguments only matter for
    :func:`CyclicMomentum`; they are accepted here so both take the same arguments.

    Matches ``torch.optim.lr_scheduler.CyclicLR`` (learning rate).
    """
    check_bool("cycle_momentum", cycle_momentum)
    check_number("base_momentum", base_momentum, low=0.0, high=1.0)
    check_number("max_momentum", max_momentum, low=0.0, high=1.0)
    return cyclic(base_lr, max_lr, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)


def CyclicMomentum(
    base_lr: Any,
    max_lr: Any,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: Any = 1.0,
    scale_fn: Callable[[Array], Any] | None = None,
    scale_mode: str = "cycle",
    cycle_momentum: bool = True,
    base_momentum: Any = 0.8,
    max_momentum: Any = 0.9,
) -> Schedule:
    """The momentum (or Adam's beta1) that ``CyclicLR`` writes into the optimizer.

    Takes :func:`CyclicLR`'s arguments: ``CyclicMomentum(**kwargs)`` goes with
    ``CyclicLR(**kwargs)``. The momentum cycles in opposition to the learning rate, from
    ``max_momentum`` down to ``base_momentum`` and back. With ``cycle_momentum=False``
    torch leaves the momentum alone, so there is no schedule: ValueError.

    Matches the ``momentum`` / ``betas[0]`` of ``torch.optim.lr_scheduler.CyclicLR``.
    """
    check_number("base_lr", base_lr)
    check_number("max_lr", max_lr)
    if not check_bool("cycle_momentum", cycle_momentum):
        raise ValueError("cycle_momentum=False: torch leaves the momentum unchanged")
    check_number("base_momentum", base_momentum, low=0.0, high=1.0)
    check_number("max_momentum", max_momentum, low=0.0, high=1.0)
    return cyclic(
        max_momentum, base_momentum, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode
    )


def _one_cycle_total(
    total_steps: int | None, epochs: int | None, steps_per_epoch: int | None
) -> int:
    if total_steps is not None:
        return check_int("total_steps", total_steps, low=1)
    if epochs is None or steps_per_epoch is None:
        raise ValueError("give total_steps, or epochs and steps_per_epoch")
    return check_int("epochs", epochs, low=1) * check_int("steps_per_epoch", steps_per_epoch, low=1)


def OneCycleLR(
    max_lr: Any,
    total_steps: int | None = None,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    cycle_momentum: bool = True,
    base_momentum: Any = 0.85,
    max_momentum: Any = 0.95,
    div_factor: Any = 25.0,
    final_div_factor: Any = 1e4,
    three_phase: bool = False,
) -> Schedule:
    """The one-cycle learning rate; see :func:`jaxsched.schedules.one_cycle`.

    ``total_steps`` or ``epochs * steps_per_epoch`` steps. The momentum arguments only
    matter for :func:`OneCycleMomentum`. Steps past ``total_steps`` hold the last value
    (torch raises).

    Matches ``torch.optim.lr_scheduler.OneCycleLR`` (learning rate).
    """
    total = _one_cycle_total(total_steps, epochs, steps_per_epoch)
    check_bool("cycle_momentum", cycle_momentum)
    check_number("base_momentum", base_momentum, low=0.0, high=1.0)
    check_number("max_momentum", max_momentum, low=0.0, high=1.0)
    return one_cycle(
        max_lr, total, pct_start, anneal_strategy, div_factor, final_div_factor, three_phase
    )


def OneCycleMomentum(
    max_lr: Any,
    total_steps: int | None = None,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    cycle_momentum: bool = True,
    base_momentum: Any = 0.85,
    max_momentum: Any = 0.95,
    div_factor: Any = 25.0,
    final_div_factor: Any = 1e4,
    three_phase: bool = False,
) -> Schedule:
    """The momentum (or beta1) that ``OneCycleLR`` writes into the optimizer.

    Takes :func:`OneCycleLR`'s arguments. It anneals ``max_momentum -> base_momentum``
    while the learning rate rises and back while it falls (three-phase: max -> base ->
    max -> max). ``cycle_momentum=False``: ValueError (torch leaves the momentum alone).

    Matches the ``momentum`` / ``betas[0]`` of ``torch.optim.lr_scheduler.OneCycleLR``.
    """
    check_number("max_lr", max_lr, low=0.0)
    total = _one_cycle_total(total_steps, epochs, steps_per_epoch)
    if not check_bool("cycle_momentum", cycle_momentum):
        raise ValueError("cycle_momentum=False: torch leaves the momentum unchanged")
    pct_start = static_float("pct_start", pct_start, low=0.0, high=1.0)
    anneal_strategy = check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
    check_number("base_momentum", base_momentum, low=0.0, high=1.0)
    check_number("max_momentum", max_momentum, low=0.0, high=1.0)
    check_number("div_factor", div_factor, low=0.0, low_open=True)
    check_number("final_div_factor", final_div_factor, low=0.0, low_open=True)
    three_phase = check_bool("three_phase", three_phase)
    ends = one_cycle_phase_ends(total, pct_start, three_phase)
    values = [(max_momentum, base_momentum), (base_momentum, max_momentum)]
    if three_phase:
        values.append((max_momentum, max_momentum))

    def schedule(step: Any) -> Array:
        return anneal_phases(step, total, ends, values, anneal_strategy)

    return schedule


def SequentialLR(schedulers: Sequence[Schedule], milestones: Sequence[int]) -> Schedule:
    """``schedulers[i]`` from ``milestones[i-1]`` on, restarted at its own step 0.

    See :func:`jaxsched.schedules.join`. torch restarts a scheduler at a milestone with
    its closed form; for ``MultiplicativeLR`` (which has none) torch instead continues
    from the previous scheduler's last rate, which this does not reproduce.

    Args:
      schedulers: schedules (one more than ``milestones``).
      milestones: strictly increasing steps where the next schedule starts.

    Matches ``torch.optim.lr_scheduler.SequentialLR``.
    """
    return join(schedulers, milestones)


def ChainedScheduler(schedulers: Sequence[Schedule], lr: Any) -> Schedule:
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

    Matches ``torch.optim.lr_scheduler.ChainedScheduler``.
    """
    if isinstance(schedulers, (str, bytes)) or not hasattr(schedulers, "__len__"):
        raise TypeError(f"schedulers must be a sequence, got {type(schedulers).__name__}")
    if len(schedulers) < 1:
        raise ValueError("schedulers must hold at least one schedule, got none")
    parts = [check_callable(f"schedulers[{i}]", s) for i, s in enumerate(schedulers)]
    check_number("lr", lr, low=0.0, low_open=True)

    def schedule(step: Any) -> Array:
        s = as_step(step)
        value = as_value(lr)
        for part in parts:
            value = value * (part(s) / lr)
        return as_value(value)

    return schedule


__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "CyclicMomentum",
    "ExponentialLR",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "OneCycleMomentum",
    "PolynomialLR",
    "SequentialLR",
    "StepLR",
]
