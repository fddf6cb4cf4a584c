"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms")."""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import PyTree, ScalarOrSchedule, cast_like, check_same_tree, zeros_like_tree
from .._hyper import block
from .._math import update_moment
from .._validate import FloatDtype, Real, UnitInterval


class ScaleByLionState(NamedTuple):
    mu: PyTree


# b1 = 0 would make Lion plain signSGD; Keras rejects it, and so does jaxsched.
LionB1 = Annotated[ScalarOrSchedule, Real(0.0, 1.0, low_open=True)]


@block
def scale_by_lion(
    b1: LionB1 = 0.9, b2: UnitInterval = 0.99, *, mu_dtype: FloatDtype = None
) -> optax.GradientTransformationExtraArgs:
    """Lion's signed interpolation of momentum and gradient.

    Output ``sign(b1 m + (1 - b1) g)``, then ``m <- b2 m + (1 - b2) g``
    (``keras.optimizers.Lion``, ``optax.scale_by_lion``).

    Args:
      b1: interpolation weight in (0, 1] (state key ``"b1"``).
      b2: momentum decay in [0, 1] (``"b2"``).
      mu_dtype: dtype of ``m``; default the parameter dtype promoted to float32.

    Returns:
      A transformation with ``b1`` and ``b2`` in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_lion()
      >>> u, state = tx.update(jnp.array([0.5, -2.0, 0.0]), tx.init(jnp.zeros(3)))
      >>> print(u)
      [ 1. -1.  0.]

    References:
      Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms";
      ``keras.optimizers.Lion``; ``optax.scale_by_lion``.
    """

    def init(params):
        return ScaleByLionState(zeros_like_tree(params, mu_dtype))

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        # The step's direction is the same interpolation as the moment, with b1 for b2.
        direction = update_moment(updates, state.mu, b1, 1)
        out = jax.tree.map(jnp.sign, direction)
        mu = update_moment(updates, state.mu, b2, 1)
        return cast_like(out, updates), ScaleByLionState(mu)

    return optax.GradientTransformationExtraArgs(init, update)
