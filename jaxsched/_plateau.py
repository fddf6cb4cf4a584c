"""Metric-driven learning rates: reduce-on-plateau, as a schedule and as a transformation.

:func:`reduce_on_plateau` is a :class:`~jaxsched.StatefulSchedule`: pass it wherever a
learning rate (or any hyperparameter) is accepted. It reads the monitored metric from the
``value=`` keyword of ``update`` and cuts its level by ``factor`` when the metric stops
improving. :func:`scale_by_plateau` is the same rule as a transformation that multiplies
the updates by the level. Every counter lives in the state (int32, float32) and every
decision is a ``jnp.where``, so both are safe under ``jit`` and ``vmap``.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._base import (
    Array,
    Schedule,
    StatefulSchedule,
    check_choice,
    check_hyperparam,
    safe_increment,
)
from ._hyper import with_hyperparams
from .transforms._basic import scale_rule

MODES = ("min", "max")
THRESHOLD_MODES = ("rel", "abs", "rel_magnitude")


class PlateauState(NamedTuple):
    """What plateau detection remembers between updates.

    Attributes:
      best: float32 best metric so far (``+inf`` in min mode, ``-inf`` in max mode before
        the first evaluation).
      num_bad: int32 evaluations since the last improvement (torch's ``num_bad_epochs``,
        Keras's ``wait``).
      cooldown: int32 evaluations of cooldown left.
      window_sum: float32 sum of the metrics given since the last evaluation.
      window_count: int32 number of them (evaluation happens when it reaches ``every``).
    """

    best: Array
    num_bad: Array
    cooldown: Array
    window_sum: Array
    window_count: Array


class ReduceOnPlateauState(NamedTuple):
    """State of :func:`reduce_on_plateau` (kept in ``HyperparamsState.schedule_states``).

    Attributes:
      level: float32 current level (the learning rate, or the multiplier of ``schedule``).
      num_reductions: int32 number of times the level was cut.
      plateau: the :class:`PlateauState` of the detector.
    """

    level: Array
    num_reductions: Array
    plateau: PlateauState


def check_count(name: str, value: Any, low: int = 0) -> Any:
    """Validates an integer option that may also be a (traced) int array, for sweeps."""
    if isinstance(value, jax.core.Tracer):
        return value
    if isinstance(value, (np.ndarray, jax.Array)) and np.ndim(value) == 0:
        if not jnp.issubdtype(value.dtype, jnp.integer):
            raise TypeError(f"{name} must be an integer, got dtype {value.dtype}")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value}")
    return int(value)


def check_detection_args(
    mode: str, patience: Any, threshold: Any, threshold_mode: str, every: int
) -> None:
    check_choice("mode", mode, MODES)
    check_choice("threshold_mode", threshold_mode, THRESHOLD_MODES)
    check_count("patience", patience)
    check_hyperparam("threshold", threshold, low=0.0)
    check_count("every", every, low=1)


def read_metric(extra: dict[str, Any], who: str) -> Array:
    """The float32 scalar given as ``update(..., value=...)``; a clear error if absent."""
    if extra.get("value") is None:
        raise ValueError(
            f"{who} reads the monitored metric from update(..., value=metric); no value= "
            "was given to this update"
        )
    value = jnp.asarray(extra["value"], jnp.float32)
    if value.ndim != 0:
        raise ValueError(f"{who}: value= must be a scalar metric, got shape {value.shape}")
    return value


def init_plateau(mode: str) -> PlateauState:
    worst = jnp.inf if mode == "min" else -jnp.inf
    zero = jnp.zeros([], jnp.int32)
    return PlateauState(jnp.asarray(worst, jnp.float32), zero, zero, jnp.zeros([]), zero)


def collect(state: PlateauState, value: Array, every: int) -> tuple[Array, Array, PlateauState]:
    """Adds ``value`` to the window; returns (ready, window mean, state with window advanced).

    When ``ready`` the window is emptied; the caller evaluates the mean.
    """
    total = state.window_sum + value
    count = state.window_count + 1
    ready = count >= every
    mean = total / count.astype(jnp.float32)
    state = state._replace(
        window_sum=jnp.where(ready, 0.0, total),
        window_count=jnp.where(ready, 0, count).astype(jnp.int32),
    )
    return ready, mean, state


def is_better(a: Array, best: Array, mode: str, threshold: Any, threshold_mode: str) -> Array:
    """torch's ``_is_better`` plus the sign-aware ``rel_magnitude`` mode.

    min: ``a < best * (1 - thr)`` (rel), ``a < best - thr`` (abs),
    ``a < best - |best| * thr`` (rel_magnitude); max mirrors them with ``>`` and ``+``.
    """
    sign = -1.0 if mode == "min" else 1.0
    if threshold_mode == "rel":
        bound = best * (1.0 + sign * threshold)
    elif threshold_mode == "abs":
        bound = best + sign * threshold
    else:
        # |inf| * thr would give inf - inf = nan before the first evaluation.
        bound = jnp.where(jnp.isfinite(best), best + sign * jnp.abs(best) * threshold, best)
    return a < bound if mode == "min" else a > bound


def detect(
    state: PlateauState,
    a: Array,
    *,
    mode: str,
    patience: Any,
    threshold: Any,
    threshold_mode: str,
    cooldown: Any,
) -> tuple[Array, PlateauState]:
    """One evaluation of ``torch.optim.lr_scheduler.ReduceLROnPlateau.step``.

    Returns ``(fired, state)``: ``fired`` when the count of bad evaluations exceeds
    ``patience`` (the scheduler then reduces, restarts the cooldown and zeroes the count).
    """
    better = is_better(a, state.best, mode, threshold, threshold_mode)
    best = jnp.where(better, a, state.best)
    num_bad = jnp.where(better, 0, safe_increment(state.num_bad))
    in_cooldown = state.cooldown > 0
    counter = jnp.where(in_cooldown, state.cooldown - 1, state.cooldown)
    num_bad = jnp.where(in_cooldown, 0, num_bad)
    fired = num_bad > patience
    counter = jnp.where(fired, cooldown, counter).astype(jnp.int32)
    num_bad = jnp.where(fired, 0, num_bad).astype(jnp.int32)
    return fired, state._replace(best=best, num_bad=num_bad, cooldown=counter)


def reduce_on_plateau(
    init_value: float | Array = 1.0,
    *,
    factor: float | Array = 0.1,
    patience: int | Array = 10,
    mode: str = "min",
    threshold: float | Array = 1e-4,
    threshold_mode: str = "rel",
    cooldown: int | Array = 0,
    min_value: float | Array = 0.0,
    eps: float | Array = 1e-8,
    every: int = 1,
    schedule: Schedule | None = None,
) -> StatefulSchedule:
    """A value cut by ``factor`` whenever the monitored metric stops improving.

    The rule is ``torch.optim.lr_scheduler.ReduceLROnPlateau.step`` applied to a
    level that starts at ``init_value``. At each evaluation with metric ``a``:

    * ``a`` is better than ``best`` if ``a < best * (1 - threshold)`` (mode ``"min"``,
      threshold_mode ``"rel"``), ``a < best - threshold`` (``"abs"``) or
      ``a < best - |best| * threshold`` (``"rel_magnitude"``, which also works for
      negative metrics, where torch's ``"rel"`` counts slightly worse values as better);
      mode ``"max"`` mirrors them. Better: ``best = a``, bad count = 0; else bad count + 1.
    * During cooldown the counter decreases and the bad count is zeroed.
    * When the bad count exceeds ``patience``: ``new = max(level * factor, min_value)``,
      applied only if ``level - new > eps``; the cooldown restarts; bad count = 0.

    The value used by an update is ``level`` (times ``schedule(step)`` if given, for a
    plateau cut on top of another schedule, e.g. cosine decay).

    Timing: update ``i`` reads ``value=metric_i`` first, then uses the new value, so the
    learning rate applied by update ``i`` (what :func:`jaxsched.hyperparams` reports
    after it) equals torch's learning rate after ``scheduler.step(metric_i)``. With
    ``every=N`` the metrics of N consecutive updates are averaged and evaluated on the
    N-th of them (an epoch of N steps); the other updates leave the level unchanged.

    Args:
      init_value: the initial level (the learning rate, or a multiplier with ``schedule``).
      factor: multiplier of a cut, in [0, 1).
      patience: bad evaluations tolerated before a cut (int >= 0; a cut happens on the
        ``patience + 1``-th).
      mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
      threshold: >= 0, how much better counts as better.
      threshold_mode: ``"rel"``, ``"abs"`` or ``"rel_magnitude"`` (see above).
      cooldown: evaluations to wait after a cut before counting bad ones again (int >= 0).
      min_value: lower bound of the level, >= 0.
      eps: cuts smaller than this are ignored, >= 0.
      every: evaluate the mean metric of every ``every`` updates (int >= 1).
      schedule: optional pure schedule ``step -> multiplier`` of the level.

    Numeric options may be jax scalars (or tracers), so sweeps can vmap over them.

    Returns:
      A :class:`~jaxsched.StatefulSchedule` whose state is a
      :class:`ReduceOnPlateauState`; ``update`` raises ``ValueError`` if no ``value=`` is
      given.
    """
    check_hyperparam("init_value", init_value, low=0.0)
    check_hyperparam("factor", factor, 0.0, 1.0, high_open=True)
    check_count("cooldown", cooldown)
    check_hyperparam("min_value", min_value, low=0.0)
    check_hyperparam("eps", eps, low=0.0)
    check_detection_args(mode, patience, threshold, threshold_mode, every)
    if schedule is not None and not callable(schedule):
        raise TypeError(f"schedule must be a function step -> value, got {schedule!r}")

    def output(level: Array, step: Any) -> Array:
        if schedule is None:
            return level
        return level * jnp.asarray(schedule(step), jnp.float32)

    def init() -> ReduceOnPlateauState:
        return ReduceOnPlateauState(
            jnp.asarray(init_value, jnp.float32), jnp.zeros([], jnp.int32), init_plateau(mode)
        )

    def update(state: ReduceOnPlateauState, step: Array, extra: dict) -> tuple:
        metric = read_metric(extra, "reduce_on_plateau")
        ready, mean, plateau = collect(state.plateau, metric, every)
        fired, evaluated = detect(
            plateau,
            mean,
            mode=mode,
            patience=patience,
            threshold=threshold,
            threshold_mode=threshold_mode,
            cooldown=cooldown,
        )
        plateau = jax.tree.map(lambda new, old: jnp.where(ready, new, old), evaluated, plateau)
        new_level = jnp.maximum(state.level * factor, min_value).astype(jnp.float32)
        cut = ready & fired & (state.level - new_level > eps)
        level = jnp.where(cut, new_level, state.level)
        num_reductions = jnp.where(cut, safe_increment(state.num_reductions), state.num_reductions)
        return output(level, step), ReduceOnPlateauState(level, num_reductions, plateau)

    def current(state: ReduceOnPlateauState) -> Array:
        return output(state.level, jnp.zeros([], jnp.int32))

    return StatefulSchedule(init, update, current)


def scale_by_plateau(
    *,
    factor: float | Array = 0.1,
    patience: int | Array = 10,
    mode: str = "min",
    threshold: float | Array = 1e-4,
    threshold_mode: str = "rel",
    cooldown: int | Array = 0,
    min_value: float | Array = 0.0,
    eps: float | Array = 1e-8,
    every: int = 1,
) -> optax.GradientTransformationExtraArgs:
    """Multiplies the updates by a plateau level that starts at 1: ``u <- scale * u``.

    The level follows :func:`reduce_on_plateau` (same options, ``init_value=1``), read
    from ``update(..., value=metric)``. Chained after an optimizer it cuts that
    optimizer's step, whatever its own schedule:
    ``chain(adam(cosine_decay(1e-3, 1000)), scale_by_plateau(factor=0.5))``
    (the counterpart of ``optax.contrib.reduce_on_plateau``, with torch's rule, both
    modes and sign-aware thresholds).

    Returns:
      A transformation whose state reports the level as ``"plateau_scale"`` in
      :func:`jaxsched.hyperparams`.
    """
    level = reduce_on_plateau(
        1.0,
        factor=factor,
        patience=patience,
        mode=mode,
        threshold=threshold,
        threshold_mode=threshold_mode,
        cooldown=cooldown,
        min_value=min_value,
        eps=eps,
        every=every,
    )
    return with_hyperparams(lambda plateau_scale: scale_rule(plateau_scale), plateau_scale=level)
