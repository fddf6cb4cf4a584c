"""Helpers shared by the schedule families: argument specs, step casting, accurate powers."""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import jax
import jax.numpy as jnp
import numpy as np

from .._base import Array
from .._validate import CallableSpec, Either, Integer, Items, Real

# A schedule's arguments are numbers (possibly traced, for a vmap over them), never
# schedules themselves: the specs below say so with ``schedule=False``.
Number = Annotated[float, Real(schedule=False)]
NonNegativeNumber = Annotated[float, Real(low=0.0, schedule=False)]
PositiveNumber = Annotated[float, Real(low=0.0, low_open=True, schedule=False)]
Fraction = Annotated[float, Real(0.0, 1.0, schedule=False)]
OptionalNonNegativeNumber = Annotated[float | None, Real(low=0.0, schedule=False, optional=True)]
OptionalCount = Annotated[int | None, Integer(low=0, optional=True)]
OptionalSteps = Annotated[int | None, Integer(low=1, optional=True)]
Function = Annotated[Callable[..., Any], CallableSpec()]
# Where a schedule's pieces meet: known when it is built, non-negative, strictly increasing.
Boundaries = Annotated[
    Sequence[float], Items(Real(low=0.0, schedule=False, concrete=True), increasing=True)
]
Milestones = Annotated[Sequence[int], Items(Integer(low=0))]
Values = Annotated[Sequence[float], Items(Real(schedule=False))]
_SCHEDULE_OR_NUMBER = Either((CallableSpec(), Real(schedule=False)))
ScheduleOrNumber = Annotated[Any, _SCHEDULE_OR_NUMBER]
# Pieces put one after another: at least one, each a schedule or a constant value.
Pieces = Annotated[Sequence[Any], Items(_SCHEDULE_OR_NUMBER, min_length=1)]


def as_step(step: Any) -> Array:
    """The step as float32 (integer steps are exact up to 2**24)."""
    return jnp.asarray(step).astype(jnp.float32)


def as_value(value: Any) -> Array:
    """A schedule's output: a float32 array."""
    return jnp.asarray(value).astype(jnp.float32)


def div(a: Any, b: Any) -> Array:
    """``a / b`` rounded once, also when ``b`` is a constant or a broadcast scalar.

    XLA rewrites ``x / c`` and ``x / broadcast(c)`` as ``x * (1 / c)``, which can land an
    ulp low: ``41 / 41`` becomes 0.99999994, a staircase switches a step late and
    ``(1 - s / D) ** 0.3`` at ``s = D`` is 0.007 instead of 0. Adding ``0 * a`` (which XLA
    does not fold for floats) gives the divisor ``a``'s shape and hides it from the rewrite.
    """
    a = jnp.asarray(a)
    return a / (jnp.asarray(b, jnp.float32) + 0.0 * a)


def concrete(*values: Any) -> bool:
    """True when no value is a tracer, so that checks across arguments can compare them."""
    return not any(isinstance(v, jax.core.Tracer) for v in values)


def power(base: Any, exponent: Array) -> Array:
    """``base ** exponent``, accurate when ``base`` is a concrete number.

    Rounding ``base`` to float32 (relative error up to 6e-8) is multiplied by the
    exponent: ``0.999 ** 1000`` would lose 6e-5 relative. torch computes in float64, so
    for a concrete base the log is taken in float64 and only ``exponent * log`` rounds.
    """
    if isinstance(base, numbers.Real) and not isinstance(base, bool) and base > 0:
        return jnp.exp(exponent * np.float32(math.log(base)))
    return jnp.power(base, exponent)


