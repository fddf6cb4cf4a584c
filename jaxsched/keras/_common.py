"""What every Keras 3 optimizer shares: the legacy ``decay`` argument and weight decay."""

from __future__ import annotations

import jax.numpy as jnp

from .._base import ScalarOrSchedule, check_hyperparam, is_schedule


def legacy_decay(learning_rate: ScalarOrSchedule, decay: float | None) -> ScalarOrSchedule:
    """Keras 2's ``decay`` argument: ``lr_t = lr(t) / (1 + decay * t)``, t the 0-based step.

    With a decay the learning rate becomes a schedule, so the state reports the decayed
    rate of the most recent update under ``learning_rate``.
    """
    if decay is None or (not is_schedule(decay) and float(decay) == 0.0):
        return learning_rate
    check_hyperparam("decay", decay, low=0.0)
    if is_schedule(decay):
        raise TypeError("decay must be a number (it is the legacy inverse-time decay rate)")

    def decayed(step):
        step = jnp.asarray(step, jnp.float32)
        base = learning_rate(step) if is_schedule(learning_rate) else learning_rate
        return jnp.asarray(base, jnp.float32) / (1.0 + decay * step)

    return decayed


def keras_weight_decay(weight_decay: ScalarOrSchedule | None) -> ScalarOrSchedule | None:
    if weight_decay is not None:
        check_hyperparam("weight_decay", weight_decay, low=0.0)
    return weight_decay
