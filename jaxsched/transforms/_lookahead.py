"""Lookahead (Zhang et al. 2019) on ordinary parameters: the slow weights live in the state."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    Array,
    PyTree,
    cast_like,
    check_same_tree,
    params_needed,
    safe_increment,
    zero_count,
)
from .._hyper import block
from .._validate import Steps, Transformation, UnitInterval


class LookaheadState(NamedTuple):
    """State of :func:`lookahead`.

    Attributes:
      count: int32 number of updates done (saturating).
      slow: the slow weights, in the parameters' dtypes (the initial parameters until
        the first synchronisation).
      inner_state: the state of the fast optimizer.
    """

    count: Array
    slow: PyTree
    inner_state: PyTree


@block
def lookahead(
    inner: Transformation,
    sync_period: Steps = 6,
    slow_step_size: UnitInterval = 0.5,
) -> optax.GradientTransformationExtraArgs:
    """Lookahead: every ``sync_period`` updates, pull the weights back towards slow weights.

    The fast weights follow ``inner``. After update ``k`` (1-based) with
    ``k % sync_period == 0`` the slow weights move ``slow <- slow + slow_step_size *
    (fast - slow)`` and the parameters are reset to them. Unlike
    ``optax.lookahead``, the parameters stay an ordinary pytree: the slow weights
    (starting at the initial parameters) are kept in the state, and on a
    synchronising update the returned update moves the parameters straight to the
    new slow weights. ``update`` therefore needs ``params``.

    Args:
      inner: the fast optimizer (any optax transformation).
      sync_period: k, an integer >= 1, the number of fast updates between
        synchronisations.
      slow_step_size: alpha in [0, 1]; number, jax scalar or schedule (state key
        ``"slow_step_size"``).

    Returns:
      A transformation whose state holds ``slow_step_size`` and a :class:`LookaheadState`
      (with the inner optimizer's state, hyperparameters included).

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.lookahead(jaxsched.sgd(1.0), sync_period=2, slow_step_size=0.5)
      >>> p = jnp.array([0.0])
      >>> state = tx.init(p)
      >>> for _ in range(2):  # fast weights reach 2; the sync pulls them back halfway
      ...     u, state = tx.update(jnp.array([-1.0]), state, p)
      ...     p = p + u
      >>> print(p)
      [1.]

    References:
      Zhang et al. 2019, "Lookahead Optimizer: k steps forward, 1 step back";
      ``optax.lookahead``.
    """
    inner = optax.with_extra_args_support(inner)

    def init(params):
        # A copy (keeping the parameters' sharding), so that donating the parameters
        # to a jitted step never donates the slow weights too.
        slow = jax.tree.map(jnp.copy, params)
        return LookaheadState(zero_count(), slow, inner.init(params))

    def update(updates, state, params=None, **extra):
        params_needed(params, "lookahead")
        check_same_tree(state.slow, updates)
        fast_updates, inner_state = inner.update(updates, state.inner_state, params, **extra)
        # The step's 1-based number: every sync_period-th update syncs.
        count = safe_increment(state.count)
        sync = count % sync_period == 0

        def step(p, u, slow):
            fast = (p + u).astype(p.dtype)
            synced = (slow + slow_step_size * (fast - slow)).astype(slow.dtype)
            return jnp.where(sync, synced - p, u), jnp.where(sync, synced, slow)

        stepped = jax.tree.map(step, params, fast_updates, state.slow)
        out, slow = jax.tree.transpose(
            jax.tree.structure(params), jax.tree.structure((0, 0)), stepped
        )
        new_state = LookaheadState(count, slow, inner_state)
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)