def cycle_position(t: Array, first: float, mul: float) -> tuple[Array, Array, Array]:
    """``(i, t - start_i, length_i)`` of the cycle holding ``t >= 0``.

    Cycle ``i`` lasts ``first * mul**i`` steps. The float32 estimate of ``i`` can land one
    cycle off right at a boundary, so it is checked against the cycle starts and moved.
    The starts divide by ``mul - 1`` computed from the float32 ``mul``, as their
    numerators are: the first start is then exactly ``first``, as in float64.
    """
    if mul == 1.0:
        i = jnp.floor(div(t, first))
    else:
        i = jnp.floor(div(jnp.log1p(div(t, first) * (mul - 1.0)), math.log(mul)))
    i = jnp.maximum(i, 0.0)

    def mul_pow(n: Array) -> Array:
        p = jnp.power(np.float32(mul), n)
        # Integer multipliers give integer cycle lengths, which float32 pow can miss by an ulp.
        return jnp.round(p) if mul.is_integer() else p

    def start(n: Array) -> Array:
        if mul == 1.0:
            return first * n
        return first * div(mul_pow(n) - 1.0, np.float32(mul) - np.float32(1.0))

    i = jnp.where(t < start(i), jnp.maximum(i - 1.0, 0.0), i)
    i = jnp.where(t >= start(i + 1.0), i + 1.0, i)
    return i, t - start(i), first * mul_pow(i)


# With more cycles than this before step 2**24 (a mul very close to 1),
# float64_log_position falls back to the exact cycle starts.
_MAX_CYCLES = 4096


@functools.lru_cache(maxsize=64)
def _float64_log_starts(first: float, mul: float) -> np.ndarray | None:
    """The integer steps at which ``floor(log(1 - t / first * (1 - mul), mul))`` in
    float64 reaches 1, 2, ...; None where :func:`cycle_position` gives the same."""
    if mul == 1.0:
        return None  # floor(t / first): exact in float32 too

    def index(t: int) -> int:
        return math.floor(math.log(1 - t / first * (1 - mul), mul))

    starts = []
    for n in range(1, _MAX_CYCLES + 2):
        exact = first * (mul**n - 1) / (mul - 1)
        if exact > 2**24:
            return np.asarray(starts, np.float32)
        t = max(math.ceil(exact) - 2, 0)
        while t > 0 and index(t - 1) >= n:
            t -= 1
        while index(t) < n:
            t += 1
        starts.append(t)
    return None


def float64_cycle_starts(first: float, mul: float, count: int) -> np.ndarray:
    """Where cycles ``0 .. count - 1`` start, ``first (mul^n - 1) / (mul - 1)`` (``first n``
    for ``mul = 1``), in float64; ``inf`` past float64's range."""
    n = np.arange(count)
    if mul == 1.0:
        return first * n.astype(np.float64)
    with np.errstate(over="ignore"):
        return first * (mul**n - 1) / (mul - 1)


def float64_log_position(t: Array, first: float, mul: float) -> tuple[Array, Array, Array]:
    """:func:`cycle_position` with the cycle index timm (and torch's
    ``CosineAnnealingWarmRestarts.step(epoch)``) compute: ``floor(log(1 - t / first *
    (1 - mul), mul))`` in float64.

    At an exact boundary that log can land just below the integer: with ``first=16,
    mul=1.5`` cycle 5 starts at step 211, where the log is 4.999999999999999, so timm
    starts it at 212 (and ends cycle 4 at its minimum). The integer starts are found once,
    with that expression, and the index read from them; ``t - start`` and the length
    come from float64 tables.
    """
    i, t_curr, length = cycle_position(t, first, mul)
    starts = _float64_log_starts(first, mul)
    if starts is None or not starts.size:
        return i, t_curr, length
    late_i = jnp.searchsorted(jnp.asarray(starts), t, side="right").astype(i.dtype)
    begin = float64_cycle_starts(first, mul, starts.size + 1).astype(np.float32)
    lengths = (first * mul ** np.arange(starts.size + 1)).astype(np.float32)
    off = late_i != i
    index = late_i.astype(jnp.int32)
    return (
        jnp.where(off, late_i, i),
        jnp.where(off, t - jnp.asarray(begin)[index], t_curr),
        jnp.where(off, jnp.asarray(lengths)[index], length),
    )
