"""Turning a scaling rule into a descent step, with coupled or decoupled weight decay."""

from __future__ import annotations

from typing import Any

import optax

from .._base import check_hyperparam
from ..transforms._basic import MaskOrFn, decayed_weights_rule, learning_rate_rule


def check_lr_and_decay(learning_rate: Any, weight_decay: Any) -> None:
    check_hyperparam("learning_rate", learning_rate, low=0.0)
    check_hyperparam("weight_decay", weight_decay, low=0.0)


def descent(
    rule: optax.GradientTransformation,
    learning_rate: Any,
    weight_decay: Any = None,
    *,
    decoupled: bool = False,
    mask: MaskOrFn = None,
) -> optax.GradientTransformationExtraArgs:
    """``p <- p - learning_rate * rule(g)``, with weight decay placed as asked.

    Coupled (L2, torch's ``weight_decay``): ``g <- g + weight_decay * p`` before the
    rule. Decoupled (Loshchilov & Hutter 2019): ``weight_decay * p`` is added after the
    rule, so ``p <- p - learning_rate * (rule(g) + weight_decay * p)``. Works on
    hyperparameter values, inside a :func:`~jaxsched.with_hyperparams` factory.
    """
    if weight_decay is None:
        return optax.chain(rule, learning_rate_rule(learning_rate))
    decay = decayed_weights_rule(weight_decay, mask)
    if decoupled:
        return optax.chain(rule, decay, learning_rate_rule(learning_rate))
    return optax.chain(decay, rule, learning_rate_rule(learning_rate))
