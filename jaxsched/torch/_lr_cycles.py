"""The cycling schedules of :mod:`jaxsched.torch.lr_scheduler`: ``CyclicLR`` and
``OneCycleLR``, each with the momentum torch writes into the optimizer alongside.
"""

from __future__ import annotations

from typing import Any

from .._base import Array, Schedule
from .._validate import Flag, Steps, validated
from ..schedules import cyclic, one_cycle
from ..schedules._common import (
    Fraction,
    NonNegativeNumber,
    OptionalCount,
    OptionalSteps,
    PositiveNumber,
    concrete,
)
from ..schedules._torch_like import (
    AnnealStrategy,
    CyclicMode,
    PctStart,
    ScaleFn,
    ScaleMode,
    anneal_phases,
    one_cycle_phase_ends,
)


def _check_bounds(low_name: str, low: Any, high_name: str, high: Any) -> None:
    """Raises ValueError when the upper bound of a cycle lies below its lower bound."""
    if concrete(low, high) and float(high) < float(low):
        raise ValueError(f"{high_name} must be >= {low_name}={float(low)!r}, got {float(high)!r}")


@validated
def CyclicLR(
    base_lr: NonNegativeNumber,
    max_lr: NonNegativeNumber,
    step_size_up: Steps = 2000,
    step_size_down: OptionalCount = None,
    mode: CyclicMode = "triangular",
    gamma: NonNegativeNumber = 1.0,
    scale_fn: ScaleFn = None,
    scale_mode: ScaleMode = "cycle",
    cycle_momentum: Flag = True,
    base_momentum: Fraction = 0.8,
    max_momentum: Fraction = 0.9,
) -> Schedule:
    """The cyclical learning rate between ``base_lr`` and ``max_lr``.

    ``base_lr + (max_lr - base_lr) * height * scale``, with ``height`` rising 0 -> 1 over
    ``step_size_up`` steps and falling back over ``step_size_down``, and ``scale`` set by
    ``mode`` or ``scale_fn`` (see :func:`jaxsched.cyclic`). The momentum arguments only
    matter for :func:`CyclicMomentum`; they are accepted here so both take the same
    arguments.

    Args:
      base_lr, max_lr: the lower and upper bounds of the cycle (``0 <= base_lr <= max_lr``).
      step_size_up: steps from ``base_lr`` to ``max_lr`` (an int >= 1).
      step_size_down: steps back (an int >= 0; default ``step_size_up``).
      mode: 'triangular', 'triangular2' or 'exp_range'.
      gamma: base of ``exp_range`` (>= 0).
      scale_fn: optional jax-traceable ``x -> scale`` (overrides ``mode``).
      scale_mode: 'cycle' or 'iterations': what ``scale_fn`` receives.
      cycle_momentum: whether torch cycles the momentum (see :func:`CyclicMomentum`).
      base_momentum, max_momentum: bounds of the momentum cycle (``base <= max``, in [0, 1]).

    Returns:
      A schedule ``step -> float32 learning rate``.

    Raises:
      ValueError: if ``max_lr < base_lr`` or ``max_momentum < base_momentum``.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> lr = lr_scheduler.CyclicLR(0.1, 0.5, step_size_up=10)
      >>> print(lr(0), lr(5), lr(10), lr(20))
      0.1 0.3 0.5 0.1

    References:
      Smith, "Cyclical Learning Rates for Training Neural Networks" (2017);
      ``torch.optim.lr_scheduler.CyclicLR`` (learning rate).
    """
    _check_bounds("base_lr", base_lr, "max_lr", max_lr)
    _check_bounds("base_momentum", base_momentum, "max_momentum", max_momentum)
    return cyclic(base_lr, max_lr, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)


@validated
def CyclicMomentum(
    base_lr: NonNegativeNumber,
    max_lr: NonNegativeNumber,
    step_size_up: Steps = 2000,
    step_size_down: OptionalCount = None,
    mode: CyclicMode = "triangular",
    gamma: NonNegativeNumber = 1.0,
    scale_fn: ScaleFn = None,
    scale_mode: ScaleMode = "cycle",
    cycle_momentum: Flag = True,
    base_momentum: Fraction = 0.8,
    max_momentum: Fraction = 0.9,
) -> Schedule:
    """The momentum (or Adam's beta1) that ``CyclicLR`` writes into the optimizer.

    Takes :func:`CyclicLR`'s arguments: ``CyclicMomentum(**kwargs)`` goes with
    ``CyclicLR(**kwargs)``. The momentum cycles in opposition to the learning rate:
    ``max_momentum - (max_momentum - base_momentum) * height * scale``, from
    ``max_momentum`` down to ``base_momentum`` and back.

    Args:
      base_lr, max_lr, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode:
        as in :func:`CyclicLR` (they shape the cycle).
      cycle_momentum: must be True (with False torch leaves the momentum alone, so there
        is no schedule).
      base_momentum, max_momentum: bounds of the momentum cycle (``base <= max``, in [0, 1]).

    Returns:
      A schedule ``step -> float32 momentum``.

    Raises:
      ValueError: if ``cycle_momentum`` is False, ``max_lr < base_lr`` or
        ``max_momentum < base_momentum``.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> m = lr_scheduler.CyclicMomentum(0.1, 0.5, step_size_up=10)
      >>> print(m(0), m(10))
      0.9 0.79999995

    References:
      The ``momentum`` / ``betas[0]`` of ``torch.optim.lr_scheduler.CyclicLR``.
    """
    if not cycle_momentum:
        raise ValueError("cycle_momentum=False: torch leaves the momentum unchanged")
    _check_bounds("base_lr", base_lr, "max_lr", max_lr)
    _check_bounds("base_momentum", base_momentum, "max_momentum", max_momentum)
    return cyclic(
        max_momentum, base_momentum, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode
    )


