"""Momentum: torch's heavy ball (with dampening and Nesterov) and the EMA form."""

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
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._hyper import block
from .._validate import Flag, FloatDtype, OptionalUnitInterval, UnitInterval


class TraceState(NamedTuple):
    """State of :func:`trace`.

    Attributes:
      count: int32 number of updates done; None without ``dampening``, whose first
        update is the same as the others (the buffer is still zero).
      trace: the momentum buffer.
    """

    count: Array | None
    trace: PyTree


@block
def trace(
    momentum: UnitInterval,
    dampening: OptionalUnitInterval = None,
    *,
    nesterov: Flag = False,
    zero_init: Flag = False,
    dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Momentum buffer ``b <- momentum * b + (1 - dampening) * u``.

    Output ``b`` (heavy ball), or ``u + momentum * b`` with ``nesterov=True``. As in
    ``torch.optim.SGD``, the first update sets ``b = u`` (no dampening); with
    ``zero_init=True`` the buffer starts at zero instead, which gives the exponential
    moving average of the seeds' "SGDM", ``m <- b m + (1 - b) g``, as
    ``trace(b, dampening=b, zero_init=True)``. Placed after
    :func:`scale_by_learning_rate` it is Keras's SGD, whose buffer holds ``-lr * g``.

    Args:
      momentum: in [0, 1]; number, jax scalar or schedule (``"momentum"`` in the state).
      dampening: in [0, 1] (``"dampening"``), or None for none: ``b <- momentum * b +
        u``, the numbers of dampening 0 without its product in every leaf's loop (a
        runtime scalar there costs compile time per leaf).
      nesterov: Nesterov momentum (Sutskever et al. 2013, torch's form).
      zero_init: start the buffer at zero instead of copying the first update (the
        same without dampening).
      dtype: dtype of the buffer; default the update dtype promoted to float32.

    Returns:
      A transformation with ``momentum`` (and ``dampening`` when given) in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.trace(0.9)
      >>> state = tx.init(jnp.zeros(1))
      >>> u, state = tx.update(jnp.ones(1), state)
      >>> u, state = tx.update(jnp.ones(1), state)
      >>> print(u)
      [1.9]

    References:
      Polyak 1964; Sutskever et al. 2013; ``torch.optim.SGD``; ``optax.trace``.
    """

    def init(params):
        count = None if dampening is None else zero_count()
        return TraceState(count, zeros_like_tree(params, dtype))

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.trace, updates)
        if dampening is None:
            # The buffer starts at zero, so the first update gives b = u exactly.
            def step(g, buf):
                return (momentum * buf + g).astype(buf.dtype)

            count = None
        else:
            # torch's undamped first step as a scalar: the buffer is still zero then, so
            # momentum * 0 + 1 * g is g exactly, and no per-leaf select is compiled.
            count = safe_increment(state.count)
            first = jnp.logical_and(count == 1, not zero_init)
            rest = jnp.where(first, 1.0, 1 - dampening)

            def step(g, buf):
                return (momentum * buf + rest * g).astype(buf.dtype)

        buf = jax.tree.map(step, updates, state.trace)
        out = jax.tree.map(lambda g, b: g + momentum * b, updates, buf) if nesterov else buf
        return cast_like(out, updates), TraceState(count, buf)

    return optax.GradientTransformationExtraArgs(init, update)
