"""Adamax (Kingma & Ba 2015, section 7): Adam with an infinity-norm second moment."""

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
    check_same_tree,
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._hyper import with_hyperparams
from ._adam import bias_corrections, check_adam_args, update_moment


class ScaleByAdamaxState(NamedTuple):
    count: Array
    mu: PyTree
    nu: PyTree


def adamax_rule(
    b1: Any,
    b2: Any,
    eps: Any,
    *,
    eps_in_max: bool = False,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Adamax rule with hyperparameter values given directly (see :func:`scale_by_adamax`)."""

    def init(params):
        return ScaleByAdamaxState(
            zero_count(), zeros_like_tree(params, mu_dtype), zeros_like_tree(params, nu_dtype)
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        mu = update_moment(updates, state.mu, b1, 1)

        def norm(u, g):
            size = jnp.abs(g.astype(u.dtype))
            return jnp.maximum(b2 * u, size + eps if eps_in_max else size).astype(u.dtype)

        nu = jax.tree.map(norm, state.nu, updates)
        bc1, _ = bias_corrections(b1, b2, state.count)
        if eps_in_max:
            out = jax.tree.map(lambda m, u: m / (bc1 * u), mu, nu)
        else:
            out = jax.tree.map(lambda m, u: m / (bc1 * (u + eps)), mu, nu)
        return cast_like(out, updates), ScaleByAdamaxState(safe_increment(state.count), mu, nu)

    return optax.GradientTransformationExtraArgs(init, update)


def scale_by_adamax(
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-8,
    *,
    eps_in_max: bool = False,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Rescales updates by Adamax's bias-corrected momentum over an infinity norm.

    ``m <- b1 m + (1 - b1) g``, ``t`` the 1-based step. Default (Keras ``Adamax``,
    optax): ``u <- max(b2 u, |g|)``, output ``m / ((1 - b1^t) (u + eps))``. With
    ``eps_in_max=True`` (``torch.optim.Adamax``): ``u <- max(b2 u, |g| + eps)``, output
    ``m / ((1 - b1^t) u)``.

    Args:
      b1, b2: decay rates in [0, 1) (state keys ``"b1"``, ``"b2"``).
      eps: >= 0 (``"eps"``).
      eps_in_max: torch's placement of eps (see above).
      mu_dtype, nu_dtype: dtypes of ``m`` and ``u``; default the parameter dtype
        promoted to float32.

    Returns:
      A transformation with a :class:`ScaleByAdamaxState` inside its hyperparameter state.
    """
    check_adam_args(b1, b2, eps)
    return with_hyperparams(
        lambda b1, b2, eps: adamax_rule(
            b1, b2, eps, eps_in_max=eps_in_max, mu_dtype=mu_dtype, nu_dtype=nu_dtype
        ),
        b1=b1,
        b2=b2,
        eps=eps,
    )
