"""Metric-driven learning rates: reduce-on-plateau, as a schedule and as a transformation.

:func:`reduce_on_plateau` is a :class:`~jaxsched.StatefulSchedule`: pass it wherever a
learning rate (or any hyperparameter) is accepted. It reads the monitored metric from the
``value=`` keyword of ``update`` and cuts its level by ``factor`` when the metric stops
improving (the detector of :mod:`jaxsched._detect`). :func:`scale_by_plateau` is the same
rule as a transformation that multiplies the updates by the level. Every counter lives in
the state (int32, float32) and every decision is a ``jnp.where``, so both are safe under
``jit`` and ``vmap``.
"""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from ._base import Array, Schedule, StatefulSchedule, cast_like, safe_increment, stateless
from ._detect import (
    Mode,
    PlateauOptions,
    PlateauState,
    Threshold,
    ThresholdMode,
    TracedCount,
    init_plateau,
    plateau_step,
    read_metric,
)
from ._hyper import with_hyperparams
from ._validate import CallableSpec, Real, Steps, validated

# Plain numbers or jax scalars (traced ones too, for vmapped sweeps), never schedules.
Level = Annotated[float | Array, Real(low=0.0, schedule=False)]
Factor = Annotated[float | Array, Real(0.0, 1.0, high_open=True, schedule=False)]


class ReduceOnPlateauState(NamedTuple):
    """State of :func:`reduce_on_plateau` (kept in ``HyperparamsState.schedule_states``).

    Attributes:
      level: float32 current level (the learning rate, or the multiplier of ``schedule``).
      num_reductions: int32 number of times the level was cut.
      plateau: the :class:`~jaxsched.PlateauState` of the detector.
    """

    level: Array
    num_reductions: Array
    plateau: PlateauState


@validated
def reduce_on_plateau(
    init_value: Level = 1.0,
    *,
    factor: Factor = 0.1,
    patience: TracedCount = 10,
    mode: Mode = "min",
    threshold: Threshold = 1e-4,
    threshold_mode: ThresholdMode = "rel",
    cooldown: TracedCount = 0,
    min_value: Level = 0.0,
    eps: Level = 1e-8,
    every: Steps = 1,
    schedule: Annotated[Schedule | None, CallableSpec(optional=True)] = None,
) -> StatefulSchedule:
    """A value cut by ``factor`` whenever the monitored metric stops improving.

    The rule is ``torch.optim.lr_scheduler.ReduceLROnPlateau.step`` applied to a
    level that starts at ``init_value``. At each evaluation with metric ``a``:

    * ``a`` is better than ``best`` if ``a < best * (1 - threshold)`` (mode ``"min"``,
      threshold_mode ``"rel"``), ``a < best - threshold`` (``"abs"``) or
      ``a < best - |best| * threshold`` (``"rel_magnitude"``, which also works for
      negative metrics, where torch's ``"rel"`` counts slightly worse values as better);
      mode ``"max"`` mirrors them. The first finite metric is always better. Better:
      ``best = a``, bad count = 0; else bad count + 1.
    * A NaN or infinite metric is never better and never becomes ``best``: it counts as
      a bad evaluation (torch would keep a ``-inf`` loss as the best value for ever).
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

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.sgd(jaxsched.reduce_on_plateau(0.1, factor=0.5, patience=1))
      >>> state = tx.init(jnp.zeros(2))
      >>> for loss in [1.0, 1.0, 1.0]:
      ...     _, state = tx.update(jnp.ones(2), state, value=loss)
      >>> print(jaxsched.hyperparams(state)["learning_rate"])
      0.05

    References:
      ``torch.optim.lr_scheduler.ReduceLROnPlateau``; ``optax.contrib.reduce_on_plateau``.
    """
    options = PlateauOptions(mode, threshold, threshold_mode, patience, cooldown, every)

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
        fired, plateau = plateau_step(options, state.plateau, metric)
        new_level = jnp.maximum(state.level * factor, min_value).astype(jnp.float32)
        cut = fired & (state.level - new_level > eps)
        level = jnp.where(cut, new_level, state.level)
        num_reductions = jnp.where(cut, safe_increment(state.num_reductions), state.num_reductions)
        return output(level, step), ReduceOnPlateauState(level, num_reductions, plateau)

    def current(state: ReduceOnPlateauState) -> Array:
        return output(state.level, jnp.zeros([], jnp.int32))

    return StatefulSchedule(init, update, current)


@validated
def scale_by_plateau(
    *,
    factor: Factor = 0.1,
    patience: TracedCount = 10,
    mode: Mode = "min",
    threshold: Threshold = 1e-4,
    threshold_mode: ThresholdMode = "rel",
    cooldown: TracedCount = 0,
    min_value: Level = 0.0,
    eps: Level = 1e-8,
    every: Steps = 1,
) -> optax.GradientTransformationExtraArgs:
    """Multiplies the updates by a plateau level that starts at 1: ``u <- scale * u``.

    The level follows :func:`reduce_on_plateau` (same options and rule, NaN or infinite
    metrics counting as bad evaluations, ``init_value=1``), read from
    ``update(..., value=metric)``. Chained after an optimizer it cuts that optimizer's
    step, whatever its own schedule:
    ``chain(adam(cosine_decay(1e-3, 1000)), scale_by_plateau(factor=0.5))``.

    Args:
      factor, patience, mode, threshold, threshold_mode, cooldown, min_value, eps, every:
        as in :func:`reduce_on_plateau`.

    Returns:
      A transformation whose state reports the level as ``"plateau_scale"`` in
      :func:`jaxsched.hyperparams`; ``update`` needs no ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.scale_by_plateau(factor=0.5, patience=0)
      >>> state = tx.init(jnp.zeros(2))
      >>> for loss in [1.0, 2.0]:
      ...     u, state = tx.update(jnp.ones(2), state, value=loss)
      >>> print(u)
      [0.5 0.5]

    References:
      ``optax.contrib.reduce_on_plateau`` (here with torch's rule, both modes and
      sign-aware thresholds).
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

    def scale(plateau_scale):
        return stateless(lambda u, p: cast_like(jax.tree.map(lambda g: plateau_scale * g, u), u))

    return with_hyperparams(scale, plateau_scale=level)
