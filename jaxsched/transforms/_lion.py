"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms")."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    PyTree,
    ScalarOrSchedule,
    cast_like,
    check_hyperparam,
    check_same_tree,
    zeros_like_tree,
)
from .._hyper import with_hyperparams
from ._adam import update_moment


class ScaleByLionState(NamedTuple):
    mu: PyTree


def lion_rule(b1: Any, b2: Any, *, mu_dtype: Any = None) -> optax.GradientTransformationExtraArgs:
    """Lion rule with hyperparameter values given directly (see :func:`scale_by_lion`)."""

    def init(params):
        return ScaleByLionState(zeros_like_tree(params, mu_dtype))

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        out = jax.tree.map(lambda m, g: jnp.sign(b1 * m + (1 - b1) * g), state.mu, updates)
        mu = update_moment(updates, state.mu, b2, 1)
        return cast_like(out, updates), ScaleByLionState(mu)

    return optax.GradientTransformationExtraArgs(init, update)


def check_lion_args(b1: Any, b2: Any) -> None:
    # b1 = 0 would make Lion plain signSGD; Keras rejects it, and so does jaxsched.
    check_hyperparam("b1", b1, 0.0, 1.0, low_open=True)
    check_hyperparam("b2", b2, 0.0, 1.0)


def scale_by_lion(
    b1: ScalarOrSchedule = 0.9, b2: ScalarOrSchedule = 0.99, *, mu_dtype: Any = None
) -> optax.GradientTransformationExtraArgs:
    """Lion's signed interpolation of momentum and gradient.

    Output ``sign(b1 m + (1 - b1) g)``, then ``m <- b2 m + (1 - b2) g``
    (``keras.optimizers.Lion``, ``optax.scale_by_lion``).

    Args:
      b1: interpolation weight in (0, 1] (state key ``"b1"``).
      b2: momentum decay in [0, 1] (``"b2"``).
      mu_dtype: dtype of ``m``; default the parameter dtype promoted to float32.

    Returns:
      A transformation with a :class:`ScaleByLionState` inside its hyperparameter state.
    """
    check_lion_args(b1, b2)
    return with_hyperparams(lambda b1, b2: lion_rule(b1, b2, mu_dtype=mu_dtype), b1=b1, b2=b2)
