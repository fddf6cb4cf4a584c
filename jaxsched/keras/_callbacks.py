"""``keras.callbacks`` flavors: Keras 3 callbacks that change the learning rate, as schedules."""

from __future__ import annotations

from typing import Annotated

import jax
import jax.numpy as jnp

from .._base import Array, StatefulSchedule, safe_increment
from .._detect import TracedCount, collect, init_plateau, read_metric
from .._plateau import Factor, Level, ReduceOnPlateauState
from .._validate import Choice, Real, Steps, validated

# Default names of the Keras 3 metrics by the direction their class declares
# (``Metric._direction``); "auto" mode looks the monitored name up here.
_UP = frozenset(
    {
        "accuracy",
        "binary_accuracy",
        "categorical_accuracy",
        "sparse_categorical_accuracy",
        "top_k_categorical_accuracy",
        "sparse_top_k_categorical_accuracy",
        "precision",
        "recall",
        "auc",
        "f1_score",
        "fbeta_score",
        "r2_score",
        "cosine_similarity",
        "pearson_correlation",
        "concordance_correlation",
        "iou",
        "mean_iou",
    }
)
_DOWN = frozenset(
    {
        "loss",
        "mean_squared_error",
        "mean_absolute_error",
        "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error",
        "root_mean_squared_error",
        "hinge",
        "squared_hinge",
        "categorical_hinge",
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "logcosh",
    }
)


def resolve_mode(mode: str, monitor: str) -> str:
    """Keras's ``MonitorCallback`` rule: ``"auto"`` minimises losses, maximises accuracies."""
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    if name in _UP:
        return "max"
    if name in _DOWN:
        return "min"
    raise ValueError(
        f"mode='auto' cannot tell whether monitor={monitor!r} should be minimised or "
        "maximised; pass mode='min' or mode='max'"
    )


@validated
def ReduceLROnPlateau(
    learning_rate: Level = 0.001,
    factor: Factor = 0.1,
    patience: TracedCount = 10,
    mode: Annotated[str, Choice(("auto", "min", "max"))] = "auto",
    min_delta: Annotated[float | Array, Real(schedule=False)] = 1e-4,
    cooldown: TracedCount = 0,
    min_lr: Level = 0.0,
    *,
    monitor: str = "val_loss",
    every: Steps = 1,
) -> StatefulSchedule:
    """``keras.callbacks.ReduceLROnPlateau`` as a learning rate read from ``value=``.

    Keras's rule (``on_epoch_end``), with ``wait`` the count of epochs without improvement:

    * in cooldown: the cooldown counter decreases and ``wait = 0``;
    * improvement means ``a + |min_delta| < best`` (mode min) or
      ``a - |min_delta| > best`` (mode max); the first metric always improves;
      improvement: ``best = a``, ``wait = 0``; otherwise, out of cooldown, ``wait += 1``;
    * when ``wait >= patience`` and ``lr > min_lr``:
      ``lr = max(lr * factor, min_lr)``, the cooldown restarts and ``wait = 0`` (at
      ``min_lr`` nothing happens and ``wait`` keeps growing).

    Update ``i`` evaluates ``value=metric_i`` first (as ``on_epoch_end(i, logs)``) and
    uses the learning rate that results. With ``every=N``, the mean metric of N updates is
    evaluated on the N-th (Keras's ``loss`` log is also the epoch mean of batch losses).

    Args:
      learning_rate: the initial learning rate (Keras reads it from the optimizer).
      factor: ``new_lr = lr * factor``, in [0, 1) (Keras rejects factor >= 1).
      patience: epochs without improvement before a cut (int >= 0).
      mode: ``"min"``, ``"max"`` or ``"auto"`` (resolved from ``monitor`` as Keras does:
        losses and errors are minimised, accuracies and scores maximised).
      min_delta: minimum absolute change that counts as an improvement (sign ignored).
      cooldown: epochs to wait after a cut (int >= 0).
      min_lr: lower bound of the learning rate, >= 0.
      monitor: the name of the monitored metric, used only to resolve ``mode="auto"``.
      every: updates per evaluation (int >= 1).

    Returns:
      A :class:`~jaxsched.StatefulSchedule` (state :class:`ReduceOnPlateauState`, whose
      ``plateau.num_bad`` is Keras's ``wait``).

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.SGD(jaxsched.keras.ReduceLROnPlateau(0.1, 0.5, patience=1))
      >>> state = tx.init(jnp.zeros(1))
      >>> for loss in [1.0, 2.0]:
      ...     _, state = tx.update(jnp.ones(1), state, value=loss)
      >>> print(jaxsched.hyperparams(state)["learning_rate"])
      0.05

    References:
      ``keras.callbacks.ReduceLROnPlateau``.
    """
    mode = resolve_mode(mode, monitor)
    min_delta = jnp.abs(jnp.asarray(min_delta, jnp.float32))

    def evaluate(state: ReduceOnPlateauState, a: Array) -> ReduceOnPlateauState:
        p = state.plateau
        in_cooldown = p.cooldown > 0
        counter = jnp.where(in_cooldown, p.cooldown - 1, p.cooldown)
        wait = jnp.where(in_cooldown, 0, p.num_bad)
        improved = a + min_delta < p.best if mode == "min" else a - min_delta > p.best
        best = jnp.where(improved, a, p.best)
        still_cooling = counter > 0
        wait = jnp.where(improved, 0, jnp.where(still_cooling, wait, safe_increment(wait)))
        floor = jnp.asarray(min_lr, jnp.float32)
        cut = ~improved & ~still_cooling & (wait >= patience) & (state.level > floor)
        level = jnp.where(cut, jnp.maximum(state.level * factor, floor), state.level)
        counter = jnp.where(cut, cooldown, counter).astype(jnp.int32)
        wait = jnp.where(cut, 0, wait).astype(jnp.int32)
        plateau = p._replace(best=best, num_bad=wait, cooldown=counter)
        reductions = jnp.where(cut, safe_increment(state.num_reductions), state.num_reductions)
        return ReduceOnPlateauState(level.astype(jnp.float32), reductions, plateau)

    def init() -> ReduceOnPlateauState:
        return ReduceOnPlateauState(
            jnp.asarray(learning_rate, jnp.float32), jnp.zeros([], jnp.int32), init_plateau(mode)
        )

    def update(state: ReduceOnPlateauState, step: Array, extra: dict) -> tuple:
        del step
        metric = read_metric(extra, "keras ReduceLROnPlateau")
        ready, mean, plateau = collect(state.plateau, metric, every)
        evaluated = evaluate(state._replace(plateau=plateau), mean)
        skipped = state._replace(plateau=plateau)
        new = jax.tree.map(lambda e, s: jnp.where(ready, e, s), evaluated, skipped)
        return new.level, new

    return StatefulSchedule(init, update, lambda state: state.level)
