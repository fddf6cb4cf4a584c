"""The cautious mask (Liang et al. 2024): drop the update components the gradient disputes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from .._validate import Flag, Transformation, validated


def _masked(u: jax.Array, g: jax.Array, follows_gradient: bool) -> jax.Array:
    # Signs rather than the product u * g: a product of two small bf16 or float32
    # values can underflow to zero and drop a component whose signs agree.
    agreement = jnp.sign(u).astype(jnp.float32) * jnp.sign(g).astype(jnp.float32)
    keep = agreement > 0 if follows_gradient else agreement < 0
    scale = keep.size / (jnp.sum(keep, dtype=jnp.float32) + 1)
    return jnp.where(keep, u * scale, 0).astype(u.dtype)


@validated
def cautious(
    inner: Transformation, *, follows_gradient: Flag = False
) -> optax.GradientTransformationExtraArgs:
    """Keeps only the components of ``inner``'s update that the gradient agrees with.

    For each leaf, ``phi = 1`` where the update ``u`` and the gradient ``g`` given to
    ``update`` point the same way and 0 elsewhere (a zero in either counts as
    disagreement); the output is ``u * phi * n / (sum(phi) + 1)``, ``n`` the leaf's size,
    so the step keeps its scale as components are dropped (the paper's rescaling).

    Around an optimizer (the default) ``u`` is a step, which descends: a component is
    kept where ``u * g < 0``. Around a rule whose output points along its input (a
    building block such as :func:`scale_by_adam`, before the learning rate) or around
    an optimizer built with ``maximize=True``, pass ``follows_gradient=True``: kept where
    ``u * g > 0``. The state is ``inner``'s own, untouched.

    Wrapping a whole optimizer also masks its decoupled weight decay, which is part of
    its step. The paper's C-AdamW masks the Adam direction only and decays every
    component: use the ``cautious=True`` option of the optimizers that have one
    (:func:`jaxsched.optimizers.adopt`, ...), which wraps their rule before the decay.

    Args:
      inner: any transformation (a jaxsched or optax optimizer, a building block).
      follows_gradient: ``inner``'s updates point along the gradient rather than against.

    Returns:
      A transformation with ``inner``'s state; its ``update`` passes ``params`` and extra
      keyword arguments on to ``inner``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.cautious(jaxsched.sgd(0.1, momentum=0.9))
      >>> state = tx.init(jnp.zeros(3))
      >>> _, state = tx.update(jnp.array([1.0, 1.0, 1.0]), state)
      >>> u, state = tx.update(jnp.array([1.0, -0.5, 0.5]), state)
      >>> print(u)  # in the middle the momentum still climbs the new gradient
      [-0.19  0.   -0.14]

    References:
      Liang et al. 2024, "Cautious Optimizers: Improving Training with One Line of
      Code"; ``pytorch_optimizer``'s ``cautious=True`` option.
    """
    inner = optax.with_extra_args_support(inner)

    def update(updates, state, params=None, **extra):
        out, state = inner.update(updates, state, params, **extra)
        masked = jax.tree.map(lambda u, g: _masked(u, g, follows_gradient), out, updates)
        return masked, state

    return optax.GradientTransformationExtraArgs(inner.init, update)
