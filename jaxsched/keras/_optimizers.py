"""``keras.optimizers`` flavors (Keras 3): Keras class names, argument names, defaults.

Keras applies, per step: gradient clipping, then decoupled weight decay
``x <- x - x * weight_decay * lr``, then the optimizer's update; the learning-rate
schedule is evaluated at the 0-based iteration count.
"""

from __future__ import annotations

import optax

from .._base import ScalarOrSchedule, check_hyperparam, is_schedule
from .._hyper import with_hyperparams
from ..optimizers._adam import adam_with_decay
from ..transforms._basic import decayed_weights_rule, learning_rate_rule
from ..transforms._momentum import trace_rule
from ._common import keras_weight_decay, legacy_decay


def SGD(
    learning_rate: ScalarOrSchedule = 0.01,
    momentum: ScalarOrSchedule = 0.0,
    nesterov: bool = False,
    weight_decay: ScalarOrSchedule | None = None,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.SGD``: the buffer holds ``-lr * g`` (``m <- momentum m - lr g``).

    ``x <- x + m`` (or ``x + momentum m - lr g`` with Nesterov). A changing learning
    rate therefore acts differently from torch's SGD, whose buffer holds raw gradients.
    State keys: ``learning_rate``, ``weight_decay``, and ``momentum`` when non-zero.
    """
    check_hyperparam("learning_rate", learning_rate, low=0.0)
    check_hyperparam("momentum", momentum, 0.0, 1.0)
    weight_decay = keras_weight_decay(weight_decay)
    learning_rate = legacy_decay(learning_rate, decay)
    has_momentum = is_schedule(momentum) or float(momentum) != 0.0
    hyper = dict(learning_rate=learning_rate, weight_decay=weight_decay or 0.0)
    if has_momentum:
        hyper["momentum"] = momentum

    def build(learning_rate, weight_decay, momentum=None):
        parts = [learning_rate_rule(learning_rate)]
        if momentum is not None:
            parts.append(trace_rule(momentum, nesterov=nesterov))
        parts.append(decayed_weights_rule(-learning_rate * weight_decay))
        return optax.chain(*parts)

    return with_hyperparams(build, **hyper)


def Adam(
    learning_rate: ScalarOrSchedule = 0.001,
    beta_1: ScalarOrSchedule = 0.9,
    beta_2: ScalarOrSchedule = 0.999,
    epsilon: ScalarOrSchedule = 1e-7,
    amsgrad: bool = False,
    weight_decay: ScalarOrSchedule | None = None,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.Adam``: eps added to the raw ``sqrt(v)`` ("epsilon hat").

    ``x <- x - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)``; AMSGrad keeps
    the maximum of the raw ``v``. State keys: ``learning_rate``, ``b1``, ``b2``, ``eps``,
    ``eps_root`` (0), ``weight_decay``.
    """
    return adam_with_decay(
        legacy_decay(learning_rate, decay),
        beta_1,
        beta_2,
        epsilon,
        0.0,
        keras_weight_decay(weight_decay) or 0.0,
        decoupled=True,
        epsilon_hat=True,
        amsgrad=amsgrad,
    )


def AdamW(
    learning_rate: ScalarOrSchedule = 0.001,
    weight_decay: ScalarOrSchedule = 0.004,
    beta_1: ScalarOrSchedule = 0.9,
    beta_2: ScalarOrSchedule = 0.999,
    epsilon: ScalarOrSchedule = 1e-7,
    amsgrad: bool = False,
    *,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.AdamW``: :func:`Adam` with ``weight_decay=0.004`` by default."""
    return Adam(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, decay=decay)
