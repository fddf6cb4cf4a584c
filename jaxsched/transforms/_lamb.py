"""Layer-wise trust ratios (LARS, LAMB) and LAMB's moment estimates."""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    Array,
    PyTree,
    ScalarOrSchedule,
    cast_like,
    check_same_tree,
    params_needed,
    resolve_mask,
    safe_increment,
    stateless,
    zero_count,
    zeros_like_tree,
)
from .._hyper import block
from .._math import bias_corrections, update_moment
from .._validate import Decay, Flag, FloatDtype, Mask, NonNegative, OptionalNonNegative, Real

OptionalPositive = Annotated[
    ScalarOrSchedule | None, Real(low=0.0, low_open=True, inf=True, optional=True)
]


def _norm(x: Array) -> Array:
    x = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    return jnp.sqrt(jnp.sum(jnp.square(x)))


@block
def scale_by_trust_ratio(
    trust_coefficient: NonNegative = 1.0,
    weight_decay: OptionalNonNegative = None,
    eps: NonNegative = 0.0,
    max_param_norm: OptionalPositive = None,
    *,
    trust_ratio_mask: Mask = None,
    weight_decay_mask: Mask = None,
) -> optax.GradientTransformationExtraArgs:
    """Scales each leaf's update by the ratio of the weights' norm to the update's.

    Per leaf, with ``phi = min(|p|, max_param_norm)`` (``|p|`` without a maximum):

    * without ``weight_decay`` (LAMB, whose update already holds its decay):
      ``u <- trust_coefficient * phi / (|u| + eps) * u``;
    * with ``weight_decay`` (LARS): ``u <- trust_coefficient * phi /
      (|u| + weight_decay |p| + eps) * (u + weight_decay p)``, the paper's local rate,
      whose denominator adds the two norms rather than taking the norm of the sum.

    Where ``phi`` or the denominator's norms are zero the ratio is 1. Leaves outside
    ``trust_ratio_mask`` are not scaled (they still get the decay), leaves outside
    ``weight_decay_mask`` are not decayed (for them ``weight_decay`` is 0).

    Args:
      trust_coefficient: >= 0, LARS's ``eta`` (state key ``"trust_coefficient"``).
      weight_decay: >= 0, or None when the update holds its decay already or has none.
      eps: added to the denominator, >= 0 (``"eps"``).
      max_param_norm: LAMB's bound on the weights' norm (the upper end of the paper's
        ``phi``), > 0, or None for none (``"max_param_norm"``).
      trust_ratio_mask, weight_decay_mask: which leaves get the ratio, the decay
        (pytrees of bools or functions of the params; None for all).

    Returns:
      A transformation with its numeric arguments in its state; ``update`` needs
      ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_trust_ratio()
      >>> p = jnp.array([3.0, 4.0])
      >>> u, _ = tx.update(jnp.array([0.0, 0.1]), tx.init(p), p)
      >>> print(u)  # rescaled to the weights' norm, 5
      [0. 5.]

    References:
      You et al. 2017, "Large Batch Training of Convolutional Networks" (LARS);
      You et al. 2019, "Large Batch Optimization for Deep Learning: Training BERT in
      76 minutes" (LAMB); ``optax.scale_by_trust_ratio``; ``pytorch_optimizer.LARS``,
      ``pytorch_optimizer.Lamb``.
    """

    def scale_leaf(u, p, trusted, decayed):
        p_norm = _norm(p)
        u_norm = _norm(u)
        if decayed:
            u_norm = u_norm + weight_decay * p_norm
            u = u + weight_decay * p.astype(u.dtype)
        if not trusted:
            return u
        phi = p_norm if max_param_norm is None else jnp.minimum(p_norm, max_param_norm)
        ratio = jnp.where((phi > 0) & (u_norm > 0), trust_coefficient * phi / (u_norm + eps), 1.0)
        return u * ratio

    def scale(updates, params):
        params_needed(params, "scale_by_trust_ratio")
        check_same_tree(params, updates, against="the parameters")
        trusted = resolve_mask(trust_ratio_mask, params)
        decayed = resolve_mask(weight_decay_mask, params)
        if weight_decay is None:
            decayed = jax.tree.map(lambda _: False, params)
        return cast_like(jax.tree.map(scale_leaf, updates, params, trusted, decayed), updates)

    return stateless(scale)


class ScaleByLambMomentsState(NamedTuple):
    count: Array
    mu: PyTree
    nu: PyTree


@block
def scale_by_lamb_moments(
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-6,
    *,
    bias_correction: Flag = True,
    grad_averaging: Flag = True,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """LAMB's Adam direction ``r = m_hat / (sqrt(v_hat) + eps)``, before its trust ratio.

    ``m <- b1 m + (1 - b1) g`` (``m <- b1 m + g`` without ``grad_averaging``, as NVIDIA's
    FusedLAMB offers), ``v <- b2 v + (1 - b2) g^2``; ``m_hat = m / (1 - b1^t)`` and
    ``v_hat = v / (1 - b2^t)`` for the 1-based step ``t``, or ``m`` and ``v`` as they are
    without ``bias_correction`` (version 3 of the paper, ``pytorch_optimizer.Lamb``).
    With both options on this is :func:`scale_by_adam`.

    Args:
      b1, b2: decay rates in [0, 1) (state keys ``"b1"``, ``"b2"``).
      eps: added to the denominator, >= 0 (``"eps"``).
      bias_correction: divide the moments by ``1 - b^t``.
      grad_averaging: weigh the new gradient by ``1 - b1`` in ``m``.
      mu_dtype, nu_dtype: moment dtypes; default the parameter dtype promoted to float32.

    Returns:
      A transformation with ``b1``, ``b2`` and ``eps`` in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_lamb_moments(
      ...     0.5, 0.75, 0.0, bias_correction=False
      ... )
      >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
      >>> print(u)  # (1 - b1) g / sqrt((1 - b2) g^2)
      [1.]

    References:
      You et al. 2019, "Large Batch Optimization for Deep Learning: Training BERT in
      76 minutes" (Algorithm 2); ``pytorch_optimizer.Lamb``; NVIDIA apex ``FusedLAMB``.
    """

    def init(params):
        return ScaleByLambMomentsState(
            zero_count(), zeros_like_tree(params, mu_dtype), zeros_like_tree(params, nu_dtype)
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        if grad_averaging:
            mu = update_moment(updates, state.mu, b1, 1)
        else:
            # Not an average: the new gradient enters at full weight.
            mu = jax.tree.map(lambda m, g: (b1 * m + g).astype(m.dtype), state.mu, updates)
        nu = update_moment(updates, state.nu, b2, 2)
        count = safe_increment(state.count)
        if bias_correction:
            bc1, bc2 = bias_corrections(b1, b2, count)
            out = jax.tree.map(lambda m, v: (m / bc1) / (jnp.sqrt(v) / jnp.sqrt(bc2) + eps), mu, nu)
        else:
            out = jax.tree.map(lambda m, v: m / (jnp.sqrt(v) + eps), mu, nu)
        new_state = ScaleByLambMomentsState(count, mu, nu)
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)
