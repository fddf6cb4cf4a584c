"""Shared types, saturating counters, tree checks and argument validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

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


def all_finite(tree: PyTree) -> Array:
    """A boolean scalar: no leaf of ``tree`` holds a NaN or an infinity."""
    checks = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(checks)) if checks else jnp.ones([], bool)


def split_spec(x: Array) -> Any:
    """The partition spec of ``x`` when its type splits it over mesh axes, else None.

    Only Explicit mesh axes put a sharding in the type; without a mesh or on Auto axes
    this is None and XLA places the computation.
    """
    spec = jax.typeof(x).sharding.spec
    return spec if any(s is not None for s in spec) else None


def distinct_buffers(tree: PyTree, seen: set[int] | None = None) -> PyTree:
    """``tree`` with each array that appears again (or is in ``seen``, a set of ids that
    grows) replaced by a copy; ``tree`` itself when no array repeats.

    A state built eagerly can hold one array in several places (zeros shared by two
    moments, a hyperparameter that is also the initial value of a buffer). XLA refuses
    to donate one buffer twice, so such a state could not be donated to a jitted step.
    """
    seen = set() if seen is None else seen
    leaves = [x for x in jax.tree.leaves(tree) if isinstance(x, jax.Array)]
    ids = [id(x) for x in leaves if not isinstance(x, jax.core.Tracer)]
    if len(set(ids)) == len(ids) and seen.isdisjoint(ids):
        seen.update(ids)
        return tree

    def own(x: Any) -> Any:
        if not isinstance(x, jax.Array) or isinstance(x, jax.core.Tracer):
            return x
        if id(x) in seen:
            return jnp.copy(x)
        seen.add(id(x))
        return x

    return jax.tree.map(own, tree)


def is_known(value: Any) -> bool:
    """True for a number whose value is known at construction (not a schedule or tracer)."""
    return not (is_schedule(value) or isinstance(value, jax.core.Tracer))


def none_if_zero(value: Any) -> Any:
    """torch's and Keras's "0 (or None) means none" as None; other values as given.

    Only a concrete 0 becomes None: a schedule or a traced value may be non-zero later.
    """
    if value is None or (is_known(value) and float(value) == 0.0):
        return None
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
    # Fast path: paths are only built to name a difference (they cost a trace per block).
    exp_flat, exp_def = jax.tree_util.tree_flatten(expected)
    got_flat, got_def = jax.tree_util.tree_flatten(got)
    if exp_def == got_def and all(np.shape(e) == np.shape(g) for e, g in zip(exp_flat, got_flat)):
        return
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


def full_like_tree(params: PyTree, value: Any, dtype: Any = None) -> PyTree:
    """Arrays filled with ``value``, shaped and sharded like each parameter.

    The dtype is :func:`moment_dtype` of the parameter's dtype and ``dtype``. The value
    is selected against the parameter (``where(True, value, p)``) rather than built from
    its shape: under ``jit`` on an Auto mesh a constant would be replicated, while the
    selection takes the parameter's sharding.
    """

    def full(p):
        dt = moment_dtype(jnp.result_type(p), dtype)
        return jnp.where(True, jnp.asarray(value, dt), jnp.asarray(p, dt))

    return jax.tree.map(full, params)


def zeros_like_tree(params: PyTree, dtype: Any = None) -> PyTree:
    """Zeros shaped and sharded like each parameter (see :func:`full_like_tree`)."""
    return full_like_tree(params, 0, dtype)


class EmptyState(NamedTuple):
    """State of a transformation that keeps nothing between updates."""


MaskOrFn = Any
"""A pytree of bools shaped like the parameters (or a prefix of them), a function
params -> such a tree, or None."""


def stateless(fn: Callable[[PyTree, PyTree], PyTree]) -> optax.GradientTransformationExtraArgs:
    """A transformation from ``fn(updates, params) -> updates`` with an empty state."""

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None, **extra):
        del extra
        return fn(updates, params), state

    return optax.GradientTransformationExtraArgs(init, update)


def _mismatch(params: PyTree, tree: PyTree, what: str) -> ValueError:
    """A ValueError naming a path where ``tree`` is not ``params``' structure or a prefix."""
    ref = [path_str(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
    got = [path_str(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]

    def covers(prefix: str, path: str) -> bool:
        return prefix in ("<root>", path) or path.startswith(prefix + "/")

    for r in ref:
        if not any(covers(g, r) for g in got):
            return ValueError(f"{what} tree has no entry for the parameter at path {r!r}")
    for g in got:
        if not any(covers(g, r) for r in ref):
            return ValueError(f"{what} tree has an entry at path {g!r} that the params lack")
    return ValueError(f"{what} tree's node types differ from the params' (paths {got})")


def per_leaf(spec: Any, tree: PyTree, what: str) -> PyTree:
    """``spec`` (a tree with the structure of ``tree`` or a prefix of it, or a function of
    ``tree``) expanded to one entry per leaf of ``tree``."""
    found = spec(tree) if callable(spec) else spec
    try:
        return jax.tree.map(lambda entry, sub: jax.tree.map(lambda _: entry, sub), found, tree)
    except (ValueError, TypeError) as err:
        raise _mismatch(tree, found, what) from err


def resolve_mask(mask: MaskOrFn, params: PyTree) -> PyTree:
    """The tree of bools, one per leaf of ``params``, that a mask stands for (all True for
    None; a mask over a prefix of the params covers whole subtrees)."""
    return per_leaf(True if mask is None else mask, params, "mask")


def check_float_updates(updates: PyTree) -> None:
    """Raises TypeError naming the first leaf whose dtype is not floating (at trace time)."""
    # Paths are only built when some leaf is not floating.
    if all(jnp.issubdtype(jnp.result_type(x), jnp.inexact) for x in jax.tree.leaves(updates)):
        return
    for path, leaf in jax.tree_util.tree_flatten_with_path(updates)[0]:
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.inexact):
            raise TypeError(
                f"gradients must be floating point; the leaf at {path_str(path)!r} has dtype "
                f"{dtype} (cast the gradients, or exclude integer leaves with "
                "jaxsched.partition or optax.set_to_zero)"
            )


def params_needed(params: PyTree, what: str) -> None:
    """Raises ValueError when ``params`` is None although ``what`` reads them."""
    if params is None:
        raise ValueError(f"{what} reads the parameters: call update(updates, state, params)")


def cast_like(updates: PyTree, like: PyTree) -> PyTree:
    """Casts each update leaf back to the dtype of the matching leaf of ``like``."""
    return jax.tree.map(lambda u, g: jnp.asarray(u).astype(jnp.result_type(g)), updates, like)
