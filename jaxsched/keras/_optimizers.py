"""``keras.optimizers`` flavors (Keras 3): Keras class names, argument names, defaults.

Keras applies, per step: gradient clipping, then decoupled weight decay
``x <- x - x * weight_decay * lr``, then the optimizer's update; the learning-rate
schedule is evaluated at the 0-based iteration count. Every flavor takes Keras's
common ``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm`` (at most one
clip argument) and the legacy ``decay`` (see :func:`~jaxsched.keras._common.legacy_decay`);
the state keys are jaxsched's native names, listed in each docstring, plus
``weight_decay`` and ``max_norm`` / ``max_delta`` for the clip arguments.
"""

from __future__ import annotations

import optax

from .._base import ScalarOrSchedule, check_hyperparam, is_schedule
from ..transforms._adadelta import adadelta_rule
from ..transforms._adagrad import adagrad_rule
from ..transforms._adam import adam_rule, check_adam_args
from ..transforms._adamax import adamax_rule
from ..transforms._basic import learning_rate_rule
from ..transforms._ftrl import check_ftrl_args, ftrl_rule
from ..transforms._lion import check_lion_args, lion_rule
from ..transforms._momentum import trace_rule
from ..transforms._nadam import nadam_rule
from ..transforms._rms import rms_rule
from ._common import keras_optimizer

Clip = ScalarOrSchedule | None


def _has(value: ScalarOrSchedule) -> bool:
    return is_schedule(value) or float(value) != 0.0


