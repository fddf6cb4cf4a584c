"""pytorch-optimizer's learning-rate-free optimizers: schedule-free, Prodigy, D-Adapt Adam.

Each flavor is pytorch-optimizer 4.1's constructor without ``params`` (class name,
argument names and defaults), checked under those names, mapped onto a native; state
keys are the natives' (``learning_rate``, ``b1``, ...). A 0 for ``weight_decay`` or
``decoupling_c`` means "none" and is passed on as None. ``foreach`` never changes the
numbers: it is accepted and ignored.

Where pytorch-optimizer departs from the authors' packages the flavors follow the
authors (``schedulefree``, ``prodigyopt``); each docstring says where.
"""

from __future__ import annotations

import math
import numbers
from typing import Annotated

import jax
import numpy as np
import optax

from .._base import ScalarOrSchedule, none_if_zero
from .._validate import (
    Betas,
    Count,
    Flag,
    NonNegative,
    OptionalUnitInterval,
    Positive,
    Real,
    Switch,
    check_value,
    validated,
)
from ..optimizers._lr_free import dadapt_adam, prodigy
from ..optimizers._schedule_free import (
    schedule_free_adamw,
    schedule_free_radam,
    schedule_free_sgd,
)
from ..transforms._dadapt import InitialDistance
from ..transforms._prodigy import OptionalEps
from ..transforms._schedule_free import OpenUnit

# pytorch-optimizer's exp_avg_sq_eps, added under the root by ScheduleFreeAdamW.
_ROOT_EPS = 1e-15

GrowthRate = Annotated[ScalarOrSchedule, Real(low=1.0, inf=True)]


def _bound(growth_rate):
    """pytorch-optimizer's ``inf`` growth rate (no bound) as the natives' None."""
    concrete = isinstance(growth_rate, numbers.Real) or (
        isinstance(growth_rate, (np.ndarray, np.generic, jax.Array))
        and not isinstance(growth_rate, jax.core.Tracer)
    )
    return None if concrete and math.isinf(float(growth_rate)) else growth_rate


def _interpolation(betas: tuple) -> tuple:
    """``betas`` whose first entry, the schedule-free interpolation, must lie in (0, 1)."""
    b1, b2 = betas
    return check_value("betas[0]", b1, Real(0.0, 1.0, low_open=True, high_open=True)), b2


@validated
def ScheduleFreeSGD(
    lr: NonNegative = 1.0,
    momentum: OpenUnit = 0.9,
    weight_decay: NonNegative = 0.0,
    r: NonNegative = 0.0,
    weight_lr_power: NonNegative = 2.0,
    warmup_steps: Count = 0,
    eps: NonNegative = 1e-8,
    maximize: Flag = False,
    foreach: Switch = None,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.ScheduleFreeSGD``: :func:`jaxsched.schedule_free_sgd`.

    Schedule-free SGD with ``momentum`` as the interpolation ``b1``. The parameters are
    ``y``; evaluate with :func:`jaxsched.schedule_free_eval_params` (pytorch-optimizer's
    ``eval()``) and recompute batch-norm statistics there. The numbers are those of the
    authors' ``schedulefree.SGDScheduleFree`` too.

    Args:
      lr: >= 0; number, jax scalar or schedule (state key ``learning_rate``).
      momentum: in (0, 1) (``b1``).
      weight_decay: L2 at ``y``, >= 0 (``weight_decay``, absent when 0).
      r, weight_lr_power: the averaging weights, >= 0 (``r``, ``weight_lr_power``).
      warmup_steps: linear warmup length, an integer >= 0.
      eps: >= 0, accepted and unused, as in pytorch-optimizer.
      maximize: ascend instead of descend.
      foreach: pytorch-optimizer's implementation switch, ignored.

    Returns:
      A transformation whose ``update`` needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.ScheduleFreeSGD(lr=0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params), params)
      >>> print(jaxsched.apply_updates(params, u))
      [ 0.8 -0.8]

    References:
      Defazio et al. 2024, "The Road Less Scheduled";
      ``pytorch_optimizer.ScheduleFreeSGD``; ``schedulefree.SGDScheduleFree``.
    """
    del eps, foreach
    return schedule_free_sgd(
        lr,
        momentum,
        none_if_zero(weight_decay),
        r,
        weight_lr_power,
        warmup_steps=warmup_steps,
        maximize=maximize,
    )


@validated
def ScheduleFreeAdamW(
    lr: NonNegative = 2.5e-3,
    betas: Betas = (0.9, 0.999),
    weight_decay: NonNegative = 0.0,
    r: NonNegative = 0.0,
    weight_lr_power: NonNegative = 2.0,
    warmup_steps: Count = 0,
    decoupling_c: NonNegative = 0,
    ams_bound: Flag = False,
    eps: NonNegative = 1e-8,
    maximize: Flag = False,
    foreach: Switch = None,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.ScheduleFreeAdamW``: :func:`jaxsched.schedule_free_adamw`.

    Schedule-free AdamW: ``g / (sqrt(v / (1 - b2^t) + 1e-15) + eps) + weight_decay * y``
    averaged as schedule-free; ``betas[0]`` is the interpolation. pytorch-optimizer adds
    ``1e-15`` under the root (passed on as ``eps_root``; the authors add nothing) and has
    two options the authors do not: ``ams_bound`` (the running maximum of the corrected
    second moment, the native's ``amsgrad``) and ``decoupling_c`` (the averaging weight
    ``min(1, c (1 - b1) decoupling_c)``, Song et al. 2025). Evaluate with
    :func:`jaxsched.schedule_free_eval_params` and recompute batch-norm statistics there.

    Args:
      lr: >= 0; number, jax scalar or schedule (state key ``learning_rate``).
      betas: ``(b1, b2)``, ``b1`` in (0, 1), ``b2`` in [0, 1) (``b1``, ``b2``).
      weight_decay: at ``y``, >= 0 (``weight_decay``, absent when 0).
      r, weight_lr_power: the averaging weights, >= 0.
      warmup_steps: linear warmup length, an integer >= 0.
      decoupling_c: >= 0; 0 for the plain average (``decoupling_c``, absent when 0).
      ams_bound: AMSGrad on the corrected second moment.
      eps: >= 0 (``eps``).
      maximize: ascend instead of descend.
      foreach: pytorch-optimizer's implementation switch, ignored.

    Returns:
      A transformation whose ``update`` needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.ScheduleFreeAdamW(lr=0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params), params)
      >>> print(jaxsched.apply_updates(params, u))
      [ 0.9 -0.9]

    References:
      Defazio et al. 2024, "The Road Less Scheduled";
      ``pytorch_optimizer.ScheduleFreeAdamW``; ``schedulefree.AdamWScheduleFree``.
    """
    del foreach
    b1, b2 = _interpolation(betas)
    return schedule_free_adamw(
        lr,
        b1,
        b2,
        eps,
        _ROOT_EPS,
        none_if_zero(weight_decay),
        r,
        weight_lr_power,
        none_if_zero(decoupling_c),
        warmup_steps=warmup_steps,
        amsgrad=ams_bound,
        maximize=maximize,
    )


