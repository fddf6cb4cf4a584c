"""Large-batch optimizers with layer-wise trust ratios: LAMB and LARS."""

from __future__ import annotations

import jax
import optax

from .._base import Array, params_needed, resolve_mask
from .._hyper import block
from .._validate import (
    Decay,
    Flag,
    FloatDtype,
    Mask,
    NonNegative,
    OptionalNonNegative,
    OptionalUnitInterval,
)
from ..transforms._basic import add_decayed_weights, descent, negate, scale_by_learning_rate
from ..transforms._cautious import cautious as cautious_mask
from ..transforms._lamb import OptionalPositive, scale_by_lamb_moments, scale_by_trust_ratio
from ..transforms._momentum import trace


def _reading_decayed(
    inner: optax.GradientTransformation, factor: Array, mask: Mask
) -> optax.GradientTransformation:
    """``inner`` given the parameters as a decoupled decay leaves them: ``factor * p``
    on the decayed leaves."""

    def update(updates, state, params=None, **extra):
        params_needed(params, "weight_decay")
        decayed = resolve_mask(mask, params)
        seen = jax.tree.map(lambda p, m: p * factor if m else p, params, decayed)
        return inner.update(updates, state, seen, **extra)

    return optax.GradientTransformationExtraArgs(inner.init, update)