def SGD(
    learning_rate: ScalarOrSchedule = 0.01,
    momentum: ScalarOrSchedule = 0.0,
    nesterov: bool = False,
    weight_decay: ScalarOrSchedule | None = None,
    clipnorm: Clip = None,
    clipvalue: Clip = None,
    global_clipnorm: Clip = None,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.SGD``: the buffer holds ``-lr * g`` (``m <- momentum m - lr g``).

    ``x <- x + m`` (or ``x + momentum m - lr g`` with Nesterov). A changing learning
    rate therefore acts differently from torch's SGD, whose buffer holds raw gradients.
    State keys: ``learning_rate``, ``weight_decay``, and ``momentum`` when non-zero.
    """
    check_hyperparam("momentum", momentum, 0.0, 1.0)
    hyper = {"momentum": momentum} if _has(momentum) else {}

    def update(learning_rate, momentum=None):
        step = learning_rate_rule(learning_rate)
        if momentum is None:
            return step
        return optax.chain(step, trace_rule(momentum, nesterov=nesterov))

    return keras_optimizer(
        update, learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, decay, **hyper
    )


def Adam(
    learning_rate: ScalarOrSchedule = 0.001,
    beta_1: ScalarOrSchedule = 0.9,
    beta_2: ScalarOrSchedule = 0.999,
    epsilon: ScalarOrSchedule = 1e-7,
    amsgrad: bool = False,
    weight_decay: ScalarOrSchedule | None = None,
    clipnorm: Clip = None,
    clipvalue: Clip = None,
    global_clipnorm: Clip = None,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.Adam``: eps added to the raw ``sqrt(v)`` ("epsilon hat").

    ``x <- x - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)``; AMSGrad keeps
    the maximum of the raw ``v``. State keys: ``learning_rate``, ``b1`` (``beta_1``),
    ``b2`` (``beta_2``), ``eps`` (``epsilon``), ``eps_root`` (0), ``weight_decay``.
    """
    check_adam_args(beta_1, beta_2, epsilon)

    def update(learning_rate, b1, b2, eps, eps_root):
        rule = adam_rule(b1, b2, eps, eps_root, epsilon_hat=True, amsgrad=amsgrad)
        return optax.chain(rule, learning_rate_rule(learning_rate))

    return keras_optimizer(
        update,
        learning_rate,
        weight_decay,
        clipnorm,
        clipvalue,
        global_clipnorm,
        decay,
        b1=beta_1,
        b2=beta_2,
        eps=epsilon,
        eps_root=0.0,
    )


def AdamW(
    learning_rate: ScalarOrSchedule = 0.001,
    weight_decay: ScalarOrSchedule = 0.004,
    beta_1: ScalarOrSchedule = 0.9,
    beta_2: ScalarOrSchedule = 0.999,
    epsilon: ScalarOrSchedule = 1e-7,
    amsgrad: bool = False,
    clipnorm: Clip = None,
    clipvalue: Clip = None,
    global_clipnorm: Clip = None,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.AdamW``: :func:`Adam` with ``weight_decay=0.004`` by default."""
    if weight_decay is None:
        raise ValueError("weight_decay must be a number for AdamW, got None")
    return Adam(
        learning_rate,
        beta_1,
        beta_2,
        epsilon,
        amsgrad,
        weight_decay,
        clipnorm,
        clipvalue,
        global_clipnorm,
        decay=decay,
    )


def RMSprop(
    learning_rate: ScalarOrSchedule = 0.001,
    rho: ScalarOrSchedule = 0.9,
    momentum: ScalarOrSchedule = 0.0,
    epsilon: ScalarOrSchedule = 1e-7,
    centered: bool = False,
    weight_decay: ScalarOrSchedule | None = None,
    clipnorm: Clip = None,
    clipvalue: Clip = None,
    global_clipnorm: Clip = None,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.RMSprop``: eps inside the square root, lr inside the momentum buffer.

    ``v <- rho v + (1 - rho) g^2``; step ``lr g / sqrt(v + eps)`` (centered:
    ``sqrt(v - a^2 + eps)``); with momentum ``b <- momentum b + step``, ``x <- x - b``.
    State keys: ``learning_rate``, ``decay`` (``rho``), ``eps`` (``epsilon``),
    ``weight_decay`` and, when non-zero, ``momentum``.
    """
    check_hyperparam("rho", rho, 0.0, 1.0)
    check_hyperparam("momentum", momentum, 0.0, 1.0)
    check_hyperparam("eps", epsilon, low=0.0)
    hyper = {"momentum": momentum} if _has(momentum) else {}

    def update(learning_rate, decay, eps, momentum=None):
        parts = [rms_rule(decay, eps, centered=centered), learning_rate_rule(learning_rate)]
        if momentum is not None:
            parts.append(trace_rule(momentum))
        return optax.chain(*parts)

    return keras_optimizer(
        update,
        learning_rate,
        weight_decay,
        clipnorm,
        clipvalue,
        global_clipnorm,
        decay,
        decay=rho,
        eps=epsilon,
        **hyper,
    )


def Adadelta(
    learning_rate: ScalarOrSchedule = 0.001,
    rho: ScalarOrSchedule = 0.95,
    epsilon: ScalarOrSchedule = 1e-7,
    weight_decay: ScalarOrSchedule | None = None,
    clipnorm: Clip = None,
    clipvalue: Clip = None,
    global_clipnorm: Clip = None,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.Adadelta``: see :func:`jaxsched.transforms.scale_by_adadelta`.

    State keys: ``learning_rate``, ``rho``, ``eps`` (``epsilon``), ``weight_decay``.
    """
    check_hyperparam("rho", rho, 0.0, 1.0)
    check_hyperparam("eps", epsilon, low=0.0)

    def update(learning_rate, rho, eps):
        return optax.chain(adadelta_rule(rho, eps), learning_rate_rule(learning_rate))

    return keras_optimizer(
        update,
        learning_rate,
        weight_decay,
        clipnorm,
        clipvalue,
        global_clipnorm,
        decay,
        rho=rho,
        eps=epsilon,
    )


def Adagrad(
    learning_rate: ScalarOrSchedule = 0.001,
    initial_accumulator_value: ScalarOrSchedule = 0.1,
    epsilon: ScalarOrSchedule = 1e-7,
    weight_decay: ScalarOrSchedule | None = None,
    clipnorm: Clip = None,
    clipvalue: Clip = None,
    global_clipnorm: Clip = None,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.Adagrad``: ``x <- x - lr g / sqrt(a + epsilon)``, ``a`` from 0.1.

    State keys: ``learning_rate``, ``initial_accumulator_value``, ``eps``
    (``epsilon``), ``weight_decay``.
    """
    check_hyperparam("initial_accumulator_value", initial_accumulator_value, low=0.0)
    check_hyperparam("eps", epsilon, low=0.0)

    def update(learning_rate, initial_accumulator_value, eps):
        rule = adagrad_rule(initial_accumulator_value, eps, eps_in_sqrt=True)
        return optax.chain(rule, learning_rate_rule(learning_rate))

    return keras_optimizer(
        update,
        learning_rate,
        weight_decay,
        clipnorm,
        clipvalue,
        global_clipnorm,
        decay,
        initial_accumulator_value=initial_accumulator_value,
        eps=epsilon,
    )


def Adamax(
    learning_rate: ScalarOrSchedule = 0.001,
    beta_1: ScalarOrSchedule = 0.9,
    beta_2: ScalarOrSchedule = 0.999,
    epsilon: ScalarOrSchedule = 1e-7,
    weight_decay: ScalarOrSchedule | None = None,
    clipnorm: Clip = None,
    clipvalue: Clip = None,
    global_clipnorm: Clip = None,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.Adamax``: ``u <- max(b2 u, |g|)``, ``x -= lr m / ((1 - b1^t)(u + eps))``.

    State keys: ``learning_rate``, ``b1`` (``beta_1``), ``b2`` (``beta_2``), ``eps``
    (``epsilon``), ``weight_decay``.
    """
    check_adam_args(beta_1, beta_2, epsilon)

    def update(learning_rate, b1, b2, eps):
        return optax.chain(adamax_rule(b1, b2, eps), learning_rate_rule(learning_rate))

    return keras_optimizer(
        update,
        learning_rate,
        weight_decay,
        clipnorm,
        clipvalue,
        global_clipnorm,
        decay,
        b1=beta_1,
        b2=beta_2,
        eps=epsilon,
    )


def Nadam(
    learning_rate: ScalarOrSchedule = 0.001,
    beta_1: ScalarOrSchedule = 0.9,
    beta_2: ScalarOrSchedule = 0.999,
    epsilon: ScalarOrSchedule = 1e-7,
    weight_decay: ScalarOrSchedule | None = None,
    clipnorm: Clip = None,
    clipvalue: Clip = None,
    global_clipnorm: Clip = None,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.Nadam``: momentum cache ``b1 (1 - 0.5 * 0.96^t)``.

    :func:`jaxsched.transforms.scale_by_nadam` with ``momentum_decay=1``. State keys:
    ``learning_rate``, ``b1`` (``beta_1``), ``b2`` (``beta_2``), ``eps`` (``epsilon``),
    ``weight_decay``.
    """
    check_adam_args(beta_1, beta_2, epsilon)

    def update(learning_rate, b1, b2, eps):
        rule = nadam_rule(b1, b2, eps, momentum_decay=1.0)
        return optax.chain(rule, learning_rate_rule(learning_rate))

    return keras_optimizer(
        update,
        learning_rate,
        weight_decay,
        clipnorm,
        clipvalue,
        global_clipnorm,
        decay,
        b1=beta_1,
        b2=beta_2,
        eps=epsilon,
    )


def Ftrl(
    learning_rate: ScalarOrSchedule = 0.001,
    learning_rate_power: ScalarOrSchedule = -0.5,
    initial_accumulator_value: ScalarOrSchedule = 0.1,
    l1_regularization_strength: ScalarOrSchedule = 0.0,
    l2_regularization_strength: ScalarOrSchedule = 0.0,
    l2_shrinkage_regularization_strength: ScalarOrSchedule = 0.0,
    beta: ScalarOrSchedule = 0.0,
    weight_decay: ScalarOrSchedule | None = None,
    clipnorm: Clip = None,
    clipvalue: Clip = None,
    global_clipnorm: Clip = None,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.Ftrl``: see :func:`jaxsched.ftrl`.

    State keys: ``learning_rate``, ``learning_rate_power``,
    ``initial_accumulator_value``, ``l1`` (``l1_regularization_strength``), ``l2``
    (``l2_regularization_strength``), ``l2_shrinkage``
    (``l2_shrinkage_regularization_strength``), ``beta``, ``weight_decay``.
    """
    check_ftrl_args(
        learning_rate,
        learning_rate_power,
        initial_accumulator_value,
        l1_regularization_strength,
        l2_regularization_strength,
        l2_shrinkage_regularization_strength,
        beta,
    )
    return keras_optimizer(
        ftrl_rule,
        learning_rate,
        weight_decay,
        clipnorm,
        clipvalue,
        global_clipnorm,
        decay,
        learning_rate_power=learning_rate_power,
        initial_accumulator_value=initial_accumulator_value,
        l1=l1_regularization_strength,
        l2=l2_regularization_strength,
        l2_shrinkage=l2_shrinkage_regularization_strength,
        beta=beta,
    )


def Lion(
    learning_rate: ScalarOrSchedule = 0.001,
    beta_1: ScalarOrSchedule = 0.9,
    beta_2: ScalarOrSchedule = 0.99,
    weight_decay: ScalarOrSchedule | None = None,
    clipnorm: Clip = None,
    clipvalue: Clip = None,
    global_clipnorm: Clip = None,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.Lion``: ``x <- x - lr sign(b1 m + (1 - b1) g)``.

    Then ``m <- b2 m + (1 - b2) g``. State keys: ``learning_rate``, ``b1``
    (``beta_1``), ``b2`` (``beta_2``), ``weight_decay``.
    """
    check_lion_args(beta_1, beta_2)

    def update(learning_rate, b1, b2):
        return optax.chain(lion_rule(b1, b2), learning_rate_rule(learning_rate))

    return keras_optimizer(
        update,
        learning_rate,
        weight_decay,
        clipnorm,
        clipvalue,
        global_clipnorm,
        decay,
        b1=beta_1,
        b2=beta_2,
    )