@validated
def ScheduleFreeRAdam(
    lr: NonNegative = 2.5e-3,
    betas: Betas = (0.9, 0.999),
    weight_decay: NonNegative = 0.0,
    r: NonNegative = 0.0,
    weight_lr_power: NonNegative = 2.0,
    silent_sgd_phase: Flag = True,
    eps: NonNegative = 1e-8,
    maximize: Flag = False,
    foreach: Switch = None,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.ScheduleFreeRAdam``: :func:`jaxsched.schedule_free_radam`.

    Schedule-free RAdam, as the authors' ``schedulefree.RAdamScheduleFree``. One
    departure of pytorch-optimizer is not followed: with ``silent_sgd_phase=False`` it
    steps with a learning rate of 1 (whatever ``lr``) before the rectification starts;
    this flavor steps with ``lr``, as the authors do (the two agree for ``lr=1`` and for
    the default silent phase). Evaluate with :func:`jaxsched.schedule_free_eval_params`
    and recompute batch-norm statistics there.

    Args:
      lr: >= 0; number, jax scalar or schedule (state key ``learning_rate``).
      betas: ``(b1, b2)``, ``b1`` in (0, 1), ``b2`` in [0, 1) (``b1``, ``b2``).
      weight_decay: at ``y``, >= 0 (``weight_decay``, absent when 0).
      r, weight_lr_power: the averaging weights, >= 0.
      silent_sgd_phase: no step before the rectification starts.
      eps: >= 0 (``eps``).
      maximize: ascend instead of descend.
      foreach: pytorch-optimizer's implementation switch, ignored.

    Returns:
      A transformation whose ``update`` needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.ScheduleFreeRAdam()
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params), params)
      >>> print(u)  # the silent phase
      [0. 0.]

    References:
      Defazio et al. 2024, "The Road Less Scheduled";
      ``pytorch_optimizer.ScheduleFreeRAdam``; ``schedulefree.RAdamScheduleFree``.
    """
    del foreach
    b1, b2 = _interpolation(betas)
    return schedule_free_radam(
        lr,
        b1,
        b2,
        eps,
        none_if_zero(weight_decay),
        r,
        weight_lr_power,
        silent_sgd_phase=silent_sgd_phase,
        maximize=maximize,
    )


@validated
def Prodigy(
    lr: NonNegative = 1.0,
    betas: Betas = (0.9, 0.999),
    beta3: OptionalUnitInterval = None,
    d0: Positive = 1e-6,
    d_coef: Positive = 1.0,
    growth_rate: GrowthRate = math.inf,
    weight_decay: NonNegative = 0.0,
    weight_decouple: Flag = True,
    fixed_decay: Flag = False,
    bias_correction: Flag = False,
    safeguard_warmup: Flag = False,
    eps: OptionalEps = 1e-8,
    maximize: Flag = False,
    foreach: Switch = None,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.Prodigy``: :func:`jaxsched.prodigy`.

    Adam with Prodigy's estimated step size ``d`` (read it with
    :func:`jaxsched.estimated_step_size`). ``fixed_decay`` (decoupled decay not scaled
    by the step) and ``eps=None`` (Adam-atan2 in place of the division) are
    pytorch-optimizer's. Two departures of pytorch-optimizer are not followed, the
    flavor computes as the authors' ``prodigyopt.Prodigy``: coupled decay
    (``weight_decouple=False``) is added to the gradient before the moments (in
    pytorch-optimizer it is added after them and has no effect), and with
    ``betas[0] = 0`` the step uses the new ``d`` (pytorch-optimizer the previous one).

    Args:
      lr: >= 0; number, jax scalar or schedule (state key ``learning_rate``).
      betas: ``(b1, b2)``, each in [0, 1) (``b1``, ``b2``).
      beta3: in [0, 1], or None for ``sqrt(b2)`` (``b3``, absent when None).
      d0: initial estimate, > 0 (``d0``).
      d_coef: factor of the estimate, > 0 (``d_coef``).
      growth_rate: largest growth of ``d`` per step, >= 1; inf for none (``growth_rate``,
        absent when inf).
      weight_decay: >= 0 (``weight_decay``, absent when 0).
      weight_decouple: decoupled (default) or coupled decay.
      fixed_decay: decoupled decay not scaled by the step size.
      bias_correction: Adam's bias corrections in the step size.
      safeguard_warmup: leave the learning rate out of the estimate's denominator.
      eps: >= 0, or None for atan2 (``eps``, absent when None).
      maximize: ascend instead of descend.
      foreach: pytorch-optimizer's implementation switch, ignored.

    Returns:
      A transformation whose ``update`` needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.Prodigy(d0=1e-3)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params), params)
      >>> print(jaxsched.estimated_step_size(state))
      0.001

    References:
      Mishchenko & Defazio 2023, "Prodigy: An Expeditiously Adaptive Parameter-Free
      Learner"; ``pytorch_optimizer.Prodigy``; ``prodigyopt.Prodigy``.
    """
    del foreach
    b1, b2 = betas
    return prodigy(
        lr,
        b1,
        b2,
        beta3,
        eps,
        none_if_zero(weight_decay),
        d0,
        d_coef,
        _bound(growth_rate),
        decoupled=weight_decouple,
        fixed_decay=fixed_decay,
        safeguard_warmup=safeguard_warmup,
        bias_correction=bias_correction,
        maximize=maximize,
    )


