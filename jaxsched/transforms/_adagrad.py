"""Adagrad's scaling (Duchi et al. 2011) with torch's and Keras's eps placements."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    Array,
    PyTree,
    cast_like,
    check_same_tree,
    full_like_tree,
    safe_increment,
    zero_count,
)
from .._hyper import block
from .._validate import Flag, FloatDtype, NonNegative, OptionalNonNegative


class ScaleByAdagradState(NamedTuple):
    """State of :func:`scale_by_adagrad`.

    Attributes:
      count: int32 number of updates done; None without ``lr_decay`` (nothing reads it).
      sum_of_squares: the accumulator ``a``.
    """

    count: Array | None
    sum_of_squares: PyTree


@block
def scale_by_adagrad(
    initial_accumulator_value: NonNegative = 0.1,
    eps: NonNegative = 1e-7,
    lr_decay: OptionalNonNegative = None,
    *,
    eps_in_sqrt: Flag = True,
    nu_dtype: FloatDtype = None,
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
      lr_decay: >= 0 (``"lr_decay"``), or None for none: the numbers of 0 without a
        division by a runtime scalar in every leaf's loop (nor a step counter).
      eps_in_sqrt: where eps goes (see above).
      nu_dtype: dtype of the accumulator; default the parameter dtype promoted to float32.

    Returns:
      A transformation with ``initial_accumulator_value``, ``eps`` (and ``lr_decay`` when
      given) in its state, and a :class:`ScaleByAdagradState` inside.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_adagrad(0.0, eps=0.0)
      >>> u, _ = tx.update(jnp.array([3.0, -4.0]), tx.init(jnp.zeros(2)))
      >>> print(u)  # g / sqrt(g^2) on the first step
      [ 1. -1.]

    References:
      Duchi, Hazan & Singer 2011, "Adaptive Subgradient Methods for Online Learning and
      Stochastic Optimization"; ``torch.optim.Adagrad``; ``keras.optimizers.Adagrad``;
      ``optax.scale_by_rss``.
    """

    def init(params):
        acc = full_like_tree(params, initial_accumulator_value, nu_dtype)
        return ScaleByAdagradState(None if lr_decay is None else zero_count(), acc)

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.sum_of_squares, updates)
        # A running sum, not an average: every past gradient keeps its full weight.
        acc = jax.tree.map(
            lambda a, g: (a + jnp.square(g.astype(a.dtype))).astype(a.dtype),
            state.sum_of_squares,
            updates,
        )
        if lr_decay is None:
            decay, count = None, None
        else:
            # torch's lr_decay: the k-th update (0-based) is divided by 1 + k * lr_decay.
            count = safe_increment(state.count)
            decay = 1 + (count - 1).astype(jnp.float32) * lr_decay

        def scaled(g, a):
            out = g / (jnp.sqrt(a + eps) if eps_in_sqrt else jnp.sqrt(a) + eps)
            return out if decay is None else out / decay

        out = jax.tree.map(scaled, updates, acc)
        return cast_like(out, updates), ScaleByAdagradState(count, acc)

    return optax.GradientTransformationExtraArgs(init, update)
