"""Adadelta's scaling (Zeiler 2012)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import PyTree, cast_like, check_same_tree, zeros_like_tree
from .._hyper import block
from .._math import update_moment
from .._validate import FloatDtype, NonNegative, UnitInterval


class ScaleByAdadeltaState(NamedTuple):
    e_g: PyTree
    e_x: PyTree


@block
def scale_by_adadelta(
    rho: UnitInterval = 0.9, eps: NonNegative = 1e-6, *, nu_dtype: FloatDtype = None
) -> optax.GradientTransformationExtraArgs:
    """Rescales updates by the ratio of two running RMS values (Adadelta).

    ``v <- rho v + (1 - rho) g^2``; ``d = sqrt(u + eps) / sqrt(v + eps) * g``;
    ``u <- rho u + (1 - rho) d^2``; output ``d``. The rule of ``torch.optim.Adadelta``
    and ``keras.optimizers.Adadelta`` (both then multiply by the learning rate).

    Args:
      rho: in [0, 1] (state key ``"rho"``).
      eps: >= 0 (``"eps"``).
      nu_dtype: dtype of both accumulators; default the parameter dtype promoted to float32.

    Returns:
      A transformation with ``rho`` and ``eps`` in its state, and a
      :class:`ScaleByAdadeltaState` inside.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_adadelta(0.0, eps=9.0)
      >>> u, _ = tx.update(jnp.array([4.0]), tx.init(jnp.zeros(1)))
      >>> print(u)  # sqrt(0 + 9) / sqrt(16 + 9) * 4
      [2.4]

    References:
      Zeiler 2012, "ADADELTA: An Adaptive Learning Rate Method";
      ``torch.optim.Adadelta``; ``keras.optimizers.Adadelta``; ``optax.scale_by_adadelta``.
    """

    def init(params):
        return ScaleByAdadeltaState(
            zeros_like_tree(params, nu_dtype), zeros_like_tree(params, nu_dtype)
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.e_g, updates)
        e_g = update_moment(updates, state.e_g, rho, 2)
        delta = jax.tree.map(
            lambda g, v, u: jnp.sqrt(u + eps) / jnp.sqrt(v + eps) * g, updates, e_g, state.e_x
        )
        e_x = update_moment(delta, state.e_x, rho, 2)
        return cast_like(delta, updates), ScaleByAdadeltaState(e_g, e_x)

    return optax.GradientTransformationExtraArgs(init, update)
