"""``torch.optim`` flavors of the adaptive optimizers: Adadelta, Adagrad, Adamax, NAdam,
RAdam and RMSprop (conventions as in :mod:`jaxsched.torch._optim`)."""

from __future__ import annotations

import optax

from .._base import none_if_zero
from .._hyper import block
from .._validate import (
    Betas,
    Flag,
    NonNegative,
    OptionalNonNegative,
    OptionalUnitInterval,
    Switch,
    UnitInterval,
    validated,
)
from ..optimizers._adaptive import adadelta, adagrad, adamax, nadam, radam
from ..transforms._basic import descent
from ..transforms._momentum import trace
from ..transforms._rms import scale_by_rms


@validated
def Adadelta(
    lr: NonNegative = 1.0,
    rho: UnitInterval = 0.9,
    eps: NonNegative = 1e-6,
    weight_decay: NonNegative = 0.0,
    foreach: Switch = None,
    *,
    capturable: Flag = False,
    maximize: Flag = False,
    differentiable: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.Adadelta``: :func:`jaxsched.adadelta` under torch's names and defaults.

    Args:
      lr: >= 0 (state key ``learning_rate``).
      rho: in [0, 1] (``rho``).
      eps: >= 0 (``eps``).
      weight_decay: coupled L2 coefficient, >= 0 (``weight_decay``, absent when 0).
      maximize: ascend instead of descend.
      foreach, capturable, differentiable: torch's implementation switches, ignored.

    Returns:
      A transformation whose ``update`` gives torch's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.Adadelta(eps=0.01)
      >>> u, _ = tx.update(jnp.array([1.0]), tx.init(jnp.zeros(1)))
      >>> print(u.round(4))
      [-0.3015]

    References:
      Zeiler 2012, "ADADELTA: An Adaptive Learning Rate Method"; ``torch.optim.Adadelta``.
    """
    del foreach, capturable, differentiable
    return adadelta(lr, rho, eps, none_if_zero(weight_decay), maximize=maximize)


@validated
def Adagrad(
    lr: NonNegative = 1e-2,
    lr_decay: NonNegative = 0.0,
    weight_decay: NonNegative = 0.0,
    initial_accumulator_value: NonNegative = 0.0,
    eps: NonNegative = 1e-10,
    foreach: Switch = None,
    *,
    maximize: Flag = False,
    differentiable: Flag = False,
    fused: Switch = None,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.Adagrad``: eps outside the square root, step k divided by ``1 + k lr_decay``.

    :func:`jaxsched.adagrad` with ``eps_in_sqrt=False``:
    ``p <- p - lr / (1 + k lr_decay) * g / (sqrt(a) + eps)``, ``a`` the sum of ``g^2``
    from ``initial_accumulator_value``.

    Args:
      lr: >= 0 (state key ``learning_rate``).
      initial_accumulator_value, eps: >= 0 (same keys).
      lr_decay: >= 0 (``lr_decay``, absent when 0).
      weight_decay: coupled L2 coefficient, >= 0 (``weight_decay``, absent when 0).
      maximize: ascend instead of descend.
      foreach, differentiable, fused: torch's implementation switches, ignored.

    Returns:
      A transformation whose ``update`` gives torch's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.Adagrad(lr=0.1)
      >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
      >>> print(u)
      [-0.1]

    References:
      Duchi et al. 2011; ``torch.optim.Adagrad``.
    """
    del foreach, differentiable, fused
    return adagrad(
        lr,
        initial_accumulator_value,
        eps,
        none_if_zero(lr_decay),
        none_if_zero(weight_decay),
        eps_in_sqrt=False,
        maximize=maximize,
    )


@validated
def Adamax(
    lr: NonNegative = 2e-3,
    betas: Betas = (0.9, 0.999),
    eps: NonNegative = 1e-8,
    weight_decay: NonNegative = 0.0,
    foreach: Switch = None,
    *,
    maximize: Flag = False,
    differentiable: Flag = False,
    capturable: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.Adamax``: eps inside the max, ``u <- max(b2 u, |g| + eps)``.

    :func:`jaxsched.adamax` with ``eps_in_max=True``:
    ``p <- p - lr * m / ((1 - b1^t) u)``.

    Args:
      lr: >= 0 (state key ``learning_rate``).
      betas: ``(b1, b2)``, each in [0, 1) (``b1``, ``b2``).
      eps: >= 0 (``eps``).
      weight_decay: coupled L2 coefficient, >= 0 (``weight_decay``, absent when 0).
      maximize: ascend instead of descend.
      foreach, differentiable, capturable: torch's implementation switches, ignored.

    Returns:
      A transformation whose ``update`` gives torch's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.Adamax(lr=0.1)
      >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
      >>> print(u)
      [-0.1]

    References:
      Kingma & Ba 2015, section 7.1; ``torch.optim.Adamax``.
    """
    del foreach, differentiable, capturable
    b1, b2 = betas
    return adamax(lr, b1, b2, eps, none_if_zero(weight_decay), eps_in_max=True, maximize=maximize)


@validated
def NAdam(
    lr: NonNegative = 2e-3,
    betas: Betas = (0.9, 0.999),
    eps: NonNegative = 1e-8,
    weight_decay: NonNegative = 0.0,
    momentum_decay: NonNegative = 4e-3,
    decoupled_weight_decay: Flag = False,
    *,
    foreach: Switch = None,
    maximize: Flag = False,
    capturable: Flag = False,
    differentiable: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.NAdam``: :func:`jaxsched.nadam` under torch's names and defaults.

    Args:
      lr: >= 0 (state key ``learning_rate``).
      betas: ``(b1, b2)``, each in [0, 1) (``b1``, ``b2``).
      eps, momentum_decay: >= 0 (same keys).
      weight_decay: >= 0 (``weight_decay``, absent when 0); coupled L2, or decoupled
        with ``decoupled_weight_decay=True`` (NAdamW).
      maximize: ascend instead of descend.
      foreach, capturable, differentiable: torch's implementation switches, ignored.

    Returns:
      A transformation whose ``update`` gives torch's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.NAdam(lr=0.1)
      >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
      >>> print(u.round(4))
      [-0.1056]

    References:
      Dozat 2016, "Incorporating Nesterov Momentum into Adam"; ``torch.optim.NAdam``.
    """
    del foreach, capturable, differentiable
    b1, b2 = betas
    return nadam(
        lr,
        b1,
        b2,
        eps,
        momentum_decay,
        none_if_zero(weight_decay),
        decoupled_weight_decay=decoupled_weight_decay,
        maximize=maximize,
    )


@validated
def RAdam(
    lr: NonNegative = 1e-3,
    betas: Betas = (0.9, 0.999),
    eps: NonNegative = 1e-8,
    weight_decay: NonNegative = 0.0,
    decoupled_weight_decay: Flag = False,
    *,
    foreach: Switch = None,
    maximize: Flag = False,
    capturable: Flag = False,
    differentiable: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.RAdam``: :func:`jaxsched.radam` with torch's rectification threshold 5.

    Args:
      lr: >= 0 (state key ``learning_rate``; ``threshold`` is 5).
      betas: ``(b1, b2)``, each in [0, 1) (``b1``, ``b2``).
      eps: >= 0 (``eps``).
      weight_decay: >= 0 (``weight_decay``, absent when 0); coupled L2, or decoupled
        with ``decoupled_weight_decay=True``.
      maximize: ascend instead of descend.
      foreach, capturable, differentiable: torch's implementation switches, ignored.

    Returns:
      A transformation whose ``update`` gives torch's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.RAdam(lr=0.1)
      >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
      >>> print(u)  # a momentum step until the variance is trustworthy
      [-0.2]

    References:
      Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond";
      ``torch.optim.RAdam``.
    """
    del foreach, capturable, differentiable
    b1, b2 = betas
    return radam(
        lr,
        b1,
        b2,
        eps,
        none_if_zero(weight_decay),
        decoupled_weight_decay=decoupled_weight_decay,
        maximize=maximize,
    )


@block
def _torch_rmsprop(
    learning_rate: NonNegative,
    decay: UnitInterval,
    eps: NonNegative,
    weight_decay: OptionalNonNegative,
    momentum: OptionalUnitInterval,
    *,
    centered: Flag,
    maximize: Flag,
) -> optax.GradientTransformationExtraArgs:
    """torch's RMSprop: its momentum buffer holds ``g / den``, and ``lr`` scales the buffer.

    :func:`jaxsched.rmsprop` (optax, Keras) applies the momentum to ``lr``-scaled steps
    instead, which differs from torch when the learning rate changes.
    """
    rule = scale_by_rms(decay, eps, eps_in_sqrt=False, centered=centered)
    if momentum is not None:
        rule = optax.chain(rule, trace(momentum))
    return descent(rule, learning_rate, weight_decay, maximize=maximize)


@validated
def RMSprop(
    lr: NonNegative = 1e-2,
    alpha: UnitInterval = 0.99,
    eps: NonNegative = 1e-8,
    weight_decay: NonNegative = 0.0,
    momentum: UnitInterval = 0.0,
    centered: Flag = False,
    capturable: Flag = False,
    foreach: Switch = None,
    maximize: Flag = False,
    differentiable: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.RMSprop``: eps outside the square root, lr applied after the buffer.

    ``v <- alpha v + (1 - alpha) g^2``; ``den = sqrt(v) + eps`` (centered:
    ``sqrt(v - a^2) + eps``, ``a`` the mean of ``g``); with momentum
    ``b <- momentum b + g / den``, ``p <- p - lr b``, else ``p <- p - lr g / den``. As in
    torch, ``momentum=0`` keeps no buffer.

    Args:
      lr: >= 0 (state key ``learning_rate``).
      alpha: in [0, 1] (``decay``).
      eps: >= 0 (``eps``).
      weight_decay: coupled L2 coefficient, >= 0 (``weight_decay``, absent when 0).
      momentum: in [0, 1] (``momentum``, absent when 0).
      centered: divide by the centered second moment.
      maximize: ascend instead of descend.
      capturable, foreach, differentiable: torch's implementation switches, ignored.

    Returns:
      A transformation whose ``update`` gives torch's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.RMSprop(lr=0.01, alpha=0.75, eps=0.0)
      >>> u, _ = tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))
      >>> print(u)
      [-0.02]

    References:
      Tieleman & Hinton 2012, "Lecture 6.5 - RMSProp" (COURSERA); ``torch.optim.RMSprop``.
    """
    del capturable, foreach, differentiable
    return _torch_rmsprop(
        lr,
        alpha,
        eps,
        none_if_zero(weight_decay),
        none_if_zero(momentum),
        centered=centered,
        maximize=maximize,
    )
