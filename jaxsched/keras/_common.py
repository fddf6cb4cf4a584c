"""What every Keras 3 optimizer shares: clipping, weight decay and the legacy ``decay``.

Keras's ``BaseOptimizer.apply`` runs, per step: clip the gradients (``clipnorm``,
``clipvalue`` or ``global_clipnorm``, at most one), then decoupled weight decay
``x <- x - x * weight_decay * lr`` on the variables, then the optimizer's
``update_step``, which reads the decayed variables (Ftrl does), and finally
``iterations += 1``. :func:`keras_optimizer` assembles the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from .._base import (
    ScalarOrSchedule,
    StatefulSchedule,
    cast_like,
    check_hyperparam,
    is_schedule,
)
from .._hyper import with_hyperparams
from ..schedules import inverse_time_decay
from ..transforms._clip import clip_by_global_norm_rule, clip_by_norm_rule, clip_rule

_CLIPS = {
    "clipnorm": ("max_norm", clip_by_norm_rule),
    "clipvalue": ("max_delta", clip_rule),
    "global_clipnorm": ("max_norm", clip_by_global_norm_rule),
}


def legacy_decay(learning_rate: ScalarOrSchedule, decay: float | None) -> ScalarOrSchedule:
    """Keras 2's ``decay`` argument: ``lr_t = lr(t) / (1 + decay * t)``, t the 0-based step.

    Keras 3 only warns and ignores ``decay``; jaxsched keeps Keras 2's meaning (the same
    numbers as Keras 3 with ``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)``).
    With a decay the learning rate becomes a schedule, so the state reports the decayed
    rate of the most recent update under ``learning_rate``.
    """
    if decay is None or (not is_schedule(decay) and float(decay) == 0.0):
        return learning_rate
    check_hyperparam("decay", decay, low=0.0)
    if is_schedule(decay):
        raise TypeError("decay must be a number (it is the legacy inverse-time decay rate)")
    if isinstance(learning_rate, StatefulSchedule):
        raise TypeError("decay cannot be combined with a stateful learning-rate schedule")

    if not is_schedule(learning_rate):
        return inverse_time_decay(learning_rate, 1, decay)
    factor = inverse_time_decay(1.0, 1, decay)
    return lambda step: learning_rate(step) * factor(step)


def keras_weight_decay(weight_decay: ScalarOrSchedule | None) -> ScalarOrSchedule | None:
    if weight_decay is not None:
        check_hyperparam("weight_decay", weight_decay, low=0.0)
    return weight_decay


def keras_clip(
    clipnorm: ScalarOrSchedule | None,
    clipvalue: ScalarOrSchedule | None,
    global_clipnorm: ScalarOrSchedule | None,
) -> tuple[str, ScalarOrSchedule, Callable] | None:
    """The clipping Keras applies: ``(state key, value, rule)``, or None for none.

    Raises:
      ValueError: if more than one argument is set (as Keras), or one is negative.
    """
    given = {
        name: value
        for name, value in (
            ("clipnorm", clipnorm),
            ("clipvalue", clipvalue),
            ("global_clipnorm", global_clipnorm),
        )
        if value is not None
    }
    if len(given) > 1:
        raise ValueError(
            "only one of clipnorm, clipvalue and global_clipnorm can be set, got "
            + ", ".join(f"{k}={v!r}" for k, v in given.items())
        )
    if not given:
        return None
    ((name, value),) = given.items()
    check_hyperparam(name, value, low=0.0)
    if not is_schedule(value) and float(value) == 0.0:
        return None  # Keras clips only when the value is positive.
    key, rule = _CLIPS[name]
    return key, value, rule


def _decay_then(rate: Any, rule: optax.GradientTransformation):
    """Keras's weight decay: ``x <- x - rate * x``, then ``rule`` steps from the decayed x."""
    rule = optax.with_extra_args_support(rule)

    def update(updates, state, params=None, **extra):
        if params is None:
            raise ValueError(
                "Keras optimizers need the parameters: call update(..., params=params)"
            )
        decay = jax.tree.map(lambda p: (-rate * p).astype(p.dtype), params)
        decayed = jax.tree.map(lambda p, d: p + d, params, decay)
        step, state = rule.update(updates, state, decayed, **extra)
        return cast_like(jax.tree.map(jnp.add, decay, step), updates), state

    return optax.GradientTransformationExtraArgs(rule.init, update)


def keras_optimizer(
    update_rule: Callable[..., optax.GradientTransformation],
    learning_rate: ScalarOrSchedule,
    weight_decay: ScalarOrSchedule | None,
    clipnorm: ScalarOrSchedule | None,
    clipvalue: ScalarOrSchedule | None,
    global_clipnorm: ScalarOrSchedule | None,
    decay: float | None,
    /,
    **hyperparams: ScalarOrSchedule,
) -> optax.GradientTransformationExtraArgs:
    """Assembles a Keras optimizer: clip, then weight decay, then ``update_rule``.

    Args:
      update_rule: ``(learning_rate, **hyperparams) -> transformation`` returning the
        whole update of Keras's ``update_step`` (learning rate included) for the
        parameters it is given, which are already decayed.
      learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, decay: Keras's
        common arguments.
      **hyperparams: the optimizer's own hyperparameters, by their native names.

    Returns:
      A transformation whose state holds ``learning_rate``, the optimizer's
      hyperparameters, ``weight_decay`` (0 when None) and, with clipping,
      ``max_norm`` (``clipnorm``, ``global_clipnorm``) or ``max_delta`` (``clipvalue``).
    """
    check_hyperparam("learning_rate", learning_rate, low=0.0)
    weight_decay = keras_weight_decay(weight_decay)
    clipping = keras_clip(clipnorm, clipvalue, global_clipnorm)
    hyper = dict(
        learning_rate=legacy_decay(learning_rate, decay),
        **hyperparams,
        weight_decay=0.0 if weight_decay is None else weight_decay,
    )
    if clipping is not None:
        hyper[clipping[0]] = clipping[1]

    def build(learning_rate, weight_decay, **values):
        clip = None
        if clipping is not None:
            key, _, rule = clipping
            clip = rule(values.pop(key))
        step = _decay_then(learning_rate * weight_decay, update_rule(learning_rate, **values))
        return step if clip is None else optax.chain(clip, step)

    return with_hyperparams(build, **hyper)
