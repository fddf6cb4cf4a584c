"""Stochastic gradient descent, with or without momentum."""

from __future__ import annotations

import optax

from .._hyper import block, variant
from .._validate import (
    Flag,
    Mask,
    NonNegative,
    OptionalNonNegative,
    OptionalUnitInterval,
)
from ..transforms._basic import descent
from ..transforms._momentum import trace


@block
def sgd(
    learning_rate: NonNegative,
    momentum: OptionalUnitInterval = None,
    dampening: OptionalUnitInterval = None,
    nesterov: Flag = False,
    weight_decay: OptionalNonNegative = None,
    *,
    zero_init: Flag = False,
    mask: Mask = None,
    maximize: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """Stochastic gradient descent.

    ``g <- g + weight_decay * p`` (coupled L2), then with momentum
    ``b <- momentum * b + (1 - dampening) * g`` (``b = g`` on the first update unless
    ``zero_init``) and ``g <- b`` or, Nesterov, ``g + momentum * b``; finally
    ``p <- p - learning_rate * g``. This is ``torch.optim.SGD``'s rule; see
    :func:`jaxsched.transforms.trace`.

    Args:
      learning_rate: >= 0, number, jax scalar or schedule.
      momentum: in [0, 1], or None for plain SGD (no buffer in the state).
      dampening: in [0, 1], or None for none (torch's default 0 gives the same
        numbers; None keeps a product out of every leaf's loop); only with a momentum.
      nesterov: Nesterov momentum; needs ``momentum``.
      weight_decay: coupled L2 coefficient, >= 0, or None for none (then ``update``
        needs no ``params``).
      zero_init: start the momentum buffer at zero (the seeds' EMA form with
        ``dampening = momentum``).
      mask: which leaves get weight decay (pytree of bools or function of params).
      maximize: ascend instead of descend.

    Returns:
      A transformation with ``learning_rate`` (and ``momentum``, ``dampening``,
      ``weight_decay`` when given) in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.sgd(0.1, momentum=0.9)
      >>> params = jnp.array([1.0])
      >>> u, state = tx.update(jnp.array([2.0]), tx.init(params))
      >>> print(u, sorted(jaxsched.hyperparams(state)))
      [-0.2] ['learning_rate', 'momentum']

    References:
      Robbins & Monro 1951; ``torch.optim.SGD``; ``optax.sgd``.
    """
    if momentum is None:
        if nesterov:
            raise ValueError("nesterov=True needs a momentum (got momentum=None)")
        return descent(optax.identity(), learning_rate, weight_decay, mask=mask, maximize=maximize)
    rule = trace(momentum, dampening, nesterov=nesterov, zero_init=zero_init)
    return descent(rule, learning_rate, weight_decay, mask=mask, maximize=maximize)


momentum = variant(
    sgd,
    "momentum",
    """SGD with momentum (default 0.9): :func:`sgd` with a momentum buffer.

    The seeds' "SGDM" ``m <- 0.9 m + 0.1 g; w <- w - lr m`` is
    ``momentum(lr, 0.9, dampening=0.9, zero_init=True)``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.momentum(0.1, 0.9, dampening=0.9, zero_init=True)
      >>> u, _ = tx.update(jnp.array([1.0]), tx.init(jnp.zeros(1)))
      >>> print(u)
      [-0.01]

    References:
      Polyak 1964; ``torch.optim.SGD(momentum=...)``.
    """,
    momentum=0.9,
)

nesterov = variant(
    sgd,
    "nesterov",
    """SGD with Nesterov momentum (torch's form): :func:`sgd` with ``nesterov=True``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.nesterov(0.1)
      >>> u, _ = tx.update(jnp.array([1.0]), tx.init(jnp.zeros(1)))
      >>> print(u)
      [-0.19]

    References:
      Sutskever et al. 2013; ``torch.optim.SGD(nesterov=True)``.
    """,
    momentum=0.9,
    nesterov=True,
)
