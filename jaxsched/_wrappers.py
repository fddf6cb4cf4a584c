"""Wrappers that decide when the inner optimizer runs: gradient accumulation, non-finite guard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._base import (
    Array,
    PyTree,
    all_finite,
    cast_like,
    check_same_tree,
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from ._validate import Integer, Steps, Transformation, validated


def match_sharding(tree: PyTree, like: PyTree) -> PyTree:
    """Reshards each leaf of ``tree`` whose sharding type differs from ``like``'s leaf.

    Under a mesh with Explicit axes the sharding is part of an array's type. A state
    built without the parameters' sharding (by a transformation that makes its buffers
    from shapes) gets it back from the gradients once updated, so the updated state's
    type would differ from the state's. Elsewhere (Auto axes, no mesh) the types agree
    and nothing happens.
    """

    def fix(x, ref):
        spec = jax.typeof(ref).sharding.spec
        return x if jax.typeof(x).sharding.spec == spec else jax.sharding.reshard(x, spec)

    return jax.tree.map(fix, tree, like)


def typed_cond(
    pred: Array, true_fn: Callable[[], Any], false_fn: Callable[[], Any], like: PyTree
) -> Any:
    """``jax.lax.cond`` of two thunks whose outputs take the types of ``like``'s arrays.

    ``jax.lax.cond`` needs both branches to return the same types, sharding included on
    an Explicit mesh; a branch that passes a state through and one that updates it may
    not (see :func:`match_sharding`). Both are resharded to ``like`` (the inputs the
    branches replace), which also keeps the state's type from one step to the next.
    """
    return jax.lax.cond(
        pred, lambda: match_sharding(true_fn(), like), lambda: match_sharding(false_fn(), like)
    )


class AccumulateState(NamedTuple):
    """State of :func:`accumulate`.

    Attributes:
      micro_step: int32 position in the current group of ``every`` calls (0 .. every-1).
      grad_sum: the sum of the gradients of the current group (one gradient-sized buffer,
        float32 for bf16/fp16 gradients).
      inner_state: the state of the wrapped optimizer.
    """

    micro_step: Array
    grad_sum: PyTree
    inner_state: PyTree


@validated
def accumulate(inner: Transformation, every: Steps) -> optax.GradientTransformationExtraArgs:
    """Gradient accumulation: the inner optimizer steps once per ``every`` calls.

    Calls ``0 .. every-2`` of each group add their gradient to a buffer and return zero
    updates; call ``every-1`` passes the mean gradient ``sum / every`` (with that call's
    ``params`` and extra arguments) to ``inner`` and returns its updates. So ``every``
    micro-batches of size ``b`` give the step of one batch of size ``every * b`` (for a
    loss that is a mean over the batch); ``optax.MultiSteps``' rule. ``inner`` runs under
    ``jax.lax.cond``: it is not computed on the other calls, and its step count and
    schedules advance once per group.

    Args:
      inner: the optimizer.
      every: calls per optimizer step, int >= 1.

    Returns:
      A transformation with an :class:`AccumulateState`; ``update`` passes ``params``
      (None included) to ``inner``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.accumulate(jaxsched.sgd(1.0), every=2)
      >>> state = tx.init(jnp.zeros(1))
      >>> u0, state = tx.update(jnp.array([1.0]), state)
      >>> u1, state = tx.update(jnp.array([3.0]), state)
      >>> print(u0, u1)
      [0.] [-2.]

    References:
      ``optax.MultiSteps``.
    """
    inner = optax.with_extra_args_support(inner)

    def init(params):
        return AccumulateState(zero_count(), zeros_like_tree(params), inner.init(params))

    def update(updates, state, params=None, **extra):
        check_same_tree(state.grad_sum, updates)
        total = jax.tree.map(lambda s, g: (s + g).astype(s.dtype), state.grad_sum, updates)
        last = state.micro_step >= every - 1

        def step():
            mean = cast_like(jax.tree.map(lambda s: s / every, total), updates)
            out, inner_state = inner.update(mean, state.inner_state, params, **extra)
            return cast_like(out, updates), inner_state, jax.tree.map(jnp.zeros_like, total)

        def wait():
            return jax.tree.map(jnp.zeros_like, updates), state.inner_state, total

        like = (updates, state.inner_state, state.grad_sum)
        out, inner_state, total = typed_cond(last, step, wait, like)
        micro_step = jnp.where(last, 0, state.micro_step + 1).astype(jnp.int32)
        return out, AccumulateState(micro_step, total, inner_state)

    return optax.GradientTransformationExtraArgs(init, update)


class SkipNonfiniteState(NamedTuple):
    """State of :func:`skip_nonfinite`.

    Attributes:
      total_skips: int32 steps skipped so far.
      consecutive_skips: int32 skipped steps since the last finite one.
      limit_exceeded: bool, True once ``consecutive_skips`` went above
        ``max_consecutive`` (sticky; :func:`check_finite_state` raises on it).
      inner_state: the state of the wrapped optimizer.
    """

    total_skips: Array
    consecutive_skips: Array
    limit_exceeded: Array
    inner_state: PyTree


@validated
def skip_nonfinite(
    inner: Transformation,
    max_consecutive: Annotated[int | None, Integer(low=0, optional=True)] = None,
) -> optax.GradientTransformationExtraArgs:
    """Skips steps whose gradients contain NaN or inf.

    Such a step returns zero updates and leaves the inner state untouched (``inner``
    is not computed: ``jax.lax.cond``), and counts the skip. A finite step resets the
    consecutive count. ``optax.apply_if_finite``'s rule, except what happens after too
    many skips in a row: with ``max_consecutive=None`` steps keep being skipped; with an
    int, once more than ``max_consecutive`` consecutive steps were skipped the state's
    ``limit_exceeded`` flag turns True (and stays True) and :func:`check_finite_state`
    raises on the host; steps keep being skipped, so parameters stay finite.

    Args:
      inner: the optimizer.
      max_consecutive: consecutive skips tolerated (int >= 0), or None for no limit.

    Returns:
      A transformation with a :class:`SkipNonfiniteState`; ``update`` passes ``params``
      (None included) to ``inner``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.skip_nonfinite(jaxsched.sgd(1.0))
      >>> u, state = tx.update(jnp.array([jnp.nan]), tx.init(jnp.zeros(1)))
      >>> print(u, state.total_skips)
      [0.] 1

    References:
      ``optax.apply_if_finite``.
    """
    inner = optax.with_extra_args_support(inner)

    def init(params):
        no = jnp.zeros([], bool)
        return SkipNonfiniteState(zero_count(), zero_count(), no, inner.init(params))

    def update(updates, state, params=None, **extra):
        finite = all_finite(updates)

        def step():
            out, inner_state = inner.update(updates, state.inner_state, params, **extra)
            return cast_like(out, updates), inner_state

        def skip():
            return jax.tree.map(jnp.zeros_like, updates), state.inner_state

        out, inner_state = typed_cond(finite, step, skip, (updates, state.inner_state))
        consecutive = jnp.where(finite, 0, safe_increment(state.consecutive_skips))
        total = jnp.where(finite, state.total_skips, safe_increment(state.total_skips))
        exceeded = state.limit_exceeded
        if max_consecutive is not None:
            exceeded = exceeded | (consecutive > max_consecutive)
        new_state = SkipNonfiniteState(
            total.astype(jnp.int32), consecutive.astype(jnp.int32), exceeded, inner_state
        )
        return out, new_state

    return optax.GradientTransformationExtraArgs(init, update)


def _is_guard(node: Any) -> bool:
    return isinstance(node, SkipNonfiniteState)


def check_finite_state(state: PyTree) -> None:
    """Raises ``FloatingPointError`` if a :func:`skip_nonfinite` limit was exceeded.

    Call it on the host between steps (it reads the flags, so it synchronises). Works
    on any state containing :class:`SkipNonfiniteState` nodes, batched (vmapped) or not.

    Args:
      state: an optimizer state (any pytree); states without a guard pass.

    Raises:
      FloatingPointError: naming the number of consecutive and total skips.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.skip_nonfinite(jaxsched.sgd(1.0), max_consecutive=0)
      >>> _, state = tx.update(jnp.array([jnp.inf]), tx.init(jnp.zeros(1)))
      >>> try:
      ...     jaxsched.check_finite_state({"opt": state})
      ... except FloatingPointError as err:
      ...     print(err)
      too many consecutive steps with non-finite gradients: 1 in a row, 1 skipped in total

    References:
      ``optax.apply_if_finite`` (which gives up silently instead).
    """
    for node in jax.tree.leaves(state, is_leaf=_is_guard):
        if _is_guard(node) and np.any(np.asarray(node.limit_exceeded)):
            raise FloatingPointError(
                "too many consecutive steps with non-finite gradients: "
                f"{np.max(np.asarray(node.consecutive_skips))} in a row, "
                f"{np.max(np.asarray(node.total_skips))} skipped in total"
            )
