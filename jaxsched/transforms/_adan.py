"""Adan's rule (Xie et al. 2022): Nesterov momentum estimated from gradient differences."""

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
from .._validate import Decay, FloatDtype, NonNegative


class ScaleByAdanState(NamedTuple):
    count: Array
    mu: PyTree
    delta: PyTree
    nu: PyTree
    prev_grad: PyTree


@block
def scale_by_adan(
    b1: Decay = 0.98,
    b2: Decay = 0.92,
    b3: Decay = 0.99,
    eps: NonNegative = 1e-8,
    *,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Adan's direction: averages of the gradient, of its change, and of their square.

    With ``d = g - g_prev`` (zero on the first update),
    ``m <- b1 m + (1 - b1) g``, ``delta <- b2 delta + (1 - b2) d`` and
    ``n <- b3 n + (1 - b3) (g + b2 d)^2``; with ``t`` the 1-based step and
    ``bc_i = 1 - b_i^t``, the output is
    ``(m / bc1 + b2 delta / bc2) / (sqrt(n / bc3) + eps)``. The decay rates are the
    authors' code's, one minus the paper's ``beta_i``.

    Args:
      b1, b2, b3: decay rates in [0, 1) (state keys ``"b1"``, ``"b2"``, ``"b3"``).
      eps: added to the denominator, >= 0 (``"eps"``).
      mu_dtype: dtype of ``m``, ``delta`` and the previous gradient; ``nu_dtype``: of
        ``n``; default the parameter dtype promoted to float32.

    Returns:
      A transformation with ``b1``, ``b2``, ``b3`` and ``eps`` in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_adan()
      >>> u, _ = tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))
      >>> print(u.round(4))  # no gradient change yet: sign(g), as Adam's first step
      [ 1. -1.]

    References:
      Xie et al. 2022, "Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing
      Deep Models" (Algorithm 1); ``Adan`` in sail-sg/Adan (the authors' code);
      ``pytorch_optimizer.Adan``.
    """

    def init(params):
        mu = zeros_like_tree(params, mu_dtype)
        return ScaleByAdanState(zero_count(), mu, mu, zeros_like_tree(params, nu_dtype), mu)

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        count = safe_increment(state.count)
        first = count == 1
        grads = jax.tree.map(lambda g, p: g.astype(p.dtype), updates, state.prev_grad)
        diff = jax.tree.map(
            lambda g, p: jnp.where(first, jnp.zeros_like(g), g - p), grads, state.prev_grad
        )
        mu = update_moment(grads, state.mu, b1, 1)
        delta = update_moment(diff, state.delta, b2, 1)
        nesterov = jax.tree.map(lambda g, d: g + b2 * d, grads, diff)
        nu = update_moment(nesterov, state.nu, b3, 2)
        bc1 = bias_correction(b1, count)
        bc2 = bias_correction(b2, count)
        bc3 = bias_correction(b3, count)

        def direction(m, dl, n):
            return (m / bc1 + b2 * dl / bc2) / (jnp.sqrt(n) / jnp.sqrt(bc3) + eps)

        out = jax.tree.map(direction, mu, delta, nu)
        new_state = ScaleByAdanState(count, mu, delta, nu, grads)
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)
