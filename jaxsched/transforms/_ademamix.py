"""AdEMAMix's rule (Pagliardini et al. 2024): Adam plus a slow gradient average."""

from __future__ import annotations

from typing import Annotated, NamedTuple

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
from .._validate import Decay, FloatDtype, NonNegative, OptionalNonNegative, Real

Warmup = Annotated[
    float | None, Real(low=0.0, low_open=True, schedule=False, optional=True, concrete=True)
]


class ScaleByAdemamixState(NamedTuple):
    count: Array
    mu: PyTree
    nu: PyTree
    mu_slow: PyTree


def _half_life(beta: Array) -> Array:
    # The authors' f(beta) = ln(1/2) / ln(beta + 1e-8) - 1: the steps an EMA takes to
    # halve a contribution, minus one; the 1e-8 keeps beta = 0 finite.
    return jnp.log(0.5) / jnp.log(beta + 1e-8) - 1


def _b3_at(b1: Array, b3: Array, t: Array, warmup: float | None) -> Array:
    """b3 of the 1-based step t: its half-life grows linearly from b1's to b3's."""
    if warmup is None:
        return b3
    a = t / warmup
    warming = 0.5 ** (1 / ((1 - a) * _half_life(b1) + a * _half_life(b3) + 1))
    return jnp.where(t < warmup, warming, b3)


def _alpha_at(alpha: Array, t: Array, warmup: float | None) -> Array:
    """alpha of the 1-based step t: linear from 0 to alpha over ``warmup`` steps."""
    if warmup is None:
        return alpha
    return jnp.where(t < warmup, t / warmup * alpha, alpha)


@block
def scale_by_ademamix(
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    b3: Decay = 0.9999,
    alpha: NonNegative = 5.0,
    eps: NonNegative = 1e-8,
    eps_root: OptionalNonNegative = None,
    *,
    alpha_warmup: Warmup = None,
    b3_warmup: Warmup = None,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """AdEMAMix's direction: a fast and a slow average of the gradient over Adam's scale.

    ``m1 <- b1 m1 + (1 - b1) g``, ``m2 <- b3_t m2 + (1 - b3_t) g``,
    ``v <- b2 v + (1 - b2) g^2``; with ``t`` the 1-based step, ``bc1 = 1 - b1^t`` and
    ``bc2 = 1 - b2^t``, the output is
    ``(m1 / bc1 + alpha_t m2) / (sqrt(v / bc2 + eps_root) + eps)``. The slow average
    ``m2`` is not bias-corrected: it starts small on purpose.

    The warmups of the paper (section 3), in the authors' PyTorch code's 1-based steps:
    ``alpha_t = alpha * t / alpha_warmup`` for ``t < alpha_warmup`` (else ``alpha``), and
    ``b3_t`` moves from ``b1`` to ``b3`` so that its half-life grows linearly over
    ``b3_warmup`` steps (``b3`` from then on). Without a warmup, ``alpha_t = alpha`` and
    ``b3_t = b3``. The state keeps ``alpha`` and ``b3``, the values the warmups reach.

    Args:
      b1, b2, b3: decay rates of the fast average, the second moment and the slow
        average, in [0, 1) (state keys ``"b1"``, ``"b2"``, ``"b3"``).
      alpha: weight of the slow average, >= 0 (``"alpha"``).
      eps: added to the denominator, >= 0 (``"eps"``).
      eps_root: added inside the square root, >= 0 (``"eps_root"``), or None for none
        (the numbers of 0, without a sum in every leaf's loop).
      alpha_warmup, b3_warmup: warmup lengths in steps, > 0, or None for none.
      mu_dtype, nu_dtype: dtypes of the averages and of ``v``; default the parameter
        dtype promoted to float32.

    Returns:
      A transformation with ``b1``, ``b2``, ``b3``, ``alpha``, ``eps`` (and ``eps_root``
      when given) in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_ademamix(b3=0.5, alpha=2.0)
      >>> u, _ = tx.update(jnp.array([3.0, -1.0]), tx.init(jnp.zeros(2)))
      >>> print(u.round(4))  # sign(g) + alpha * (1 - b3) * g / |g|
      [ 2. -2.]

    References:
      Pagliardini et al. 2024, "The AdEMAMix Optimizer: Better, Faster, Older";
      ``AdEMAMix`` and ``scale_by_ademamix`` in apple/ml-ademamix (the authors' code);
      ``pytorch_optimizer.AdEMAMix``.
    """

    def init(params):
        mu = zeros_like_tree(params, mu_dtype)
        return ScaleByAdemamixState(zero_count(), mu, zeros_like_tree(params, nu_dtype), mu)

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        count = safe_increment(state.count)
        t = count.astype(jnp.float32)
        slow_decay = _b3_at(b1, b3, t, b3_warmup)
        slow_weight = _alpha_at(alpha, t, alpha_warmup)
        mu = update_moment(updates, state.mu, b1, 1)
        nu = update_moment(updates, state.nu, b2, 2)
        mu_slow = update_moment(updates, state.mu_slow, slow_decay, 1)
        bc1, bc2 = bias_corrections(b1, b2, count)
        shift = None if eps_root is None else eps_root * bc2

        def direction(m1, m2, v):
            return (m1 / bc1 + slow_weight * m2) / (
                jnp.sqrt(v if shift is None else v + shift) / jnp.sqrt(bc2) + eps
            )

        out = jax.tree.map(direction, mu, mu_slow, nu)
        new_state = ScaleByAdemamixState(count, mu, nu, mu_slow)
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)
