"""Averaged SGD (Polyak & Juditsky 1992) as torch computes it: a decaying step and an average."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    Array,
    PyTree,
    ScalarOrSchedule,
    cast_like,
    check_hyperparam,
    check_same_tree,
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._hyper import with_hyperparams


class AsgdStepState(NamedTuple):
    count: Array


class AsgdAverageState(NamedTuple):
    count: Array
    average: PyTree


def asgd_step_rule(
    learning_rate: Any, lambd: Any, alpha: Any
) -> optax.GradientTransformationExtraArgs:
    """ASGD step with hyperparameter values given directly (see :func:`asgd_step`)."""

    def init(params):
        del params
        return AsgdStepState(zero_count())

    def update(updates, state, params=None, **extra):
        del extra
        if params is None:
            raise ValueError("asgd_step needs the parameters: call update(..., params=params)")
        check_same_tree(updates, params, "params")
        k = state.count.astype(jnp.float32)
        eta = learning_rate / (1 + lambd * learning_rate * k) ** alpha
        out = jax.tree.map(lambda g, p: -eta * (g + lambd * p), updates, params)
        return cast_like(out, updates), AsgdStepState(safe_increment(state.count))

    return optax.GradientTransformationExtraArgs(init, update)


def asgd_average_rule(t0: Any, *, dtype: Any = None) -> optax.GradientTransformationExtraArgs:
    """ASGD averaging with ``t0`` given directly (see :func:`asgd_average`)."""

    def init(params):
        return AsgdAverageState(zero_count(), zeros_like_tree(params, dtype))

    def update(updates, state, params=None, **extra):
        del extra
        if params is None:
            raise ValueError("asgd_average needs the parameters: call update(..., params=params)")
        check_same_tree(state.average, updates)
        k = state.count.astype(jnp.float32)
        mu = jnp.where(state.count == 0, 1.0, 1 / jnp.maximum(1.0, k - t0))

        def average(ax, p, u):
            new = p.astype(ax.dtype) + u.astype(ax.dtype)
            return jnp.where(mu == 1, new, ax + mu * (new - ax)).astype(ax.dtype)

        ax = jax.tree.map(average, state.average, params, updates)
        return updates, AsgdAverageState(safe_increment(state.count), ax)

    return optax.GradientTransformationExtraArgs(init, update)


def asgd_step(
    learning_rate: ScalarOrSchedule = 1e-2,
    lambd: ScalarOrSchedule = 1e-4,
    alpha: ScalarOrSchedule = 0.75,
) -> optax.GradientTransformationExtraArgs:
    """ASGD's descent step ``p <- p (1 - lambd eta_k) - eta_k g``.

    The returned update is ``-eta_k (g + lambd p)`` with the step size
    ``eta_k = learning_rate / (1 + lambd learning_rate k)^alpha`` for the k-th update
    (0-based), as ``torch.optim.ASGD`` (Xu 2011, "Towards Optimal One Pass Large Scale
    Learning with Averaged Stochastic Gradient Descent").

    Args:
      learning_rate: >= 0 (state key ``"learning_rate"``).
      lambd: decay term, >= 0 (``"lambd"``).
      alpha: power of the step-size decay, >= 0 (``"alpha"``).

    Returns:
      A transformation with an :class:`AsgdStepState` inside its hyperparameter state.
    """
    check_hyperparam("learning_rate", learning_rate, low=0.0)
    check_hyperparam("lambd", lambd, low=0.0)
    check_hyperparam("alpha", alpha, low=0.0)
    return with_hyperparams(asgd_step_rule, learning_rate=learning_rate, lambd=lambd, alpha=alpha)


def asgd_average(t0: ScalarOrSchedule = 1e6, *, dtype: Any = None):
    """Keeps ASGD's running average of the iterates; passes the updates through unchanged.

    Placed last in a chain, it sees the new parameters ``x = p + u`` and updates
    ``ax <- x`` while ``mu_k == 1``, else ``ax <- ax + mu_k (x - ax)``, with
    ``mu_0 = 1`` and ``mu_k = 1 / max(1, k - t0)`` for the k-th update (0-based), as
    ``torch.optim.ASGD``: averaging starts after ``t0`` updates. Read the average with
    :func:`averaged_params`.

    Args:
      t0: the update after which averaging starts (state key ``"t0"``).
      dtype: dtype of the average; default the parameter dtype promoted to float32.

    Returns:
      A transformation with an :class:`AsgdAverageState` inside its hyperparameter state.
    """
    check_hyperparam("t0", t0)
    return with_hyperparams(lambda t0: asgd_average_rule(t0, dtype=dtype), t0=t0)


def averaged_params(state: PyTree) -> PyTree:
    """The ASGD average of the iterates held in an optimizer state (from :func:`asgd_average`).

    Raises:
      ValueError: if the state holds no :class:`AsgdAverageState` or more than one.
    """
    found = [
        leaf.average
        for leaf in jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, AsgdAverageState))
        if isinstance(leaf, AsgdAverageState)
    ]
    if len(found) != 1:
        raise ValueError(f"expected one ASGD average in the state, found {len(found)}")
    return found[0]
