"""Scaling, the learning rate, sign flips and weight decay: the smallest building blocks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from .._base import cast_like, check_same_tree, params_needed, resolve_mask, stateless
from .._hyper import block
from .._validate import AnyReal, Mask, NonNegative


@block
def scale(factor: AnyReal) -> optax.GradientTransformationExtraArgs:
    """Multiplies updates by ``factor``: ``u <- factor * u``.

    Args:
      factor: a number, a jax scalar or a schedule; kept in the state as ``"factor"``.

    Returns:
      A transformation with ``factor`` in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale(0.5)
      >>> u, _ = tx.update(jnp.array([2.0, -4.0]), tx.init(jnp.zeros(2)))
      >>> print(u)
      [ 1. -2.]

    References:
      ``optax.scale``.
    """
    return stateless(lambda u, p: cast_like(jax.tree.map(lambda g: factor * g, u), u))


@block
def scale_by_learning_rate(learning_rate: NonNegative) -> optax.GradientTransformationExtraArgs:
    """The descent step ``u <- -learning_rate * u``.

    Args:
      learning_rate: a non-negative number, jax scalar or schedule ``step -> value``
        (update k, 0-based, uses ``schedule(k)``); kept in the state as
        ``"learning_rate"``, which reports the rate applied by the most recent update.

    Returns:
      A transformation with ``learning_rate`` in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_learning_rate(0.1)
      >>> u, state = tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
      >>> print(u, jaxsched.hyperparams(state)["learning_rate"])
      [-0.1 -0.1] 0.1

    References:
      ``optax.scale_by_learning_rate``.
    """

    def apply(updates, params):
        del params
        factor = -learning_rate  # once, not once per leaf
        return cast_like(jax.tree.map(lambda g: factor * g, updates), updates)

    return stateless(apply)


def negate() -> optax.GradientTransformationExtraArgs:
    """``u <- -u``: turns a descent rule into ascent (torch's ``maximize=True``).

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.negate()
      >>> print(tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))[0])
      [-1. -1.]
    """
    return stateless(lambda u, p: jax.tree.map(jnp.negative, u))


@block
def add_decayed_weights(
    weight_decay: NonNegative, mask: Mask = None
) -> optax.GradientTransformationExtraArgs:
    """Adds the weights times a factor: ``u <- u + weight_decay * p``.

    Placed before the optimizer's rule it is coupled L2 regularisation (the gradient of
    ``weight_decay * |p|^2 / 2``, torch's ``weight_decay`` in SGD/Adam); placed after the
    rule and before :func:`scale_by_learning_rate` it is decoupled weight decay
    (Loshchilov & Hutter 2019, torch's AdamW: ``p <- p - lr * weight_decay * p``).

    Args:
      weight_decay: non-negative number, jax scalar or schedule; kept as ``"weight_decay"``.
      mask: a pytree of bools like the params (or a function params -> such a tree);
        leaves with False are not decayed.

    Returns:
      A transformation with ``weight_decay`` in its state; its ``update`` needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.add_decayed_weights(0.1)
      >>> p = jnp.array([1.0, 2.0])
      >>> print(tx.update(jnp.zeros(2), tx.init(p), p)[0])
      [0.1 0.2]

    References:
      ``optax.add_decayed_weights``; ``torch.optim.AdamW``.
    """

    def add(updates, params):
        params_needed(params, "weight_decay")
        check_same_tree(params, updates, against="the parameters")
        chosen = resolve_mask(mask, params)
        out = jax.tree.map(
            lambda u, p, m: u + weight_decay * p if m else u, updates, params, chosen
        )
        return cast_like(out, updates)

    return stateless(add)


def descent(
    rule: optax.GradientTransformation,
    learning_rate: NonNegative,
    weight_decay: NonNegative | None = None,
    *,
    decoupled: bool = False,
    mask: Mask = None,
    maximize: bool = False,
) -> optax.GradientTransformation:
    """``p <- p - learning_rate * rule(g)``, with weight decay placed as asked.

    The one assembly of descent optimizers. Coupled (L2, torch's ``weight_decay``):
    ``g <- g + weight_decay * p`` before the rule. Decoupled (Loshchilov & Hutter 2019):
    ``weight_decay * p`` is added after the rule, so
    ``p <- p - learning_rate * (rule(g) + weight_decay * p)``. ``weight_decay=None``
    leaves it out (and ``update`` needs no ``params``). ``maximize`` negates the gradient
    first (torch's ``maximize=True``).
    """
    blocks = [negate()] if maximize else []
    decay = [] if weight_decay is None else [add_decayed_weights(weight_decay, mask)]
    if decoupled:
        blocks += [rule, *decay]
    else:
        blocks += [*decay, rule]
    return optax.chain(*blocks, scale_by_learning_rate(learning_rate))
