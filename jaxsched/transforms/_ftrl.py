"""FTRL-proximal (McMahan et al. 2013, "Ad Click Prediction: a View from the Trenches")."""

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
    moment_dtype,
    zeros_like_tree,
)
from .._hyper import with_hyperparams


class FtrlState(NamedTuple):
    accumulator: PyTree
    linear: PyTree


def ftrl_rule(
    learning_rate: Any,
    learning_rate_power: Any,
    initial_accumulator_value: Any,
    l1: Any,
    l2: Any,
    l2_shrinkage: Any,
    beta: Any,
    *,
    dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """FTRL rule with hyperparameter values given directly (see :func:`ftrl`)."""

    def init(params):
        acc = jax.tree.map(
            lambda p: jnp.full(
                jnp.shape(p), initial_accumulator_value, moment_dtype(p.dtype, dtype)
            ),
            params,
        )
        return FtrlState(acc, zeros_like_tree(params, dtype))

    def update(updates, state, params=None, **extra):
        del extra
        if params is None:
            raise ValueError("ftrl needs the parameters: call update(..., params=params)")
        check_same_tree(state.linear, updates)
        check_same_tree(state.linear, params, "params")
        power = -learning_rate_power
        l2_total = l2 + beta / (2 * learning_rate)

        def step(g, x, n, z):
            g, x = g.astype(n.dtype), x.astype(n.dtype)
            n_new = n + jnp.square(g)
            sigma = (n_new**power - n**power) / learning_rate
            z_new = z + g + 2 * l2_shrinkage * x - sigma * x
            quadratic = n_new**power / learning_rate + 2 * l2_total
            x_new = (jnp.clip(z_new, -l1, l1) - z_new) / quadratic
            return x_new - x, n_new.astype(n.dtype), z_new.astype(z.dtype)

        stepped = jax.tree.map(step, updates, params, state.accumulator, state.linear)
        out, acc, linear = jax.tree.transpose(
            jax.tree.structure(updates), jax.tree.structure((0, 0, 0)), stepped
        )
        return cast_like(out, updates), FtrlState(acc, linear)

    return optax.GradientTransformationExtraArgs(init, update)


def check_ftrl_args(
    learning_rate: Any,
    learning_rate_power: Any,
    initial_accumulator_value: Any,
    l1: Any,
    l2: Any,
    l2_shrinkage: Any,
    beta: Any,
) -> None:
    check_hyperparam("learning_rate", learning_rate, low=0.0, low_open=True)
    check_hyperparam("learning_rate_power", learning_rate_power, high=0.0)
    check_hyperparam("initial_accumulator_value", initial_accumulator_value, low=0.0)
    check_hyperparam("l1", l1, low=0.0)
    check_hyperparam("l2", l2, low=0.0)
    check_hyperparam("l2_shrinkage", l2_shrinkage, low=0.0)
    check_hyperparam("beta", beta, low=0.0)


def ftrl(
    learning_rate: ScalarOrSchedule = 1e-3,
    learning_rate_power: ScalarOrSchedule = -0.5,
    initial_accumulator_value: ScalarOrSchedule = 0.1,
    l1: ScalarOrSchedule = 0.0,
    l2: ScalarOrSchedule = 0.0,
    l2_shrinkage: ScalarOrSchedule = 0.0,
    beta: ScalarOrSchedule = 0.0,
    *,
    dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """FTRL-proximal: per-coordinate adaptive rates with L1/L2 regularisation.

    With ``p = -learning_rate_power``, accumulators ``n`` (squared gradients, from
    ``initial_accumulator_value``) and ``z`` (from 0), per step:
    ``n' = n + g^2``; ``z <- z + g + 2 l2_shrinkage x - (n'^p - n^p) / lr * x``;
    ``x <- (clip(z, -l1, l1) - z) / (n'^p / lr + 2 l2 + beta / lr)``; ``n <- n'``.
    The update returned moves the parameters to the new ``x`` (it needs ``params``).
    This is ``keras.optimizers.Ftrl`` (Keras 3).

    Args:
      learning_rate: > 0 (state key ``"learning_rate"``).
      learning_rate_power: <= 0 (``"learning_rate_power"``); -0.5 is Adagrad-like.
      initial_accumulator_value: >= 0 (``"initial_accumulator_value"``; read when the
        state is built).
      l1, l2: regularisation strengths, >= 0 (``"l1"``, ``"l2"``).
      l2_shrinkage: L2 shrinkage added to the gradient only, >= 0 (``"l2_shrinkage"``).
      beta: >= 0 (``"beta"``).
      dtype: dtype of ``n`` and ``z``; default the parameter dtype promoted to float32.

    Returns:
      A transformation with an :class:`FtrlState` inside its hyperparameter state.
    """
    check_ftrl_args(
        learning_rate, learning_rate_power, initial_accumulator_value, l1, l2, l2_shrinkage, beta
    )
    return with_hyperparams(
        lambda **values: ftrl_rule(**values, dtype=dtype),
        learning_rate=learning_rate,
        learning_rate_power=learning_rate_power,
        initial_accumulator_value=initial_accumulator_value,
        l1=l1,
        l2=l2,
        l2_shrinkage=l2_shrinkage,
        beta=beta,
    )
