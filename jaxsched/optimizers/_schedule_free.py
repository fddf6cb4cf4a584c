"""Schedule-free SGD, AdamW and RAdam (Defazio et al. 2024), as the authors' ``schedulefree``."""

from __future__ import annotations

import optax

from .._hyper import block
from .._validate import Count, Decay, Flag, FloatDtype, Mask, NonNegative, OptionalNonNegative
from ..transforms._basic import add_decayed_weights, negate
from ..transforms._schedule_free import (
    OpenUnit,
    OptionalPositive,
    radam_step_factor,
    scale_by_corrected_rms,
    schedule_free,
)


def _assemble(
    direction: list, weight_decay, mask, maximize: bool, averaging
) -> optax.GradientTransformation:
    """``[-g]`` -> base direction -> ``+ weight_decay * y`` -> schedule-free averaging.

    The authors add the decay at ``y`` to the normalised gradient, so it is decoupled
    from the normalisation and enters ``z`` and ``y`` with the learning rate.
    """
    blocks = [negate()] if maximize else []
    blocks += direction
    if weight_decay is not None:
        blocks.append(add_decayed_weights(weight_decay, mask))
    return optax.chain(*blocks, averaging)


@block
def schedule_free_sgd(
    learning_rate: NonNegative = 1.0,
    b1: OpenUnit = 0.9,
    weight_decay: OptionalNonNegative = None,
    r: NonNegative = 0.0,
    weight_lr_power: NonNegative = 2.0,
    *,
    warmup_steps: Count = 0,
    mask: Mask = None,
    maximize: Flag = False,
    z_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Schedule-free SGD: :func:`~jaxsched.transforms.schedule_free` of the gradient.

    With ``g`` the gradient plus ``weight_decay * y``:
    ``z <- z - lr g``, ``x <- (1 - c) x + c z``, ``y <- b1 x + (1 - b1) z``; the
    parameters are ``y``. Evaluate with :func:`jaxsched.schedule_free_eval_params`
    (``x``), and recompute batch-norm statistics there. No learning-rate schedule is
    needed: ``warmup_steps`` gives a linear warmup, and the averaging weights ``c``
    follow ``r`` and ``weight_lr_power`` (see the block).

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1: the interpolation (the authors' ``momentum``), in (0, 1).
      weight_decay: >= 0, or None for none (L2 at ``y``).
      r, weight_lr_power, warmup_steps: the averaging weights and warmup of
        :func:`jaxsched.transforms.schedule_free`.
      mask: which leaves get weight decay (pytree of bools or function of params).
      maximize: ascend instead of descend.
      z_dtype: dtype of ``z``; default the parameter dtype promoted to float32.

    Returns:
      A transformation whose ``update`` needs ``params``, with every numeric argument in
      its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.schedule_free_sgd(0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params), params)
      >>> print(jaxsched.apply_updates(params, u))
      [ 0.8 -0.8]
      >>> sorted(jaxsched.hyperparams(state))
      ['b1', 'learning_rate', 'r', 'weight_lr_power']

    References:
      Defazio et al. 2024, "The Road Less Scheduled"; ``schedulefree.SGDScheduleFree``;
      ``optax.contrib.schedule_free_sgd``.
    """
    averaging = schedule_free(
        learning_rate, b1, r, weight_lr_power, warmup_steps=warmup_steps, z_dtype=z_dtype
    )
    return _assemble([], weight_decay, mask, maximize, averaging)


@block
def schedule_free_adamw(
    learning_rate: NonNegative = 2.5e-3,
    b1: OpenUnit = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    eps_root: OptionalNonNegative = None,
    weight_decay: OptionalNonNegative = None,
    r: NonNegative = 0.0,
    weight_lr_power: NonNegative = 2.0,
    decoupling_c: OptionalPositive = None,
    *,
    warmup_steps: Count = 0,
    amsgrad: Flag = False,
    mask: Mask = None,
    maximize: Flag = False,
    nu_dtype: FloatDtype = None,
    z_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Schedule-free AdamW: :func:`~jaxsched.transforms.schedule_free` of Adam's normalisation.

    ``v <- b2 v + (1 - b2) g^2``, ``g_hat = g / (sqrt(v / (1 - b2^t) + eps_root) + eps)
    + weight_decay * y``, then ``z <- z - lr g_hat``, ``x <- (1 - c) x + c z``,
    ``y <- b1 x + (1 - b1) z``: ``b1`` plays the part of Adam's momentum. The parameters
    are ``y``; evaluate with :func:`jaxsched.schedule_free_eval_params` (``x``), and
    recompute batch-norm statistics there.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1: the interpolation, in (0, 1).
      b2, eps, eps_root, amsgrad, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_corrected_rms` (``eps_root`` and ``amsgrad``
        are pytorch-optimizer's; the authors have neither).
      weight_decay: >= 0, or None for none (at ``y``, added to the normalised gradient).
      r, weight_lr_power, decoupling_c, warmup_steps, z_dtype: see
        :func:`jaxsched.transforms.schedule_free`.
      mask: which leaves get weight decay.
      maximize: ascend instead of descend.

    Returns:
      A transformation whose ``update`` needs ``params``, with every numeric argument in
      its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.schedule_free_adamw(0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params), params)
      >>> print(jaxsched.apply_updates(params, u))
      [ 0.9 -0.9]

    References:
      Defazio et al. 2024, "The Road Less Scheduled"; ``schedulefree.AdamWScheduleFree``;
      ``optax.contrib.schedule_free_adamw``.
    """
    direction = scale_by_corrected_rms(b2, eps, eps_root, amsgrad=amsgrad, nu_dtype=nu_dtype)
    averaging = schedule_free(
        learning_rate,
        b1,
        r,
        weight_lr_power,
        decoupling_c,
        warmup_steps=warmup_steps,
        z_dtype=z_dtype,
    )
    return _assemble([direction], weight_decay, mask, maximize, averaging)


@block
def schedule_free_radam(
    learning_rate: NonNegative = 2.5e-3,
    b1: OpenUnit = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    weight_decay: OptionalNonNegative = None,
    r: NonNegative = 0.0,
    weight_lr_power: NonNegative = 2.0,
    *,
    silent_sgd_phase: Flag = True,
    mask: Mask = None,
    maximize: Flag = False,
    nu_dtype: FloatDtype = None,
    z_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Schedule-free RAdam: schedule-free AdamW with RAdam's rectification, no warmup.

    While RAdam's ``rho_t <= 4`` (the first few updates) the step is plain SGD with the
    learning rate, or, with ``silent_sgd_phase`` (the default), no step at all (the
    second moment still accumulates). Afterwards the learning rate is multiplied by
    RAdam's ``r_t`` and the gradient normalised as in :func:`schedule_free_adamw`; the
    averaging weights see the rectified learning rate. Evaluate with
    :func:`jaxsched.schedule_free_eval_params` and recompute batch-norm statistics there.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1: the interpolation, in (0, 1).
      b2, eps, nu_dtype: see :func:`jaxsched.transforms.scale_by_corrected_rms`.
      weight_decay: >= 0, or None for none (at ``y``).
      r, weight_lr_power, z_dtype: see :func:`jaxsched.transforms.schedule_free`.
      silent_sgd_phase: no step before the rectification starts.
      mask: which leaves get weight decay.
      maximize: ascend instead of descend.

    Returns:
      A transformation whose ``update`` needs ``params``, with every numeric argument in
      its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.schedule_free_radam(0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params), params)
      >>> print(u)  # the silent phase
      [0. 0.]

    References:
      Defazio et al. 2024, "The Road Less Scheduled"; Liu et al. 2020, "On the Variance
      of the Adaptive Learning Rate and Beyond"; ``schedulefree.RAdamScheduleFree``.
    """
    direction = scale_by_corrected_rms(b2, eps, rectified=True, nu_dtype=nu_dtype)
    averaging = schedule_free(
        learning_rate,
        b1,
        r,
        weight_lr_power,
        step_size_factor=radam_step_factor(b2, silent_sgd_phase),
        z_dtype=z_dtype,
    )
    return _assemble([direction], weight_decay, mask, maximize, averaging)
