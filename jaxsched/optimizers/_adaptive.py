"""Adaptive-rate optimizers: Adagrad, RMSprop, Adadelta, Adamax, Nadam, RAdam, AMSGrad."""

from __future__ import annotations

from typing import Any

import optax

from .._base import ScalarOrSchedule, check_hyperparam
from .._hyper import with_hyperparams
from ..transforms._adadelta import adadelta_rule, check_adadelta_args
from ..transforms._adagrad import adagrad_rule, check_adagrad_args
from ..transforms._adam import check_adam_args
from ..transforms._adamax import adamax_rule
from ..transforms._basic import MaskOrFn
from ..transforms._momentum import trace_rule
from ..transforms._nadam import check_nadam_args, nadam_rule
from ..transforms._radam import check_radam_args, radam_rule
from ..transforms._rms import check_rms_args, rms_rule
from ._adam import adam
from ._descent import check_lr_and_decay, descent


def adagrad(
    learning_rate: ScalarOrSchedule = 1e-2,
    initial_accumulator_value: ScalarOrSchedule = 0.1,
    eps: ScalarOrSchedule = 1e-7,
    lr_decay: ScalarOrSchedule = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    eps_in_sqrt: bool = True,
    mask: MaskOrFn = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Adagrad (Duchi et al. 2011): ``p <- p - lr * g / sqrt(sum of g^2 + eps)``.

    Coupled L2 ``weight_decay`` (``g <- g + weight_decay * p``), then
    :func:`jaxsched.transforms.scale_by_adagrad`, then the learning rate. The defaults
    are optax's (Keras's) ``initial_accumulator_value=0.1``, ``eps=1e-7`` inside the
    square root; ``eps_in_sqrt=False`` gives torch's placement.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      initial_accumulator_value, eps, lr_decay, eps_in_sqrt, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_adagrad`.
      weight_decay: coupled L2 coefficient, >= 0.
      mask: which leaves get weight decay (pytree of bools or function of params).

    Returns:
      A transformation with every numeric argument in its state under its name.
    """
    check_lr_and_decay(learning_rate, weight_decay)
    check_adagrad_args(initial_accumulator_value, eps, lr_decay)

    def build(learning_rate, initial_accumulator_value, eps, lr_decay, weight_decay):
        rule = adagrad_rule(
            initial_accumulator_value, eps, lr_decay, eps_in_sqrt=eps_in_sqrt, nu_dtype=nu_dtype
        )
        return descent(rule, learning_rate, weight_decay, mask=mask)

    return with_hyperparams(
        build,
        learning_rate=learning_rate,
        initial_accumulator_value=initial_accumulator_value,
        eps=eps,
        lr_decay=lr_decay,
        weight_decay=weight_decay,
    )


def rmsprop(
    learning_rate: ScalarOrSchedule = 1e-2,
    decay: ScalarOrSchedule = 0.9,
    eps: ScalarOrSchedule = 1e-8,
    initial_scale: ScalarOrSchedule = 0.0,
    momentum: ScalarOrSchedule | None = None,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    nesterov: bool = False,
    mask: MaskOrFn = None,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """RMSprop (Tieleman & Hinton 2012): ``p <- p - lr * g / sqrt(v + eps)``.

    Coupled L2 ``weight_decay``, :func:`jaxsched.transforms.scale_by_rms`, the
    learning rate, then (with ``momentum``) a momentum buffer over the scaled steps,
    as ``optax.rmsprop`` and Keras (the buffer holds ``lr``-scaled steps; torch's holds
    unscaled ones, see :func:`jaxsched.torch.RMSprop`).

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      decay, eps, initial_scale, eps_in_sqrt, centered, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_rms`.
      momentum: in [0, 1], or None for no buffer.
      weight_decay: coupled L2 coefficient, >= 0.
      nesterov: Nesterov momentum; needs ``momentum``.
      mask: which leaves get weight decay.
      mu_dtype: dtype of the centered mean and of the momentum buffer.

    Returns:
      A transformation with every numeric argument in its state under its name.
    """
    check_lr_and_decay(learning_rate, weight_decay)
    check_rms_args(decay, eps, initial_scale)
    hyper = dict(
        learning_rate=learning_rate,
        decay=decay,
        eps=eps,
        initial_scale=initial_scale,
        weight_decay=weight_decay,
    )
    if momentum is None:
        if nesterov:
            raise ValueError("nesterov=True needs a momentum (got momentum=None)")
    else:
        check_hyperparam("momentum", momentum, 0.0, 1.0)
        hyper["momentum"] = momentum

    def build(learning_rate, decay, eps, initial_scale, weight_decay, momentum=None):
        rule = rms_rule(
            decay,
            eps,
            initial_scale,
            eps_in_sqrt=eps_in_sqrt,
            centered=centered,
            mu_dtype=mu_dtype,
            nu_dtype=nu_dtype,
        )
        tx = descent(rule, learning_rate, weight_decay, mask=mask)
        if momentum is None:
            return tx
        return optax.chain(tx, trace_rule(momentum, nesterov=nesterov, dtype=mu_dtype))

    return with_hyperparams(build, **hyper)


def adadelta(
    learning_rate: ScalarOrSchedule = 1.0,
    rho: ScalarOrSchedule = 0.9,
    eps: ScalarOrSchedule = 1e-6,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    mask: MaskOrFn = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Adadelta (Zeiler 2012): ``p <- p - lr * sqrt(u + eps) / sqrt(v + eps) * g``.

    Coupled L2 ``weight_decay``, :func:`jaxsched.transforms.scale_by_adadelta`, then the
    learning rate: ``torch.optim.Adadelta``'s rule and defaults.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      rho, eps, nu_dtype: see :func:`jaxsched.transforms.scale_by_adadelta`.
      weight_decay: coupled L2 coefficient, >= 0.
      mask: which leaves get weight decay.

    Returns:
      A transformation with every numeric argument in its state under its name.
    """
    check_lr_and_decay(learning_rate, weight_decay)
    check_adadelta_args(rho, eps)

    def build(learning_rate, rho, eps, weight_decay):
        rule = adadelta_rule(rho, eps, nu_dtype=nu_dtype)
        return descent(rule, learning_rate, weight_decay, mask=mask)

    return with_hyperparams(
        build, learning_rate=learning_rate, rho=rho, eps=eps, weight_decay=weight_decay
    )


def adamax(
    learning_rate: ScalarOrSchedule = 2e-3,
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-8,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    eps_in_max: bool = False,
    mask: MaskOrFn = None,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Adamax (Kingma & Ba 2015): ``p <- p - lr * m / ((1 - b1^t) (u + eps))``.

    Coupled L2 ``weight_decay``, :func:`jaxsched.transforms.scale_by_adamax` (optax's
    and Keras's eps placement; ``eps_in_max=True`` for torch's), then the learning
    rate.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, eps, eps_in_max, mu_dtype, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_adamax`.
      weight_decay: coupled L2 coefficient, >= 0.
      mask: which leaves get weight decay.

    Returns:
      A transformation with every numeric argument in its state under its name.
    """
    check_lr_and_decay(learning_rate, weight_decay)
    check_adam_args(b1, b2, eps)

    def build(learning_rate, b1, b2, eps, weight_decay):
        rule = adamax_rule(b1, b2, eps, eps_in_max=eps_in_max, mu_dtype=mu_dtype, nu_dtype=nu_dtype)
        return descent(rule, learning_rate, weight_decay, mask=mask)

    return with_hyperparams(
        build, learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay
    )


def nadam(
    learning_rate: ScalarOrSchedule = 2e-3,
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-8,
    momentum_decay: ScalarOrSchedule = 4e-3,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    decoupled_weight_decay: bool = False,
    mask: MaskOrFn = None,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Nadam (Dozat 2016) with its warming momentum schedule, as ``torch.optim.NAdam``.

    :func:`jaxsched.transforms.scale_by_nadam` then the learning rate, with
    ``weight_decay`` coupled (L2) or, with ``decoupled_weight_decay=True``, decoupled
    (NAdamW). ``momentum_decay=1`` gives Keras's momentum cache.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, eps, momentum_decay, mu_dtype, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_nadam`.
      weight_decay: >= 0.
      decoupled_weight_decay: decoupled instead of coupled weight decay.
      mask: which leaves get weight decay.

    Returns:
      A transformation with every numeric argument in its state under its name.
    """
    check_lr_and_decay(learning_rate, weight_decay)
    check_nadam_args(b1, b2, eps, momentum_decay)

    def build(learning_rate, b1, b2, eps, momentum_decay, weight_decay):
        rule = nadam_rule(b1, b2, eps, momentum_decay, mu_dtype=mu_dtype, nu_dtype=nu_dtype)
        return descent(
            rule, learning_rate, weight_decay, decoupled=decoupled_weight_decay, mask=mask
        )

    return with_hyperparams(
        build,
        learning_rate=learning_rate,
        b1=b1,
        b2=b2,
        eps=eps,
        momentum_decay=momentum_decay,
        weight_decay=weight_decay,
    )


