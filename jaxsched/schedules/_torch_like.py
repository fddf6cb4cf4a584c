"""Schedules in the shape of ``torch.optim.lr_scheduler``: step, multistep, multiplicative,
cyclic and one-cycle.

Value ``k`` is the learning rate of the ``k``-th update (0-based), the one torch's
optimizer uses after ``k`` calls of ``scheduler.step()``. torch computes in float64;
these compute in float32 and take care where float32 rounding would add up over many
steps (powers of a decay factor, products of factors).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._base import Array, Schedule
from .._validate import CallableSpec, Choice, Count, Flag, Real, Steps, validated
from ._common import (
    Function,
    Milestones,
    NonNegativeNumber,
    OptionalCount,
    PositiveNumber,
    as_step,
    as_value,
    div,
    power,
)

# The specs of cyclic and one_cycle, shared with their torch flavors.
CyclicMode = Annotated[str, Choice(("triangular", "triangular2", "exp_range"))]
ScaleMode = Annotated[str, Choice(("cycle", "iterations"))]
ScaleFn = Annotated[Callable[[Array], Any] | None, CallableSpec(optional=True)]
AnnealStrategy = Annotated[str, Choice(("cos", "linear"))]
# Where the phases end depends on it, so it cannot be traced.
PctStart = Annotated[float, Real(0.0, 1.0, schedule=False, concrete=True)]


@validated
def step_decay(
    init_value: NonNegativeNumber, step_size: Steps, gamma: NonNegativeNumber = 0.1
) -> Schedule:
    """Step decay: ``init_value * gamma ** floor(step / step_size)``.

    The same curve as ``exponential_decay(init_value, step_size, gamma, staircase=True)``
    with torch's defaults; the power is taken in float64 for a Python ``gamma`` so long
    runs stay within float32 rounding of torch.

    Args:
      init_value: initial value (>= 0).
      step_size: steps between decays (an int >= 1).
      gamma: factor per decay (>= 0).

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.step_decay(0.1, step_size=30, gamma=0.5)
      >>> print(lr(29), lr(30), lr(60))
      0.1 0.05 0.025

    References:
      ``torch.optim.lr_scheduler.StepLR`` (and ``ExponentialLR`` with ``step_size=1``);
      timm ``StepLRScheduler``.
    """

    def schedule(step: Any) -> Array:
        return as_value(init_value * power(gamma, jnp.floor(div(as_step(step), step_size))))

    return schedule


@validated
def multistep_decay(
    init_value: NonNegativeNumber, milestones: Milestones, gamma: NonNegativeNumber = 0.1
) -> Schedule:
    """Multi-step decay: ``init_value * gamma ** (number of milestones <= step)``.

    The factor applies from the milestone itself (``PiecewiseConstantDecay`` switches one
    step later). A milestone given twice applies ``gamma`` twice; order does not matter.

    Args:
      init_value: initial value (>= 0).
      milestones: non-negative steps.
      gamma: factor per milestone (>= 0).

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.multistep_decay(0.1, milestones=[30, 80], gamma=0.5)
      >>> print(lr(29), lr(30), lr(80))
      0.1 0.05 0.025

    References:
      ``torch.optim.lr_scheduler.MultiStepLR``.
    """
    ms_arr = jnp.asarray(sorted(milestones), dtype=jnp.float32)

    def schedule(step: Any) -> Array:
        count = jnp.sum(as_step(step)[..., None] >= ms_arr, axis=-1).astype(jnp.float32)
        return as_value(init_value * power(gamma, count))

    return schedule


@validated
def multiplicative(
    init_value: NonNegativeNumber, factor_fn: Function, horizon: Count = 10_000
) -> Schedule:
    """Running product: ``init_value * prod(factor_fn(i) for i in 1..step)``.

    ``factor_fn`` takes the index ``i`` as a float array and must be a pure jax function
    of it (no closure over traced values): it is evaluated once, at construction, on
    ``i = 1..horizon`` in float64, and the cumulative products are kept as a float32
    table, so each step costs one lookup and the values carry no float32 drift. Past
    ``horizon`` the product continues in a float32 ``lax.fori_loop`` over
    ``horizon + 1..step``, which costs ``step - horizon`` evaluations per call.

    Args:
      init_value: value at step 0 (>= 0).
      factor_fn: ``i -> factor``, jax-traceable and vmappable.
      horizon: steps covered by the precomputed table (an int >= 0).

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.multiplicative(1.0, lambda i: 0.5 + 0.0 * i, horizon=100)
      >>> print(lr(0), lr(1), lr(3))
      1.0 0.5 0.125

    References:
      ``torch.optim.lr_scheduler.MultiplicativeLR``.
    """
    # Evaluated now even inside a jit trace; float64 so that the products do not drift.
    with jax.ensure_compile_time_eval(), jax.enable_x64(True):
        index = jnp.arange(1, horizon + 1, dtype=jnp.float64)
        factors = jnp.broadcast_to(jax.vmap(factor_fn)(index), index.shape)
        products = np.asarray(jnp.cumprod(factors), dtype=np.float64)
    table = jnp.asarray(np.concatenate([[1.0], products]), dtype=jnp.float32)
    last = np.float32(products[-1] if horizon else 1.0)

    def tail(k: Array) -> Array:
        def body(i: Array, acc: Array) -> Array:
            return acc * jnp.asarray(factor_fn(i.astype(jnp.float32)), jnp.float32)

        return lax.fori_loop(horizon + 1, k + 1, body, last)

    def schedule(step: Any) -> Array:
        k = jnp.maximum(as_step(step), 0.0).astype(jnp.int32)
        product = jnp.where(k <= horizon, table[jnp.minimum(k, horizon)], tail(k))
        return as_value(init_value * product)

    return schedule


@validated
def cyclic(
    base_value: NonNegativeNumber,
    max_value: NonNegativeNumber,
    step_size_up: Steps = 2000,
    step_size_down: OptionalCount = None,
    mode: CyclicMode = "triangular",
    gamma: NonNegativeNumber = 1.0,
    scale_fn: ScaleFn = None,
    scale_mode: ScaleMode = "cycle",
) -> Schedule:
    """Cyclical schedule (CLR): ``base + (max - base) * height * scale``.

    With ``cycle = floor(1 + step / (up + down))`` and ``pos`` the step inside the cycle,
    ``height = pos / up`` on the way up and ``(up + down - pos) / down`` on the way
    down. ``scale`` is 1 (``triangular``), ``0.5 ** (cycle - 1)`` (``triangular2``),
    ``gamma ** step`` (``exp_range``) or ``scale_fn(cycle)`` / ``scale_fn(step)``
    (``scale_mode`` 'cycle' / 'iterations'; ``mode`` is then ignored, as in torch).
    ``base_value > max_value`` cycles downwards (torch's momentum cycle).

    Args:
      base_value, max_value: the two ends of the cycle (>= 0).
      step_size_up: steps from base to max (an int >= 1).
      step_size_down: steps back (an int >= 0; default ``step_size_up``).
      mode: 'triangular', 'triangular2' or 'exp_range'.
      gamma: base of ``exp_range`` (>= 0).
      scale_fn: optional jax-traceable ``x -> scale``; it receives a float32 array.
      scale_mode: 'cycle' or 'iterations', used with ``scale_fn``.

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.cyclic(0.1, 0.5, step_size_up=10, mode="triangular2")
      >>> print(lr(0), lr(5), lr(10), lr(30))
      0.1 0.3 0.5 0.3

    References:
      Smith, "Cyclical Learning Rates for Training Neural Networks" (2017);
      ``torch.optim.lr_scheduler.CyclicLR``.
    """
    up = step_size_up
    down = up if step_size_down is None else step_size_down
    if scale_fn is None:
        scale_mode = "iterations" if mode == "exp_range" else "cycle"
    total = up + down

    def scale(cycle: Array, k: Array) -> Any:
        if scale_fn is not None:
            return scale_fn(cycle if scale_mode == "cycle" else k)
        if mode == "triangular2":
            return jnp.power(0.5, cycle - 1.0)
        if mode == "exp_range":
            return power(gamma, k)
        return 1.0

    def schedule(step: Any) -> Array:
        k = as_step(step)
        cycle = jnp.floor(div(k, total)) + 1.0
        # The position inside the cycle is an exact integer, unlike torch's 1 + k/total - cycle.
        pos = k - (cycle - 1.0) * total
        height = jnp.where(pos <= up, div(pos, up), div(total - pos, max(down, 1)))
        return as_value(base_value + (max_value - base_value) * height * scale(cycle, k))

    return schedule


def _anneal(start: Any, end: Any, pct: Array, strategy: str) -> Array:
    if strategy == "cos":
        return end + (start - end) / 2.0 * (jnp.cos(math.pi * pct) + 1.0)
    return (end - start) * pct + start


def one_cycle_phase_ends(total_steps: int, pct_start: float, three_phase: bool) -> list[float]:
    """The last step of each one-cycle phase, as torch computes them (may be fractional)."""
    up = float(pct_start * total_steps) - 1
    if three_phase:
        ends = [up, float(2 * pct_start * total_steps) - 2, float(total_steps - 1)]
    else:
        ends = [up, float(total_steps - 1)]
    start = 0.0
    for i, end in enumerate(ends):
        # Middle phases of zero length are never entered; the first and last would be.
        if end == start and i in (0, len(ends) - 1):
            raise ValueError(
                f"pct_start={pct_start} with total_steps={total_steps} leaves one-cycle "
                f"phase {i} with zero length; pct_start * total_steps must not be 1 and "
                "the last phase must be non-empty"
            )
        start = end
    return ends


def anneal_phases(
    step: Any,
    total_steps: int,
    ends: Sequence[float],
    values: Sequence[tuple[Any, Any]],
    strategy: str,
) -> Array:
    """Anneals ``values[i][0] -> values[i][1]`` over phase ``i`` (ending at ``ends[i]``).

    A step belongs to the first phase whose end it does not pass (the last phase takes
    the rest), as in torch's ``OneCycleLR``; steps past ``total_steps`` hold its value.
    """
    s = jnp.minimum(as_step(step), total_steps)
    branches, start = [], 0.0
    for end, (a, b) in zip(ends, values):
        span = end - start if end != start else 1.0
        branches.append(_anneal(a, b, div(s - start, span), strategy))
        start = end
    out = branches[-1]
    for end, branch in zip(reversed(ends[:-1]), reversed(branches[:-1])):
        out = jnp.where(s <= end, branch, out)
    return as_value(out)


@validated
def one_cycle(
    peak_value: NonNegativeNumber,
    total_steps: Steps,
    pct_start: PctStart = 0.3,
    anneal_strategy: AnnealStrategy = "cos",
    div_factor: PositiveNumber = 25.0,
    final_div_factor: PositiveNumber = 1e4,
    three_phase: Flag = False,
) -> Schedule:
    """One-cycle policy: up from ``peak / div_factor`` to ``peak``, then down to the minimum.

    ``initial = peak_value / div_factor`` and ``minimum = initial / final_div_factor``.
    Phase 1 anneals initial -> peak until step ``pct_start * total_steps - 1``; then
    peak -> minimum until ``total_steps - 1``. With ``three_phase``: initial -> peak,
    peak -> initial (until ``2 * pct_start * total_steps - 2``), initial -> minimum.
    ``anneal_strategy`` 'cos' uses ``end + (start - end) / 2 * (1 + cos(pi * pct))``,
    'linear' a straight line. Steps past ``total_steps`` hold the value at
    ``total_steps`` (torch raises there).

    Args:
      peak_value: the maximum (>= 0).
      total_steps: length of the cycle (an int >= 1).
      pct_start: fraction of the steps spent going up, in [0, 1].
      anneal_strategy: 'cos' or 'linear'.
      div_factor, final_div_factor: the divisors above (> 0).
      three_phase: use the three-phase variant.

    Returns:
      A schedule ``step -> float32 value``.

    Raises:
      ValueError: if ``pct_start`` and ``total_steps`` leave the first or last phase
        empty.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.one_cycle(1.0, total_steps=100, pct_start=0.25)
      >>> print(lr(0), lr(24), lr(99))
      0.04000002 1.0 4e-06

    References:
      Smith & Topin, "Super-Convergence" (2019);
      ``torch.optim.lr_scheduler.OneCycleLR`` (learning rate).
    """
    ends = one_cycle_phase_ends(total_steps, float(pct_start), three_phase)

    def schedule(step: Any) -> Array:
        initial = peak_value / div_factor
        minimum = initial / final_div_factor
        if three_phase:
            values = [(initial, peak_value), (peak_value, initial), (initial, minimum)]
        else:
            values = [(initial, peak_value), (peak_value, minimum)]
        return anneal_phases(step, total_steps, ends, values, anneal_strategy)

    return schedule


__all__ = ["cyclic", "multiplicative", "multistep_decay", "one_cycle", "step_decay"]
