"""Keras's ``use_ema``: a moving average of the parameters, kept in the optimizer state.

Keras updates the average after every call of ``apply`` (gradient-accumulation calls
included) and, with ``ema_overwrite_frequency``, writes it into the model variables every
that many iterations. :func:`keras_ema` does both; :func:`ema_params` reads the average
back from a state, as Keras's ``finalize_variable_values`` writes it into the model.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    Array,
    PyTree,
    cast_like,
    params_needed,
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._math import update_moment


class EmaState(NamedTuple):
    """State of Keras's ``use_ema``.

    Attributes:
      count: int32 number of calls so far (Keras's raw ``iterations``).
      ema: the moving average of the parameters, like the parameters (float32 for
        bf16/fp16 parameters). :func:`ema_params` returns it.
      inner_state: the state of the optimizer whose parameters are averaged.
    """

    count: Array
    ema: PyTree
    inner_state: PyTree


def keras_ema(
    inner: optax.GradientTransformation,
    momentum: Any,
    overwrite_frequency: int | None,
    accumulation_steps: int,
) -> optax.GradientTransformationExtraArgs:
    """``inner``, then Keras's average of the parameters it produces.

    With ``k`` Keras's iteration (the call count, divided by ``accumulation_steps`` with
    gradient accumulation) and ``x`` the parameters after the update:
    ``ema <- x`` while ``k == 0``, else ``ema <- momentum * ema + (1 - momentum) * x``.
    With ``overwrite_frequency`` ``n``, when ``(k + 1) % n == 0`` the update returned
    moves the parameters onto the new average instead.
    """
    inner = optax.with_extra_args_support(inner)

    def init(params):
        return EmaState(zero_count(), zeros_like_tree(params), inner.init(params))

    def update(updates, state, params=None, **extra):
        params_needed(params, "use_ema")
        out, inner_state = inner.update(updates, state.inner_state, params, **extra)
        iteration = state.count // accumulation_steps
        decay = jnp.where(iteration == 0, 0.0, momentum)
        # The parameters after this update, as ``optax.apply_updates`` computes them.
        moved = jax.tree.map(lambda p, u: (p + u).astype(jnp.result_type(p)), params, out)
        ema = update_moment(moved, state.ema, decay, 1)
        if overwrite_frequency is not None:
            overwrite = (iteration + 1) % overwrite_frequency == 0
            out = jax.tree.map(lambda u, p, a: jnp.where(overwrite, a - p, u), out, params, ema)
        return cast_like(out, updates), EmaState(safe_increment(state.count), ema, inner_state)

    return optax.GradientTransformationExtraArgs(init, update)


def _is_ema(node: Any) -> bool:
    return isinstance(node, EmaState)


def _is_masked(node: Any) -> bool:
    return isinstance(node, optax.MaskedNode)


def ema_params(state: PyTree, params: PyTree | None = None) -> PyTree:
    """The moving average of the parameters kept by a Keras flavor built with ``use_ema=True``.

    Keras's ``finalize_variable_values`` (called by ``fit`` after the last epoch) writes
    this average into the model; evaluate or export with it. Every average in ``state``
    is used (inside ``chain``, ``partition``, :func:`jaxsched.keras.MultiOptimizer`,
    :func:`jaxsched.keras.LossScaleOptimizer` or other wrappers), each for the leaves
    it covers.

    Args:
      state: an optimizer state holding at least one average.
      params: the current parameters. Needed only where some leaves have no average (a
        ``MultiOptimizer`` whose optimizers do not all use EMA): those leaves are taken
        from ``params``, as Keras leaves them. With ``params`` the result has their dtypes.

    Returns:
      A pytree like the parameters (the averages are float32 for bf16/fp16 parameters
      unless ``params`` is given).

    Raises:
      ValueError: if ``state`` holds no average, or some leaves have none and ``params``
        is not given.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.SGD(1.0, use_ema=True, ema_momentum=0.5)
      >>> params = jnp.array([4.0])
      >>> state = tx.init(params)
      >>> for _ in range(2):
      ...     u, state = tx.update(jnp.array([1.0]), state, params)
      ...     params = jaxsched.apply_updates(params, u)
      >>> print(params, jaxsched.ema_params(state))  # the average starts at the first step's 3
      [2.] [2.5]

    References:
      ``keras.optimizers.Optimizer(use_ema=True)`` and its ``finalize_variable_values``.
    """
    found = [node for node in jax.tree.leaves(state, is_leaf=_is_ema) if _is_ema(node)]
    if not found:
        raise ValueError(
            "ema_params: the state holds no moving average of the parameters; build the "
            "Keras optimizer with use_ema=True"
        )
    merged = found[0].ema if params is None else params
    for node in found:
        merged = jax.tree.map(
            lambda a, x: x if _is_masked(a) else a, node.ema, merged, is_leaf=_is_masked
        )
    if params is not None:
        return cast_like(merged, params)
    if any(_is_masked(x) for x in jax.tree.leaves(merged, is_leaf=_is_masked)):
        raise ValueError(
            "ema_params: some parameters have no moving average (their optimizer was "
            "built without use_ema); pass params to take those from them"
        )
    return merged
