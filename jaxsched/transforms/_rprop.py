"""Rprop (Riedmiller & Braun 1993): per-coordinate step sizes driven by gradient signs."""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._base import (
    PyTree,
    ScalarOrSchedule,
    cast_like,
    check_same_tree,
    full_like_tree,
    zeros_like_tree,
)
from .._hyper import block
from .._validate import FloatDtype, NonNegative, Real


class ScaleByRpropState(NamedTuple):
    step_sizes: PyTree
    prev: PyTree


EtaMinus = Annotated[ScalarOrSchedule, Real(0.0, 1.0, low_open=True, high_open=True)]
EtaPlus = Annotated[ScalarOrSchedule, Real(low=1.0, low_open=True)]


def _check_bounds(min_step_size, max_step_size) -> None:
    """Refuses ``min_step_size > max_step_size`` for concrete values (traced ones pass)."""
    values = (min_step_size, max_step_size)
    if any(isinstance(v, jax.core.Tracer) for v in values):
        return
    low, high = (np.asarray(v) for v in values)
    if np.any(low > high):
        raise ValueError(
            f"min_step_size must not exceed max_step_size, got {low.tolist()!r} > {high.tolist()!r}"
        )


@block
def scale_by_rprop(
    learning_rate: NonNegative = 1e-2,
    eta_minus: EtaMinus = 0.5,
    eta_plus: EtaPlus = 1.2,
    min_step_size: NonNegative = 1e-6,
    max_step_size: NonNegative = 50.0,
    *,
    dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Rprop's signed steps of adaptive size (output in the gradient's direction).

    ``s = sign(g * g_prev)``; the step size grows by ``eta_plus`` where ``s > 0``,
    shrinks by ``eta_minus`` where ``s < 0`` and is clipped to
    ``[min_step_size, max_step_size]``; where ``s < 0`` the gradient is set to zero
    (no step, and no sign memory for the next update); output ``sign(g) * step_size``;
    ``g_prev <- g``. This is ``torch.optim.Rprop``'s rule (which optax's
    ``scale_by_rprop`` does not reproduce). Follow it with a negation for descent, as
    :func:`jaxsched.rprop` does.

    Args:
      learning_rate: the initial step size, >= 0 (state key ``"learning_rate"``; read
        when the state is built).
      eta_minus: in (0, 1) (``"eta_minus"``).
      eta_plus: > 1 (``"eta_plus"``).
      min_step_size, max_step_size: the step size bounds, >= 0, with
        ``min_step_size <= max_step_size`` (``"min_step_size"``, ``"max_step_size"``).
      dtype: dtype of the step sizes and the previous gradient; default the parameter
        dtype promoted to float32.

    Returns:
      A transformation with every numeric argument in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_rprop(0.1)
      >>> state = tx.init(jnp.zeros(2))
      >>> u, state = tx.update(jnp.array([1.0, -1.0]), state)
      >>> u, state = tx.update(jnp.array([1.0, 1.0]), state)  # second sign flipped
      >>> print(u)
      [0.12 0.  ]

    References:
      Riedmiller & Braun 1993, "A Direct Adaptive Method for Faster Backpropagation
      Learning: The RPROP Algorithm"; ``torch.optim.Rprop``.
    """
    _check_bounds(min_step_size, max_step_size)

    def init(params):
        return ScaleByRpropState(
            full_like_tree(params, learning_rate, dtype), zeros_like_tree(params, dtype)
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.prev, updates)
        agreement = jax.tree.map(lambda g, prev: jnp.sign(g * prev), updates, state.prev)

        def new_step_size(s, size):
            factor = jnp.where(s > 0, eta_plus, jnp.where(s < 0, eta_minus, 1.0))
            return jnp.clip(size * factor, min_step_size, max_step_size).astype(size.dtype)

        step_sizes = jax.tree.map(new_step_size, agreement, state.step_sizes)
        # After a sign change the step is skipped and the next one starts afresh.
        grads = jax.tree.map(
            lambda s, g, prev: jnp.where(s < 0, 0, g).astype(prev.dtype),
            agreement,
            updates,
            state.prev,
        )
        out = jax.tree.map(lambda g, size: jnp.sign(g) * size, grads, step_sizes)
        return cast_like(out, updates), ScaleByRpropState(step_sizes, grads)

    return optax.GradientTransformationExtraArgs(init, update)
