"""The ``get_*_schedule*`` functions of ``transformers.optimization`` as jaxsched schedules.

HF returns a torch ``LambdaLR`` that multiplies the optimizer's learning rate; here the
learning rate is the first argument and the schedule returns the product: value ``k`` is
the rate after ``k`` calls of ``scheduler.step()``, i.e. the rate of update ``k``
(0-based). ``last_epoch`` is not taken: a run resumes from its saved optimizer state,
whose step count the schedule reads.
"""

from __future__ import annotations

import math
import warnings
from typing import Annotated, Any

import jax.numpy as jnp
import numpy as np

from .._base import Array, Schedule
from .._validate import Count, Real, validated
from ..schedules._combine import constant, join, linear_warmup
from ..schedules._common import (
    Fraction,
    NonNegativeNumber,
    OptionalCount,
    OptionalNonNegativeNumber,
    OptionalSteps,
    PositiveNumber,
    as_step,
    as_value,
    concrete,
    div,
)
from ..schedules._hf import Shape, inverse_sqrt, warmup_cosine, warmup_stable_decay
from ..schedules._tf import polynomial_decay

# The restarts are placed when the schedule is built, so their number must be known then.
Cycles = Annotated[float, Real(low=0.0, schedule=False, concrete=True)]


@validated
def get_constant_schedule(lr: NonNegativeNumber) -> Schedule:
    """``lr`` at every step.

    Args:
      lr: the learning rate, >= 0.

    Returns:
      A schedule ``step -> float32 learning rate``.

    Example:
      >>> from jaxsched import hf
      >>> print(hf.get_constant_schedule(0.1)(500))
      0.1

    References:
      ``transformers.get_constant_schedule``.
    """
    return constant(lr)


@validated
def get_constant_schedule_with_warmup(lr: NonNegativeNumber, num_warmup_steps: Count) -> Schedule:
    """``lr * step / num_warmup_steps`` during the warmup, then ``lr``.

    Args:
      lr: the learning rate, >= 0.
      num_warmup_steps: length of the warmup, an int >= 0.

    Returns:
      A schedule ``step -> float32 learning rate``: :func:`jaxsched.linear_warmup`.

    Example:
      >>> from jaxsched import hf
      >>> lr = hf.get_constant_schedule_with_warmup(0.1, 10)
      >>> print(lr(5), lr(10))
      0.05 0.1

    References:
      ``transformers.get_constant_schedule_with_warmup``.
    """
    return linear_warmup(lr, num_warmup_steps)


def _then(warmup: Schedule, after: float, num_warmup_steps: int) -> Schedule:
    """The warmup up to ``lr``, then the constant ``after``: HF's schedules when the
    training ends before the warmup does."""
    return join([warmup, after], [num_warmup_steps])


@validated
def get_linear_schedule_with_warmup(
    lr: NonNegativeNumber, num_warmup_steps: Count, num_training_steps: Count
) -> Schedule:
    """Linear warmup from 0 to ``lr``, then linear decay to 0 at ``num_training_steps``.

    After the warmup: ``lr * max(0, (num_training_steps - step) / max(1,
    num_training_steps - num_warmup_steps))``.

    Args:
      lr: the peak learning rate, >= 0.
      num_warmup_steps: length of the warmup, an int >= 0.
      num_training_steps: the step where the rate reaches 0, an int >= 0.

    Returns:
      A schedule ``step -> float32 learning rate``:
      ``linear_warmup(polynomial_decay(lr, total - warmup, 0), warmup)``.

    Example:
      >>> from jaxsched import hf
      >>> lr = hf.get_linear_schedule_with_warmup(0.1, 10, 110)
      >>> print(lr(5), lr(10), lr(60), lr(200))
      0.05 0.1 0.05 0.0

    References:
      ``transformers.get_linear_schedule_with_warmup``.
    """
    span = num_training_steps - num_warmup_steps
    if span <= 0:
        return _then(linear_warmup(lr, num_warmup_steps), 0.0, num_warmup_steps)
    return linear_warmup(polynomial_decay(lr, span, 0.0), num_warmup_steps)


