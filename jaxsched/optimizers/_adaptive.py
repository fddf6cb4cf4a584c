"""Adaptive-rate optimizers: Adagrad, RMSprop, Adadelta, Adamax, Nadam, RAdam, AMSGrad."""

from __future__ import annotations

from typing import Annotated

import optax

from .._base import ScalarOrSchedule
from .._hyper import block, variant
from .._validate import (
    Decay,
    Flag,
    FloatDtype,
    Mask,
    NonNegative,
    OptionalNonNegative,
    OptionalUnitInterval,
    Real,
    UnitInterval,
)
from ..transforms._adadelta import scale_by_adadelta
from ..transforms._adagrad import scale_by_adagrad
from ..transforms._adamax import scale_by_adamax
from ..transforms._basic import descent
from ..transforms._momentum import trace
from ..transforms._nadam import scale_by_nadam
from ..transforms._radam import scale_by_radam
from ..transforms._rms import scale_by_rms
from ._adam import adam


@block
def adagrad(
    learning_rate: NonNegative = 1e-2,
    initial_accumulator_value: NonNegative = 0.1,
    eps: NonNegative = 1e-7,
    lr_decay: OptionalNonNegative = None,
    weight_decay: OptionalNonNegative = None,
    *,
    eps_in_sqrt: Flag = True,
    mask: Mask = None,
    maximize: Flag = False,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Adagrad (Duchi et al. 2011): ``p <- p - lr * g / sqrt(sum of g^2 + eps)``.

    Coupled L2 ``weight_decay`` (``g <- g + weight_decay * p``), then
    :func:`jaxsched.transforms.scale_by_adagrad`, then the learning rate. The defaults
    are optax's (Keras's) ``initial_accumulator_value=0.1``, ``eps=1e-7`` inside the
    square root; ``eps_in_sqrt=False`` gives torch's placement.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      initial_accumulator_value, eps, lr_decay, eps_in_sqrt, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_adagrad`.
      weight_decay: coupled L2 coefficient, >= 0, or None for none (then ``update``
        needs no ``params``).
      mask: which leaves get weight decay (pytree of bools or function of params).
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.adagrad(0.1, initial_accumulator_value=0.0, eps=0.0)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(jaxsched.apply_updates(params, u))
      [ 0.9 -0.9]
      >>> sorted(jaxsched.hyperparams(state))
      ['eps', 'initial_accumulator_value', 'learning_rate']

    References:
      Duchi, Hazan & Singer 2011, "Adaptive Subgradient Methods for Online Learning and
      Stochastic Optimization"; ``torch.optim.Adagrad``; ``optax.adagrad``.
    """
    rule = scale_by_adagrad(
        initial_accumulator_value, eps, lr_decay, eps_in_sqrt=eps_in_sqrt, nu_dtype=nu_dtype
    )
    return descent(rule, learning_rate, weight_decay, mask=mask, maximize=maximize)


@block
def rmsprop(
    learning_rate: NonNegative = 1e-2,
    decay: UnitInterval = 0.9,
    eps: NonNegative = 1e-8,
    initial_scale: NonNegative = 0.0,
    momentum: OptionalUnitInterval = None,
    weight_decay: OptionalNonNegative = None,
    *,
    eps_in_sqrt: Flag = True,
    centered: Flag = False,
    nesterov: Flag = False,
    mask: Mask = None,
    maximize: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """RMSprop (Tieleman & Hinton 2012): ``p <- p - lr * g / sqrt(v + eps)``.

    Coupled L2 ``weight_decay``, :func:`jaxsched.transforms.scale_by_rms`, the
    learning rate, then (with ``momentum``) a momentum buffer over the scaled steps,
    as ``optax.rmsprop`` and Keras (the buffer holds ``lr``-scaled steps; torch's holds
    unscaled ones, see :func:`jaxsched.torch.RMSprop`).

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      decay, eps, initial_scale, eps_in_sqrt, centered, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_rms`.
      momentum: in [0, 1], or None for no buffer.
      weight_decay: coupled L2 coefficient, >= 0, or None for none (then ``update``
        needs no ``params``).
      nesterov: Nesterov momentum; needs ``momentum``.
      mask: which leaves get weight decay.
      maximize: ascend instead of descend.
      mu_dtype: dtype of the centered mean and of the momentum buffer.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.rmsprop(0.1, decay=0.75, eps=0.0, momentum=0.9)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(jaxsched.apply_updates(params, u))
      [ 0.8 -0.8]
      >>> sorted(jaxsched.hyperparams(state))
      ['decay', 'eps', 'initial_scale', 'learning_rate', 'momentum']

    References:
      Tieleman & Hinton 2012, "Lecture 6.5 - RMSProp" (COURSERA); ``optax.rmsprop``;
      ``keras.optimizers.RMSprop``.
    """
    if nesterov and momentum is None:
        raise ValueError("nesterov=True needs a momentum (got momentum=None)")
    rule = scale_by_rms(
        decay,
        eps,
        initial_scale,
        eps_in_sqrt=eps_in_sqrt,
        centered=centered,
        mu_dtype=mu_dtype,
        nu_dtype=nu_dtype,
    )
    tx = descent(rule, learning_rate, weight_decay, mask=mask, maximize=maximize)
    if momentum is None:
        return tx
    return optax.chain(tx, trace(momentum, nesterov=nesterov, dtype=mu_dtype))


@block
def adadelta(
    learning_rate: NonNegative = 1.0,
    rho: UnitInterval = 0.9,
    eps: NonNegative = 1e-6,
    weight_decay: OptionalNonNegative = None,
    *,
    mask: Mask = None,
    maximize: Flag = False,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Adadelta (Zeiler 2012): ``p <- p - lr * sqrt(u + eps) / sqrt(v + eps) * g``.

    Coupled L2 ``weight_decay``, :func:`jaxsched.transforms.scale_by_adadelta`, then the
    learning rate: ``torch.optim.Adadelta``'s rule and defaults.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      rho, eps, nu_dtype: see :func:`jaxsched.transforms.scale_by_adadelta`.
      weight_decay: coupled L2 coefficient, >= 0, or None for none (then ``update``
        needs no ``params``).
      mask: which leaves get weight decay.
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.adadelta(rho=0.0, eps=9.0)
      >>> params = jnp.array([1.0])
      >>> u, state = tx.update(jnp.array([4.0]), tx.init(params))
      >>> print(u)  # -1.0 * sqrt(0 + 9) / sqrt(16 + 9) * 4
      [-2.4]
      >>> sorted(jaxsched.hyperparams(state))
      ['eps', 'learning_rate', 'rho']

    References:
      Zeiler 2012, "ADADELTA: An Adaptive Learning Rate Method";
      ``torch.optim.Adadelta``; ``optax.adadelta``.
    """
    rule = scale_by_adadelta(rho, eps, nu_dtype=nu_dtype)
    return descent(rule, learning_rate, weight_decay, mask=mask, maximize=maximize)


@block
def adamax(
    learning_rate: NonNegative = 2e-3,
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    weight_decay: OptionalNonNegative = None,
    *,
    eps_in_max: Flag = False,
    mask: Mask = None,
    maximize: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Adamax (Kingma & Ba 2015): ``p <- p - lr * m / ((1 - b1^t) (u + eps))``.

    Coupled L2 ``weight_decay``, :func:`jaxsched.transforms.scale_by_adamax` (optax's
    and Keras's eps placement; ``eps_in_max=True`` for torch's), then the learning
    rate.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, eps, eps_in_max, mu_dtype, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_adamax`.
      weight_decay: coupled L2 coefficient, >= 0, or None for none (then ``update``
        needs no ``params``).
      mask: which leaves get weight decay.
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.adamax(0.1, eps=0.0)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(jaxsched.apply_updates(params, u))
      [ 0.9 -0.9]
      >>> sorted(jaxsched.hyperparams(state))
      ['b1', 'b2', 'eps', 'learning_rate']

    References:
      Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", section 7.1;
      ``torch.optim.Adamax``; ``optax.adamax``.
    """
    rule = scale_by_adamax(b1, b2, eps, eps_in_max=eps_in_max, mu_dtype=mu_dtype, nu_dtype=nu_dtype)
    return descent(rule, learning_rate, weight_decay, mask=mask, maximize=maximize)


@block
def nadam(
    learning_rate: NonNegative = 2e-3,
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    momentum_decay: NonNegative = 4e-3,
    weight_decay: OptionalNonNegative = None,
    *,
    decoupled_weight_decay: Flag = False,
    mask: Mask = None,
    maximize: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Nadam (Dozat 2016) with its warming momentum schedule, as ``torch.optim.NAdam``.

    :func:`jaxsched.transforms.scale_by_nadam` then the learning rate, with
    ``weight_decay`` coupled (L2) or, with ``decoupled_weight_decay=True``, decoupled
    (NAdamW). ``momentum_decay=1`` gives Keras's momentum cache.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, eps, momentum_decay, mu_dtype, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_nadam`.
      weight_decay: >= 0, or None for none (then ``update`` needs no ``params``).
      decoupled_weight_decay: decoupled instead of coupled weight decay.
      mask: which leaves get weight decay.
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.nadam(0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(u.round(4))  # -lr * 1.0565 * sign(g): see scale_by_nadam
      [-0.1056  0.1056]
      >>> sorted(jaxsched.hyperparams(state))
      ['b1', 'b2', 'eps', 'learning_rate', 'momentum_decay']

    References:
      Dozat 2016, "Incorporating Nesterov Momentum into Adam"; ``torch.optim.NAdam``.
    """
    rule = scale_by_nadam(b1, b2, eps, momentum_decay, mu_dtype=mu_dtype, nu_dtype=nu_dtype)
    return descent(
        rule,
        learning_rate,
        weight_decay,
        decoupled=decoupled_weight_decay,
        mask=mask,
        maximize=maximize,
    )


