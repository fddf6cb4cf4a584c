"""MARS's rule (Yuan et al. 2024): Adam on a variance-reduced gradient."""

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
from .._math import bias_corrections, update_moment
from .._validate import Decay, Flag, FloatDtype, NonNegative


class ScaleByMarsState(NamedTuple):
    count: Array
    mu: PyTree
    nu: PyTree
    nu_max: PyTree | None
    last_grad: PyTree


def _corrected(g: Array, last: Array, weight: Array) -> Array:
    """``c = g + weight (g - last)``, scaled down to a norm of 1 when it is longer."""
    g = g.astype(last.dtype)
    c = g + weight * (g - last)
    norm = jnp.sqrt(jnp.sum(jnp.square(c)))
    return jnp.where(norm > 1, c / norm, c)


@block
def scale_by_mars(
    b1: Decay = 0.95,
    b2: Decay = 0.99,
    gamma: NonNegative = 0.025,
    eps: NonNegative = 1e-8,
    *,
    amsgrad: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """MARS-AdamW's direction: Adam's moments of a variance-reduced gradient.

    ``c = g + gamma * b1 / (1 - b1) * (g - g_prev)`` with ``g_prev`` the previous
    update's gradient (zero before the first), divided by its norm where that exceeds 1
    (per leaf). Then ``m <- b1 m + (1 - b1) c``, ``v <- b2 v + (1 - b2) c^2`` and, with
    ``t`` the 1-based step, the output is
    ``(m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``. This is the authors'
    ``is_approx=True`` form: ``g_prev`` is the gradient of the previous batch at the
    previous parameters, not re-evaluated on the current batch. With ``amsgrad=True`` the
    running maximum of ``v`` stands in for ``v``.

    Args:
      b1, b2: decay rates in [0, 1) (state keys ``"b1"``, ``"b2"``).
      gamma: strength of the gradient correction, >= 0 (``"gamma"``); 0 gives Adam on
        the gradient clipped to norm 1.
      eps: added to the denominator, >= 0 (``"eps"``).
      amsgrad: use the running maximum of ``v`` (the authors' ``amsgrad``).
      mu_dtype, nu_dtype: moment dtypes; default the parameter dtype promoted to float32.

    Returns:
      A transformation with ``b1``, ``b2``, ``gamma`` and ``eps`` in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_mars(gamma=0.0)
      >>> u, _ = tx.update(jnp.array([0.3, -0.4]), tx.init(jnp.zeros(2)))
      >>> print(u.round(4))  # the first step of Adam is sign(g)
      [ 1. -1.]

    References:
      Yuan et al. 2024, "MARS: Unleashing the Power of Variance Reduction for Training
      Large Models" (Algorithm 2, MARS-AdamW); ``MARS`` in AGI-Arena/MARS (the authors'
      code, ``mars_type="mars-adamw"``); ``pytorch_optimizer.MARS``.
    """

    def init(params):
        nu = zeros_like_tree(params, nu_dtype)
        return ScaleByMarsState(
            zero_count(),
            zeros_like_tree(params, mu_dtype),
            nu,
            nu if amsgrad else None,
            zeros_like_tree(params),
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        weight = gamma * b1 / (1 - b1)
        c = jax.tree.map(lambda g, last: _corrected(g, last, weight), updates, state.last_grad)
        mu = update_moment(c, state.mu, b1, 1)
        nu = update_moment(c, state.nu, b2, 2)
        nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu) if amsgrad else None
        count = safe_increment(state.count)
        bc1, bc2 = bias_corrections(b1, b2, count)
        out = jax.tree.map(
            lambda m, v: (m / bc1) / (jnp.sqrt(v) / jnp.sqrt(bc2) + eps),
            mu,
            nu_max if amsgrad else nu,
        )
        last = jax.tree.map(lambda g, old: g.astype(old.dtype), updates, state.last_grad)
        new_state = ScaleByMarsState(count, mu, nu, nu_max, last)
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)
