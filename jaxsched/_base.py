"""Shared types, saturating counters, tree checks and argument validation."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
PyTree = Any
Schedule = Callable[[Any], Array]
"""A pure function ``step -> value``: a 0-based int step in, a float32 scalar out."""


class StatefulSchedule(NamedTuple):
    """A schedule that keeps state and may read the extra arguments of ``update``.

    ``init() -> state`` builds the state (arrays only); ``update(state, step, extra)
    -> (value, state)`` returns the value for this update and the new state. ``extra``
    is the dict of keyword arguments given to the transformation's ``update`` (for
    example ``value=`` for metric-driven schedules such as reduce-on-plateau).
    ``current(state) -> value`` is the value the state holds now (reported before the
    first update).
    """

    init: Callable[[], PyTree]
    update: Callable[[PyTree, Array, dict[str, Any]], tuple[Array, PyTree]]
    current: Callable[[PyTree], Array]


ScalarOrSchedule = float | int | Array | Schedule | StatefulSchedule

_INT32_MAX = np.iinfo(np.int32).max


def safe_increment(count: Array) -> Array:
    """Adds one to an int32 counter, saturating at the int32 maximum instead of wrapping."""
    return jnp.where(count < _INT32_MAX, count + 1, count).astype(jnp.int32)


def zero_count() -> Array:
    return jnp.zeros([], jnp.int32)


def is_schedule(value: Any) -> bool:
    """True for a pure ``step -> value`` callable or a :class:`StatefulSchedule`."""
    return isinstance(value, StatefulSchedule) or callable(value)


def concrete_float(value: Any) -> float | None:
    """The Python float of a concrete scalar, or None for tracers and schedules."""
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got the bool {value!r}")
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        if isinstance(value, jax.core.Tracer):
            return None
        if np.ndim(value) != 0:
            return None
        return float(value)
    return None


def check_hyperparam(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raises ValueError if a concrete hyperparameter lies outside ``[low, high]``.

    Schedules and traced values are not checked (they have no value yet). Bounds are
    closed unless ``low_open`` / ``high_open`` say otherwise.
    """
    if is_schedule(value):
        return
    if not isinstance(value, (numbers.Real, np.ndarray, np.generic, jax.Array)):
        raise TypeError(
            f"{name} must be a number, a jax scalar or a schedule, got {type(value).__name__}"
        )
    v = concrete_float(value)
    if v is None:
        return
    lo_ok = low is None or (v > low if low_open else v >= low)
    hi_ok = high is None or (v < high if high_open else v <= high)
    if math.isnan(v) or not (lo_ok and hi_ok):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = (
            ("(" if low_open or low is None else "[")
            + f"{lo}, {hi}"
            + (")" if high_open or high is None else "]")
        )
        raise ValueError(f"{name} must lie in {interval}, got {v!r}")


def check_int(name: str, value: Any, low: int | None = None) -> int:
    """Validates a static integer argument (a step count, a period) and returns it."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value}")
    return value


def check_choice(name: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def path_str(path: tuple[Any, ...]) -> str:
    """Formats a jax key path as ``a/0/b`` (``<root>`` when empty)."""
    parts = []
    for key in path:
        if isinstance(key, jax.tree_util.DictKey):
            parts.append(str(key.key))
        elif isinstance(key, jax.tree_util.SequenceKey):
            parts.append(str(key.idx))
        elif isinstance(key, jax.tree_util.GetAttrKey):
            parts.append(key.name)
        elif isinstance(key, jax.tree_util.FlattenedIndexKey):
            parts.append(str(key.key))
        else:
            parts.append(str(key))
    return "/".join(parts) if parts else "<root>"


def check_same_tree(
    expected: PyTree, got: PyTree, what: str = "updates", against: str = "the optimizer state"
) -> None:
    """Raises ValueError naming the first path where ``got`` differs from ``expected``.

    Compares tree structure and leaf shapes. Runs at trace time only (structure and
    shapes are static), so it costs nothing inside a compiled step.
    """
    exp_leaves, exp_def = jax.tree_util.tree_flatten_with_path(expected)
    got_leaves, got_def = jax.tree_util.tree_flatten_with_path(got)
    if exp_def != got_def:
        exp_paths = [path_str(p) for p, _ in exp_leaves]
        got_paths = [path_str(p) for p, _ in got_leaves]
        for i in range(max(len(exp_paths), len(got_paths))):
            e = exp_paths[i] if i < len(exp_paths) else None
            g = got_paths[i] if i < len(got_paths) else None
            if e != g:
                if g is None:
                    raise ValueError(f"{what} tree is missing the leaf at path {e!r}")
                if e is None or g not in exp_paths:
                    raise ValueError(
                        f"{what} tree has a leaf at path {g!r} that {against} does not have"
                    )
                raise ValueError(f"{what} tree is missing the leaf at path {e!r}")
        raise ValueError(
            f"{what} tree structure differs from that of {against}: {got_def} vs {exp_def}"
        )
    for (path, e), (_, g) in zip(exp_leaves, got_leaves):
        if np.shape(e) != np.shape(g):
            raise ValueError(
                f"{what} leaf at path {path_str(path)!r} has shape {np.shape(g)}, expected "
                f"{np.shape(e)} (from {against})"
            )


def moment_dtype(param_dtype: Any, override: Any = None) -> Any:
    """dtype for an optimizer moment: ``override`` or the parameter dtype promoted to float32.

    bf16/fp16 parameters get float32 moments; float64 stays float64.
    """
    if override is not None:
        return jnp.dtype(override)
    return jnp.promote_types(param_dtype, jnp.float32)


def zeros_like_tree(params: PyTree, dtype: Any = None) -> PyTree:
    return jax.tree.map(lambda p: jnp.zeros(jnp.shape(p), moment_dtype(p.dtype, dtype)), params)


def cast_like(updates: PyTree, like: PyTree) -> PyTree:
    """Casts each update leaf back to the dtype of the matching leaf of ``like``."""
    return jax.tree.map(lambda u, g: jnp.asarray(u).astype(jnp.result_type(g)), updates, like)