@block
def radam(
    learning_rate: NonNegative = 1e-3,
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    weight_decay: OptionalNonNegative = None,
    threshold: Annotated[ScalarOrSchedule, Real(low=4.0)] = 5.0,
    *,
    decoupled_weight_decay: Flag = False,
    mask: Mask = None,
    maximize: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """RAdam (Liu et al. 2020), as ``torch.optim.RAdam`` and the authors' code.

    :func:`jaxsched.transforms.scale_by_radam` (a momentum step until the variance
    estimate is trustworthy, ``rho_t > threshold``) then the learning rate, with
    ``weight_decay`` coupled (L2) or decoupled (``decoupled_weight_decay=True``, as
    Ranger).

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, eps, threshold, mu_dtype, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_radam`.
      weight_decay: >= 0, or None for none (then ``update`` needs no ``params``).
      decoupled_weight_decay: decoupled instead of coupled weight decay.
      mask: which leaves get weight decay.
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.radam(0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(u)  # the first steps are momentum steps: -lr * m / bc1 = -lr * g
      [-0.2  0.2]
      >>> sorted(jaxsched.hyperparams(state))
      ['b1', 'b2', 'eps', 'learning_rate', 'threshold']

    References:
      Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond";
      ``torch.optim.RAdam``; ``optax.radam``.
    """
    rule = scale_by_radam(b1, b2, eps, threshold, mu_dtype=mu_dtype, nu_dtype=nu_dtype)
    return descent(
        rule,
        learning_rate,
        weight_decay,
        decoupled=decoupled_weight_decay,
        mask=mask,
        maximize=maximize,
    )


amsgrad = variant(
    adam,
    "amsgrad",
    """AMSGrad (Reddi et al. 2018): :func:`jaxsched.adam` with ``amsgrad=True``.

    ``p <- p - lr * m_hat / (sqrt(max(v) / (1 - b2^t)) + eps)`` with the running maximum
    of the raw ``v``, as torch and Keras do (optax's ``amsgrad`` takes it of the
    bias-corrected ``v``). Arguments as :func:`jaxsched.adam`.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.amsgrad(0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(jaxsched.apply_updates(params, u))
      [ 0.9 -0.9]
      >>> state.inner_state[0].nu_max is not None
      True

    References:
      Reddi, Kale & Kumar 2018, "On the Convergence of Adam and Beyond";
      ``torch.optim.Adam(amsgrad=True)``; ``optax.amsgrad``.
    """,
    amsgrad=True,
)
