"""``torch.optim`` flavors: torch class names, argument names, defaults and numbers.

Each flavor is torch's constructor without ``params``, checked under torch's argument
names (``lr``, ``betas[1]``, ...), that calls a native optimizer with keywords. torch's
0 for ``weight_decay`` or ``momentum`` means "none": it is passed on as None, so there
is no decay block (``update`` needs no ``params``) and no momentum buffer, as in torch.
``foreach``, ``fused``, ``capturable`` and ``differentiable`` choose torch's kernels and
never change the numbers: they are accepted and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import jax
import numpy as np
import optax

from .._base import is_schedule
from .._hyper import block, variant
from .._validate import (
    AnyReal,
    Flag,
    Items,
    NonNegative,
    OptionalNonNegative,
    OptionalUnitInterval,
    Real,
    Spec,
    UnitInterval,
    check_value,
    spec_of,
    validated,
)
from ..optimizers._adam import adam
from ..optimizers._adaptive import adadelta, adagrad, adamax, nadam, radam
from ..optimizers._asgd import asgd
from ..optimizers._sgd import sgd
from ..optimizers._signs import rprop
from ..transforms._basic import descent, negate
from ..transforms._momentum import trace
from ..transforms._rms import scale_by_rms
from ..transforms._rprop import EtaMinus, EtaPlus


@dataclass(frozen=True)
class SwitchSpec(Spec):
    """True, False or None: torch's ``foreach`` and ``fused`` (None lets torch choose)."""

    def describe(self) -> str:
        return "True, False or None"

    def check(self, name: str, value: Any) -> Any:
        if value is not None and not isinstance(value, (bool, np.bool_)):
            shown = repr(value) if isinstance(value, (str, int, float)) else type(value).__name__
            raise TypeError(f"{name} must be {self.describe()}, got {shown}")
        return value


Switch = Annotated[bool | None, SwitchSpec()]
Betas = Annotated[tuple, Items(Real(0.0, 1.0, high_open=True), length=2)]


def _known(value: Any) -> bool:
    """True for a number whose value is known at construction (not a schedule or tracer)."""
    return not (is_schedule(value) or isinstance(value, jax.core.Tracer))


def none_if_zero(value: Any) -> Any:
    """torch's and Keras's "0 (or None) means none" as None; other values as given.

    Only a concrete 0 becomes None: a schedule or a traced value may be non-zero later.
    """
    if value is None or (_known(value) and float(value) == 0.0):
        return None
    return value


def _ascend(tx: optax.GradientTransformation, maximize: bool) -> optax.GradientTransformation:
    """torch's ``maximize`` for the natives that have no such option (ASGD, Rprop)."""
    return optax.chain(negate(), tx) if maximize else tx


