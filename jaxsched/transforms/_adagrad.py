"""Adagrad's scaling (Duchi et al. 2011) with torch's and Keras's eps placements."""

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
    moment_dtype,
    safe_increment,
    zero_count,
)
from .._hyper import with_hyperparams


class ScaleByAdagradState(NamedTuple):
    count: Array
    sum_of_squares: PyTree


def adagrad_rule(
    initial_accumulator_value: Any,
    eps: Any,
    lr_decay: Any = 0.0,
    *,
    eps_in_sqrt: bool = True,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Adagrad rule with hyperparameter values given directly (see :func:`scale_by_adagrad`)."""

    def init(params):
        acc = jax.tree.map(
            lambda p: jnp.full(
                jnp.shape(p), initial_accumulator_value, moment_dtype(p.dtype, nu_dtype)
            ),
            params,
        )
        return ScaleByAdagradState(zero_count(), acc)

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.sum_of_squares, updates)
        acc = jax.tree.map(
            lambda a, g: (a + jnp.square(g.astype(a.dtype))).astype(a.dtype),
            state.sum_of_squares,
            updates,
        )
        # torch's lr_decay: the k-th update (0-based) is divided by 1 + k * lr_decay.
        decay = 1 + state.count.astype(jnp.float32) * lr_decay

        def scaled(g, a):
            return g / (jnp.sqrt(a + eps) if eps_in_sqrt else jnp.sqrt(a) + eps) / decay

        out = jax.tree.map(scaled, updates, acc)
        return cast_like(out, updates), ScaleByAdagradState(safe_increment(state.count), acc)

    return optax.GradientTransformationExtraArgs(init, update)


def check_adagrad_args(initial_accumulator_value: Any, eps: Any, lr_decay: Any = 0.0) -> None:
    check_hyperparam("initial_accumulator_value", initial_accumulator_value, low=0.0)
    check_hyperparam("eps", eps, low=0.0)
    check_hyperparam("lr_decay", lr_decay, low=0.0)


def scale_by_adagrad(
    initial_accumulator_value: ScalarOrSchedule = 0.1,
    eps: ScalarOrSchedule = 1e-7,
    lr_decay: ScalarOrSchedule = 0.0,
    *,
    eps_in_sqrt: bool = True,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Divides updates by the root of the sum of all squared updates so far (Adagrad).

    ``a <- a + g^2`` (``a`` starts at ``initial_accumulator_value``); output
    ``g / sqrt(a + eps)`` with ``eps_in_sqrt=True`` (Keras ``Adagrad``, optax) or
    ``g / (sqrt(a) + eps)`` (``torch.optim.Adagrad``), divided by ``1 + k * lr_decay``
    for the k-th update (0-based; torch's ``lr_decay``).

    Args:
      initial_accumulator_value: >= 0 (state key ``"initial_accumulator_value"``; read
        when the state is built).
      eps: >= 0 (``"eps"``).
      lr_decay: >= 0 (``"lr_decay"``).
      eps_in_sqrt: where eps goes (see above).
      nu_dtype: dtype of the accumulator; default the parameter dtype promoted to float32.

    Returns:
      A transformation with a :class:`ScaleByAdagradState` inside its hyperparameter state.
    """
    check_adagrad_args(initial_accumulator_value, eps, lr_decay)
    return with_hyperparams(
        lambda initial_accumulator_value, eps, lr_decay: adagrad_rule(
            initial_accumulator_value, eps, lr_decay, eps_in_sqrt=eps_in_sqrt, nu_dtype=nu_dtype
        ),
        initial_accumulator_value=initial_accumulator_value,
        eps=eps,
        lr_decay=lr_decay,
    )
