"""Adamax (Kingma & Ba 2015, section 7): Adam with an infinity-norm second moment."""

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
from .._math import bias_correction, update_moment
from .._validate import Decay, Flag, FloatDtype, NonNegative


class ScaleByAdamaxState(NamedTuple):
    count: Array
    mu: PyTree
    nu: PyTree


@block
def scale_by_adamax(
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    *,
    eps_in_max: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
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
      A transformation with ``b1``, ``b2`` and ``eps`` in its state, and a
      :class:`ScaleByAdamaxState` inside.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_adamax(eps=0.0)
      >>> u, _ = tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))
      >>> print(u)  # the first step is sign(g)
      [ 1. -1.]

    References:
      Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", section 7.1;
      ``torch.optim.Adamax``; ``keras.optimizers.Adamax``; ``optax.scale_by_adamax``.
    """

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
        count = safe_increment(state.count)
        bc1 = bias_correction(b1, count)
        if eps_in_max:
            out = jax.tree.map(lambda m, u: m / (bc1 * u), mu, nu)
        else:
            out = jax.tree.map(lambda m, u: m / (bc1 * (u + eps)), mu, nu)
        return cast_like(out, updates), ScaleByAdamaxState(count, mu, nu)

    return optax.GradientTransformationExtraArgs(init, update)