@validated
def DAdaptAdam(
    lr: NonNegative = 1.0,
    betas: Betas = (0.9, 0.999),
    d0: InitialDistance = 1e-6,
    growth_rate: GrowthRate = math.inf,
    weight_decay: NonNegative = 0.0,
    weight_decouple: Flag = False,
    fixed_decay: Flag = False,
    bias_correction: Flag = False,
    eps: NonNegative = 1e-8,
    maximize: Flag = False,
    foreach: Switch = None,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.DAdaptAdam``: :func:`jaxsched.dadapt_adam`.

    Adam with the D-Adaptation (V3) step size ``d`` (read it with
    :func:`jaxsched.estimated_step_size`); the same numbers as pytorch-optimizer.

    Args:
      lr: >= 0; number, jax scalar or schedule (state key ``learning_rate``).
      betas: ``(b1, b2)``, each in [0, 1) (``b1``, ``b2``).
      d0: initial estimate, > 0 (read at ``init``; not in the state's hyperparameters).
      growth_rate: largest growth of ``d`` per step, >= 1; inf for none (``growth_rate``,
        absent when inf).
      weight_decay: >= 0 (``weight_decay``, absent when 0).
      weight_decouple: decoupled decay (coupled L2 by default).
      fixed_decay: decoupled decay not scaled by the step size.
      bias_correction: Adam's bias corrections in the step size.
      eps: >= 0 (``eps``).
      maximize: ascend instead of descend.
      foreach: pytorch-optimizer's implementation switch, ignored.

    Returns:
      A transformation; its ``update`` needs ``params`` with weight decay.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.DAdaptAdam(d0=1e-3)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(jaxsched.estimated_step_size(state))
      0.001

    References:
      Defazio & Mishchenko 2023, "Learning-Rate-Free Learning by D-Adaptation";
      ``pytorch_optimizer.DAdaptAdam``.
    """
    del foreach
    b1, b2 = betas
    return dadapt_adam(
        lr,
        b1,
        b2,
        eps,
        none_if_zero(weight_decay),
        _bound(growth_rate),
        d0=d0,
        decoupled=weight_decouple,
        fixed_decay=fixed_decay,
        bias_correction=bias_correction,
        maximize=maximize,
    )
