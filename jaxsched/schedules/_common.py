"""Helpers shared by the schedule families: step casting, argument checks, accurate powers."""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._base import Array, check_hyperparam


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


def check_number(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Like :func:`check_hyperparam`, but a callable is a TypeError (a number is needed here)."""
    if callable(value):
        raise TypeError(f"{name} must be a number or a jax scalar, got a callable")
    check_hyperparam(name, value, low, high, low_open, high_open)


def static_float(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Validates an argument that shapes the computation (so it cannot be traced)."""
    check_number(name, value, low, high, low_open, high_open)
    if isinstance(value, jax.core.Tracer) or np.ndim(value) != 0:
        raise TypeError(f"{name} must be a concrete scalar (it cannot be traced), got {value!r}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def check_callable(name: str, value: Any) -> Callable[..., Any]:
    if not callable(value):
        raise TypeError(f"{name} must be a callable, got {type(value).__name__}")
    return value


def check_boundaries(name: str, boundaries: Any) -> list[float]:
    """A list of concrete, non-negative, strictly increasing step boundaries."""
    if isinstance(boundaries, (str, bytes)) or not hasattr(boundaries, "__len__"):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(boundaries).__name__}")
    out = [static_float(f"{name}[{i}]", b, low=0.0) for i, b in enumerate(boundaries)]
    for i, (a, b) in enumerate(itertools.pairwise(out)):
        if b <= a:
            raise ValueError(
                f"{name} must be strictly increasing, got {name}[{i}]={a:g} then {b:g}"
            )
    return out


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
        return div(first * (mul_pow(n) - 1.0), mul - 1.0)

    i = jnp.where(t < start(i), jnp.maximum(i - 1.0, 0.0), i)
    i = jnp.where(t >= start(i + 1.0), i + 1.0, i)
    return i, t - start(i), first * mul_pow(i)
