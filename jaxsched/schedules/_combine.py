"""Building schedules out of schedules: constants, warmup, and sequences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

from .._base import Array, Schedule, check_int
from ._common import as_step, as_value, check_boundaries, check_number, div


def constant(value: Any) -> Schedule:
    """A constant schedule: ``value`` at every step.

    Args:
      value: the value (a number or a jax scalar).

    Matches ``torch.optim.lr_scheduler.LambdaLR`` with ``lambda k: 1`` and HF
    ``get_constant_schedule``.
    """
    check_number("value", value)

    def schedule(step: Any) -> Array:
        return as_value(jnp.broadcast_to(value, jnp.shape(as_step(step))))

    return schedule


def _as_schedule(name: str, schedule_or_value: Any) -> Schedule:
    """A schedule as is; a number becomes a constant schedule (checked under ``name``)."""
    if callable(schedule_or_value):
        return schedule_or_value
    check_number(name, schedule_or_value)
    return constant(schedule_or_value)


def linear_warmup(schedule_or_value: Any, warmup_steps: int, init_value: Any = 0.0) -> Schedule:
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

    Matches HF ``get_constant_schedule_with_warmup`` (with a constant) and the warmup of
    every HF ``get_*_schedule_with_warmup``.
    """
    inner = _as_schedule("schedule_or_value", schedule_or_value)
    warmup_steps = check_int("warmup_steps", warmup_steps, low=0)
    check_number("init_value", init_value)

    def schedule(step: Any) -> Array:
        s = as_step(step)
        after = inner(jnp.maximum(s - warmup_steps, 0.0))
        if warmup_steps == 0:
            return as_value(after)
        peak = inner(jnp.zeros_like(s))
        warm = init_value + (peak - init_value) * div(s, warmup_steps)
        return as_value(jnp.where(s < warmup_steps, warm, after))

    return schedule


def join(schedules: Sequence[Any], boundaries: Sequence[int]) -> Schedule:
    """One schedule after another; each restarts from its own step 0 at its boundary.

    ``schedules[0](step)`` for ``step < boundaries[0]``, then
    ``schedules[i](step - boundaries[i-1])`` for ``boundaries[i-1] <= step <
    boundaries[i]``, and so on. Numbers in ``schedules`` are constants.

    Args:
      schedules: schedules (or constant values), one more than ``boundaries``.
      boundaries: strictly increasing, non-negative steps where the next schedule starts.

    Matches ``torch.optim.lr_scheduler.SequentialLR`` and ``optax.join_schedules``.
    """
    if isinstance(schedules, (str, bytes)) or not hasattr(schedules, "__len__"):
        raise TypeError(f"schedules must be a sequence, got {type(schedules).__name__}")
    if len(schedules) < 1:
        raise ValueError("schedules must hold at least one schedule, got none")
    parts = [_as_schedule(f"schedules[{i}]", s) for i, s in enumerate(schedules)]
    bounds = check_boundaries("boundaries", boundaries)
    if len(bounds) != len(parts) - 1:
        raise ValueError(
            f"boundaries must have len(schedules) - 1 = {len(parts) - 1} entries, got {len(bounds)}"
        )

    def schedule(step: Any) -> Array:
        s = as_step(step)
        out = as_value(parts[0](s))
        for b, part in zip(bounds, parts[1:]):
            out = jnp.where(s >= b, as_value(part(jnp.maximum(s - b, 0.0))), out)
        return out

    return schedule


__all__ = ["constant", "join", "linear_warmup"]
