"""``keras.optimizers.Adafactor`` and ``keras.optimizers.ScheduleFreeAdamW`` (Keras 3)."""

from __future__ import annotations

import optax

from .._validate import Count, Decay, Flag, NonNegative, Positive
from ..optimizers._adafactor import adafactor
from ..transforms._adafactor import DecayRate
from ..transforms._schedule_free import OpenUnit, scale_by_corrected_rms, schedule_free
from ._common import KerasRule, LearningRate, keras_flavor


@keras_flavor
def Adafactor(
    learning_rate: LearningRate = 0.001,
    beta_2_decay: DecayRate = -0.8,
    epsilon_1: NonNegative = 1e-30,
    epsilon_2: NonNegative = 1e-3,
    clip_threshold: Positive = 1.0,
    relative_step: Flag = True,
) -> KerasRule:
    """``keras.optimizers.Adafactor``: factored second moment, step relative to the weights.

    At the 1-based step ``t``, ``beta2_t = 1 - t^beta_2_decay``; with ``s = g^2 +
    epsilon_1``, a variable of two or more dims keeps the moving averages ``R`` and
    ``C`` of ``s``'s means over its last and second-to-last axes and
    ``V = (R / mean(R)) outer C``, any other the moving average ``V`` of ``s``;
    ``u = g / sqrt(V)``, ``u <- u / max(1, RMS(u) / clip_threshold)``, and
    ``x <- x - max(epsilon_2, RMS(x)) * min(lr, 1 / sqrt(t)) * u``:
    :func:`jaxsched.optimizers.adafactor` with these arguments, no momentum and no
    decay of its own.

    Keras 3.15 takes ``min(lr, 1 / sqrt(t))`` whatever ``relative_step`` says (the flag
    only caps ``lr`` by the same bound first), so ``relative_step`` changes nothing, here
    as in Keras.

    Args:
      learning_rate: >= 0; number, schedule or function of no arguments (``learning_rate``).
      beta_2_decay: <= 0 (state key ``decay_rate``).
      epsilon_1: >= 0, added to the squared gradients (``eps``).
      epsilon_2: >= 0, the floor of the weights' RMS (``min_scale``).
      clip_threshold: > 0 (``clip_threshold``).
      relative_step: accepted for Keras's signature; no effect (see above).
      weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`).

    Returns:
      A transformation whose ``update`` gives Keras's step; it needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.Adafactor(0.1)
      >>> params = jnp.array([[1.0, 2.0], [2.0, 4.0]])
      >>> u, state = tx.update(params, tx.init(params), params)
      >>> print(u)  # 0.1 * RMS(params) * sign(g): the first step is 1 / sqrt(V) = 1 / |g|
      [[-0.25 -0.25]
       [-0.25 -0.25]]

    References:
      Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory
      Cost"; ``keras.optimizers.Adafactor``.
    """
    return KerasRule(
        adafactor,
        {
            "decay_rate": beta_2_decay,
            "eps": epsilon_1,
            "clip_threshold": clip_threshold,
            "min_scale": epsilon_2,
        },
    )


@keras_flavor
def ScheduleFreeAdamW(
    learning_rate: LearningRate = 0.0025,
    beta_1: OpenUnit = 0.9,
    beta_2: Decay = 0.999,
    epsilon: NonNegative = 1e-8,
    warmup_steps: Count = 0,
) -> KerasRule:
    """``keras.optimizers.ScheduleFreeAdamW``: the parameters are the interpolation ``y``.

    At the 1-based step ``t``, with ``lr_t = lr * min(t / warmup_steps, 1)`` (``lr``
    without warmup): ``v <- b2 v + (1 - b2) g^2``, ``z <- z - lr_t g / (sqrt(v / (1 -
    b2^t)) + epsilon)`` (``z`` starts at the initial parameters), the average
    ``x <- (1 - 1/t) x + z / t`` and ``y = (1 - b1) z + b1 x``, the parameters, at which
    the gradients are taken. :func:`jaxsched.transforms.scale_by_corrected_rms` then
    :func:`jaxsched.transforms.schedule_free` with uniform averaging weights. Keras's
    weight decay shrinks ``y`` before the step, not ``z``.

    Evaluate with ``x``: ``jaxsched.transforms.schedule_free_eval_params(state, params)``
    computes it from the state's ``z`` and the parameters ``y`` (Keras keeps ``x``
    implicit and offers no such call); keep training from ``y``.

    Args:
      learning_rate: >= 0; number, schedule or function of no arguments (``learning_rate``).
      beta_1: the interpolation, in (0, 1) (state key ``b1``).
      beta_2: in [0, 1) (``b2``).
      epsilon: >= 0 (``eps``).
      warmup_steps: int >= 0, linear warmup of the learning rate over that many updates.
      weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`).

    Returns:
      A transformation whose ``update`` gives Keras's step; it needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.ScheduleFreeAdamW(0.1, beta_1=0.5, epsilon=0.0)
      >>> params = jnp.array([1.0])
      >>> u, state = tx.update(jnp.array([2.0]), tx.init(params), params)
      >>> params = params + u  # z = x = 0.9 after the first step
      >>> print(params, jaxsched.transforms.schedule_free_eval_params(state, params))
      [0.9] [0.9]

    References:
      Defazio et al. 2024, "The Road Less Scheduled"; ``keras.optimizers.ScheduleFreeAdamW``.
    """

    def update_step(learning_rate, b1, b2, eps):
        return optax.chain(
            scale_by_corrected_rms(b2, eps),
            schedule_free(learning_rate, b1, 0.0, 0.0, warmup_steps=warmup_steps),
        )

    return KerasRule(update_step, {"b1": beta_1, "b2": beta_2, "eps": epsilon})
