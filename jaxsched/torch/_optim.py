"""``torch.optim`` flavors of SGD, Adam, AdamW, ASGD and Rprop.

Each flavor is torch's constructor without ``params``, checked under torch's argument
names (``lr``, ``betas[1]``, ...), that calls a native optimizer with keywords. torch's
0 for ``weight_decay`` or ``momentum`` means "none": it is passed on as None, so there
is no decay block (``update`` needs no ``params``) and no momentum buffer, as in torch.
``foreach``, ``fused``, ``capturable`` and ``differentiable`` choose torch's kernels and
never change the numbers: they are accepted and ignored.
"""

from __future__ import annotations

from typing import Annotated

import optax

from .._base import is_known, none_if_zero
from .._hyper import variant
from .._validate import (
    AnyReal,
    Betas,
    Flag,
    Items,
    NonNegative,
    Real,
    Switch,
    UnitInterval,
    check_value,
    spec_of,
    validated,
)
from ..optimizers._adam import adam
from ..optimizers._asgd import asgd
from ..optimizers._sgd import sgd
from ..optimizers._signs import rprop
from ..transforms._basic import negate
from ..transforms._rprop import EtaMinus, EtaPlus


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
      momentum, dampening: in [0, 1] (``momentum``, ``dampening``, absent when 0).
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
    momentum, dampening = none_if_zero(momentum), none_if_zero(dampening)
    if nesterov and (momentum is None or dampening is not None):
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
      eps: >= 0 (``eps``; torch has no ``eps_root``).
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
    if is_known(low) and is_known(high) and float(low) > float(high):
        raise ValueError(f"step_sizes[0] must not exceed step_sizes[1], got {step_sizes!r}")
    return _ascend(rprop(lr, eta_minus, eta_plus, low, high), maximize)