@validated
def SGD(
    lr: NonNegative = 1e-3,
    momentum: UnitInterval = 0.0,
    dampening: UnitInterval = 0.0,
    weight_decay: NonNegative = 0.0,
    nesterov: Flag = False,
    *,
    maximize: Flag = False,
    foreach: Switch = None,
    differentiable: Flag = False,
    fused: Switch = None,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.SGD``: :func:`jaxsched.sgd` under torch's names and defaults.

    ``g <- g + weight_decay * p``; with momentum ``b <- momentum * b + (1 - dampening) * g``
    (``b = g`` on the first step) and ``g <- b`` or, Nesterov, ``g + momentum * b``;
    ``p <- p - lr * g``. As in torch, ``momentum=0`` keeps no buffer.

    Args:
      lr: >= 0; number, jax scalar or schedule (state key ``learning_rate``).
      momentum, dampening: in [0, 1] (``momentum``, ``dampening``).
      weight_decay: coupled L2 coefficient, >= 0 (``weight_decay``, absent when 0).
      nesterov: Nesterov momentum; needs a momentum and zero dampening, as in torch.
      maximize: ascend instead of descend.
      foreach, differentiable, fused: torch's implementation switches, ignored.

    Returns:
      A transformation whose ``update`` gives torch's step.

    Raises:
      ValueError: for ``nesterov=True`` without momentum or with dampening.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.SGD(lr=0.1, momentum=0.9)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(jaxsched.apply_updates(params, u))
      [ 0.8 -0.8]

    References:
      ``torch.optim.SGD``.
    """
    del foreach, differentiable, fused
    momentum = none_if_zero(momentum)
    if nesterov and (momentum is None or none_if_zero(dampening) is not None):
        raise ValueError("nesterov=True requires a momentum and zero dampening, as in torch")
    return sgd(lr, momentum, dampening, nesterov, none_if_zero(weight_decay), maximize=maximize)


@validated
def Adam(
    lr: NonNegative = 1e-3,
    betas: Betas = (0.9, 0.999),
    eps: NonNegative = 1e-8,
    weight_decay: NonNegative = 0.0,
    amsgrad: Flag = False,
    *,
    foreach: Switch = None,
    maximize: Flag = False,
    capturable: Flag = False,
    differentiable: Flag = False,
    fused: Switch = None,
    decoupled_weight_decay: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.Adam``: :func:`jaxsched.adam` under torch's names and defaults.

    ``p <- p - lr * m_hat / (sqrt(v_hat) + eps)`` with coupled L2 ``weight_decay``
    (``g <- g + weight_decay * p``), or decoupled with ``decoupled_weight_decay=True``
    (:func:`AdamW`). ``amsgrad`` keeps the running maximum of the raw ``v``.

    Args:
      lr: >= 0; number, jax scalar or schedule (state key ``learning_rate``).
      betas: ``(b1, b2)``, each in [0, 1) (``b1``, ``b2``).
      eps: >= 0 (``eps``; ``eps_root`` is 0).
      weight_decay: >= 0 (``weight_decay``, absent when 0).
      amsgrad: AMSGrad (Reddi et al. 2018).
      maximize: ascend instead of descend.
      decoupled_weight_decay: AdamW's decoupled weight decay.
      foreach, capturable, differentiable, fused: torch's implementation switches, ignored.

    Returns:
      A transformation whose ``update`` gives torch's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.Adam(lr=0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(jaxsched.apply_updates(params, u))
      [ 0.9 -0.9]

    References:
      Kingma & Ba 2015; ``torch.optim.Adam``.
    """
    del foreach, capturable, differentiable, fused
    b1, b2 = betas
    return adam(
        lr,
        b1,
        b2,
        eps,
        weight_decay=none_if_zero(weight_decay),
        decoupled=decoupled_weight_decay,
        amsgrad=amsgrad,
        maximize=maximize,
    )


AdamW = variant(
    Adam,
    "AdamW",
    """``torch.optim.AdamW``: :func:`Adam` with decoupled weight decay, default 1e-2.

    ``p <- p - lr * (m_hat / (sqrt(v_hat) + eps) + weight_decay * p)``. Arguments and
    state keys as :func:`Adam` (``decoupled_weight_decay`` is True, as torch's AdamW
    fixes it).

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.AdamW(lr=0.1, weight_decay=0.5)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, _ = tx.update(jnp.zeros(2), tx.init(params), params)
      >>> print(u)
      [-0.05  0.05]

    References:
      Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization";
      ``torch.optim.AdamW``.
    """,
    weight_decay=1e-2,
    decoupled_weight_decay=True,
)


@validated
def ASGD(
    lr: NonNegative = 1e-2,
    lambd: NonNegative = 1e-4,
    alpha: NonNegative = 0.75,
    t0: AnyReal = 1e6,
    weight_decay: NonNegative = 0.0,
    foreach: Switch = None,
    maximize: Flag = False,
    differentiable: Flag = False,
    capturable: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.ASGD``: :func:`jaxsched.asgd` under torch's names and defaults.

    ``p <- p (1 - lambd eta_k) - eta_k g`` with ``eta_k = lr / (1 + lambd lr k)^alpha``;
    the average torch keeps as ``state["ax"]`` (from step ``t0`` on) is
    ``jaxsched.transforms.averaged_params(state)``.

    Args:
      lr, lambd, alpha: >= 0 (state keys ``learning_rate``, ``lambd``, ``alpha``).
      t0: the step after which averaging starts (``t0``).
      weight_decay: coupled L2 coefficient, >= 0 (``weight_decay``, absent when 0).
      maximize: ascend instead of descend.
      foreach, differentiable, capturable: torch's implementation switches, ignored.

    Returns:
      A transformation whose ``update`` gives torch's step; it needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.ASGD(lr=0.1, lambd=0.0)
      >>> params = jnp.array([1.0])
      >>> u, state = tx.update(jnp.array([2.0]), tx.init(params), params)
      >>> print(u)
      [-0.2]

    References:
      Polyak & Juditsky 1992; ``torch.optim.ASGD``.
    """
    del foreach, differentiable, capturable
    return _ascend(asgd(lr, lambd, alpha, t0, none_if_zero(weight_decay)), maximize)


@validated
def Rprop(
    lr: NonNegative = 1e-2,
    etas: Annotated[tuple, Items(Real(), length=2)] = (0.5, 1.2),
    step_sizes: Annotated[tuple, Items(Real(low=0.0), length=2)] = (1e-6, 50.0),
    *,
    capturable: Flag = False,
    foreach: Switch = None,
    maximize: Flag = False,
    differentiable: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.Rprop``: :func:`jaxsched.rprop` under torch's names and defaults.

    Args:
      lr: the initial step size, >= 0 (state key ``learning_rate``).
      etas: ``(eta_minus, eta_plus)`` with ``0 < eta_minus < 1 < eta_plus``
        (``eta_minus``, ``eta_plus``).
      step_sizes: ``(min, max)`` step sizes, ``0 <= min <= max`` (``min_step_size``,
        ``max_step_size``).
      maximize: ascend instead of descend.
      capturable, foreach, differentiable: torch's implementation switches, ignored.

    Returns:
      A transformation whose ``update`` gives torch's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.Rprop(lr=0.1)
      >>> u, _ = tx.update(jnp.array([1.0, -2.0]), tx.init(jnp.zeros(2)))
      >>> print(u)
      [-0.1  0.1]

    References:
      Riedmiller & Braun 1993; ``torch.optim.Rprop``.
    """
    del capturable, foreach, differentiable
    eta_minus = check_value("etas[0]", etas[0], spec_of(EtaMinus))
    eta_plus = check_value("etas[1]", etas[1], spec_of(EtaPlus))
    low, high = step_sizes
    if _known(low) and _known(high) and float(low) > float(high):
        raise ValueError(f"step_sizes[0] must not exceed step_sizes[1], got {step_sizes!r}")
    return _ascend(rprop(lr, eta_minus, eta_plus, low, high), maximize)


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
      lr_decay, initial_accumulator_value, eps: >= 0 (same keys).
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
        lr_decay,
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
