"""Building schedules out of schedules: constants, warmup, and sequences."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from .._base import Array, Schedule
from .._validate import Count, validated
from ._common import Boundaries, Number, Pieces, ScheduleOrNumber, as_step, as_value, div


@validated
def constant(value: Number) -> Schedule:
    """A constant schedule: ``value`` at every step.

    Args:
      value: the value (a number or a jax scalar).

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> print(jaxsched.constant(0.25)(1000))
      0.25

    References:
      ``torch.optim.lr_scheduler.LambdaLR`` with ``lambda k: 1``; HF
      ``get_constant_schedule``; ``optax.constant_schedule``.
    """

    def schedule(step: Any) -> Array:
        return as_value(jnp.broadcast_to(value, jnp.shape(as_step(step))))

    return schedule


def _as_schedule(schedule_or_value: Any) -> Schedule:
    """A schedule as is; a (checked) number becomes a constant schedule."""
    return schedule_or_value if callable(schedule_or_value) else constant(schedule_or_value)


@validated
def linear_warmup(
    schedule_or_value: ScheduleOrNumber, warmup_steps: Count, init_value: Number = 0.0
) -> Schedule:
    """Linear warmup in front of a schedule; the schedule sees shifted steps.

    For ``step < warmup_steps``: ``init_value + (peak - init_value) * step / warmup_steps``
    with ``peak = schedule(0)`` (or the value); afterwards ``schedule(step -
    warmup_steps)``. So the wrapped schedule starts from its own step 0 when the warmup
    ends, as in Hugging Face (``lr * step / max(1, warmup)`` then the decay measured from
    the end of the warmup) and Keras ``CosineDecay(warmup_target=...)``.
    ``warmup_steps=0`` means no warmup.

    Args:
      schedule_or_value: the schedule to warm up into, or a constant value.
      warmup_steps: length of the warmup (an int >= 0).
      init_value: value at step 0 (a number or a jax scalar).

    Returns:
      A schedule ``step -> float32 value``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.linear_warmup(jaxsched.exponential_decay(0.1, 10, 0.5), 10)
      >>> print(lr(0), lr(5), lr(10), lr(20))
      0.0 0.05 0.1 0.05

    References:
      HF ``get_constant_schedule_with_warmup`` (with a constant) and the warmup of every
      HF ``get_*_schedule_with_warmup``; ``keras.optimizers.schedules.CosineDecay``'s warmup.
    """
    inner = _as_schedule(schedule_or_value)

    def schedule(step: Any) -> Array:
        s = as_step(step)
        after = inner(jnp.maximum(s - warmup_steps, 0.0))
        if warmup_steps == 0:
            return as_value(after)
        peak = inner(jnp.zeros_like(s))
        warm = init_value + (peak - init_value) * div(s, warmup_steps)
        return as_value(jnp.where(s < warmup_steps, warm, after))

    return schedule


@validated
def join(schedules: Pieces, boundaries: Boundaries) -> Schedule:
    """One schedule after another; each restarts from its own step 0 at its boundary.

    ``schedules[0](step)`` for ``step < boundaries[0]``, then
    ``schedules[i](step - boundaries[i-1])`` for ``boundaries[i-1] <= step <
    boundaries[i]``, and so on. Numbers in ``schedules`` are constants.

    Args:
      schedules: schedules (or constant values), one more than ``boundaries``.
      boundaries: strictly increasing, non-negative steps where the next schedule starts.

    Returns:
      A schedule ``step -> float32 value``.

    Raises:
      ValueError: if ``len(boundaries) != len(schedules) - 1``.

    Example:
      >>> import jaxsched
      >>> lr = jaxsched.join([0.1, jaxsched.step_decay(0.05, 10, 0.5)], [100])
      >>> print(lr(99), lr(100), lr(110))
      0.1 0.05 0.025

    References:
      ``torch.optim.lr_scheduler.SequentialLR``; ``optax.join_schedules``.
    """
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(
            f"boundaries must have len(schedules) - 1 = {len(schedules) - 1} entries, "
            f"got {len(boundaries)}"
        )
    parts = [_as_schedule(s) for s in schedules]
    bounds = [float(b) for b in boundaries]

    def schedule(step: Any) -> Array:
        s = as_step(step)
        out = as_value(parts[0](s))
        for b, part in zip(bounds, parts[1:]):
            out = jnp.where(s >= b, as_value(part(jnp.maximum(s - b, 0.0))), out)
        return out

    return schedule


__all__ = ["constant", "join", "linear_warmup"]
