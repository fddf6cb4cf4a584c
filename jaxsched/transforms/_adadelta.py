"""Adadelta's scaling (Zeiler 2012)."""

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
    zeros_like_tree,
)
from .._hyper import with_hyperparams


class ScaleByAdadeltaState(NamedTuple):
    e_g: PyTree
    e_x: PyTree


def adadelta_rule(rho: Any, eps: Any, *, nu_dtype: Any = None):
    """Adadelta rule with hyperparameter values given directly (see :func:`scale_by_adadelta`)."""

    def init(params):
        return ScaleByAdadeltaState(
            zeros_like_tree(params, nu_dtype), zeros_like_tree(params, nu_dtype)
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.e_g, updates)
        e_g = jax.tree.map(
            lambda v, g: (rho * v + (1 - rho) * jnp.square(g.astype(v.dtype))).astype(v.dtype),
            state.e_g,
            updates,
        )
        delta = jax.tree.map(
            lambda g, v, u: jnp.sqrt(u + eps) / jnp.sqrt(v + eps) * g, updates, e_g, state.e_x
        )
        e_x = jax.tree.map(
            lambda u, d: (rho * u + (1 - rho) * jnp.square(d)).astype(u.dtype), state.e_x, delta
        )
        return cast_like(delta, updates), ScaleByAdadeltaState(e_g, e_x)

    return optax.GradientTransformationExtraArgs(init, update)


def check_adadelta_args(rho: Any, eps: Any) -> None:
    check_hyperparam("rho", rho, 0.0, 1.0)
    check_hyperparam("eps", eps, low=0.0)


def scale_by_adadelta(
    rho: ScalarOrSchedule = 0.9, eps: ScalarOrSchedule = 1e-6, *, nu_dtype: Any = None
) -> optax.GradientTransformationExtraArgs:
    """Rescales updates by the ratio of two running RMS values (Adadelta).

    ``v <- rho v + (1 - rho) g^2``; ``d = sqrt(u + eps) / sqrt(v + eps) * g``;
    ``u <- rho u + (1 - rho) d^2``; output ``d``. The rule of ``torch.optim.Adadelta``
    and ``keras.optimizers.Adadelta`` (both then multiply by the learning rate).

    Args:
      rho: in [0, 1] (state key ``"rho"``).
      eps: >= 0 (``"eps"``).
      nu_dtype: dtype of both accumulators; default the parameter dtype promoted to float32.

    Returns:
      A transformation with a :class:`ScaleByAdadeltaState` inside its hyperparameter state.
    """
    check_adadelta_args(rho, eps)
    return with_hyperparams(
        lambda rho, eps: adadelta_rule(rho, eps, nu_dtype=nu_dtype), rho=rho, eps=eps
    )
