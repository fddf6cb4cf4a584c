"""``transformers.optimization.GreedyLR``: a learning rate that rises on improvement and
falls on a plateau, read from ``update(..., value=metric)``."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

import jax.numpy as jnp

from .._base import Array, StatefulSchedule, safe_increment, zero_count
from .._detect import Mode, PlateauOptions, Threshold, TracedCount, is_better, read_metric
from .._plateau import Level
from .._validate import Choice, Flag, Real, Steps, validated

# GreedyLR divides by the factor on improvement, so 0 is excluded as well as 1.
GreedyFactor = Annotated[
    float | Array, Real(0.0, 1.0, low_open=True, high_open=True, schedule=False)
]


class GreedyLRState(NamedTuple):
    """State of :func:`GreedyLR` (kept in ``HyperparamsState.schedule_states``).

    Attributes:
      lr: float32 current learning rate.
      best: float32 best (smoothed) metric since the start or the last reset.
      num_bad, num_good: int32 evaluations since the last improvement, and improvements
        in a row.
      cooldown, warmup: int32 evaluations left in which counting is paused, after a cut
        and after a rise.
      reset_start: int32 cuts at ``min_lr`` left before the scheduler resets.
      window: float32 ring of the last ``window_size`` metrics (``smooth``), else empty.
      seen: int32 metrics put in the window since the start or the last reset.
    """

    lr: Array
    best: Array
    num_bad: Array
    num_good: Array
    cooldown: Array
    warmup: Array
    reset_start: Array
    window: Array
    seen: Array


@validated
def GreedyLR(
    lr: Level,
    mode: Mode = "min",
    factor: GreedyFactor = 0.95,
    patience: TracedCount = 10,
    threshold: Threshold = 1e-6,
    threshold_mode: Annotated[str, Choice(("rel", "abs"))] = "abs",
    cooldown: TracedCount = 0,
    warmup: TracedCount = 0,
    min_lr: Level = 1e-3,
    max_lr: Level = 1.0,
    eps: Level = 1e-8,
    *,
    smooth: Flag = False,
    window_size: Steps = 50,
    reset_start: TracedCount = 500,
) -> StatefulSchedule:
    """``transformers.optimization.GreedyLR``: HF's arguments, defaults and numbers.

    Each update reads a metric ``a`` (the mean of the last ``window_size`` metrics with
    ``smooth``). During a cooldown or a warmup the counters pause (and count down).
    Otherwise ``a`` is better if ``a < best - threshold`` (min, abs), ``a < best * (1 -
    threshold)`` (min, rel), or the mirrors for max; better: ``best = a``, good count + 1,
    bad count 0; else bad count + 1, good count 0. More than ``patience`` good ones in a
    row: ``lr = min(lr / factor, max_lr)`` (if that raises it by more than ``eps``),
    then ``warmup`` paused evaluations. More than ``patience`` bad ones:
    ``lr = max(lr * factor, min_lr)`` (if that lowers it by more than ``eps``), then
    ``cooldown`` paused evaluations; each such cut that leaves ``lr`` at ``min_lr``
    counts ``reset_start`` down, and at 0 the scheduler starts afresh from ``lr``
    (best, counters and smoothing window cleared; a rise restores the count).

    Timing, as :func:`jaxsched.reduce_on_plateau`: update ``i`` reads ``value=metric_i``
    first, so the rate it applies equals HF's after ``scheduler.step(metric_i)``.

    Differences: a NaN or infinite metric never counts as better (HF would keep a
    ``-inf`` as the best value for ever); the window is a ring of float32 values, so a
    NaN leaves the smoothed metric after ``window_size`` updates (HF's running sum
    stays NaN); one ``min_lr`` and ``max_lr`` (for several groups, give each
    :func:`jaxsched.partition` label its own schedule); no ``verbose``.

    Args:
      lr: the initial learning rate, >= 0.
      mode: ``"min"`` or ``"max"``.
      factor: in (0, 1).
      patience, cooldown, warmup, reset_start: ints >= 0 (or integer jax scalars).
      threshold: >= 0; threshold_mode: ``"rel"`` or ``"abs"``.
      min_lr, max_lr: bounds of the learning rate, >= 0.
      eps: smallest change applied, >= 0.
      smooth: use the mean of the last ``window_size`` metrics (int >= 1).

    Returns:
      A :class:`~jaxsched.StatefulSchedule` (state :class:`GreedyLRState`); ``update``
      raises ``ValueError`` if no ``value=`` is given.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> from jaxsched import hf
      >>> tx = jaxsched.sgd(hf.GreedyLR(0.1, factor=0.5, patience=1))
      >>> state = tx.init(jnp.zeros(1))
      >>> for loss in [3.0, 2.0, 1.0]:
      ...     _, state = tx.update(jnp.ones(1), state, value=loss)
      >>> print(jaxsched.hyperparams(state)["learning_rate"])
      0.2

    References:
      "GreedyLR: A Novel Adaptive Learning Rate Scheduler" (arXiv:2512.14527);
      ``transformers.optimization.GreedyLR``.
    """
    options = PlateauOptions(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
    worst = jnp.inf if mode == "min" else -jnp.inf
    size = window_size if smooth else 0

    def init() -> GreedyLRState:
        counts = [zero_count()] * 4
        return GreedyLRState(
            jnp.asarray(lr, jnp.float32),
            jnp.asarray(worst, jnp.float32),
            *counts,
            jnp.asarray(reset_start, jnp.int32),
            jnp.zeros([size], jnp.float32),
            zero_count(),
        )

    def smoothed(state: GreedyLRState, metric: Array) -> tuple[Array, Array, Array]:
        if not smooth:
            return metric, state.window, state.seen
        window = state.window.at[state.seen % window_size].set(metric)
        seen = safe_increment(state.seen)
        n = jnp.minimum(seen, window_size)
        mean = jnp.sum(jnp.where(jnp.arange(window_size) < n, window, 0.0)) / n
        return mean, window, seen

    def update(state: GreedyLRState, step: Array, extra: dict[str, Any]) -> tuple:
        del step
        current, window, seen = smoothed(state, read_metric(extra, "GreedyLR"))
        in_cooldown = state.cooldown > 0
        in_warmup = ~in_cooldown & (state.warmup > 0)
        active = ~in_cooldown & ~in_warmup
        better = active & is_better(current, state.best, options)
        best = jnp.where(better, current, state.best)
        num_bad = jnp.where(active & ~better, safe_increment(state.num_bad), 0)
        num_good = jnp.where(better, safe_increment(state.num_good), 0)
        rise = num_good > patience
        cut = ~rise & (num_bad > patience)

        up = jnp.minimum(state.lr / factor, max_lr)
        risen = jnp.where(up - state.lr > eps, up, state.lr)
        down = jnp.maximum(state.lr * factor, min_lr)
        lowered = jnp.where(state.lr - down > eps, down, state.lr)
        at_min = cut & ~(lowered > min_lr)
        countdown = jnp.where(at_min, state.reset_start - 1, state.reset_start)
        reset = at_min & (countdown <= 0)

        new_lr = jnp.where(rise, risen, jnp.where(reset, lr, jnp.where(cut, lowered, state.lr)))
        new = GreedyLRState(
            lr=new_lr.astype(jnp.float32),
            best=jnp.where(reset, worst, best).astype(jnp.float32),
            num_bad=jnp.where(cut, 0, num_bad).astype(jnp.int32),
            num_good=jnp.where(rise, 0, num_good).astype(jnp.int32),
            cooldown=jnp.where(
                cut, cooldown, jnp.where(in_cooldown, state.cooldown - 1, state.cooldown)
            ).astype(jnp.int32),
            warmup=jnp.where(
                rise, warmup, jnp.where(in_warmup, state.warmup - 1, state.warmup)
            ).astype(jnp.int32),
            reset_start=jnp.where(rise | reset, reset_start, countdown).astype(jnp.int32),
            window=window,
            seen=jnp.where(reset, 0, seen).astype(jnp.int32),
        )
        return new.lr, new

    return StatefulSchedule(init, update, lambda state: state.lr)
