"""``torch.optim`` flavors: torch class names, argument names, defaults and numbers."""

from __future__ import annotations

import optax

from .._base import ScalarOrSchedule, check_hyperparam, is_schedule
from .._hyper import with_hyperparams
from ..optimizers._adam import adam_with_decay
from ..optimizers._adaptive import adadelta, adagrad, adamax, nadam, radam
from ..optimizers._asgd import asgd
from ..optimizers._descent import descent
from ..optimizers._sgd import sgd
from ..optimizers._signs import rprop
from ..transforms._basic import negate_rule
from ..transforms._momentum import trace_rule
from ..transforms._rms import check_rms_args, rms_rule

Pair = tuple[ScalarOrSchedule, ScalarOrSchedule]


def _pair(name: str, value: Pair) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be a pair, got {value!r}")
    return tuple(value)


def _betas(betas: Pair) -> tuple:
    return _pair("betas", betas)


def _lr_wd(lr: ScalarOrSchedule, weight_decay: ScalarOrSchedule) -> None:
    check_hyperparam("lr", lr, low=0.0)
    check_hyperparam("weight_decay", weight_decay, low=0.0)


def _maximize(tx: optax.GradientTransformation, maximize: bool) -> optax.GradientTransformation:
    return optax.chain(negate_rule(), tx) if maximize else tx


