"""``torch.optim`` flavors: torch class names, argument names, defaults and numbers."""

from __future__ import annotations

import optax

from .._base import ScalarOrSchedule, check_hyperparam, is_schedule
from ..optimizers._adam import adam_with_decay
from ..optimizers._sgd import sgd
from ..transforms._basic import negate_rule


def _betas(betas: tuple[ScalarOrSchedule, ScalarOrSchedule]) -> tuple:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return tuple(betas)


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
