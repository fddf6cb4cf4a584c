"""TensorFlow 1 decay functions (``tf.compat.v1.train.*_decay``) as pure schedules.

Each function takes TF's arguments in TF's order, minus ``global_step``: the step is what
the returned schedule takes. Arithmetic is float32 in the order TF and Keras 3 use, so
the values agree with ``keras.optimizers.schedules`` bit for bit where Keras has the
schedule. Numeric arguments may be traced (vmap over ``learning_rate`` or
``decay_rate``); step counts and flags must be concrete.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from .._base import Array, Schedule
from ._common import (
    as_step,
    as_value,
    check_bool,
    check_boundaries,
    check_number,
    div,
)

_PI = math.pi


def _f32(x: Any) -> Array:
    return jnp.asarray(x, dtype=jnp.float32)


def _progress(step: Any, decay_steps: Any, staircase: bool) -> Array:
    p = div(as_step(step), decay_steps)
    return jnp.floor(p) if staircase else p


def _check_decay_args(
    learning_rate: Any, decay_steps: Any, decay_rate: Any, staircase: Any
) -> bool:
    """The arguments the exponential, natural-exponential and inverse-time decays share."""
    check_number("learning_rate", learning_rate, low=0.0)
    check_number("decay_steps", decay_steps, low=0.0, low_open=True)
    check_number("decay_rate", decay_rate, low=0.0)
    return check_bool("staircase", staircase)


def exponential_decay(
    learning_rate: Any, decay_steps: Any, decay_rate: Any, staircase: bool = False
) -> Schedule:
    """Exponential decay: ``learning_rate * decay_rate ** (step / decay_steps)``.

    With ``staircase=True`` the exponent is ``floor(step / decay_steps)``. There is no
    clamp: the value keeps decaying.

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: steps per factor of ``decay_rate`` (> 0).
      decay_rate: the factor (>= 0).
      staircase: decay at discrete intervals.

    Matches ``tf.compat.v1.train.exponential_decay`` and
    ``keras.optimizers.schedules.ExponentialDecay``.
    """
    staircase = _check_decay_args(learning_rate, decay_steps, decay_rate, staircase)

    def schedule(step: Any) -> Array:
        p = _progress(step, decay_steps, staircase)
        return as_value(_f32(learning_rate) * jnp.power(_f32(decay_rate), p))

    return schedule


def natural_exp_decay(
    learning_rate: Any, decay_steps: Any, decay_rate: Any, staircase: bool = False
) -> Schedule:
    """Natural exponential decay: ``learning_rate * exp(-decay_rate * step / decay_steps)``.

    With ``staircase=True`` the exponent uses ``floor(step / decay_steps)``.

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: steps per unit of ``decay_rate`` (> 0).
      decay_rate: rate in the exponent (>= 0).
      staircase: decay at discrete intervals.

    Matches ``tf.compat.v1.train.natural_exp_decay`` (TF rounds ``exp(-decay_rate)`` to
    float32 and raises it to the power; the single ``exp`` here is the more accurate form
    of the same formula).
    """
    staircase = _check_decay_args(learning_rate, decay_steps, decay_rate, staircase)

    def schedule(step: Any) -> Array:
        p = _progress(step, decay_steps, staircase)
        return as_value(_f32(learning_rate) * jnp.exp(-_f32(decay_rate) * p))

    return schedule


def inverse_time_decay(
    learning_rate: Any, decay_steps: Any, decay_rate: Any, staircase: bool = False
) -> Schedule:
    """Inverse time decay: ``learning_rate / (1 + decay_rate * step / decay_steps)``.

    With ``staircase=True`` the ratio is ``floor(step / decay_steps)``.

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: steps per unit of ``decay_rate`` (> 0).
      decay_rate: the rate (>= 0).
      staircase: decay at discrete intervals.

    Matches ``tf.compat.v1.train.inverse_time_decay`` and
    ``keras.optimizers.schedules.InverseTimeDecay``.
    """
    staircase = _check_decay_args(learning_rate, decay_steps, decay_rate, staircase)

    def schedule(step: Any) -> Array:
        p = _progress(step, decay_steps, staircase)
        return as_value(div(learning_rate, 1.0 + _f32(decay_rate) * p))

    return schedule


def piecewise_constant(boundaries: Sequence[Any], values: Sequence[Any]) -> Schedule:
    """Piecewise constant: ``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``.

    ``values[0]`` while ``step <= boundaries[0]`` and ``values[-1]`` once
    ``step > boundaries[-1]``: a new value starts at ``boundary + 1`` (``optax.
    piecewise_constant_schedule`` switches one step earlier, at the boundary).

    Args:
      boundaries: strictly increasing, non-negative steps.
      values: one more value than boundaries (numbers or jax scalars).

    Matches ``tf.compat.v1.train.piecewise_constant`` and
    ``keras.optimizers.schedules.PiecewiseConstantDecay``.
    """
    bounds = check_boundaries("boundaries", boundaries)
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"values must be a sequence of numbers, got {type(values).__name__}")
    if len(values) != len(bounds) + 1:
        raise ValueError(
            f"values must have len(boundaries) + 1 = {len(bounds) + 1} entries, got {len(values)}"
        )
    for i, v in enumerate(values):
        check_number(f"values[{i}]", v)
    bounds_arr = jnp.asarray(bounds, dtype=jnp.float32)

    def schedule(step: Any) -> Array:
        index = jnp.sum(as_step(step)[..., None] > bounds_arr, axis=-1)
        return as_value(jnp.stack([_f32(v) for v in values])[index])

    return schedule


def polynomial_decay(
    learning_rate: Any,
    decay_steps: Any,
    end_learning_rate: Any = 0.0001,
    power: Any = 1.0,
    cycle: bool = False,
) -> Schedule:
    """Polynomial decay from ``learning_rate`` to ``end_learning_rate``.

    ``(learning_rate - end) * (1 - s / D) ** power + end``. Without ``cycle``,
    ``s = min(step, decay_steps)`` and ``D = decay_steps``. With ``cycle``, ``s = step``
    and ``D = decay_steps * ceil(step / decay_steps)`` (``decay_steps`` at step 0): each
    later cycle is longer and starts below ``learning_rate`` (it does not restart there).

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: length of the decay (> 0).
      end_learning_rate: final value (>= 0).
      power: exponent of the polynomial (>= 0).
      cycle: repeat the decay beyond ``decay_steps``.

    Matches ``tf.compat.v1.train.polynomial_decay`` and
    ``keras.optimizers.schedules.PolynomialDecay``.
    """
    check_number("learning_rate", learning_rate, low=0.0)
    check_number("decay_steps", decay_steps, low=0.0, low_open=True)
    check_number("end_learning_rate", end_learning_rate, low=0.0)
    check_number("power", power, low=0.0)
    cycle = check_bool("cycle", cycle)

    def schedule(step: Any) -> Array:
        lr, end = _f32(learning_rate), _f32(end_learning_rate)
        s, d = as_step(step), _f32(decay_steps)
        if cycle:
            d = d * jnp.where(s == 0, 1.0, jnp.ceil(div(s, decay_steps)))
        else:
            s = jnp.minimum(s, d)
        return as_value((lr - end) * jnp.power(1.0 - div(s, d), _f32(power)) + end)

    return schedule


def cosine_decay(learning_rate: Any, decay_steps: Any, alpha: Any = 0.0) -> Schedule:
    """Cosine decay: ``learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * s / D)) + alpha)``.

    ``s = min(step, decay_steps)``: after ``decay_steps`` the value stays at
    ``alpha * learning_rate``.

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: length of the decay (> 0).
      alpha: final value as a fraction of ``learning_rate``, in [0, 1].

    Matches ``tf.compat.v1.train.cosine_decay`` and ``keras.optimizers.schedules.CosineDecay``
    without warmup.
    """
    check_number("learning_rate", learning_rate, low=0.0)
    check_number("decay_steps", decay_steps, low=0.0, low_open=True)
    check_number("alpha", alpha, low=0.0, high=1.0)

    def schedule(step: Any) -> Array:
        d = _f32(decay_steps)
        fraction = div(jnp.minimum(as_step(step), d), d)
        cosine = 0.5 * (1.0 + jnp.cos(_f32(_PI) * fraction))
        # (1 - alpha) before the cast, as Keras computes it for a Python alpha.
        return as_value(_f32(learning_rate) * ((1 - alpha) * cosine + alpha))

    return schedule


def cosine_decay_restarts(
    learning_rate: Any,
    first_decay_steps: Any,
    t_mul: Any = 2.0,
    m_mul: Any = 1.0,
    alpha: Any = 0.0,
) -> Schedule:
    """Cosine decay with warm restarts (SGDR).

    With ``f = step / first_decay_steps``: if ``t_mul == 1``, ``i = floor(f)`` and
    ``f -= i``; otherwise ``i = floor(log(1 - f * (1 - t_mul)) / log(t_mul))`` and
    ``f = (f - (1 - t_mul**i) / (1 - t_mul)) / t_mul**i``. The value is
    ``learning_rate * ((1 - alpha) * 0.5 * m_mul**i * (1 + cos(pi * f)) + alpha)``
    (``alpha`` is not scaled by ``m_mul``). Restart ``i`` lasts
    ``first_decay_steps * t_mul**i`` steps and starts at ``m_mul**i`` times the peak.
    Like TF, ``i`` comes from a float32 log, so a restart can fall one step late when
    the log rounds down at the boundary.

    Args:
      learning_rate: initial value (>= 0).
      first_decay_steps: length of the first period (> 0).
      t_mul: period growth factor (>= 1).
      m_mul: peak factor per restart (>= 0).
      alpha: floor as a fraction of ``learning_rate``, in [0, 1].

    Matches ``tf.compat.v1.train.cosine_decay_restarts`` and
    ``keras.optimizers.schedules.CosineDecayRestarts``.
    """
    check_number("learning_rate", learning_rate, low=0.0)
    check_number("first_decay_steps", first_decay_steps, low=0.0, low_open=True)
    check_number("t_mul", t_mul, low=1.0)
    check_number("m_mul", m_mul, low=0.0)
    check_number("alpha", alpha, low=0.0, high=1.0)

    def schedule(step: Any) -> Array:
        t, m, a = _f32(t_mul), _f32(m_mul), _f32(alpha)
        fraction = div(as_step(step), first_decay_steps)
        arithmetic = t == 1.0
        # Keep the unused branch finite so that gradients through jnp.where stay finite.
        t_geo = jnp.where(arithmetic, 2.0, t)
        i_geo = jnp.floor(div(jnp.log(1.0 - fraction * (1.0 - t_geo)), jnp.log(t_geo)))
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


def linear_cosine_decay(
    learning_rate: Any,
    decay_steps: Any,
    num_periods: Any = 0.5,
    alpha: Any = 0.0,
    beta: Any = 0.001,
) -> Schedule:
    """Linear cosine decay: ``learning_rate * ((alpha + lin) * cos + beta)``.

    ``s = min(step, decay_steps)``, ``lin = (decay_steps - s) / decay_steps`` and
    ``cos = 0.5 * (1 + cos(2 pi num_periods s / decay_steps))``.

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: length of the decay (> 0).
      num_periods: cosine periods over the decay (>= 0).
      alpha, beta: offsets of the formula (>= 0).

    Matches ``tf.compat.v1.train.linear_cosine_decay``.
    """
    check_number("learning_rate", learning_rate, low=0.0)
    check_number("decay_steps", decay_steps, low=0.0, low_open=True)
    check_number("num_periods", num_periods, low=0.0)
    check_number("alpha", alpha, low=0.0)
    check_number("beta", beta, low=0.0)

    def schedule(step: Any) -> Array:
        linear, cosine = _linear_cosine(step, decay_steps, num_periods)
        value = (_f32(alpha) + linear) * cosine + _f32(beta)
        return as_value(_f32(learning_rate) * value)

    return schedule


def noisy_linear_cosine_decay(
    learning_rate: Any,
    decay_steps: Any,
    key: Array,
    initial_variance: Any = 1.0,
    variance_decay: Any = 0.55,
    num_periods: Any = 0.5,
    alpha: Any = 0.0,
    beta: Any = 0.001,
) -> Schedule:
    """Linear cosine decay with Gaussian noise on the linear term.

    As :func:`linear_cosine_decay` with ``lin + eps``, ``eps ~ N(0, initial_variance /
    (1 + s) ** variance_decay)`` and ``s = min(step, decay_steps)``. The noise of a step
    is drawn from ``jax.random.fold_in(key, step)``: the same key and step always give
    the same value (TF draws unseeded noise on every call).

    Args:
      learning_rate: initial value (>= 0).
      decay_steps: length of the decay (> 0).
      key: a PRNG key (``jax.random.key`` or ``jax.random.PRNGKey``).
      initial_variance: noise variance at step 0 (>= 0).
      variance_decay: exponent of the variance decay (>= 0).
      num_periods: cosine periods over the decay (>= 0).
      alpha, beta: offsets of the formula (>= 0).

    Matches ``tf.compat.v1.train.noisy_linear_cosine_decay`` in distribution.
    """
    check_number("learning_rate", learning_rate, low=0.0)
    check_number("decay_steps", decay_steps, low=0.0, low_open=True)
    if not isinstance(key, jax.Array):
        raise TypeError(f"key must be a jax PRNG key, got {type(key).__name__}")
    check_number("initial_variance", initial_variance, low=0.0)
    check_number("variance_decay", variance_decay, low=0.0)
    check_number("num_periods", num_periods, low=0.0)
    check_number("alpha", alpha, low=0.0)
    check_number("beta", beta, low=0.0)

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