@validated
def get_cosine_schedule_with_warmup(
    lr: NonNegativeNumber,
    num_warmup_steps: Count,
    num_training_steps: Count,
    num_cycles: NonNegativeNumber = 0.5,
) -> Schedule:
    """Linear warmup from 0 to ``lr``, then ``lr * 0.5 * (1 + cos(2 pi num_cycles p))``.

    ``p = (step - num_warmup_steps) / max(1, num_training_steps - num_warmup_steps)``,
    not clamped (with ``num_cycles=0.5`` the rate rises again after
    ``num_training_steps``, as in HF).

    Args:
      lr: the peak learning rate, >= 0.
      num_warmup_steps: length of the warmup, an int >= 0.
      num_training_steps: an int >= 0.
      num_cycles: cosine waves over the decay, >= 0.

    Returns:
      A schedule ``step -> float32 learning rate``: :func:`jaxsched.warmup_cosine`.

    Example:
      >>> from jaxsched import hf
      >>> lr = hf.get_cosine_schedule_with_warmup(0.1, 10, 110)
      >>> print(lr(5), lr(10), lr(60), lr(110))
      0.05 0.1 0.049999997 0.0

    References:
      ``transformers.get_cosine_schedule_with_warmup``.
    """
    total = max(num_training_steps, num_warmup_steps)
    return warmup_cosine(lr, num_warmup_steps, total, 0.0, num_cycles)


def _hard_restart_factor(t: int, span: int, cycles: float) -> float:
    """HF's factor ``t`` steps after the warmup, in HF's float64 arithmetic."""
    progress = float(t) / float(span)
    if progress >= 1.0:
        return 0.0
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(cycles) * progress) % 1.0))))


@validated
def get_cosine_with_hard_restarts_schedule_with_warmup(
    lr: NonNegativeNumber,
    num_warmup_steps: Count,
    num_training_steps: Count,
    num_cycles: Cycles = 1,
) -> Schedule:
    """Linear warmup, then ``num_cycles`` cosine decays from ``lr`` to 0, then 0.

    After the warmup, with ``p`` as in :func:`get_cosine_schedule_with_warmup`:
    ``lr * 0.5 * (1 + cos(pi * ((num_cycles * p) mod 1)))`` for ``p < 1``, else 0.
    At the steps beside each restart the value is HF's, computed in float64 when the
    schedule is built: HF's ``(num_cycles * p) mod 1`` sometimes lands just below 1 at
    an exact restart (e.g. 22 cycles over 22 steps, at step 15), where float32 would
    restart.

    Args:
      lr: the peak learning rate, >= 0.
      num_warmup_steps: length of the warmup, an int >= 0.
      num_training_steps: an int >= 0.
      num_cycles: the number of cosine decays (restarts + 1), >= 0 (may be fractional).

    Returns:
      A schedule ``step -> float32 learning rate``.

    Example:
      >>> from jaxsched import hf
      >>> lr = hf.get_cosine_with_hard_restarts_schedule_with_warmup(0.1, 0, 100, 2)
      >>> print(lr(0), lr(49) < 1e-3, lr(50), lr(100))  # restarts at 50, ends at 100
      0.1 True 0.1 0.0

    References:
      ``transformers.get_cosine_with_hard_restarts_schedule_with_warmup``.
    """
    w = num_warmup_steps
    span = max(1, num_training_steps - w)
    if math.ceil(num_cycles) > span:
        table = list(range(span))  # a restart beside nearly every step
    else:
        near = set()
        for k in range(1, math.ceil(num_cycles)):
            x = k * span / num_cycles
            near.update((math.floor(x), math.ceil(x)))
        table = sorted(t for t in near if t < span)
    steps = np.asarray(table, np.float32)
    values = np.asarray([_hard_restart_factor(t, span, num_cycles) for t in table], np.float32)

    def schedule(step: Any) -> Array:
        s = as_step(step)
        t = jnp.maximum(s - w, 0.0)
        frac = div(jnp.mod(num_cycles * t, span), span)
        factor = 0.5 * (1.0 + jnp.cos(math.pi * frac))
        if len(table):
            i = jnp.clip(jnp.searchsorted(steps, t), 0, len(table) - 1)
            factor = jnp.where(steps[i] == t, values[i], factor)
        factor = jnp.where(t >= span, 0.0, factor)
        return as_value(lr * jnp.where(s < w, div(s, max(1, w)), factor))

    return schedule


