"""RMSprop's scaling (Tieleman & Hinton 2012) with torch's and Keras's eps placements."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import PyTree, cast_like, check_same_tree, full_like_tree, zeros_like_tree
from .._hyper import block
from .._math import update_moment
from .._validate import Flag, FloatDtype, NonNegative, UnitInterval


class ScaleByRmsState(NamedTuple):
    nu: PyTree
    mu: PyTree | None


@block
def scale_by_rms(
    decay: UnitInterval = 0.9,
    eps: NonNegative = 1e-8,
    initial_scale: NonNegative = 0.0,
    *,
    eps_in_sqrt: Flag = True,
    centered: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Divides updates by the root of the moving average of their squares (RMSprop).

    ``v <- decay v + (1 - decay) g^2`` (``v`` starts at ``initial_scale``); centered,
    also ``m <- decay m + (1 - decay) g`` and ``v`` is replaced by ``v - m^2`` below.
    Output ``g / sqrt(v + eps)`` with ``eps_in_sqrt=True`` (Keras ``RMSprop``, optax)
    or ``g / (sqrt(v) + eps)`` (``torch.optim.RMSprop``).

    Args:
      decay: in [0, 1] (torch's ``alpha``, Keras's ``rho``); state key ``"decay"``.
      eps: >= 0 (``"eps"``).
      initial_scale: starting value of ``v``, >= 0 (``"initial_scale"``).
      eps_in_sqrt: where eps goes (see above).
      centered: divide by the estimated standard deviation instead of the RMS
        (Graves 2013).
      mu_dtype, nu_dtype: dtypes of ``m`` and ``v``; default the parameter dtype
        promoted to float32.

    Returns:
      A transformation with ``decay``, ``eps`` and ``initial_scale`` in its state, and
      a :class:`ScaleByRmsState` inside.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_rms(0.75, eps=0.0)
      >>> u, _ = tx.update(jnp.array([1.0, -2.0]), tx.init(jnp.zeros(2)))
      >>> print(u)  # g / sqrt(0.25 g^2) on the first step
      [ 2. -2.]

    References:
      Tieleman & Hinton 2012, "Lecture 6.5 - RMSProp" (COURSERA); Graves 2013,
      "Generating Sequences With Recurrent Neural Networks" (centered);
      ``torch.optim.RMSprop``; ``keras.optimizers.RMSprop``; ``optax.scale_by_rms``.
    """

    def init(params):
        nu = full_like_tree(params, initial_scale, nu_dtype)
        return ScaleByRmsState(nu, zeros_like_tree(params, mu_dtype) if centered else None)

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.nu, updates)
        nu = update_moment(updates, state.nu, decay, 2)
        if centered:
            mu = update_moment(updates, state.mu, decay, 1)
            variance = jax.tree.map(lambda v, m: v - jnp.square(m), nu, mu)
        else:
            mu, variance = None, nu

        def scaled(g, var):
            return g / (jnp.sqrt(var + eps) if eps_in_sqrt else jnp.sqrt(var) + eps)

        out = jax.tree.map(scaled, updates, variance)
        return cast_like(out, updates), ScaleByRmsState(nu, mu)

    return optax.GradientTransformationExtraArgs(init, update)
