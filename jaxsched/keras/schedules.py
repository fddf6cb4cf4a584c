"""``keras.optimizers.schedules`` as jaxsched schedules: Keras 3's class and argument names.

Each function returns a pure ``step -> value`` schedule with the numbers of the Keras
class (float32, same order of operations). Keras optimizers evaluate the schedule at the
0-based iteration count, so value ``k`` is the rate of the ``k``-th update, as in every
jaxsched schedule. ``name`` is accepted for compatibility and not used.

One deliberate difference: divisions by ``decay_steps`` are exact here, as in TensorFlow.
Keras on the JAX backend, inside ``jit`` or ``vmap``, lets XLA compute ``step /
decay_steps`` as ``step * (1 / decay_steps)``, which at some exact multiples is an ulp
short, so its staircase (or restart) switches one step late (for example
``ExponentialDecay(0.1, 41, 0.5, staircase=True)`` still gives 0.1 at step 41).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._base import Schedule, check_int
from ..schedules import (
    cosine_decay,
    cosine_decay_restarts,
    exponential_decay,
    inverse_time_decay,
    linear_warmup,
    piecewise_constant,
    polynomial_decay,
)
from ..schedules._common import check_number


def ExponentialDecay(
    initial_learning_rate: Any,
    decay_steps: Any,
    decay_rate: Any,
    staircase: bool = False,
    name: str | None = None,
) -> Schedule:
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (floored with staircase).

    Args:
      initial_learning_rate: value at step 0 (>= 0).
      decay_steps: steps per factor of ``decay_rate`` (> 0).
      decay_rate: the factor (>= 0).
      staircase: decay at discrete intervals.
      name: unused.

    See :func:`jaxsched.schedules.exponential_decay`. Matches
    ``keras.optimizers.schedules.ExponentialDecay``.
    """
    return exponential_decay(initial_learning_rate, decay_steps, decay_rate, staircase)


def PiecewiseConstantDecay(
    boundaries: Sequence[Any], values: Sequence[Any], name: str | None = None
) -> Schedule:
    """``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``.

    Args:
      boundaries: strictly increasing, non-negative steps.
      values: one more value than boundaries.
      name: unused.

    See :func:`jaxsched.schedules.piecewise_constant`. Matches
    ``keras.optimizers.schedules.PiecewiseConstantDecay``.
    """
    return piecewise_constant(boundaries, values)


def PolynomialDecay(
    initial_learning_rate: Any,
    decay_steps: Any,
    end_learning_rate: Any = 0.0001,
    power: Any = 1.0,
    cycle: bool = False,
    name: str | None = None,
) -> Schedule:
    """``(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end``.

    Args:
      initial_learning_rate: value at step 0 (>= 0).
      decay_steps: length of the decay (> 0).
      end_learning_rate: final value (>= 0).
      power: exponent (>= 0).
      cycle: continue past ``decay_steps`` with ``decay_steps * ceil(step / decay_steps)``.
      name: unused.

    See :func:`jaxsched.schedules.polynomial_decay`. Matches
    ``keras.optimizers.schedules.PolynomialDecay``.
    """
    return polynomial_decay(initial_learning_rate, decay_steps, end_learning_rate, power, cycle)


def InverseTimeDecay(
    initial_learning_rate: Any,
    decay_steps: Any,
    decay_rate: Any,
    staircase: bool = False,
    name: str | None = None,
) -> Schedule:
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Args:
      initial_learning_rate: value at step 0 (>= 0).
      decay_steps: steps per unit of ``decay_rate`` (> 0).
      decay_rate: the rate (>= 0).
      staircase: floor ``step / decay_steps``.
      name: unused.

    See :func:`jaxsched.schedules.inverse_time_decay`. Matches
    ``keras.optimizers.schedules.InverseTimeDecay``.
    """
    return inverse_time_decay(initial_learning_rate, decay_steps, decay_rate, staircase)


def CosineDecay(
    initial_learning_rate: Any,
    decay_steps: Any,
    alpha: Any = 0.0,
    name: str | None = None,
    warmup_target: Any = None,
    warmup_steps: int = 0,
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
      decay_steps: length of the cosine (> 0).
      alpha: floor as a fraction of the peak, in [0, 1].
      name: unused.
      warmup_target: peak reached after the warmup (>= 0), or None for no warmup.
      warmup_steps: length of the warmup (an int >= 0).

    Matches ``keras.optimizers.schedules.CosineDecay``.
    """
    if warmup_target is None:
        return cosine_decay(initial_learning_rate, decay_steps, alpha)
    check_number("initial_learning_rate", initial_learning_rate, low=0.0)
    check_number("warmup_target", warmup_target, low=0.0)
    warmup_steps = check_int("warmup_steps", warmup_steps, low=0)
    decay = cosine_decay(warmup_target, decay_steps, alpha)
    return linear_warmup(decay, warmup_steps, init_value=initial_learning_rate)


def CosineDecayRestarts(
    initial_learning_rate: Any,
    first_decay_steps: Any,
    t_mul: Any = 2.0,
    m_mul: Any = 1.0,
    alpha: Any = 0.0,
    name: str | None = None,
) -> Schedule:
    """Cosine decay with warm restarts (SGDR): period ``i`` lasts ``first_decay_steps *
    t_mul**i`` steps and peaks at ``m_mul**i * initial_learning_rate``.

    Args:
      initial_learning_rate: value at step 0 (>= 0).
      first_decay_steps: length of the first period (> 0).
      t_mul: period growth (>= 1).
      m_mul: peak factor per restart (>= 0).
      alpha: floor as a fraction of ``initial_learning_rate``, in [0, 1].
      name: unused.

    See :func:`jaxsched.schedules.cosine_decay_restarts`. Matches
    ``keras.optimizers.schedules.CosineDecayRestarts``.
    """
    return cosine_decay_restarts(initial_learning_rate, first_decay_steps, t_mul, m_mul, alpha)


__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
]
