"""Learning-rate-free Adam: Prodigy and D-Adaptation."""

from __future__ import annotations

import optax

from .._hyper import block
from .._validate import (
    Decay,
    Flag,
    FloatDtype,
    Mask,
    NonNegative,
    OptionalNonNegative,
    OptionalUnitInterval,
    Positive,
    Steps,
)
from ..transforms._basic import add_decayed_weights, negate
from ..transforms._dadapt import GrowthRate, InitialDistance, scale_by_dadapt_adam
from ..transforms._prodigy import OptionalEps, scale_by_prodigy


def _assemble(rule, weight_decay, decoupled: bool, mask, maximize: bool):
    """``[-g]`` -> ``[+ weight_decay * p]`` (coupled) -> the rule's step -> ``-step``."""
    blocks = [negate()] if maximize else []
    if weight_decay is not None and not decoupled:
        blocks.append(add_decayed_weights(weight_decay, mask))
    return optax.chain(*blocks, rule, negate())


@block
def prodigy(
    learning_rate: NonNegative = 1.0,
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    b3: OptionalUnitInterval = None,
    eps: OptionalEps = 1e-8,
    weight_decay: OptionalNonNegative = None,
    d0: Positive = 1e-6,
    d_coef: Positive = 1.0,
    growth_rate: GrowthRate = None,
    *,
    decoupled: Flag = True,
    fixed_decay: Flag = False,
    safeguard_warmup: Flag = False,
    bias_correction: Flag = False,
    slice_p: Steps = 1,
    mask: Mask = None,
    maximize: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Prodigy (Mishchenko & Defazio 2023): Adam whose step size ``d`` is estimated.

    ``p <- p - d * learning_rate * m / (sqrt(v) + d eps)`` with ``d`` grown from ``d0``
    towards ``d_coef`` times an estimate of the distance to the solution; see
    :func:`jaxsched.transforms.scale_by_prodigy` for the rule, and read ``d`` with
    :func:`jaxsched.estimated_step_size`. Leave ``learning_rate`` at 1 (it scales the
    adapted step); a schedule on it is used as with Adam. Weight decay is decoupled by
    default (``p <- p - weight_decay * d * learning_rate * p``, ``prodigyopt``'s
    ``decouple=True``); with ``decoupled=False`` it is coupled L2 added to the gradient.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, b3, eps, d0, d_coef, growth_rate, fixed_decay, safeguard_warmup,
        bias_correction, slice_p, mu_dtype, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_prodigy`.
      weight_decay: >= 0, or None for none.
      decoupled: decoupled (default) or coupled weight decay.
      mask: which leaves get weight decay.
      maximize: ascend instead of descend.

    Returns:
      A transformation whose ``update`` needs ``params``, with every numeric argument in
      its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.prodigy()
      >>> params = jnp.array([1.0, -1.0])
      >>> state = tx.init(params)
      >>> for _ in range(20):
      ...     u, state = tx.update(2 * params, state, params)
      ...     params = jaxsched.apply_updates(params, u)
      >>> bool(jaxsched.estimated_step_size(state) > 1e-3)  # d grew from 1e-6
      True

    References:
      Mishchenko & Defazio 2023, "Prodigy: An Expeditiously Adaptive Parameter-Free
      Learner"; ``prodigyopt.Prodigy``; ``optax.contrib.prodigy``.
    """
    rule = scale_by_prodigy(
        learning_rate,
        b1,
        b2,
        b3,
        eps,
        d0,
        d_coef,
        growth_rate,
        weight_decay if decoupled else None,
        fixed_decay=fixed_decay,
        safeguard_warmup=safeguard_warmup,
        bias_correction=bias_correction,
        slice_p=slice_p,
        mask=mask,
        mu_dtype=mu_dtype,
        nu_dtype=nu_dtype,
    )
    return _assemble(rule, weight_decay, decoupled, mask, maximize)


@block
def dadapt_adam(
    learning_rate: NonNegative = 1.0,
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    weight_decay: OptionalNonNegative = None,
    growth_rate: GrowthRate = None,
    *,
    d0: InitialDistance = 1e-6,
    decoupled: Flag = False,
    fixed_decay: Flag = False,
    bias_correction: Flag = False,
    mask: Mask = None,
    maximize: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """D-Adapted Adam (Defazio & Mishchenko 2023): Adam whose step size ``d`` is estimated.

    ``p <- p - m / (sqrt(v) + eps)`` where ``m`` averages ``d * learning_rate * g`` and
    ``d`` grows from ``d0`` to a lower bound on the distance to the solution; see
    :func:`jaxsched.transforms.scale_by_dadapt_adam` for the rule, and read ``d`` with
    :func:`jaxsched.estimated_step_size`. Leave ``learning_rate`` at 1; a schedule on
    it is used as with Adam. Weight decay is coupled L2 by default, decoupled
    (``p <- p - weight_decay * d * learning_rate * p``) with ``decoupled=True``.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, eps, growth_rate, d0, fixed_decay, bias_correction, mu_dtype, nu_dtype:
        see :func:`jaxsched.transforms.scale_by_dadapt_adam`.
      weight_decay: >= 0, or None for none (then ``update`` needs no ``params``).
      decoupled: decoupled or (default) coupled weight decay.
      mask: which leaves get weight decay.
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument but ``d0`` in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.dadapt_adam()
      >>> params = jnp.array([1.0, -1.0])
      >>> state = tx.init(params)
      >>> for _ in range(20):
      ...     u, state = tx.update(2 * params, state)
      ...     params = jaxsched.apply_updates(params, u)
      >>> bool(jaxsched.estimated_step_size(state) > 1e-6)  # d grew from 1e-6
      True

    References:
      Defazio & Mishchenko 2023, "Learning-Rate-Free Learning by D-Adaptation";
      ``pytorch_optimizer.DAdaptAdam``; ``dadaptation.DAdaptAdam``.
    """
    rule = scale_by_dadapt_adam(
        learning_rate,
        b1,
        b2,
        eps,
        growth_rate,
        weight_decay if decoupled else None,
        d0=d0,
        fixed_decay=fixed_decay,
        bias_correction=bias_correction,
        mask=mask,
        mu_dtype=mu_dtype,
        nu_dtype=nu_dtype,
    )
    return _assemble(rule, weight_decay, decoupled, mask, maximize)
