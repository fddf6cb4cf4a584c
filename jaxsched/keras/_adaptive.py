"""``keras.optimizers`` Adam, AdamW, Adamax, Nadam, Lamb and Lion (Keras 3).

Each flavor maps Keras's own arguments onto a native optimizer; :func:`keras_flavor`
appends Keras's common arguments (see :mod:`jaxsched.keras`). The state keys are
jaxsched's native names, listed in each docstring.
"""

from __future__ import annotations

import functools

from .._validate import Decay, Flag, NonNegative, UnitInterval
from ..optimizers._adam import adam
from ..optimizers._adaptive import adamax, nadam
from ..optimizers._large_batch import lamb
from ..optimizers._signs import lion
from ..transforms._lion import LionB1
from ._common import KerasRule, LearningRate, keras_flavor


def _adam_rule(beta_1, beta_2, epsilon, amsgrad: bool) -> KerasRule:
    return KerasRule(
        functools.partial(adam, epsilon_hat=True, amsgrad=amsgrad),
        {"b1": beta_1, "b2": beta_2, "eps": epsilon},
    )


@keras_flavor
def Adam(
    learning_rate: LearningRate = 0.001,
    beta_1: Decay = 0.9,
    beta_2: Decay = 0.999,
    epsilon: NonNegative = 1e-7,
    amsgrad: Flag = False,
) -> KerasRule:
    """``keras.optimizers.Adam``: eps added to the raw ``sqrt(v)`` ("epsilon hat").

    ``x <- x - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)``: :func:`jaxsched.adam`
    with ``epsilon_hat=True``. AMSGrad keeps the maximum of the raw ``v``.

    Args:
      learning_rate: >= 0; number, schedule or function of no arguments (``learning_rate``).
      beta_1, beta_2: in [0, 1) (state keys ``b1``, ``b2``).
      epsilon: >= 0 (``eps``).
      amsgrad: AMSGrad (Reddi et al. 2018).
      weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`).

    Returns:
      A transformation whose ``update`` gives Keras's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.Adam(0.1, epsilon=0.0)
      >>> u, state = tx.update(jnp.array([2.0, -2.0]), tx.init(jnp.zeros(2)))
      >>> print(u)  # the first step is lr * sign(g)
      [-0.1  0.1]
      >>> sorted(jaxsched.hyperparams(state))
      ['b1', 'b2', 'eps', 'learning_rate']

    References:
      Kingma & Ba 2015; ``keras.optimizers.Adam``.
    """
    return _adam_rule(beta_1, beta_2, epsilon, amsgrad)


@keras_flavor
def AdamW(
    learning_rate: LearningRate = 0.001,
    weight_decay: NonNegative = 0.004,
    beta_1: Decay = 0.9,
    beta_2: Decay = 0.999,
    epsilon: NonNegative = 1e-7,
    amsgrad: Flag = False,
) -> KerasRule:
    """``keras.optimizers.AdamW``: :func:`Adam` whose ``weight_decay`` (second) is required.

    Keras's AdamW is its Adam with ``weight_decay=0.004`` by default, placed second, and
    refuses None. Arguments and state keys as :func:`Adam`.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.AdamW(0.1, weight_decay=0.5)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, _ = tx.update(jnp.zeros(2), tx.init(params), params)
      >>> print(u)
      [-0.05  0.05]

    References:
      Loshchilov & Hutter 2019; ``keras.optimizers.AdamW``.
    """
    return _adam_rule(beta_1, beta_2, epsilon, amsgrad)


@keras_flavor
def Adamax(
    learning_rate: LearningRate = 0.001,
    beta_1: Decay = 0.9,
    beta_2: Decay = 0.999,
    epsilon: NonNegative = 1e-7,
) -> KerasRule:
    """``keras.optimizers.Adamax``: ``u <- max(b2 u, |g|)``, ``x -= lr m / ((1 - b1^t)(u + eps))``.

    :func:`jaxsched.adamax` under Keras's names.

    Args:
      learning_rate: >= 0; number, schedule or function of no arguments (``learning_rate``).
      beta_1, beta_2: in [0, 1) (state keys ``b1``, ``b2``).
      epsilon: >= 0 (``eps``).
      weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`).

    Returns:
      A transformation whose ``update`` gives Keras's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.Adamax(0.1, epsilon=0.0)
      >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
      >>> print(u)
      [-0.1]

    References:
      Kingma & Ba 2015, section 7.1; ``keras.optimizers.Adamax``.
    """
    return KerasRule(adamax, {"b1": beta_1, "b2": beta_2, "eps": epsilon})


