"""TensorFlow 1 decay functions (``tf.compat.v1.train.*_decay``) as pure schedules.

Each function takes TF's arguments in TF's order, minus ``global_step``: the step is what
the returned schedule takes. Arithmetic is float32 in the order TF and Keras 3 use, so
the values agree with ``keras.optimizers.schedules`` bit for bit where Keras has the
schedule. Numeric arguments may be traced (vmap over ``learning_rate`` or
``decay_rate``); step counts and flags must be concrete.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import jax
import jax.numpy as jnp

from .._base import Array, Schedule
from .._validate import Flag, Real, Steps, validated
from ._common import (
    Boundaries,
    Fraction,
    NonNegativeNumber,
    Values,
    as_step,
    as_value,
    div,
)

# How much longer each restart period is than the one before.
TMul = Annotated[float, Real(low=1.0, schedule=False)]

_PI = math.pi


def _f32(x: Any) -> Array:
    return jnp.asarray(x, dtype=jnp.float32)


def _progress(step: Any, decay_steps: Any, staircase: bool) -> Array:
    p = div(as_step(step), decay_steps)
    return jnp.floor(p) if staircase else p


@validated
def exponential_decay(
    learning_rate: NonNegativeNumber,
    decay_steps: Steps,
    decay_rate: NonNegativeNumber,
    staircase: Flag = False,
) -> Schedule:
    """Exponential decay: ``learning_rate * decay_rate ** (step / decay_steps)``.

    With ``staircase=True`` the exponent is ``floor(step / decay_steps)``. There is no
    clamp: the value keeps decaying.

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: steps per factor of ``decay_rate`` (an int >= 1).
      decay_rate: the factor (>= 0).
      staircase: decay at discrete intervals.

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.exponential_decay(0.1, decay_steps=10, decay_rate=0.5)
      >>> print(lr(0), lr(20))
      0.1 0.025

    References:
      ``tf.compat.v1.train.exponential_decay``; ``keras.optimizers.schedules.ExponentialDecay``.
    """

    def schedule(step: Any) -> Array:
        p = _progress(step, decay_steps, staircase)
        return as_value(_f32(learning_rate) * jnp.power(_f32(decay_rate), p))

    return schedule


@validated
def natural_exp_decay(
    learning_rate: NonNegativeNumber,
    decay_steps: Steps,
    decay_rate: NonNegativeNumber,
    staircase: Flag = False,
) -> Schedule:
    """Natural exponential decay: ``learning_rate * exp(-decay_rate * step / decay_steps)``.

    With ``staircase=True`` the exponent uses ``floor(step / decay_steps)``. TF rounds
    ``exp(-decay_rate)`` to float32 and raises it to the power; the single ``exp`` here
    is the more accurate form of the same formula.

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: steps per unit of ``decay_rate`` (an int >= 1).
      decay_rate: rate in the exponent (>= 0).
      staircase: decay at discrete intervals.

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.natural_exp_decay(1.0, decay_steps=10, decay_rate=0.5, staircase=True)
      >>> print(lr(9), lr(10))
      1.0 0.60653067

    References:
      ``tf.compat.v1.train.natural_exp_decay``.
    """

    def schedule(step: Any) -> Array:
        p = _progress(step, decay_steps, staircase)
        return as_value(_f32(learning_rate) * jnp.exp(-_f32(decay_rate) * p))

    return schedule


@validated
def inverse_time_decay(
    learning_rate: NonNegativeNumber,
    decay_steps: Steps,
    decay_rate: NonNegativeNumber,
    staircase: Flag = False,
) -> Schedule:
    """Inverse time decay: ``learning_rate / (1 + decay_rate * step / decay_steps)``.

    With ``staircase=True`` the ratio is ``floor(step / decay_steps)``.

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: steps per unit of ``decay_rate`` (an int >= 1).
      decay_rate: the rate (>= 0).
      staircase: decay at discrete intervals.

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.inverse_time_decay(0.1, decay_steps=10, decay_rate=1.0)
      >>> print(lr(0), lr(10), lr(30))
      0.1 0.05 0.025

    References:
      ``tf.compat.v1.train.inverse_time_decay``; ``keras.optimizers.schedules.InverseTimeDecay``.
    """

    def schedule(step: Any) -> Array:
        p = _progress(step, decay_steps, staircase)
        return as_value(div(learning_rate, 1.0 + _f32(decay_rate) * p))

    return schedule


@validated
def piecewise_constant(boundaries: Boundaries, values: Values) -> Schedule:
    """Piecewise constant: ``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``.

    ``values[0]`` while ``step <= boundaries[0]`` and ``values[-1]`` once
    ``step > boundaries[-1]``: a new value starts at ``boundary + 1`` (``optax.
    piecewise_constant_schedule`` switches one step earlier, at the boundary).

    Args:
      boundaries: strictly increasing, non-negative steps.
      values: one more value than boundaries (numbers or jax scalars).

    Returns:
      A schedule ``step -> float32 value``.

    Raises:
      ValueError: if ``len(values) != len(boundaries) + 1``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.piecewise_constant([10, 20], [0.1, 0.01, 0.001])
      >>> print(lr(10), lr(11), lr(21))
      0.1 0.01 0.001

    References:
      ``tf.compat.v1.train.piecewise_constant``;
      ``keras.optimizers.schedules.PiecewiseConstantDecay``.
    """
    if len(values) != len(boundaries) + 1:
        raise ValueError(
            f"values must have len(boundaries) + 1 = {len(boundaries) + 1} entries, "
            f"got {len(values)}"
        )
    bounds_arr = jnp.asarray([float(b) for b in boundaries], dtype=jnp.float32)

    def schedule(step: Any) -> Array:
        index = jnp.sum(as_step(step)[..., None] > bounds_arr, axis=-1)
        return as_value(jnp.stack([_f32(v) for v in values])[index])

    return schedule


@validated
def polynomial_decay(
    learning_rate: NonNegativeNumber,
    decay_steps: Steps,
    end_learning_rate: NonNegativeNumber = 0.0001,
    power: NonNegativeNumber = 1.0,
    cycle: Flag = False,
) -> Schedule:
    """Polynomial decay from ``learning_rate`` to ``end_learning_rate``.

    ``(learning_rate - end) * (1 - s / D) ** power + end``. Without ``cycle``,
    ``s = min(step, decay_steps)`` and ``D = decay_steps``. With ``cycle``, ``s = step``
    and ``D = decay_steps * ceil(step / decay_steps)`` (``decay_steps`` at step 0): each
    later cycle is longer and starts below ``learning_rate`` (it does not restart there).

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: length of the decay (an int >= 1).
      end_learning_rate: final value (>= 0).
      power: exponent of the polynomial (>= 0).
      cycle: repeat the decay beyond ``decay_steps``.

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.polynomial_decay(0.1, decay_steps=10, end_learning_rate=0.0)
      >>> print(lr(0), lr(5), lr(50))
      0.1 0.05 0.0

    References:
      ``tf.compat.v1.train.polynomial_decay``; ``keras.optimizers.schedules.PolynomialDecay``.
    """

    def schedule(step: Any) -> Array:
        lr, end = _f32(learning_rate), _f32(end_learning_rate)
        s, d = as_step(step), _f32(decay_steps)
        if cycle:
            d = d * jnp.where(s == 0, 1.0, jnp.ceil(div(s, decay_steps)))
        else:
            s = jnp.minimum(s, d)
        return as_value((lr - end) * jnp.power(1.0 - div(s, d), _f32(power)) + end)

    return schedule


@validated
def cosine_decay(
    learning_rate: NonNegativeNumber, decay_steps: Steps, alpha: Fraction = 0.0
) -> Schedule:
    """Cosine decay: ``learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * s / D)) + alpha)``.

    ``s = min(step, decay_steps)`` and ``D = decay_steps``: after ``decay_steps`` the
    value stays at ``alpha * learning_rate``.

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: length of the decay (an int >= 1).
      alpha: final value as a fraction of ``learning_rate``, in [0, 1].

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.cosine_decay(0.1, decay_steps=100, alpha=0.1)
      >>> print(lr(0), lr(50), lr(500))
      0.1 0.054999996 0.010000001

    References:
      ``tf.compat.v1.train.cosine_decay``; ``keras.optimizers.schedules.CosineDecay``
      without warmup.
    """

    def schedule(step: Any) -> Array:
        d = _f32(decay_steps)
        fraction = div(jnp.minimum(as_step(step), d), d)
        cosine = 0.5 * (1.0 + jnp.cos(_f32(_PI) * fraction))
        # (1 - alpha) before the cast, as Keras computes it for a Python alpha.
        return as_value(_f32(learning_rate) * ((1 - alpha) * cosine + alpha))

    return schedule


@validated
def cosine_decay_restarts(
    learning_rate: NonNegativeNumber,
    first_decay_steps: Steps,
    t_mul: TMul = 2.0,
    m_mul: NonNegativeNumber = 1.0,
    alpha: Fraction = 0.0,
) -> Schedule:
    """Cosine decay with warm restarts (SGDR).

    With ``f = step / first_decay_steps``: if ``t_mul == 1``, ``i = floor(f)`` and
    ``f -= i``; otherwise ``i = floor(log(1 - f * (1 - t_mul)) / log(t_mul))`` and
    ``f = (f - (1 - t_mul**i) / (1 - t_mul)) / t_mul**i``. The value is
    ``learning_rate * ((1 - alpha) * 0.5 * m_mul**i * (1 + cos(pi * f)) + alpha)``
    (``alpha`` is not scaled by ``m_mul``). Restart ``i`` lasts
    ``first_decay_steps * t_mul**i`` steps and starts at ``m_mul**i`` times the peak.
    Like TF, ``i`` comes from float32 logs; both are taken at run time, so that at the
    first restart, where the two arguments are the same float32 number, their ratio is
    exactly 1.

    Args:
      learning_rate: initial value (>= 0).
      first_decay_steps: length of the first period (an int >= 1).
      t_mul: period growth factor (>= 1).
      m_mul: peak factor per restart (>= 0).
      alpha: floor as a fraction of ``learning_rate``, in [0, 1].

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.cosine_decay_restarts(0.1, 10, t_mul=2.0, m_mul=0.5)
      >>> print(lr(0), lr(10), lr(30))
      0.1 0.05 0.025

    References:
      Loshchilov & Hutter, "SGDR" (2017); ``tf.compat.v1.train.cosine_decay_restarts``;
      ``keras.optimizers.schedules.CosineDecayRestarts``.
    """

    def schedule(step: Any) -> Array:
        t, m, a = _f32(t_mul), _f32(m_mul), _f32(alpha)
        fraction = div(as_step(step), first_decay_steps)
        arithmetic = t == 1.0
        # Keep the unused branch finite so that gradients through jnp.where stay finite.
        t_geo = jnp.where(arithmetic, 2.0, t)
        # ``+ 0 * fraction`` keeps XLA from folding log(t_mul) into a constant, which
        # can land an ulp away from the run-time log and delay the first restart a step.
        log_t = jnp.log(t_geo + 0.0 * fraction)
        i_geo = jnp.floor(div(jnp.log(1.0 - fraction * (1.0 - t_geo)), log_t))
        sum_r = div(1.0 - jnp.power(t_geo, i_geo), 1.0 - t_geo)
        f_geo = (fraction - sum_r) / jnp.power(t_geo, i_geo)
        i_ari = jnp.floor(fraction)
        i = jnp.where(arithmetic, i_ari, i_geo)
        f = jnp.where(arithmetic, fraction - i_ari, f_geo)
        cosine = 0.5 * jnp.power(m, i) * (1.0 + jnp.cos(_f32(_PI) * f))
        return as_value(_f32(learning_rate) * ((1 - a) * cosine + a))

    return schedule


def _linear_cosine(
    step: Any, decay_steps: Any, num_periods: Any, noise: Any = 0.0
) -> tuple[Array, Array]:
    """``(linear + noise, cosine)`` terms shared by the two linear cosine decays."""
    d = _f32(decay_steps)
    s = jnp.minimum(as_step(step), d)
    linear = div(d - s, d) + noise
    cosine = 0.5 * (1.0 + jnp.cos(_f32(_PI) * (2.0 * _f32(num_periods) * div(s, d))))
    return linear, cosine


@validated
def linear_cosine_decay(
    learning_rate: NonNegativeNumber,
    decay_steps: Steps,
    num_periods: NonNegativeNumber = 0.5,
    alpha: NonNegativeNumber = 0.0,
    beta: NonNegativeNumber = 0.001,
) -> Schedule:
    """Linear cosine decay: ``learning_rate * ((alpha + lin) * cos + beta)``.

    ``s = min(step, decay_steps)``, ``lin = (decay_steps - s) / decay_steps`` and
    ``cos = 0.5 * (1 + cos(2 pi num_periods s / decay_steps))``.

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: length of the decay (an int >= 1).
      num_periods: cosine periods over the decay (>= 0).
      alpha, beta: offsets of the formula (>= 0).

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.linear_cosine_decay(1.0, decay_steps=100, beta=0.0)
      >>> print(lr(0), lr(50), lr(100))
      1.0 0.24999999 0.0

    References:
      Bello et al., "Neural Optimizer Search with Reinforcement Learning" (2017);
      ``tf.compat.v1.train.linear_cosine_decay``.
    """

    def schedule(step: Any) -> Array:
        linear, cosine = _linear_cosine(step, decay_steps, num_periods)
        value = (_f32(alpha) + linear) * cosine + _f32(beta)
        return as_value(_f32(learning_rate) * value)

    return schedule


@validated
def noisy_linear_cosine_decay(
    learning_rate: NonNegativeNumber,
    decay_steps: Steps,
    key: Array,
    initial_variance: NonNegativeNumber = 1.0,
    variance_decay: NonNegativeNumber = 0.55,
    num_periods: NonNegativeNumber = 0.5,
    alpha: NonNegativeNumber = 0.0,
    beta: NonNegativeNumber = 0.001,
) -> Schedule:
    """Linear cosine decay with Gaussian noise on the linear term.

    As :func:`linear_cosine_decay` with ``lin + eps``, ``eps ~ N(0, initial_variance /
    (1 + s) ** variance_decay)`` and ``s = min(step, decay_steps)``. The noise of a step
    is drawn from ``jax.random.fold_in(key, step)``: the same key and step always give
    the same value (TF draws unseeded noise on every call).

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: length of the decay (an int >= 1).
      key: a PRNG key (``jax.random.key`` or ``jax.random.PRNGKey``).
      initial_variance: noise variance at step 0 (>= 0).
      variance_decay: exponent of the variance decay (>= 0).
      num_periods: cosine periods over the decay (>= 0).
      alpha, beta: offsets of the formula (>= 0).

    Returns:
      A schedule ``step -> float32 value``, deterministic given ``key``.

    Example:
      >>> import jax, jaxsched
      >>> lr = jaxsched.noisy_linear_cosine_decay(0.1, 100, jax.random.key(0))
      >>> print(lr(7) == lr(7), lr(7) == lr(8))
      True False

    References:
      Bello et al., "Neural Optimizer Search with Reinforcement Learning" (2017);
      ``tf.compat.v1.train.noisy_linear_cosine_decay`` (in distribution).
    """
    if not isinstance(key, jax.Array):
        raise TypeError(f"key must be a jax PRNG key, got {type(key).__name__}")

    def schedule(step: Any) -> Array:
        s = jnp.minimum(as_step(step), _f32(decay_steps))
        variance = div(initial_variance, jnp.power(1.0 + s, _f32(variance_decay)))
        step_key = jax.random.fold_in(key, jnp.asarray(step).astype(jnp.uint32))
        noise = jnp.sqrt(variance) * jax.random.normal(step_key, (), jnp.float32)
        linear, cosine = _linear_cosine(step, decay_steps, num_periods, noise)
        value = (_f32(alpha) + linear) * cosine + _f32(beta)
        return as_value(_f32(learning_rate) * value)

    return schedule


__all__ = [
    "cosine_decay",
    "cosine_decay_restarts",
    "exponential_decay",
    "inverse_time_decay",
    "linear_cosine_decay",
    "natural_exp_decay",
    "noisy_linear_cosine_decay",
    "piecewise_constant",
    "polynomial_decay",
]
