"""``keras.optimizers`` SGD, RMSprop, Adadelta, Adagrad and Ftrl (Keras 3).

Each flavor maps Keras's own arguments onto a native optimizer; :func:`keras_flavor`
appends Keras's common arguments (see :mod:`jaxsched.keras`). The state keys are
jaxsched's native names, listed in each docstring.
"""

from __future__ import annotations

import functools

import optax

from .._base import none_if_zero
from .._validate import Flag, NonNegative, UnitInterval
from ..optimizers._adaptive import adadelta, adagrad, rmsprop
from ..transforms._basic import scale_by_learning_rate
from ..transforms._ftrl import NonPositive, ftrl
from ..transforms._momentum import trace
from ._common import KerasRule, LearningRate, PositiveLearningRate, keras_flavor


@keras_flavor
def SGD(
    learning_rate: LearningRate = 0.01,
    momentum: UnitInterval = 0.0,
    nesterov: Flag = False,
) -> KerasRule:
    """``keras.optimizers.SGD``: the buffer holds ``-lr * g`` (``m <- momentum m - lr g``).

    ``x <- x + m`` (or ``x + momentum m - lr g`` with Nesterov). A changing learning
    rate therefore acts differently from torch's SGD, whose buffer holds raw gradients.
    As in Keras, ``momentum=0`` keeps no buffer (and ``nesterov`` has no effect).

    Args:
      learning_rate: >= 0; a number, a schedule of the step, or a function of no
        arguments (called once). State key ``learning_rate``.
      momentum: in [0, 1] (``momentum``, absent when 0).
      nesterov: Nesterov momentum.
      weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`).

    Returns:
      A transformation whose ``update`` gives Keras's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.SGD(0.1, momentum=0.9)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(jaxsched.apply_updates(params, u))
      [ 0.8 -0.8]

    References:
      ``keras.optimizers.SGD``.
    """
    momentum = none_if_zero(momentum)

    def update_step(learning_rate, momentum=None):
        step = scale_by_learning_rate(learning_rate)
        if momentum is None:
            return step
        return optax.chain(step, trace(momentum, nesterov=nesterov))

    return KerasRule(update_step, {} if momentum is None else {"momentum": momentum})


@keras_flavor
def RMSprop(
    learning_rate: LearningRate = 0.001,
    rho: UnitInterval = 0.9,
    momentum: UnitInterval = 0.0,
    epsilon: NonNegative = 1e-7,
    centered: Flag = False,
) -> KerasRule:
    """``keras.optimizers.RMSprop``: eps inside the square root, lr inside the momentum buffer.

    ``v <- rho v + (1 - rho) g^2``; step ``lr g / sqrt(v + eps)`` (centered:
    ``sqrt(v - a^2 + eps)``); with momentum ``b <- momentum b + step``, ``x <- x - b``:
    :func:`jaxsched.rmsprop`.

    Args:
      learning_rate: >= 0; number, schedule or function of no arguments (``learning_rate``).
      rho: in [0, 1] (state key ``decay``).
      momentum: in [0, 1] (``momentum``, absent when 0).
      epsilon: >= 0 (``eps``).
      centered: divide by the centered second moment.
      weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`).

    Returns:
      A transformation whose ``update`` gives Keras's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.RMSprop(0.01, rho=0.75, epsilon=0.0)
      >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
      >>> print(u)
      [-0.02]

    References:
      Tieleman & Hinton 2012; ``keras.optimizers.RMSprop``.
    """
    momentum = none_if_zero(momentum)
    hyper = {"decay": rho, "eps": epsilon}
    if momentum is not None:
        hyper["momentum"] = momentum
    return KerasRule(functools.partial(rmsprop, centered=centered), hyper)


@keras_flavor
def Adadelta(
    learning_rate: LearningRate = 0.001,
    rho: UnitInterval = 0.95,
    epsilon: NonNegative = 1e-7,
) -> KerasRule:
    """``keras.optimizers.Adadelta``: :func:`jaxsched.adadelta` under Keras's names.

    Args:
      learning_rate: >= 0; number, schedule or function of no arguments (``learning_rate``).
      rho: in [0, 1] (state key ``rho``).
      epsilon: >= 0 (``eps``).
      weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`).

    Returns:
      A transformation whose ``update`` gives Keras's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.Adadelta(1.0, epsilon=0.01)
      >>> u, _ = tx.update(jnp.array([1.0]), tx.init(jnp.zeros(1)))
      >>> print(u.round(4))
      [-0.4082]

    References:
      Zeiler 2012; ``keras.optimizers.Adadelta``.
    """
    return KerasRule(adadelta, {"rho": rho, "eps": epsilon})


@keras_flavor
def Adagrad(
    learning_rate: LearningRate = 0.001,
    initial_accumulator_value: NonNegative = 0.1,
    epsilon: NonNegative = 1e-7,
) -> KerasRule:
    """``keras.optimizers.Adagrad``: ``x <- x - lr g / sqrt(a + epsilon)``, ``a`` from 0.1.

    :func:`jaxsched.adagrad` under Keras's names.

    Args:
      learning_rate: >= 0; number, schedule or function of no arguments (``learning_rate``).
      initial_accumulator_value: >= 0 (same state key).
      epsilon: >= 0 (``eps``).
      weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`).

    Returns:
      A transformation whose ``update`` gives Keras's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.Adagrad(0.1, initial_accumulator_value=0.0, epsilon=0.0)
      >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
      >>> print(u)
      [-0.1]

    References:
      Duchi et al. 2011; ``keras.optimizers.Adagrad``.
    """
    return KerasRule(
        adagrad, {"initial_accumulator_value": initial_accumulator_value, "eps": epsilon}
    )


@keras_flavor
def Ftrl(
    learning_rate: PositiveLearningRate = 0.001,
    learning_rate_power: NonPositive = -0.5,
    initial_accumulator_value: NonNegative = 0.1,
    l1_regularization_strength: NonNegative = 0.0,
    l2_regularization_strength: NonNegative = 0.0,
    l2_shrinkage_regularization_strength: NonNegative = 0.0,
    beta: NonNegative = 0.0,
) -> KerasRule:
    """``keras.optimizers.Ftrl``: :func:`jaxsched.ftrl` under Keras's names.

    Args:
      learning_rate: > 0; number, schedule or function of no arguments (``learning_rate``).
      learning_rate_power: <= 0 (same state key).
      initial_accumulator_value: >= 0 (same state key).
      l1_regularization_strength, l2_regularization_strength: >= 0 (``l1``, ``l2``).
      l2_shrinkage_regularization_strength: >= 0 (``l2_shrinkage``).
      beta: >= 0 (``beta``).
      weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`).

    Returns:
      A transformation whose ``update`` gives Keras's step; it needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.Ftrl(0.1, l1_regularization_strength=0.5)
      >>> params = jnp.zeros(2)
      >>> u, _ = tx.update(jnp.array([0.2, 2.0]), tx.init(params), params)
      >>> print(u.round(4))  # the small gradient stays inside the L1 dead zone
      [ 0.     -0.0741]

    References:
      McMahan et al. 2013; ``keras.optimizers.Ftrl``.
    """
    return KerasRule(
        ftrl,
        {
            "learning_rate_power": learning_rate_power,
            "initial_accumulator_value": initial_accumulator_value,
            "l1": l1_regularization_strength,
            "l2": l2_regularization_strength,
            "l2_shrinkage": l2_shrinkage_regularization_strength,
            "beta": beta,
        },
    )