@keras_flavor
def Nadam(
    learning_rate: LearningRate = 0.001,
    beta_1: Decay = 0.9,
    beta_2: Decay = 0.999,
    epsilon: NonNegative = 1e-7,
) -> KerasRule:
    """``keras.optimizers.Nadam``: momentum cache ``b1 (1 - 0.5 * 0.96^t)``.

    :func:`jaxsched.nadam` with ``momentum_decay=1`` (a constant, not in the state).

    Args:
      learning_rate: >= 0; number, schedule or function of no arguments (``learning_rate``).
      beta_1, beta_2: in [0, 1) (state keys ``b1``, ``b2``).
      epsilon: >= 0 (``eps``).
      weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`).

    Returns:
      A transformation whose ``update`` gives Keras's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.Nadam(0.1)
      >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
      >>> print(u.round(4))
      [-0.1063]

    References:
      Dozat 2016; ``keras.optimizers.Nadam``.
    """
    return KerasRule(
        functools.partial(nadam, momentum_decay=1.0), {"b1": beta_1, "b2": beta_2, "eps": epsilon}
    )


@keras_flavor
def Lamb(
    learning_rate: LearningRate = 0.001,
    beta_1: Decay = 0.9,
    beta_2: Decay = 0.999,
    epsilon: NonNegative = 1e-7,
) -> KerasRule:
    """``keras.optimizers.Lamb``: Adam's direction rescaled per variable to the weights' norm.

    ``r = m_hat / (sqrt(v_hat) + epsilon)``, ``x <- x - lr |x| / |r| * r`` (ratio 1 where
    either norm is 0), ``|x|`` that of the weights after Keras's common weight decay:
    :func:`jaxsched.optimizers.lamb` without its own decay.

    Args:
      learning_rate: >= 0; number, schedule or function of no arguments (``learning_rate``).
      beta_1, beta_2: in [0, 1) (state keys ``b1``, ``b2``).
      epsilon: >= 0 (``eps``).
      weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`).

    Returns:
      A transformation whose ``update`` gives Keras's step; it needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.Lamb(0.1)
      >>> params = jnp.array([3.0, -4.0])
      >>> u, _ = tx.update(jnp.array([1.0, 0.0]), tx.init(params), params)
      >>> print(u)  # a step of 0.1 * |x| = 0.5 along the first axis
      [-0.5 -0. ]

    References:
      You et al. 2019, "Large Batch Optimization for Deep Learning: Training BERT in
      76 minutes"; ``keras.optimizers.Lamb``.
    """
    return KerasRule(lamb, {"b1": beta_1, "b2": beta_2, "eps": epsilon})


@keras_flavor
def Lion(
    learning_rate: LearningRate = 0.001,
    beta_1: LionB1 = 0.9,
    beta_2: UnitInterval = 0.99,
) -> KerasRule:
    """``keras.optimizers.Lion``: ``x <- x - lr sign(b1 m + (1 - b1) g)``.

    Then ``m <- b2 m + (1 - b2) g``: :func:`jaxsched.lion` whose weight decay is
    Keras's common one.

    Args:
      learning_rate: >= 0; number, schedule or function of no arguments (``learning_rate``).
      beta_1: in (0, 1] (state key ``b1``).
      beta_2: in [0, 1] (``b2``).
      weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`).

    Returns:
      A transformation whose ``update`` gives Keras's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.Lion(0.1)
      >>> u, _ = tx.update(jnp.array([2.0, -0.5]), tx.init(jnp.zeros(2)))
      >>> print(u)
      [-0.1  0.1]

    References:
      Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms";
      ``keras.optimizers.Lion``.
    """
    return KerasRule(functools.partial(lion, weight_decay=None), {"b1": beta_1, "b2": beta_2})
