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
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._base import Array, Schedule, check_choice, check_int
from ._common import (
    as_step,
    as_value,
    check_bool,
    check_callable,
    check_number,
    div,
    power,
    static_float,
)


def step_decay(init_value: Any, step_size: int, gamma: Any = 0.1) -> Schedule:
    """Step decay: ``init_value * gamma ** floor(step / step_size)``.

    The same curve as ``exponential_decay(init_value, step_size, gamma, staircase=True)``
    with torch's defaults; the power is taken in float64 for a Python ``gamma`` so long
    runs stay within float32 rounding of torch.

    Args:
      init_value: initial value (>= 0).
      step_size: steps between decays (an int >= 1).
      gamma: factor per decay (>= 0).

    Matches ``torch.optim.lr_scheduler.StepLR`` (and ``ExponentialLR`` with
    ``step_size=1``) and timm ``StepLRScheduler``.
    """
    check_number("init_value", init_value, low=0.0)
    step_size = check_int("step_size", step_size, low=1)
    check_number("gamma", gamma, low=0.0)

    def schedule(step: Any) -> Array:
        return as_value(init_value * power(gamma, jnp.floor(div(as_step(step), step_size))))

    return schedule


def multistep_decay(init_value: Any, milestones: Sequence[int], gamma: Any = 0.1) -> Schedule:
    """Multi-step decay: ``init_value * gamma ** (number of milestones <= step)``.

    The factor applies from the milestone itself (``PiecewiseConstantDecay`` switches one
    step later). A milestone given twice applies ``gamma`` twice; order does not matter.

    Args:
      init_value: initial value (>= 0).
      milestones: non-negative steps.
      gamma: factor per milestone (>= 0).

    Matches ``torch.optim.lr_scheduler.MultiStepLR``.
    """
    check_number("init_value", init_value, low=0.0)
    if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__len__"):
        raise TypeError(f"milestones must be a sequence of ints, got {type(milestones)}")
    ms = sorted(check_int(f"milestones[{i}]", m, low=0) for i, m in enumerate(milestones))
    check_number("gamma", gamma, low=0.0)
    ms_arr = jnp.asarray(ms, dtype=jnp.float32)

    def schedule(step: Any) -> Array:
        count = jnp.sum(as_step(step)[..., None] >= ms_arr, axis=-1).astype(jnp.float32)
        return as_value(init_value * power(gamma, count))

    return schedule


def multiplicative(
    init_value: Any, factor_fn: Callable[[Array], Any], horizon: int = 10_000
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

    Matches ``torch.optim.lr_scheduler.MultiplicativeLR``.
    """
    check_number("init_value", init_value, low=0.0)
    factor_fn = check_callable("factor_fn", factor_fn)
    horizon = check_int("horizon", horizon, low=0)
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


def cyclic(
    base_value: Any,
    max_value: Any,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: Any = 1.0,
    scale_fn: Callable[[Array], Any] | None = None,
    scale_mode: str = "cycle",
) -> Schedule:
    """Cyclical schedule (CLR): ``base + (max - base) * height * scale``.

    With ``cycle = floor(1 + step / (up + down))`` and ``pos`` the step inside the cycle,
    ``height = pos / up`` on the way up and ``(up + down - pos) / down`` on the way
    down. ``scale`` is 1 (``triangular``), ``0.5 ** (cycle - 1)`` (``triangular2``),
    ``gamma ** step`` (``exp_range``) or ``scale_fn(cycle)`` / ``scale_fn(step)``
    (``scale_mode`` 'cycle' / 'iterations'; ``mode`` is then ignored, as in torch).
    ``base_value > max_value`` cycles downwards (torch's momentum cycle).

    Args:
      base_value, max_value: the two ends of the cycle.
      step_size_up: steps from base to max (an int >= 1).
      step_size_down: steps back (an int >= 0; default ``step_size_up``).
      mode: 'triangular', 'triangular2' or 'exp_range'.
      gamma: base of ``exp_range`` (>= 0).
      scale_fn: optional jax-traceable ``x -> scale``; it receives a float32 array.
      scale_mode: 'cycle' or 'iterations', used with ``scale_fn``.

    Matches ``torch.optim.lr_scheduler.CyclicLR``.
    """
    check_number("base_value", base_value)
    check_number("max_value", max_value)
    up = check_int("step_size_up", step_size_up, low=1)
    down = up if step_size_down is None else check_int("step_size_down", step_size_down, low=0)
    check_number("gamma", gamma, low=0.0)
    if scale_fn is None:
        mode = check_choice("mode", mode, ("triangular", "triangular2", "exp_range"))
        scale_mode = "iterations" if mode == "exp_range" else "cycle"
    else:
        scale_fn = check_callable("scale_fn", scale_fn)
        scale_mode = check_choice("scale_mode", scale_mode, ("cycle", "iterations"))
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


def one_cycle(
    peak_value: Any,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: Any = 25.0,
    final_div_factor: Any = 1e4,
    three_phase: bool = False,
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

    Matches ``torch.optim.lr_scheduler.OneCycleLR`` (learning rate).
    """
    check_number("peak_value", peak_value, low=0.0)
    total_steps = check_int("total_steps", total_steps, low=1)
    pct_start = static_float("pct_start", pct_start, low=0.0, high=1.0)
    anneal_strategy = check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
    check_number("div_factor", div_factor, low=0.0, low_open=True)
    check_number("final_div_factor", final_div_factor, low=0.0, low_open=True)
    three_phase = check_bool("three_phase", three_phase)
    ends = one_cycle_phase_ends(total_steps, pct_start, three_phase)

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