def SGD(
    lr: ScalarOrSchedule = 1e-3,
    momentum: ScalarOrSchedule = 0.0,
    dampening: ScalarOrSchedule = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
    nesterov: bool = False,
    *,
    maximize: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.SGD``: same arguments, defaults and trajectory.

    As in torch, no momentum buffer exists when ``momentum == 0`` (then ``dampening``
    has no effect). State keys: ``learning_rate``, ``weight_decay`` and, with momentum,
    ``momentum`` and ``dampening``.
    """
    check_hyperparam("lr", lr, low=0.0)
    check_hyperparam("momentum", momentum, low=0.0)
    check_hyperparam("weight_decay", weight_decay, low=0.0)
    has_momentum = is_schedule(momentum) or float(momentum) != 0.0
    if nesterov and (not has_momentum or is_schedule(dampening) or float(dampening) != 0.0):
        raise ValueError("nesterov momentum requires a momentum and zero dampening")
    tx = sgd(
        lr,
        momentum if has_momentum else None,
        dampening,
        nesterov,
        weight_decay,
    )
    return _maximize(tx, maximize)


def Adam(
    lr: ScalarOrSchedule = 1e-3,
    betas: tuple[ScalarOrSchedule, ScalarOrSchedule] = (0.9, 0.999),
    eps: ScalarOrSchedule = 1e-8,
    weight_decay: ScalarOrSchedule = 0.0,
    amsgrad: bool = False,
    *,
    maximize: bool = False,
    decoupled_weight_decay: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.Adam``: coupled L2 ``weight_decay`` (decoupled on request).

    State keys: ``learning_rate``, ``b1``, ``b2``, ``eps``, ``eps_root`` (0),
    ``weight_decay``.
    """
    b1, b2 = _betas(betas)
    check_hyperparam("lr", lr, low=0.0)
    tx = adam_with_decay(
        lr, b1, b2, eps, 0.0, weight_decay, decoupled=decoupled_weight_decay, amsgrad=amsgrad
    )
    return _maximize(tx, maximize)


def AdamW(
    lr: ScalarOrSchedule = 1e-3,
    betas: tuple[ScalarOrSchedule, ScalarOrSchedule] = (0.9, 0.999),
    eps: ScalarOrSchedule = 1e-8,
    weight_decay: ScalarOrSchedule = 1e-2,
    amsgrad: bool = False,
    *,
    maximize: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.AdamW``: Adam with decoupled weight decay ``p <- p (1 - lr wd)``."""
    return Adam(
        lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True
    )


def ASGD(
    lr: ScalarOrSchedule = 1e-2,
    lambd: ScalarOrSchedule = 1e-4,
    alpha: ScalarOrSchedule = 0.75,
    t0: ScalarOrSchedule = 1e6,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    maximize: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.ASGD``: see :func:`jaxsched.asgd`.

    The average torch keeps as ``state["ax"]`` is
    ``jaxsched.transforms.averaged_params(state)``. State keys: ``learning_rate``
    (torch's ``lr``), ``lambd``, ``alpha``, ``t0``, ``weight_decay``.
    """
    _lr_wd(lr, weight_decay)
    return _maximize(asgd(lr, lambd, alpha, t0, weight_decay), maximize)


def Rprop(
    lr: ScalarOrSchedule = 1e-2,
    etas: Pair = (0.5, 1.2),
    step_sizes: Pair = (1e-6, 50.0),
    *,
    maximize: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.Rprop``: see :func:`jaxsched.rprop`.

    State keys: ``learning_rate`` (``lr``, the initial step size), ``eta_minus``,
    ``eta_plus`` (``etas``), ``min_step_size``, ``max_step_size`` (``step_sizes``).
    """
    eta_minus, eta_plus = _pair("etas", etas)
    min_step, max_step = _pair("step_sizes", step_sizes)
    check_hyperparam("lr", lr, low=0.0)
    return _maximize(rprop(lr, eta_minus, eta_plus, min_step, max_step), maximize)


def Adadelta(
    lr: ScalarOrSchedule = 1.0,
    rho: ScalarOrSchedule = 0.9,
    eps: ScalarOrSchedule = 1e-6,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    maximize: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.Adadelta``: see :func:`jaxsched.adadelta`.

    State keys: ``learning_rate`` (``lr``), ``rho``, ``eps``, ``weight_decay``.
    """
    _lr_wd(lr, weight_decay)
    return _maximize(adadelta(lr, rho, eps, weight_decay), maximize)


def Adagrad(
    lr: ScalarOrSchedule = 1e-2,
    lr_decay: ScalarOrSchedule = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
    initial_accumulator_value: ScalarOrSchedule = 0.0,
    eps: ScalarOrSchedule = 1e-10,
    *,
    maximize: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.Adagrad``: eps outside the square root, step k divided by ``1 + k lr_decay``.

    See :func:`jaxsched.adagrad`. State keys: ``learning_rate`` (``lr``), ``lr_decay``,
    ``weight_decay``, ``initial_accumulator_value``, ``eps``.
    """
    _lr_wd(lr, weight_decay)
    tx = adagrad(lr, initial_accumulator_value, eps, lr_decay, weight_decay, eps_in_sqrt=False)
    return _maximize(tx, maximize)


def Adamax(
    lr: ScalarOrSchedule = 2e-3,
    betas: Pair = (0.9, 0.999),
    eps: ScalarOrSchedule = 1e-8,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    maximize: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.Adamax``: eps inside the max, ``u <- max(b2 u, |g| + eps)``.

    See :func:`jaxsched.adamax`. State keys: ``learning_rate`` (``lr``), ``b1``, ``b2``
    (``betas``), ``eps``, ``weight_decay``.
    """
    b1, b2 = _betas(betas)
    _lr_wd(lr, weight_decay)
    return _maximize(adamax(lr, b1, b2, eps, weight_decay, eps_in_max=True), maximize)


def NAdam(
    lr: ScalarOrSchedule = 2e-3,
    betas: Pair = (0.9, 0.999),
    eps: ScalarOrSchedule = 1e-8,
    weight_decay: ScalarOrSchedule = 0.0,
    momentum_decay: ScalarOrSchedule = 4e-3,
    decoupled_weight_decay: bool = False,
    *,
    maximize: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.NAdam``: see :func:`jaxsched.nadam`.

    State keys: ``learning_rate`` (``lr``), ``b1``, ``b2`` (``betas``), ``eps``,
    ``momentum_decay``, ``weight_decay``.
    """
    b1, b2 = _betas(betas)
    _lr_wd(lr, weight_decay)
    tx = nadam(
        lr,
        b1,
        b2,
        eps,
        momentum_decay,
        weight_decay,
        decoupled_weight_decay=decoupled_weight_decay,
    )
    return _maximize(tx, maximize)


def RAdam(
    lr: ScalarOrSchedule = 1e-3,
    betas: Pair = (0.9, 0.999),
    eps: ScalarOrSchedule = 1e-8,
    weight_decay: ScalarOrSchedule = 0.0,
    decoupled_weight_decay: bool = False,
    *,
    maximize: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.RAdam``: see :func:`jaxsched.radam` (rectification threshold 5).

    State keys: ``learning_rate`` (``lr``), ``b1``, ``b2`` (``betas``), ``eps``,
    ``weight_decay``, ``threshold`` (5, fixed in torch).
    """
    b1, b2 = _betas(betas)
    _lr_wd(lr, weight_decay)
    tx = radam(lr, b1, b2, eps, weight_decay, decoupled_weight_decay=decoupled_weight_decay)
    return _maximize(tx, maximize)


def RMSprop(
    lr: ScalarOrSchedule = 1e-2,
    alpha: ScalarOrSchedule = 0.99,
    eps: ScalarOrSchedule = 1e-8,
    weight_decay: ScalarOrSchedule = 0.0,
    momentum: ScalarOrSchedule = 0.0,
    centered: bool = False,
    *,
    maximize: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.RMSprop``: eps outside the square root, lr applied after the buffer.

    ``v <- alpha v + (1 - alpha) g^2``; ``den = sqrt(v) + eps`` (centered:
    ``sqrt(v - a^2) + eps``); with momentum ``b <- momentum b + g / den``,
    ``p <- p - lr b``, else ``p <- p - lr g / den``. As in torch, no buffer exists when
    ``momentum == 0``. State keys: ``learning_rate`` (``lr``), ``decay`` (``alpha``),
    ``eps``, ``weight_decay`` and, when non-zero, ``momentum``.
    """
    _lr_wd(lr, weight_decay)
    check_rms_args(alpha, eps)
    check_hyperparam("momentum", momentum, low=0.0)
    hyper = dict(learning_rate=lr, decay=alpha, eps=eps, weight_decay=weight_decay)
    if is_schedule(momentum) or float(momentum) != 0.0:
        hyper["momentum"] = momentum

    def build(learning_rate, decay, eps, weight_decay, momentum=None):
        rule = rms_rule(decay, eps, eps_in_sqrt=False, centered=centered)
        if momentum is not None:
            rule = optax.chain(rule, trace_rule(momentum))
        return descent(rule, learning_rate, weight_decay)

    return _maximize(with_hyperparams(build, **hyper), maximize)