def radam(
    learning_rate: ScalarOrSchedule = 1e-3,
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-8,
    weight_decay: ScalarOrSchedule = 0.0,
    threshold: ScalarOrSchedule = 5.0,
    *,
    decoupled_weight_decay: bool = False,
    mask: MaskOrFn = None,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """RAdam (Liu et al. 2020), as ``torch.optim.RAdam`` and the authors' code.

    :func:`jaxsched.transforms.scale_by_radam` (a momentum step until the variance
    estimate is trustworthy, ``rho_t > threshold``) then the learning rate, with
    ``weight_decay`` coupled (L2) or decoupled (``decoupled_weight_decay=True``, as
    Ranger).

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, eps, threshold, mu_dtype, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_radam`.
      weight_decay: >= 0.
      decoupled_weight_decay: decoupled instead of coupled weight decay.
      mask: which leaves get weight decay.

    Returns:
      A transformation with every numeric argument in its state under its name.
    """
    check_lr_and_decay(learning_rate, weight_decay)
    check_radam_args(b1, b2, eps, threshold)

    def build(learning_rate, b1, b2, eps, weight_decay, threshold):
        rule = radam_rule(b1, b2, eps, threshold, mu_dtype=mu_dtype, nu_dtype=nu_dtype)
        return descent(
            rule, learning_rate, weight_decay, decoupled=decoupled_weight_decay, mask=mask
        )

    return with_hyperparams(
        build,
        learning_rate=learning_rate,
        b1=b1,
        b2=b2,
        eps=eps,
        weight_decay=weight_decay,
        threshold=threshold,
    )


def amsgrad(
    learning_rate: ScalarOrSchedule = 1e-3,
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-8,
    eps_root: ScalarOrSchedule = 0.0,
    *,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """AMSGrad (Reddi et al. 2018): :func:`jaxsched.adam` with ``amsgrad=True``.

    ``p <- p - lr * m_hat / (sqrt(max(v) / (1 - b2^t)) + eps)`` with the running maximum
    of the raw ``v``, as torch and Keras do (optax's ``amsgrad`` takes it of the
    bias-corrected ``v``). Arguments as :func:`jaxsched.adam`.

    Returns:
      A transformation with every numeric argument in its state under its name.
    """
    return adam(
        learning_rate, b1, b2, eps, eps_root, amsgrad=True, mu_dtype=mu_dtype, nu_dtype=nu_dtype
    )
