"""Gradient clipping by value, by each leaf's norm and by the global norm (Keras's formulas)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from .._base import PyTree, cast_like, stateless
from .._hyper import block
from .._validate import Positive


def _sum_of_squares(g: jax.Array) -> jax.Array:
    g = g.astype(jnp.promote_types(g.dtype, jnp.float32))
    return jnp.sum(jnp.square(g))


def global_norm(tree: PyTree) -> jax.Array:
    """``sqrt(sum of all squared entries)`` over every leaf, in float32 or wider.

    Args:
      tree: a pytree of arrays (bf16 and fp16 leaves are squared in float32).

    Returns:
      A scalar array.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> print(jaxsched.transforms.global_norm({"a": jnp.array([3.0]), "b": jnp.array([4.0])}))
      5.0

    References:
      ``optax.global_norm``.
    """
    return jnp.sqrt(sum(_sum_of_squares(g) for g in jax.tree.leaves(tree)))


@block
def clip(max_delta: Positive) -> optax.GradientTransformationExtraArgs:
    """Clips every coordinate to ``[-max_delta, max_delta]`` (Keras's ``clipvalue``).

    Args:
      max_delta: > 0; number, jax scalar or schedule (state key ``"max_delta"``).

    Returns:
      A transformation with ``max_delta`` in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.clip(1.0)
      >>> print(tx.update(jnp.array([-3.0, 0.5, 2.0]), tx.init(jnp.zeros(3)))[0])
      [-1.   0.5  1. ]

    References:
      ``optax.clip``; ``keras.optimizers.Optimizer(clipvalue=...)``.
    """
    return stateless(
        lambda u, p: cast_like(jax.tree.map(lambda g: jnp.clip(g, -max_delta, max_delta), u), u)
    )


@block
def clip_by_norm(max_norm: Positive) -> optax.GradientTransformationExtraArgs:
    """Clips each leaf to an L2 norm of at most ``max_norm`` (Keras's ``clipnorm``).

    ``u <- u * max_norm / max(|u|_2, max_norm)`` for each leaf separately (a leaf of
    zeros stays zero).

    Args:
      max_norm: > 0; number, jax scalar or schedule (state key ``"max_norm"``).

    Returns:
      A transformation with ``max_norm`` in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.clip_by_norm(1.0)
      >>> u = {"a": jnp.array([3.0, 4.0]), "b": jnp.array([0.5])}
      >>> out, _ = tx.update(u, tx.init(u))
      >>> print(out["a"], out["b"])
      [0.6 0.8] [0.5]

    References:
      ``keras.optimizers.Optimizer(clipnorm=...)``; ``tf.clip_by_norm``.
    """

    def clip_leaf(g):
        norm = jnp.sqrt(_sum_of_squares(g))
        return g * max_norm / jnp.maximum(norm, max_norm)

    return stateless(lambda u, p: cast_like(jax.tree.map(clip_leaf, u), u))


@block
def clip_by_global_norm(max_norm: Positive) -> optax.GradientTransformationExtraArgs:
    """Clips all leaves together to a global L2 norm of at most ``max_norm``.

    ``u <- u * max_norm / max(|u|_global, max_norm)``, with ``|u|_global`` the norm of
    all leaves concatenated (Keras's ``global_clipnorm``, ``optax.clip_by_global_norm``,
    ``torch.nn.utils.clip_grad_norm_`` up to its eps). A non-finite norm makes every
    update NaN, as in Keras.

    Args:
      max_norm: > 0; number, jax scalar or schedule (state key ``"max_norm"``).

    Returns:
      A transformation with ``max_norm`` in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.clip_by_global_norm(1.0)
      >>> u = {"a": jnp.array([3.0]), "b": jnp.array([4.0])}
      >>> out, _ = tx.update(u, tx.init(u))
      >>> print(out["a"], out["b"])
      [0.6] [0.8]

    References:
      Pascanu et al. 2013, "On the difficulty of training recurrent neural networks";
      ``optax.clip_by_global_norm``; ``torch.nn.utils.clip_grad_norm_``.
    """

    def clip_all(u, p):
        del p
        norm = global_norm(u)
        factor = jnp.where(jnp.isfinite(norm), max_norm / jnp.maximum(norm, max_norm), jnp.nan)
        return cast_like(jax.tree.map(lambda g: g * factor, u), u)

    return stateless(clip_all)
