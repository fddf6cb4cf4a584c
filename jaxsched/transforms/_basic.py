"""Scaling, the learning rate, sign flips and weight decay: the smallest building blocks.

Each block exists twice: a ``*_rule`` factory that takes hyperparameter values (numbers
or arrays) and holds no hyperparameters in its state — used to compose optimizers under
one :func:`~jaxsched.with_hyperparams` — and the public block, which keeps its
hyperparameters in its state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import PyTree, ScalarOrSchedule, cast_like, check_hyperparam, check_same_tree
from .._hyper import with_hyperparams

MaskOrFn = PyTree | Callable[[PyTree], PyTree] | None


class EmptyState(NamedTuple):
    """State of a block that keeps nothing between updates."""


def stateless(fn: Callable[..., PyTree]) -> optax.GradientTransformationExtraArgs:
    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None, **extra):
        del extra
        return fn(updates, params), state

    return optax.GradientTransformationExtraArgs(init, update)


def scale_rule(factor: Any) -> optax.GradientTransformationExtraArgs:
    """``u <- factor * u`` (factor may be an array)."""
    return stateless(lambda u, p: cast_like(jax.tree.map(lambda g: factor * g, u), u))


def learning_rate_rule(learning_rate: Any) -> optax.GradientTransformationExtraArgs:
    """``u <- -learning_rate * u``: the descent step."""
    return stateless(lambda u, p: cast_like(jax.tree.map(lambda g: -learning_rate * g, u), u))


def negate_rule() -> optax.GradientTransformationExtraArgs:
    """``u <- -u``: turns a descent rule into ascent (torch's ``maximize=True``)."""
    return stateless(lambda u, p: jax.tree.map(jnp.negative, u))


def resolve_mask(mask: MaskOrFn, params: PyTree) -> PyTree:
    if mask is None:
        return jax.tree.map(lambda _: True, params)
    return mask(params) if callable(mask) else mask


def decayed_weights_rule(weight_decay: Any, mask: MaskOrFn = None):
    """``u <- u + weight_decay * p`` on the leaves where ``mask`` is True."""

    def add(updates, params):
        if params is None:
            raise ValueError("weight decay needs the parameters: call update(..., params=params)")
        check_same_tree(params, updates, against="the parameters")
        chosen = resolve_mask(mask, params)
        out = jax.tree.map(
            lambda u, p, m: u + weight_decay * p if m else u, updates, params, chosen
        )
        return cast_like(out, updates)

    return stateless(add)


def scale(factor: ScalarOrSchedule) -> optax.GradientTransformationExtraArgs:
    """Multiplies updates by ``factor``: ``u <- factor * u``.

    Args:
      factor: a number, a jax scalar or a schedule; kept in the state as ``"factor"``.
    """
    check_hyperparam("factor", factor)
    return with_hyperparams(scale_rule, factor=factor)


def scale_by_learning_rate(
    learning_rate: ScalarOrSchedule,
) -> optax.GradientTransformationExtraArgs:
    """The descent step ``u <- -learning_rate * u``.

    Args:
      learning_rate: a non-negative number, jax scalar or schedule ``step -> value``
        (update k, 0-based, uses ``schedule(k)``); kept in the state as
        ``"learning_rate"``, which reports the rate applied by the most recent update.
    """
    check_hyperparam("learning_rate", learning_rate, low=0.0)
    return with_hyperparams(learning_rate_rule, learning_rate=learning_rate)


def add_decayed_weights(
    weight_decay: ScalarOrSchedule, mask: MaskOrFn = None
) -> optax.GradientTransformationExtraArgs:
    """Adds the weights times a factor: ``u <- u + weight_decay * p``.

    Placed before the optimizer's rule it is coupled L2 regularisation (the gradient of
    ``weight_decay * |p|^2 / 2``, torch's ``weight_decay`` in SGD/Adam); placed after the
    rule and before :func:`scale_by_learning_rate` it is decoupled weight decay
    (Loshchilov & Hutter 2019, torch's AdamW: ``p <- p - lr * weight_decay * p``).

    Args:
      weight_decay: non-negative number, jax scalar or schedule; kept as ``"weight_decay"``.
      mask: a pytree of bools like the params (or a function params -> such a tree);
        leaves with False are not decayed.
    """
    check_hyperparam("weight_decay", weight_decay, low=0.0)
    return with_hyperparams(
        lambda weight_decay: decayed_weights_rule(weight_decay, mask), weight_decay=weight_decay
    )
