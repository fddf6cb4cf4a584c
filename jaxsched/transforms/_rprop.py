"""Rprop (Riedmiller & Braun 1993): per-coordinate step sizes driven by gradient signs."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    PyTree,
    ScalarOrSchedule,
    cast_like,
    check_hyperparam,
    check_same_tree,
    concrete_float,
    is_schedule,
    moment_dtype,
    zeros_like_tree,
)
from .._hyper import with_hyperparams


class ScaleByRpropState(NamedTuple):
    step_sizes: PyTree
    prev: PyTree


def rprop_rule(
    learning_rate: Any,
    eta_minus: Any,
    eta_plus: Any,
    min_step_size: Any,
    max_step_size: Any,
    *,
    dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Rprop rule with hyperparameter values given directly (see :func:`scale_by_rprop`)."""

    def init(params):
        step_sizes = jax.tree.map(
            lambda p: jnp.full(jnp.shape(p), learning_rate, moment_dtype(p.dtype, dtype)), params
        )
        return ScaleByRpropState(step_sizes, zeros_like_tree(params, dtype))

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


def check_rprop_args(
    learning_rate: Any, eta_minus: Any, eta_plus: Any, min_step_size: Any, max_step_size: Any
) -> None:
    check_hyperparam("learning_rate", learning_rate, low=0.0)
    check_hyperparam("eta_minus", eta_minus, 0.0, 1.0, low_open=True, high_open=True)
    check_hyperparam("eta_plus", eta_plus, low=1.0, low_open=True)
    check_hyperparam("min_step_size", min_step_size, low=0.0)
    check_hyperparam("max_step_size", max_step_size, low=0.0)
    if not (is_schedule(min_step_size) or is_schedule(max_step_size)):
        low, high = concrete_float(min_step_size), concrete_float(max_step_size)
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_step_size must not exceed max_step_size, got {low!r} > {high!r}")


def scale_by_rprop(
    learning_rate: ScalarOrSchedule = 1e-2,
    eta_minus: ScalarOrSchedule = 0.5,
    eta_plus: ScalarOrSchedule = 1.2,
    min_step_size: ScalarOrSchedule = 1e-6,
    max_step_size: ScalarOrSchedule = 50.0,
    *,
    dtype: Any = None,
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
      min_step_size, max_step_size: the step size bounds, >= 0 (``"min_step_size"``,
        ``"max_step_size"``).
      dtype: dtype of the step sizes and the previous gradient; default the parameter
        dtype promoted to float32.

    Returns:
      A transformation with a :class:`ScaleByRpropState` inside its hyperparameter state.
    """
    check_rprop_args(learning_rate, eta_minus, eta_plus, min_step_size, max_step_size)
    return with_hyperparams(
        lambda learning_rate, eta_minus, eta_plus, min_step_size, max_step_size: rprop_rule(
            learning_rate, eta_minus, eta_plus, min_step_size, max_step_size, dtype=dtype
        ),
        learning_rate=learning_rate,
        eta_minus=eta_minus,
        eta_plus=eta_plus,
        min_step_size=min_step_size,
        max_step_size=max_step_size,
    )
