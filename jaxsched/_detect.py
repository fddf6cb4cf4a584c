"""Plateau detection, written once: when has a monitored metric stopped improving?

The detector is ``torch.optim.lr_scheduler.ReduceLROnPlateau.step``'s test (plus a
sign-aware threshold mode) as pure functions on a small :class:`PlateauState`:
:func:`init_plateau` builds the state and :func:`plateau_step` reads one metric and says
whether the plateau fired. :func:`jaxsched.reduce_on_plateau`,
:func:`jaxsched.scale_by_plateau` and :func:`jaxsched.switch` all use it, with their
options in one :class:`PlateauOptions` whose annotations are the checks.

A metric that is NaN or infinite is never better than the best value and never becomes
it: such an evaluation counts as a bad one (so a ``-inf`` loss cannot freeze the best
value at ``-inf`` and stop every later improvement from counting).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._base import Array, safe_increment, zero_count
from ._validate import Choice, Integer, Real, Steps, signature_specs

MODES = ("min", "max")
THRESHOLD_MODES = ("rel", "abs", "rel_magnitude")


@dataclass(frozen=True)
class TracedInteger(Integer):
    """An :class:`~jaxsched._validate.Integer`, or an integer jax scalar being traced.

    A traced count (``patience`` inside ``vmap`` over a batch of settings) has no value to
    check at construction; it must still be an integer scalar.
    """

    def check(self, name: str, value: Any) -> Any:
        if not isinstance(value, jax.core.Tracer):
            return super().check(name, value)
        if np.ndim(value) != 0 or not jnp.issubdtype(value.dtype, jnp.integer):
            raise TypeError(
                f"{name} must be {self.describe()}, got a traced {value.dtype} array of "
                f"shape {np.shape(value)}"
            )
        return value


Mode = Annotated[str, Choice(MODES)]
ThresholdMode = Annotated[str, Choice(THRESHOLD_MODES)]
Threshold = Annotated[float | Array, Real(low=0.0, schedule=False)]
TracedCount = Annotated[int | Array, TracedInteger(low=0)]


class PlateauOptions(NamedTuple):
    """The detector's options; the annotations say what each accepts.

    They are checked where they are used (``switch(on_plateau=...)``), with the rule of
    :func:`jaxsched.reduce_on_plateau`: a NaN or infinite metric is never an improvement
    and never becomes the best value.

    Attributes:
      mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
      threshold: >= 0, how much better counts as better.
      threshold_mode: ``"rel"``, ``"abs"`` or ``"rel_magnitude"`` (see
        :func:`jaxsched.reduce_on_plateau`).
      patience: bad evaluations tolerated (int >= 0); the ``patience + 1``-th fires.
      cooldown: evaluations after a firing during which bad ones are not counted (int >= 0).
      every: updates per evaluation (int >= 1): the mean metric of ``every`` consecutive
        updates is evaluated on the last of them.

    Example:
      >>> import jaxsched
      >>> options = jaxsched.PlateauOptions(patience=5, threshold_mode="abs")
      >>> tx = jaxsched.switch(jaxsched.adam(1e-3), jaxsched.sgd(1e-2), on_plateau=options)

    References:
      ``torch.optim.lr_scheduler.ReduceLROnPlateau``.
    """

    mode: Mode = "min"
    threshold: Threshold = 1e-4
    threshold_mode: ThresholdMode = "rel"
    patience: TracedCount = 10
    cooldown: TracedCount = 0
    every: Steps = 1


def plateau_options(options: Any, name: str) -> PlateauOptions:
    """Checks a user's options (a :class:`PlateauOptions` or a dict of some of its fields).

    Errors name the argument as ``name['patience']``; missing fields take the defaults.

    Raises:
      TypeError: if ``options`` is neither, or a field has the wrong type.
      ValueError: for an unknown field or a value out of range.
    """
    if isinstance(options, PlateauOptions):
        options = options._asdict()
    if not isinstance(options, Mapping):
        raise TypeError(
            f"{name} must be a jaxsched.PlateauOptions or a dict of its fields, got "
            f"{type(options).__name__}"
        )
    unknown = sorted(set(options) - set(PlateauOptions._fields))
    if unknown:
        raise ValueError(
            f"{name} has unknown options {unknown}; allowed: {list(PlateauOptions._fields)}"
        )
    specs = signature_specs(PlateauOptions)
    return PlateauOptions(**{k: specs[k].check(f"{name}[{k!r}]", v) for k, v in options.items()})


class PlateauState(NamedTuple):
    """What plateau detection remembers between updates.

    Attributes:
      best: float32 best metric so far (``+inf`` in min mode, ``-inf`` in max mode before
        the first finite evaluation; never NaN or infinite after it).
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
    """The state before any metric: the worst possible best value, nothing counted."""
    worst = jnp.inf if mode == "min" else -jnp.inf
    return PlateauState(
        jnp.asarray(worst, jnp.float32), zero_count(), zero_count(), jnp.zeros([]), zero_count()
    )


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


