"""FTRL-proximal (McMahan et al. 2013, "Ad Click Prediction: a View from the Trenches")."""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    PyTree,
    ScalarOrSchedule,
    cast_like,
    check_same_tree,
    full_like_tree,
    params_needed,
    zeros_like_tree,
)
from .._hyper import block
from .._validate import FloatDtype, NonNegative, Positive, Real


class FtrlState(NamedTuple):
    accumulator: PyTree
    linear: PyTree


NonPositive = Annotated[ScalarOrSchedule, Real(high=0.0)]


@block
def ftrl(
    learning_rate: Positive = 1e-3,
    learning_rate_power: NonPositive = -0.5,
    initial_accumulator_value: NonNegative = 0.1,
    l1: NonNegative = 0.0,
    l2: NonNegative = 0.0,
    l2_shrinkage: NonNegative = 0.0,
    beta: NonNegative = 0.0,
    *,
    dtype: FloatDtype = None,
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
      A transformation with every numeric argument in its state; its ``update`` needs
      ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.ftrl(0.1, l1=0.5)
      >>> params = jnp.array([0.0, 0.0])
      >>> u, _ = tx.update(jnp.array([0.2, 2.0]), tx.init(params), params)
      >>> print(u.round(4))  # the small gradient stays inside the L1 dead zone
      [ 0.     -0.0741]

    References:
      McMahan et al. 2013, "Ad Click Prediction: a View from the Trenches";
      ``keras.optimizers.Ftrl``; ``tf.raw_ops.ApplyFtrlV2``.
    """

    def init(params):
        return FtrlState(
            full_like_tree(params, initial_accumulator_value, dtype),
            zeros_like_tree(params, dtype),
        )

    def update(updates, state, params=None, **extra):
        del extra
        params_needed(params, "ftrl")
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
