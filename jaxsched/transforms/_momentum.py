"""Momentum: torch's heavy ball (with dampening and Nesterov) and the EMA form."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    Array,
    PyTree,
    ScalarOrSchedule,
    cast_like,
    check_hyperparam,
    check_same_tree,
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._hyper import with_hyperparams


class TraceState(NamedTuple):
    count: Array
    trace: PyTree


def trace_rule(
    momentum: Any,
    dampening: Any = 0.0,
    *,
    nesterov: bool = False,
    zero_init: bool = False,
    dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Momentum rule with hyperparameter values given directly (see :func:`trace`)."""

    def init(params):
        return TraceState(zero_count(), zeros_like_tree(params, dtype))

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.trace, updates)
        first = jnp.logical_and(state.count == 0, not zero_init)

        def step(g, buf):
            new = jnp.where(first, g, momentum * buf + (1 - dampening) * g)
            return new.astype(buf.dtype)

        buf = jax.tree.map(step, updates, state.trace)
        out = jax.tree.map(lambda g, b: g + momentum * b, updates, buf) if nesterov else buf
        return cast_like(out, updates), TraceState(safe_increment(state.count), buf)

    return optax.GradientTransformationExtraArgs(init, update)


def trace(
    momentum: ScalarOrSchedule,
    dampening: ScalarOrSchedule = 0.0,
    *,
    nesterov: bool = False,
    zero_init: bool = False,
    dtype: Any = None,
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
      dampening: in [0, 1] (``"dampening"``).
      nesterov: Nesterov momentum (Sutskever et al. 2013, torch's form).
      zero_init: start the buffer at zero instead of copying the first update.
      dtype: dtype of the buffer; default the update dtype promoted to float32.
    """
    check_hyperparam("momentum", momentum, 0.0, 1.0)
    check_hyperparam("dampening", dampening, 0.0, 1.0)
    return with_hyperparams(
        lambda momentum, dampening: trace_rule(
            momentum, dampening, nesterov=nesterov, zero_init=zero_init, dtype=dtype
        ),
        momentum=momentum,
        dampening=dampening,
    )