@validated
def get_polynomial_decay_schedule_with_warmup(
    lr: NonNegativeNumber,
    num_warmup_steps: Count,
    num_training_steps: Count,
    lr_end: NonNegativeNumber = 1e-7,
    power: PositiveNumber = 1.0,
) -> Schedule:
    """Linear warmup, then polynomial decay from ``lr`` to ``lr_end``, then ``lr_end``.

    After the warmup: ``(lr - lr_end) * (1 - (step - w) / (total - w)) ** power +
    lr_end`` up to ``num_training_steps``, ``lr_end`` afterwards.

    Args:
      lr: the peak learning rate, > ``lr_end``.
      num_warmup_steps: length of the warmup, an int >= 0.
      num_training_steps: where the decay ends, an int >= 0 other than
        ``num_warmup_steps`` (HF divides by their difference).
      lr_end: the final learning rate, >= 0.
      power: > 0 (HF's power 0 would jump to ``lr_end`` after the decay).

    Returns:
      A schedule ``step -> float32 learning rate``:
      ``linear_warmup(polynomial_decay(lr, total - w, lr_end, power), w)``.

    Raises:
      ValueError: if ``lr_end >= lr`` (as HF) or ``num_training_steps ==
        num_warmup_steps``.

    Example:
      >>> from jaxsched import hf
      >>> lr = hf.get_polynomial_decay_schedule_with_warmup(0.1, 0, 100, 0.0, power=2.0)
      >>> print(lr(0), lr(50), lr(100))
      0.1 0.025 0.0

    References:
      ``transformers.get_polynomial_decay_schedule_with_warmup``.
    """
    if concrete(lr, lr_end) and not lr > lr_end:
        raise ValueError(f"lr_end ({lr_end}) must be smaller than lr ({lr}), as in transformers")
    span = num_training_steps - num_warmup_steps
    if span == 0:
        raise ValueError(
            "num_training_steps must differ from num_warmup_steps: HF divides by their "
            f"difference, got {num_training_steps} for both"
        )
    if span < 0:
        return _then(linear_warmup(lr, num_warmup_steps), lr_end, num_warmup_steps)
    return linear_warmup(polynomial_decay(lr, span, lr_end, power), num_warmup_steps)


@validated
def get_inverse_sqrt_schedule(
    lr: NonNegativeNumber, num_warmup_steps: Count, timescale: OptionalSteps = None
) -> Schedule:
    """Linear warmup, then ``lr / sqrt((step - num_warmup_steps + timescale) / timescale)``.

    Args:
      lr: the peak learning rate, >= 0.
      num_warmup_steps: length of the warmup, an int >= 0.
      timescale: an int >= 1; default ``num_warmup_steps``, or 10000 without warmup.

    Returns:
      A schedule ``step -> float32 learning rate``: :func:`jaxsched.inverse_sqrt`.

    Example:
      >>> from jaxsched import hf
      >>> lr = hf.get_inverse_sqrt_schedule(0.1, 100)
      >>> print(lr(50), lr(100), lr(400))
      0.05 0.1 0.05

    References:
      ``transformers.get_inverse_sqrt_schedule``.
    """
    return inverse_sqrt(lr, num_warmup_steps, timescale)


def _min_value(lr: Any, min_lr: Any, min_lr_rate: Any) -> Any:
    if min_lr is not None and min_lr_rate is not None:
        raise ValueError("give only one of min_lr and min_lr_rate, as in transformers")
    if min_lr is None and min_lr_rate is None:
        raise ValueError("give one of min_lr and min_lr_rate, as in transformers")
    return min_lr if min_lr is not None else lr * min_lr_rate


@validated
def get_cosine_with_min_lr_schedule_with_warmup(
    lr: NonNegativeNumber,
    num_warmup_steps: Count,
    num_training_steps: Count,
    num_cycles: NonNegativeNumber = 0.5,
    min_lr: OptionalNonNegativeNumber = None,
    min_lr_rate: OptionalNonNegativeNumber = None,
) -> Schedule:
    """:func:`get_cosine_schedule_with_warmup` between ``lr`` and a floor.

    After the warmup: ``min + (lr - min) * 0.5 * (1 + cos(2 pi num_cycles p))`` with
    ``min = min_lr`` or ``lr * min_lr_rate``.

    Args:
      lr: the peak learning rate, >= 0.
      num_warmup_steps, num_training_steps, num_cycles: as in
        :func:`get_cosine_schedule_with_warmup`.
      min_lr: the floor, >= 0; or
      min_lr_rate: the floor as a fraction of ``lr``, >= 0.

    Returns:
      A schedule ``step -> float32 learning rate``: :func:`jaxsched.warmup_cosine`
      with ``min_value``.

    Raises:
      ValueError: unless exactly one of ``min_lr`` and ``min_lr_rate`` is given.

    Example:
      >>> from jaxsched import hf
      >>> lr = hf.get_cosine_with_min_lr_schedule_with_warmup(0.1, 0, 100, min_lr_rate=0.1)
      >>> print(lr(0), lr(100))
      0.1 0.01

    References:
      ``transformers.get_cosine_with_min_lr_schedule_with_warmup``.
    """
    floor = _min_value(lr, min_lr, min_lr_rate)
    total = max(num_training_steps, num_warmup_steps)
    return warmup_cosine(lr, num_warmup_steps, total, floor, num_cycles)


