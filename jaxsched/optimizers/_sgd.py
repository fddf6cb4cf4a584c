"""Stochastic gradient descent, with or without momentum."""

from __future__ import annotations

from typing import Any

import optax

from .._base import ScalarOrSchedule, check_hyperparam
from .._hyper import with_hyperparams
from ..transforms._basic import MaskOrFn, decayed_weights_rule, learning_rate_rule
from ..transforms._momentum import trace_rule


def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: ScalarOrSchedule | None = None,
    dampening: ScalarOrSchedule = 0.0,
    nesterov: bool = False,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    zero_init: bool = False,
    mask: MaskOrFn = None,
) -> optax.GradientTransformationExtraArgs:
    """Stochastic gradient descent.

    ``g <- g + weight_decay * p`` (coupled L2), then with momentum
    ``b <- momentum * b + (1 - dampening) * g`` (``b = g`` on the first update unless
    ``zero_init``) and ``g <- b`` or, Nesterov, ``g + momentum * b``; finally
    ``p <- p - learning_rate * g``. This is ``torch.optim.SGD``'s rule; see
    :func:`jaxsched.transforms.trace`.

    Args:
      learning_rate: >= 0, number, jax scalar or schedule.
      momentum: in [0, 1], or None for plain SGD (no buffer in the state).
      dampening: in [0, 1].
      nesterov: Nesterov momentum; needs ``momentum``.
      weight_decay: coupled L2 coefficient, >= 0.
      zero_init: start the momentum buffer at zero (the seeds' EMA form with
        ``dampening = momentum``).
      mask: which leaves get weight decay (pytree of bools or function of params).

    Returns:
      A transformation with ``learning_rate``, ``weight_decay`` (and ``momentum``,
      ``dampening``) in its state.
    """
    check_hyperparam("learning_rate", learning_rate, low=0.0)
    check_hyperparam("weight_decay", weight_decay, low=0.0)
    if momentum is None:
        if nesterov:
            raise ValueError("nesterov=True needs a momentum (got momentum=None)")

        def plain(learning_rate, weight_decay):
            return optax.chain(
                decayed_weights_rule(weight_decay, mask), learning_rate_rule(learning_rate)
            )

        return with_hyperparams(plain, learning_rate=learning_rate, weight_decay=weight_decay)

    check_hyperparam("momentum", momentum, 0.0, 1.0)
    check_hyperparam("dampening", dampening, 0.0, 1.0)

    def heavy_ball(learning_rate, momentum, dampening, weight_decay):
        return optax.chain(
            decayed_weights_rule(weight_decay, mask),
            trace_rule(momentum, dampening, nesterov=nesterov, zero_init=zero_init),
            learning_rate_rule(learning_rate),
        )

    return with_hyperparams(
        heavy_ball,
        learning_rate=learning_rate,
        momentum=momentum,
        dampening=dampening,
        weight_decay=weight_decay,
    )


def momentum(
    learning_rate: ScalarOrSchedule,
    momentum: ScalarOrSchedule = 0.9,
    dampening: ScalarOrSchedule = 0.0,
    nesterov: bool = False,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    zero_init: bool = False,
    mask: MaskOrFn = None,
) -> optax.GradientTransformationExtraArgs:
    """SGD with momentum (default 0.9): :func:`sgd` with a momentum buffer.

    The seeds' "SGDM" ``m <- 0.9 m + 0.1 g; w <- w - lr m`` is
    ``momentum(lr, 0.9, dampening=0.9, zero_init=True)``.
    """
    return sgd(
        learning_rate,
        momentum,
        dampening,
        nesterov,
        weight_decay,
        zero_init=zero_init,
        mask=mask,
    )


def nesterov(
    learning_rate: ScalarOrSchedule,
    momentum: ScalarOrSchedule = 0.9,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    mask: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """SGD with Nesterov momentum (torch's form): ``sgd(..., nesterov=True)``."""
    return sgd(learning_rate, momentum, 0.0, True, weight_decay, mask=mask)
