"""The schedules of :mod:`jaxsched.keras.schedules`, under Keras 3's names.

They live here so that the public module holds nothing but the schedules.
"""

from __future__ import annotations

from .._base import Schedule
from .._validate import Count, Flag, Steps, validated
from ..schedules import (
    cosine_decay,
    cosine_decay_restarts,
    exponential_decay,
    inverse_time_decay,
    linear_warmup,
    piecewise_constant,
    polynomial_decay,
)
from ..schedules._common import (
    Boundaries,
    Fraction,
    NonNegativeNumber,
    OptionalNonNegativeNumber,
    Values,
)
from ..schedules._tf import TMul


@validated
def ExponentialDecay(
    initial_learning_rate: NonNegativeNumber,
    decay_steps: Steps,
    decay_rate: NonNegativeNumber,
    staircase: Flag = False,
    name: str | None = None,
) -> Schedule:
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (floored with staircase).

    Args:
      initial_learning_rate: value at step 0 (>= 0).
      decay_steps: steps per factor of ``decay_rate`` (an int >= 1).
      decay_rate: the factor (>= 0).
      staircase: decay at discrete intervals.
      name: unused.

    Returns:
      A schedule ``step -> float32 value``; see :func:`jaxsched.exponential_decay`.

    Example:
      >>> from jaxsched.keras import schedules
      >>> lr = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
      >>> print(lr(9), lr(10))
      0.1 0.05

    References:
      ``keras.optimizers.schedules.ExponentialDecay``.
    """
    return exponential_decay(initial_learning_rate, decay_steps, decay_rate, staircase)


@validated
def PiecewiseConstantDecay(
    boundaries: Boundaries, values: Values, name: str | None = None
) -> Schedule:
    """``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``.

    Args:
      boundaries: strictly increasing, non-negative steps.
      values: one more value than boundaries.
      name: unused.

    Returns:
      A schedule ``step -> float32 value``; see :func:`jaxsched.piecewise_constant`.

    Raises:
      ValueError: if ``len(values) != len(boundaries) + 1``.

    Example:
      >>> from jaxsched.keras import schedules
      >>> lr = schedules.PiecewiseConstantDecay([100], [0.1, 0.01])
      >>> print(lr(100), lr(101))
      0.1 0.01

    References:
      ``keras.optimizers.schedules.PiecewiseConstantDecay``.
    """
    return piecewise_constant(boundaries, values)


@validated
def PolynomialDecay(
    initial_learning_rate: NonNegativeNumber,
    decay_steps: Steps,
    end_learning_rate: NonNegativeNumber = 0.0001,
    power: NonNegativeNumber = 1.0,
    cycle: Flag = False,
    name: str | None = None,
) -> Schedule:
    """``(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end``.

    Args:
      initial_learning_rate: value at step 0 (>= 0).
      decay_steps: length of the decay (an int >= 1).
      end_learning_rate: final value (>= 0).
      power: exponent (>= 0).
      cycle: continue past ``decay_steps`` with ``decay_steps * ceil(step / decay_steps)``.
      name: unused.

    Returns:
      A schedule ``step -> float32 value``; see :func:`jaxsched.polynomial_decay`.

    Example:
      >>> from jaxsched.keras import schedules
      >>> lr = schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.0, power=2.0)
      >>> print(lr(5), lr(10))
      0.025 0.0

    References:
      ``keras.optimizers.schedules.PolynomialDecay``.
    """
    return polynomial_decay(initial_learning_rate, decay_steps, end_learning_rate, power, cycle)


@validated
def InverseTimeDecay(
    initial_learning_rate: NonNegativeNumber,
    decay_steps: Steps,
    decay_rate: NonNegativeNumber,
    staircase: Flag = False,
    name: str | None = None,
) -> Schedule:
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Args:
      initial_learning_rate: value at step 0 (>= 0).
      decay_steps: steps per unit of ``decay_rate`` (an int >= 1).
      decay_rate: the rate (>= 0).
      staircase: floor ``step / decay_steps``.
      name: unused.

    Returns:
      A schedule ``step -> float32 value``; see :func:`jaxsched.inverse_time_decay`.

    Example:
      >>> from jaxsched.keras import schedules
      >>> lr = schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=1.0)
      >>> print(lr(1), lr(3))
      0.05 0.025

    References:
      ``keras.optimizers.schedules.InverseTimeDecay``.
    """
    return inverse_time_decay(initial_learning_rate, decay_steps, decay_rate, staircase)