@block
def lamb(
    learning_rate: NonNegative = 1e-3,
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-6,
    weight_decay: OptionalNonNegative = None,
    trust_eps: NonNegative = 0.0,
    max_param_norm: OptionalPositive = None,
    *,
    decoupled: Flag = False,
    bias_correction: Flag = True,
    grad_averaging: Flag = True,
    cautious: Flag = False,
    mask: Mask = None,
    trust_ratio_mask: Mask = None,
    maximize: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """LAMB (You et al. 2019): Adam's direction rescaled per leaf to the weights' norm.

    ``r = m_hat / (sqrt(v_hat) + eps)`` (:func:`jaxsched.transforms.scale_by_lamb_moments`),
    ``u = r + weight_decay * p``, and per leaf
    ``p <- p - learning_rate * phi(|p|) / (|u| + trust_eps) * u`` with
    ``phi(z) = min(z, max_param_norm)`` (:func:`jaxsched.transforms.scale_by_trust_ratio`),
    the paper's Algorithm 2. With ``decoupled=True`` the decay stays out of the ratio, as
    ``pytorch_optimizer.Lamb``'s default ``weight_decouple``: the weights are first decayed,
    ``p' = (1 - learning_rate * weight_decay) p``, then
    ``p <- p' - learning_rate * phi(|p'|) / (|r| + trust_eps) * r``.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, eps, bias_correction, grad_averaging, mu_dtype, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_lamb_moments`.
      weight_decay: >= 0, or None for none.
      trust_eps: added to the update's norm in the ratio, >= 0.
      max_param_norm: bound on the weights' norm in the ratio, > 0, or None for none
        (``pytorch_optimizer.Lamb`` uses 10).
      decoupled: decay the weights outside the trust ratio (see above).
      cautious: mask ``r`` where it disagrees with the gradient
        (:func:`jaxsched.transforms.cautious`, before the decay and the ratio).
      mask: which leaves get weight decay; ``trust_ratio_mask``: which get the trust
        ratio (the others take the plain Adam step); pytrees of bools or functions of
        the params, None for all.
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name; its
      ``update`` needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.optimizers.lamb(0.1)
      >>> params = jnp.array([3.0, -4.0])
      >>> u, state = tx.update(params, tx.init(params), params)
      >>> print(jaxsched.apply_updates(params, u))  # a step of 0.1 * |p|, along -sign(g)
      [ 2.6464467 -3.6464467]

    References:
      You et al. 2019, "Large Batch Optimization for Deep Learning: Training BERT in
      76 minutes"; ``optax.lamb``; ``tfa.optimizers.LAMB``; ``pytorch_optimizer.Lamb``.
    """
    rule = scale_by_lamb_moments(
        b1,
        b2,
        eps,
        bias_correction=bias_correction,
        grad_averaging=grad_averaging,
        mu_dtype=mu_dtype,
        nu_dtype=nu_dtype,
    )
    if cautious:
        rule = cautious_mask(rule, follows_gradient=True)
    trust = scale_by_trust_ratio(
        1.0, None, trust_eps, max_param_norm, trust_ratio_mask=trust_ratio_mask
    )
    if weight_decay is None:
        return descent(optax.chain(rule, trust), learning_rate, maximize=maximize)
    if not decoupled:
        decayed = optax.chain(rule, add_decayed_weights(weight_decay, mask), trust)
        return descent(decayed, learning_rate, maximize=maximize)
    trust = _reading_decayed(trust, 1 - learning_rate * weight_decay, mask)
    return descent(
        optax.chain(rule, trust),
        learning_rate,
        weight_decay,
        decoupled=True,
        mask=mask,
        maximize=maximize,
    )


@block
def lars(
    learning_rate: NonNegative,
    weight_decay: OptionalNonNegative = None,
    trust_coefficient: NonNegative = 1e-3,
    eps: NonNegative = 0.0,
    momentum: OptionalUnitInterval = 0.9,
    dampening: OptionalUnitInterval = None,
    *,
    nesterov: Flag = False,
    weight_decay_mask: Mask = None,
    trust_ratio_mask: Mask = None,
    maximize: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """LARS (You et al. 2017): momentum SGD with a per-leaf learning rate.

    Per leaf ``lr_local = learning_rate * trust_coefficient * |p| /
    (|g| + weight_decay |p| + eps)`` (:func:`jaxsched.transforms.scale_by_trust_ratio`),
    then ``b <- momentum * b + (1 - dampening) * lr_local * (g + weight_decay p)`` and
    ``p <- p - b`` (``p <- p - (lr_local (g + weight_decay p) + momentum b)`` with
    ``nesterov``): the learning rate enters the momentum buffer, as in the paper's
    Algorithm 1 and ``optax.lars``. ``pytorch_optimizer.LARS`` applies it after the
    buffer instead, which agrees for a constant rate.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      weight_decay: >= 0, or None for none.
      trust_coefficient: LARS's ``eta``, >= 0.
      eps: added to the ratio's denominator, >= 0.
      momentum: in [0, 1], or None for none (no buffer).
      dampening: in [0, 1], or None for none (the numbers of 0).
      nesterov: Nesterov momentum.
      weight_decay_mask, trust_ratio_mask: which leaves get the decay, the ratio (the
        others a plain step); pytrees of bools or functions of the params, None for all.
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name; its
      ``update`` needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.optimizers.lars(1.0, trust_coefficient=0.1, momentum=None)
      >>> params = jnp.array([3.0, 4.0])
      >>> u, state = tx.update(jnp.array([1.5, 2.0]), tx.init(params), params)
      >>> print(u)  # 0.1 * |p| = 0.5 along -g
      [-0.3 -0.4]

    References:
      You et al. 2017, "Large Batch Training of Convolutional Networks";
      ``optax.lars``; ``pytorch_optimizer.LARS``.
    """
    if nesterov and momentum is None:
        raise ValueError("nesterov=True needs a momentum (got momentum=None)")
    trust = scale_by_trust_ratio(
        trust_coefficient,
        weight_decay,
        eps,
        trust_ratio_mask=trust_ratio_mask,
        weight_decay_mask=weight_decay_mask,
    )
    # Not descent(): the learning rate comes before the momentum buffer here.
    blocks = [negate()] if maximize else []
    blocks += [trust, scale_by_learning_rate(learning_rate)]
    if momentum is not None:
        blocks.append(trace(momentum, dampening, nesterov=nesterov, zero_init=True))
    return optax.chain(*blocks)
