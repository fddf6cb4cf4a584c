"""Nadam (Dozat 2016): Adam with Nesterov momentum and a warming momentum schedule."""

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


class ScaleByNadamState(NamedTuple):
    count: Array
    mu_product: Array
    mu: PyTree
    nu: PyTree


@block
def scale_by_nadam(
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    momentum_decay: NonNegative = 4e-3,
    *,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Rescales updates by Nadam's Nesterov-corrected moments.

    With ``t`` the 1-based step, the momentum cache ``mu_t = b1 (1 - 0.5 * 0.96^(t *
    momentum_decay))`` and its running product ``P_t = mu_1 ... mu_t``;
    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``den = sqrt(v / (1 - b2^t)) + eps``; output
    ``(1 - mu_t) / (1 - P_t) * g / den + mu_{t+1} / (1 - P_t mu_{t+1}) * m / den``.

    ``momentum_decay=4e-3`` is ``torch.optim.NAdam`` (and the paper's schedule);
    ``momentum_decay=1`` is ``keras.optimizers.Nadam``, whose cache is
    ``b1 (1 - 0.5 * 0.96^t)``. (optax's ``nadam`` is a different, constant-momentum
    variant.)

    Args:
      b1, b2: decay rates in [0, 1) (state keys ``"b1"``, ``"b2"``).
      eps: >= 0 (``"eps"``).
      momentum_decay: >= 0 (``"momentum_decay"``).
      mu_dtype, nu_dtype: moment dtypes; default the parameter dtype promoted to float32.
        The product ``P_t`` is float32, as in torch and Keras.

    Returns:
      A transformation with ``b1``, ``b2``, ``eps`` and ``momentum_decay`` in its state,
      and a :class:`ScaleByNadamState` inside.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_nadam()
      >>> u, _ = tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))
      >>> print(u.round(4))  # sign(g) plus the look-ahead term mu_2 / (1 - P_2) * m / den
      [ 1.0565 -1.0565]

    References:
      Dozat 2016, "Incorporating Nesterov Momentum into Adam"; ``torch.optim.NAdam``;
      ``keras.optimizers.Nadam``.
    """

    def init(params):
        return ScaleByNadamState(
            zero_count(),
            jnp.ones([], jnp.float32),
            zeros_like_tree(params, mu_dtype),
            zeros_like_tree(params, nu_dtype),
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        count = safe_increment(state.count)
        t = count.astype(jnp.float32)

        def momentum_cache(step):
            return b1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))

        mu_t, mu_next = momentum_cache(t), momentum_cache(t + 1)
        mu_product = state.mu_product * mu_t
        mu_product_next = mu_product * mu_next
        mu = update_moment(updates, state.mu, b1, 1)
        nu = update_moment(updates, state.nu, b2, 2)
        bc2 = bias_correction(b2, count)

        g_rate = (1 - mu_t) / (1 - mu_product)
        m_rate = mu_next / (1 - mu_product_next)

        def direction(g, m, v):
            # One division for both terms: XLA's CPU loops pay for each division.
            return (g_rate * g + m_rate * m) / (jnp.sqrt(v / bc2) + eps)

        out = jax.tree.map(direction, updates, mu, nu)
        new_state = ScaleByNadamState(count, mu_product, mu, nu)
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)