@validated
def get_cosine_with_min_lr_schedule_with_warmup_lr_rate(
    lr: NonNegativeNumber,
    num_warmup_steps: Count,
    num_training_steps: Count,
    num_cycles: NonNegativeNumber = 0.5,
    min_lr: OptionalNonNegativeNumber = None,
    min_lr_rate: OptionalNonNegativeNumber = None,
    warmup_lr_rate: OptionalNonNegativeNumber = None,
) -> Schedule:
    """:func:`get_cosine_with_min_lr_schedule_with_warmup` one step ahead, with its own warmup.

    Step ``k`` takes the value of step ``k + 1`` of
    :func:`get_cosine_with_min_lr_schedule_with_warmup` (the warmup reaches ``lr`` at its
    last step and the cosine starts one step in). With ``warmup_lr_rate`` the warmup is
    ``lr * (r + (1 - r) * step / max(1, num_warmup_steps - 1))`` instead.

    Args:
      lr, num_warmup_steps, num_training_steps, num_cycles, min_lr, min_lr_rate: as in
        :func:`get_cosine_with_min_lr_schedule_with_warmup`.
      warmup_lr_rate: the warmup's start as a fraction of ``lr``, >= 0, or None.

    Returns:
      A schedule ``step -> float32 learning rate``.

    Raises:
      ValueError: unless exactly one of ``min_lr`` and ``min_lr_rate`` is given.

    Example:
      >>> from jaxsched import hf
      >>> f = hf.get_cosine_with_min_lr_schedule_with_warmup_lr_rate
      >>> lr = f(0.1, 4, 104, min_lr=0.0)
      >>> print(lr(0), lr(3), lr(103))
      0.025 0.1 0.0

    References:
      ``transformers.get_cosine_with_min_lr_schedule_with_warmup_lr_rate``.
    """
    floor = _min_value(lr, min_lr, min_lr_rate)
    w = num_warmup_steps
    ahead = warmup_cosine(lr, w, max(num_training_steps, w), floor, num_cycles)

    def schedule(step: Any) -> Array:
        s = as_step(step)
        value = ahead(s + 1.0)
        if warmup_lr_rate is None:
            return value
        r = warmup_lr_rate
        warm = lr * (r + (1.0 - r) * div(s, max(1, w - 1)))
        return as_value(jnp.where(s < w, warm, value))

    return schedule


@validated
def get_wsd_schedule(
    lr: NonNegativeNumber,
    num_warmup_steps: Count,
    num_decay_steps: Count,
    num_training_steps: OptionalCount = None,
    num_stable_steps: OptionalCount = None,
    warmup_type: Shape = "linear",
    decay_type: Shape = "cosine",
    min_lr_ratio: Fraction = 0.0,
    num_cycles: NonNegativeNumber = 0.5,
) -> Schedule:
    """Warmup, a stable phase at ``lr``, then a decay to ``lr * min_lr_ratio``.

    Args:
      lr: the peak learning rate, >= 0.
      num_warmup_steps, num_decay_steps: phase lengths, ints >= 0.
      num_training_steps: total length (the stable phase is the rest), an int >= 0.
      num_stable_steps: the stable phase, an int >= 0; used when both are given (HF
        warns, and so does this).
      warmup_type, decay_type: ``"linear"``, ``"cosine"`` or ``"1-sqrt"``.
      min_lr_ratio: the floor as a fraction of ``lr``, in [0, 1].
      num_cycles: cosine waves over the decay, >= 0.

    Returns:
      A schedule ``step -> float32 learning rate``: :func:`jaxsched.warmup_stable_decay`.

    Raises:
      ValueError: if neither length is given, or if ``num_training_steps`` is shorter
        than the warmup and decay (HF would run a negative stable phase).

    Example:
      >>> from jaxsched import hf
      >>> lr = hf.get_wsd_schedule(0.1, 10, 20, num_training_steps=100, decay_type="linear")
      >>> print(lr(5), lr(50), lr(90), lr(200))
      0.05 0.1 0.05 0.0

    References:
      Hu et al., "MiniCPM" (2024); ``transformers.get_wsd_schedule``.
    """
    if num_training_steps is None and num_stable_steps is None:
        raise ValueError("give num_training_steps or num_stable_steps, as in transformers")
    if num_stable_steps is None and num_training_steps < num_warmup_steps + num_decay_steps:
        raise ValueError(
            "num_training_steps must be an integer >= num_warmup_steps + num_decay_steps = "
            f"{num_warmup_steps + num_decay_steps}, got {num_training_steps}"
        )
    if num_training_steps is not None and num_stable_steps is not None:
        warnings.warn(
            "Both num_training_steps and num_stable_steps are given; num_stable_steps is used",
            stacklevel=2,
        )
        num_training_steps = None
    return warmup_stable_decay(
        lr,
        num_warmup_steps,
        num_decay_steps,
        num_training_steps,
        num_stable_steps,
        warmup_type,
        decay_type,
        min_lr_ratio,
        num_cycles,
    )
