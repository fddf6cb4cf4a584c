"""Adam's moment estimates (Kingma & Ba 2015) with torch's, optax's and Keras's eps placements."""

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
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._hyper import block
from .._math import bias_corrections, update_moment
from .._validate import Decay, Flag, FloatDtype, NonNegative, OptionalNonNegative


class ScaleByAdamState(NamedTuple):
    count: Array
    mu: PyTree
    nu: PyTree
    nu_max: PyTree | None


@block
def scale_by_adam(
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    eps_root: OptionalNonNegative = None,
    *,
    epsilon_hat: Flag = False,
    amsgrad: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Rescales updates by Adam's bias-corrected moments.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``, ``t`` the 1-based step,
    ``bc1 = 1 - b1^t``, ``bc2 = 1 - b2^t``. Output:

    * default (torch ``Adam``, optax ``scale_by_adam``):
      ``(m / bc1) / (sqrt(v / bc2 + eps_root) + eps)``;
    * ``epsilon_hat=True`` (Keras ``Adam``; the "epsilon hat" of the paper's
      section 2): ``sqrt(bc2) / bc1 * m / (sqrt(v) + eps)``.

    With ``amsgrad=True`` (Reddi et al. 2018) ``v`` in the output is replaced by the
    running maximum of the raw ``v``, as torch and Keras do (optax takes the maximum of
    the bias-corrected ``v``).

    Args:
      b1, b2: decay rates in [0, 1) (state keys ``"b1"``, ``"b2"``).
      eps: added to the denominator, >= 0 (``"eps"``).
      eps_root: added inside the square root, >= 0 (``"eps_root"``), or None for none
        (the numbers of 0, without a sum in every leaf's loop).
      epsilon_hat: Keras's placement of eps (see above).
      amsgrad: use the running maximum of ``v``.
      mu_dtype, nu_dtype: moment dtypes; default the parameter dtype promoted to float32.

    Returns:
      A transformation with ``b1``, ``b2``, ``eps`` (and ``eps_root`` when given) in its
      state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_adam()
      >>> u, _ = tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))
      >>> print(u.round(4))  # the first step is sign(g), up to eps
      [ 1. -1.]

    References:
      Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization";
      ``torch.optim.Adam``; ``keras.optimizers.Adam``; ``optax.scale_by_adam``.
    """

    def init(params):
        nu = zeros_like_tree(params, nu_dtype)
        return ScaleByAdamState(
            zero_count(), zeros_like_tree(params, mu_dtype), nu, nu if amsgrad else None
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        mu = update_moment(updates, state.mu, b1, 1)
        nu = update_moment(updates, state.nu, b2, 2)
        nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu) if amsgrad else None
        count = safe_increment(state.count)
        bc1, bc2 = bias_corrections(b1, b2, count)

        if epsilon_hat:
            step_size = jnp.sqrt(bc2) / bc1

            def direction(m, v):
                return step_size * m / (jnp.sqrt(v) + eps)
        else:
            # Scalars hoisted out of the per-leaf function (same values, fewer ops).
            root_bc2 = jnp.sqrt(bc2)
            shift = None if eps_root is None else eps_root * bc2

            def direction(m, v):
                return (m / bc1) / (jnp.sqrt(v if shift is None else v + shift) / root_bc2 + eps)

        out = jax.tree.map(direction, mu, nu_max if amsgrad else nu)
        new_state = ScaleByAdamState(count, mu, nu, nu_max)
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)