def is_better(a: Array, best: Array, options: PlateauOptions) -> Array:
    """torch's ``_is_better`` plus the sign-aware ``rel_magnitude`` mode, for finite ``a``.

    min: ``a < best * (1 - thr)`` (rel), ``a < best - thr`` (abs),
    ``a < best - |best| * thr`` (rel_magnitude); max mirrors them with ``>`` and ``+``.
    The first finite metric is always better (``best`` is still infinite); a NaN or
    infinite ``a`` never is.
    """
    thr = options.threshold
    fresh = ~jnp.isfinite(best)
    # A finite stand-in for the initial +-inf keeps inf - inf = NaN out of the bound.
    ref = jnp.where(fresh, 0.0, best)
    sign = -1.0 if options.mode == "min" else 1.0
    if options.threshold_mode == "rel":
        bound = ref * (1.0 + sign * thr)
    elif options.threshold_mode == "abs":
        bound = ref + sign * thr
    else:
        bound = ref + sign * jnp.abs(ref) * thr
    beyond = a < bound if options.mode == "min" else a > bound
    return jnp.isfinite(a) & (fresh | beyond)


def evaluate(options: PlateauOptions, state: PlateauState, a: Array) -> tuple[Array, PlateauState]:
    """One evaluation of ``torch.optim.lr_scheduler.ReduceLROnPlateau.step`` on metric ``a``.

    Returns ``(fired, state)``: ``fired`` when the count of bad evaluations exceeds
    ``patience`` (the cooldown then restarts and the count is zeroed).
    """
    better = is_better(a, state.best, options)
    best = jnp.where(better, a, state.best)
    num_bad = jnp.where(better, 0, safe_increment(state.num_bad))
    in_cooldown = state.cooldown > 0
    counter = jnp.where(in_cooldown, state.cooldown - 1, state.cooldown)
    num_bad = jnp.where(in_cooldown, 0, num_bad)
    fired = num_bad > options.patience
    counter = jnp.where(fired, options.cooldown, counter).astype(jnp.int32)
    num_bad = jnp.where(fired, 0, num_bad).astype(jnp.int32)
    return fired, state._replace(best=best, num_bad=num_bad, cooldown=counter)


def plateau_step(
    options: PlateauOptions, state: PlateauState, metric: Array
) -> tuple[Array, PlateauState]:
    """Reads one metric: it joins the window, and the window's mean is evaluated when full.

    Returns ``(fired, state)``, ``fired`` True only on an evaluation that found a plateau.
    Every decision is a ``jnp.where``, so it is safe under ``jit`` and ``vmap``.

    Example:
      >>> from jaxsched._detect import PlateauOptions, init_plateau, plateau_step
      >>> options = PlateauOptions(patience=1)
      >>> state = init_plateau(options.mode)
      >>> for m in (1.0, 2.0, 2.0):
      ...     fired, state = plateau_step(options, state, m)
      >>> print(fired, state.best)
      True 1.0

    References:
      ``torch.optim.lr_scheduler.ReduceLROnPlateau.step``.
    """
    ready, mean, windowed = collect(state, metric, options.every)
    fired, evaluated = evaluate(options, windowed, mean)
    new = jax.tree.map(lambda e, w: jnp.where(ready, e, w), evaluated, windowed)
    return ready & fired, new
