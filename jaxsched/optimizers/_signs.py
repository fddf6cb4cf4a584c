"""Optimizers that step by gradient signs: Rprop and Lion."""

from __future__ import annotations

import optax

from .._hyper import block
from .._validate import FloatDtype, Mask, NonNegative, OptionalNonNegative, UnitInterval
from ..transforms._basic import descent, negate
from ..transforms._lion import LionB1, scale_by_lion
from ..transforms._rprop import EtaMinus, EtaPlus, scale_by_rprop


@block
def rprop(
    learning_rate: NonNegative = 1e-2,
    eta_minus: EtaMinus = 0.5,
    eta_plus: EtaPlus = 1.2,
    min_step_size: NonNegative = 1e-6,
    max_step_size: NonNegative = 50.0,
    *,
    dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Rprop (Riedmiller & Braun 1993): ``p <- p - sign(g) * step_size``, as ``torch.optim.Rprop``.

    :func:`jaxsched.transforms.scale_by_rprop` followed by a negation.

    Args:
      learning_rate: the initial step size, >= 0.
      eta_minus, eta_plus, min_step_size, max_step_size, dtype: see
        :func:`jaxsched.transforms.scale_by_rprop`.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.rprop(0.1)
      >>> state = tx.init(jnp.zeros(2))
      >>> for _ in range(2):
      ...     u, state = tx.update(jnp.array([1.0, -2.0]), state)
      >>> print(u)  # the step grew by eta_plus where the sign held
      [-0.12  0.12]

    References:
      Riedmiller & Braun 1993, "A Direct Adaptive Method for Faster Backpropagation
      Learning: The RPROP Algorithm"; ``torch.optim.Rprop``.
    """
    rule = scale_by_rprop(
        learning_rate, eta_minus, eta_plus, min_step_size, max_step_size, dtype=dtype
    )
    return optax.chain(rule, negate())


@block
def lion(
    learning_rate: NonNegative = 1e-4,
    b1: LionB1 = 0.9,
    b2: UnitInterval = 0.99,
    weight_decay: OptionalNonNegative = 1e-3,
    *,
    mask: Mask = None,
    mu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Lion (Chen et al. 2023): ``p <- p - lr * (sign(b1 m + (1 - b1) g) + weight_decay * p)``.

    :func:`jaxsched.transforms.scale_by_lion`, decoupled weight decay, then the
    learning rate (``optax.lion``'s composition and default ``weight_decay``). The
    paper advises a learning rate 3-10x smaller than AdamW's.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, mu_dtype: see :func:`jaxsched.transforms.scale_by_lion`.
      weight_decay: decoupled weight decay, >= 0, or None for none (then ``update``
        needs no ``params``).
      mask: which leaves get weight decay (pytree of bools or function of params).

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.lion(0.1, weight_decay=None)
      >>> u, state = tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))
      >>> print(u, sorted(jaxsched.hyperparams(state)))
      [-0.1  0.1] ['b1', 'b2', 'learning_rate']

    References:
      Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"; ``optax.lion``.
    """
    rule = scale_by_lion(b1, b2, mu_dtype=mu_dtype)
    return descent(rule, learning_rate, weight_decay, decoupled=True, mask=mask)
