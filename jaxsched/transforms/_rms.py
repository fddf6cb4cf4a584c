"""RMSprop's scaling (Tieleman & Hinton 2012) with torch's and Keras's eps placements."""

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


class ScaleByRmsState(NamedTuple):
    nu: PyTree
    mu: PyTree | None


def rms_rule(
    decay: Any,
    eps: Any,
    initial_scale: Any = 0.0,
    *,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """RMS rule with hyperparameter values given directly (see :func:`scale_by_rms`)."""

    def init(params):
        nu = jax.tree.map(
            lambda p: jnp.full(jnp.shape(p), initial_scale, moment_dtype(p.dtype, nu_dtype)),
            params,
        )
        return ScaleByRmsState(nu, zeros_like_tree(params, mu_dtype) if centered else None)

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.nu, updates)
        nu = jax.tree.map(
            lambda v, g: (decay * v + (1 - decay) * jnp.square(g.astype(v.dtype))).astype(v.dtype),
            state.nu,
            updates,
        )
        if centered:
            mu = jax.tree.map(
                lambda m, g: (decay * m + (1 - decay) * g).astype(m.dtype), state.mu, updates
            )
            variance = jax.tree.map(lambda v, m: v - jnp.square(m), nu, mu)
        else:
            mu, variance = None, nu

        def scaled(g, var):
            return g / (jnp.sqrt(var + eps) if eps_in_sqrt else jnp.sqrt(var) + eps)

        out = jax.tree.map(scaled, updates, variance)
        return cast_like(out, updates), ScaleByRmsState(nu, mu)

    return optax.GradientTransformationExtraArgs(init, update)


def check_rms_args(decay: Any, eps: Any, initial_scale: Any = 0.0) -> None:
    check_hyperparam("decay", decay, 0.0, 1.0)
    check_hyperparam("eps", eps, low=0.0)
    check_hyperparam("initial_scale", initial_scale, low=0.0)


def scale_by_rms(
    decay: ScalarOrSchedule = 0.9,
    eps: ScalarOrSchedule = 1e-8,
    initial_scale: ScalarOrSchedule = 0.0,
    *,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
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
      A transformation with a :class:`ScaleByRmsState` inside its hyperparameter state.
    """
    check_rms_args(decay, eps, initial_scale)
    return with_hyperparams(
        lambda decay, eps, initial_scale: rms_rule(
            decay,
            eps,
            initial_scale,
            eps_in_sqrt=eps_in_sqrt,
            centered=centered,
            mu_dtype=mu_dtype,
            nu_dtype=nu_dtype,
        ),
        decay=decay,
        eps=eps,
        initial_scale=initial_scale,
    )