@validated
def CosineDecay(
    initial_learning_rate: NonNegativeNumber,
    decay_steps: Steps,
    alpha: Fraction = 0.0,
    name: str | None = None,
    warmup_target: OptionalNonNegativeNumber = None,
    warmup_steps: Count = 0,
) -> Schedule:
    """Cosine decay, optionally after a linear warmup.

    Without ``warmup_target``: ``cosine_decay(initial_learning_rate, decay_steps, alpha)``
    (``warmup_steps`` is ignored, as in Keras). With it: linear from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then
    ``cosine_decay(warmup_target, decay_steps, alpha)`` counted from the end of the warmup.
    The cosine is ``peak * ((1 - alpha) * 0.5 * (1 + cos(pi * min(t, decay_steps) /
    decay_steps)) + alpha)``.

    Args:
      initial_learning_rate: value at step 0 (>= 0).
      decay_steps: length of the cosine (an int >= 1).
      alpha: floor as a fraction of the peak, in [0, 1].
      name: unused.
      warmup_target: peak reached after the warmup (>= 0), or None for no warmup.
      warmup_steps: length of the warmup (an int >= 0).

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> from jaxsched.keras import schedules
      >>> lr = schedules.CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=10)
      >>> print(lr(5), lr(10), lr(60), lr(110))
      0.05 0.1 0.049999997 0.0

    References:
      Loshchilov & Hutter, "SGDR" (2017); ``keras.optimizers.schedules.CosineDecay``.
    """
    if warmup_target is None:
        return cosine_decay(initial_learning_rate, decay_steps, alpha)
    decay = cosine_decay(warmup_target, decay_steps, alpha)
    return linear_warmup(decay, warmup_steps, init_value=initial_learning_rate)


@validated
def CosineDecayRestarts(
    initial_learning_rate: NonNegativeNumber,
    first_decay_steps: Steps,
    t_mul: TMul = 2.0,
    m_mul: NonNegativeNumber = 1.0,
    alpha: Fraction = 0.0,
    name: str | None = None,
) -> Schedule:
    """Cosine decay with warm restarts (SGDR).

    Period ``i`` lasts ``first_decay_steps * t_mul**i`` steps and goes from
    ``m_mul**i * initial_learning_rate`` down to ``alpha * initial_learning_rate`` along
    ``(1 - alpha) * 0.5 * m_mul**i * (1 + cos(pi * f)) + alpha`` times the initial rate,
    ``f`` the fraction of the period done.

    Args:
      initial_learning_rate: value at step 0 (>= 0).
      first_decay_steps: length of the first period (an int >= 1).
      t_mul: period growth (>= 1).
      m_mul: peak factor per restart (>= 0).
      alpha: floor as a fraction of ``initial_learning_rate``, in [0, 1].
      name: unused.

    Returns:
      A schedule ``step -> float32 value``; see :func:`jaxsched.cosine_decay_restarts`.

    Example:
      >>> from jaxsched.keras import schedules
      >>> lr = schedules.CosineDecayRestarts(0.1, 10, t_mul=1.0, m_mul=0.5)
      >>> print(lr(10), lr(20))
      0.05 0.025

    References:
      Loshchilov & Hutter, "SGDR" (2017); ``keras.optimizers.schedules.CosineDecayRestarts``.
    """
    return cosine_decay_restarts(initial_learning_rate, first_decay_steps, t_mul, m_mul, alpha)