def _one_cycle_total(
    total_steps: int | None, epochs: int | None, steps_per_epoch: int | None
) -> int:
    if total_steps is not None:
        return total_steps
    if epochs is None or steps_per_epoch is None:
        raise ValueError("give total_steps, or epochs and steps_per_epoch")
    return epochs * steps_per_epoch


@validated
def OneCycleLR(
    max_lr: NonNegativeNumber,
    total_steps: OptionalSteps = None,
    epochs: OptionalSteps = None,
    steps_per_epoch: OptionalSteps = None,
    pct_start: PctStart = 0.3,
    anneal_strategy: AnnealStrategy = "cos",
    cycle_momentum: Flag = True,
    base_momentum: Fraction = 0.85,
    max_momentum: Fraction = 0.95,
    div_factor: PositiveNumber = 25.0,
    final_div_factor: PositiveNumber = 1e4,
    three_phase: Flag = False,
) -> Schedule:
    """The one-cycle learning rate: up from ``max_lr / div_factor`` to ``max_lr``, then down.

    ``initial = max_lr / div_factor``, ``minimum = initial / final_div_factor``; the rate
    anneals initial -> max_lr over the first ``pct_start`` of the steps, then max_lr ->
    minimum (three-phase: max_lr -> initial -> minimum); see :func:`jaxsched.one_cycle`.
    The momentum arguments only matter for :func:`OneCycleMomentum`. Steps past the end
    hold the last value (torch raises).

    Args:
      max_lr: the peak learning rate (>= 0).
      total_steps: length of the cycle (an int >= 1); or give ``epochs`` and
        ``steps_per_epoch`` (ints >= 1) instead.
      epochs, steps_per_epoch: the cycle lasts ``epochs * steps_per_epoch`` steps when
        ``total_steps`` is None.
      pct_start: fraction of the steps spent going up, in [0, 1].
      anneal_strategy: 'cos' or 'linear'.
      cycle_momentum: whether torch cycles the momentum (see :func:`OneCycleMomentum`).
      base_momentum, max_momentum: bounds of the momentum cycle (``base <= max``, in [0, 1]).
      div_factor, final_div_factor: the divisors above (> 0).
      three_phase: use the three-phase variant.

    Returns:
      A schedule ``step -> float32 learning rate``.

    Raises:
      ValueError: if neither ``total_steps`` nor both ``epochs`` and ``steps_per_epoch``
        are given, if a phase would be empty, or if ``max_momentum < base_momentum``.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> lr = lr_scheduler.OneCycleLR(1.0, total_steps=100, pct_start=0.25)
      >>> print(lr(0), lr(24))
      0.04000002 1.0

    References:
      Smith & Topin, "Super-Convergence" (2019); ``torch.optim.lr_scheduler.OneCycleLR``
      (learning rate).
    """
    total = _one_cycle_total(total_steps, epochs, steps_per_epoch)
    _check_bounds("base_momentum", base_momentum, "max_momentum", max_momentum)
    return one_cycle(
        max_lr, total, pct_start, anneal_strategy, div_factor, final_div_factor, three_phase
    )


@validated
def OneCycleMomentum(
    max_lr: NonNegativeNumber,
    total_steps: OptionalSteps = None,
    epochs: OptionalSteps = None,
    steps_per_epoch: OptionalSteps = None,
    pct_start: PctStart = 0.3,
    anneal_strategy: AnnealStrategy = "cos",
    cycle_momentum: Flag = True,
    base_momentum: Fraction = 0.85,
    max_momentum: Fraction = 0.95,
    div_factor: PositiveNumber = 25.0,
    final_div_factor: PositiveNumber = 1e4,
    three_phase: Flag = False,
) -> Schedule:
    """The momentum (or beta1) that ``OneCycleLR`` writes into the optimizer.

    Takes :func:`OneCycleLR`'s arguments. It anneals ``max_momentum -> base_momentum``
    while the learning rate rises and back while it falls (three-phase: max -> base ->
    max -> max), with the same phases and ``anneal_strategy`` as the learning rate.

    Args:
      max_lr, total_steps, epochs, steps_per_epoch, pct_start, anneal_strategy,
        div_factor, final_div_factor, three_phase: as in :func:`OneCycleLR`.
      cycle_momentum: must be True (with False torch leaves the momentum alone).
      base_momentum, max_momentum: bounds of the momentum cycle (``base <= max``, in [0, 1]).

    Returns:
      A schedule ``step -> float32 momentum``.

    Raises:
      ValueError: as :func:`OneCycleLR`, and if ``cycle_momentum`` is False.

    Example:
      >>> from jaxsched.torch import lr_scheduler
      >>> m = lr_scheduler.OneCycleMomentum(1.0, total_steps=100, pct_start=0.25)
      >>> print(m(0), m(24), m(99))
      0.95000005 0.85 0.95

    References:
      The ``momentum`` / ``betas[0]`` of ``torch.optim.lr_scheduler.OneCycleLR``.
    """
    total = _one_cycle_total(total_steps, epochs, steps_per_epoch)
    if not cycle_momentum:
        raise ValueError("cycle_momentum=False: torch leaves the momentum unchanged")
    _check_bounds("base_momentum", base_momentum, "max_momentum", max_momentum)
    ends = one_cycle_phase_ends(total, float(pct_start), three_phase)
    values = [(max_momentum, base_momentum), (base_momentum, max_momentum)]
    if three_phase:
        values.append((max_momentum, max_momentum))

    def schedule(step: Any) -> Array:
        return anneal_phases(step, total, ends, values, anneal_strategy)

    return schedule
