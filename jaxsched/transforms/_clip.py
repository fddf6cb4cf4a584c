"""Gradient clipping by value, by each leaf's norm and by the global norm (Keras's formulas)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from .._base import PyTree, ScalarOrSchedule, cast_like, check_hyperparam
from .._hyper import with_hyperparams
from ._basic import stateless


def _sum_of_squares(g: jax.Array) -> jax.Array:
    g = g.astype(jnp.promote_types(g.dtype, jnp.float32))
    return jnp.sum(jnp.square(g))


def clip_rule(max_delta: Any) -> optax.GradientTransformationExtraArgs:
    """``u <- clip(u, -max_delta, max_delta)`` (see :func:`clip`)."""
    return stateless(
        lambda u, p: cast_like(jax.tree.map(lambda g: jnp.clip(g, -max_delta, max_delta), u), u)
    )


def clip_by_norm_rule(max_norm: Any) -> optax.GradientTransformationExtraArgs:
    """Per-leaf norm clipping with ``max_norm`` given directly (see :func:`clip_by_norm`)."""

    def clip_leaf(g):
        norm = jnp.sqrt(_sum_of_squares(g))
        return g * max_norm / jnp.maximum(norm, max_norm)

    return stateless(lambda u, p: cast_like(jax.tree.map(clip_leaf, u), u))


def global_norm(tree: PyTree) -> jax.Array:
    """``sqrt(sum of all squared entries)`` over every leaf, in float32 or wider."""
    return jnp.sqrt(sum(_sum_of_squares(g) for g in jax.tree.leaves(tree)))


def clip_by_global_norm_rule(max_norm: Any) -> optax.GradientTransformationExtraArgs:
    """Global norm clipping with ``max_norm`` given directly (see :func:`clip_by_global_norm`)."""

    def clip_all(u, p):
        del p
        norm = global_norm(u)
        factor = jnp.where(jnp.isfinite(norm), max_norm / jnp.maximum(norm, max_norm), jnp.nan)
        return cast_like(jax.tree.map(lambda g: g * factor, u), u)

    return stateless(clip_all)


def clip(max_delta: ScalarOrSchedule) -> optax.GradientTransformationExtraArgs:
    """Clips every coordinate to ``[-max_delta, max_delta]`` (Keras's ``clipvalue``).

    Args:
      max_delta: > 0 (state key ``"max_delta"``).
    """
    check_hyperparam("max_delta", max_delta, low=0.0, low_open=True)
    return with_hyperparams(clip_rule, max_delta=max_delta)


def clip_by_norm(max_norm: ScalarOrSchedule) -> optax.GradientTransformationExtraArgs:
    """Clips each leaf to an L2 norm of at most ``max_norm`` (Keras's ``clipnorm``).

    ``u <- u * max_norm / max(|u|_2, max_norm)`` for each leaf separately (a leaf of
    zeros stays zero).

    Args:
      max_norm: > 0 (state key ``"max_norm"``).
    """
    check_hyperparam("max_norm", max_norm, low=0.0, low_open=True)
    return with_hyperparams(clip_by_norm_rule, max_norm=max_norm)


def clip_by_global_norm(max_norm: ScalarOrSchedule) -> optax.GradientTransformationExtraArgs:
    """Clips all leaves together to a global L2 norm of at most ``max_norm``.

    ``u <- u * max_norm / max(|u|_global, max_norm)``, with ``|u|_global`` the norm of
    all leaves concatenated (Keras's ``global_clipnorm``, ``optax.clip_by_global_norm``,
    ``torch.nn.utils.clip_grad_norm_`` up to its eps). A non-finite norm makes every
    update NaN, as in Keras.

    Args:
      max_norm: > 0 (state key ``"max_norm"``).
    """
    check_hyperparam("max_norm", max_norm, low=0.0, low_open=True)
    return with_hyperparams(clip_by_global_norm_rule, max_norm=max_norm)
