"""``torch.optim.lr_scheduler.ReduceLROnPlateau`` as a learning rate read from ``value=``."""

from __future__ import annotations

from typing import Annotated

from .._base import StatefulSchedule
from .._detect import Mode, Threshold, TracedCount
from .._plateau import Factor, Level, reduce_on_plateau
from .._validate import Choice, Steps, validated


@validated
def ReduceLROnPlateau(
    lr: Level,
    mode: Mode = "min",
    factor: Factor = 0.1,
    patience: TracedCount = 10,
    threshold: Threshold = 1e-4,
    threshold_mode: Annotated[str, Choice(("rel", "abs"))] = "rel",
    cooldown: TracedCount = 0,
    min_lr: Level = 0.0,
    eps: Level = 1e-8,
    *,
    every: Steps = 1,
) -> StatefulSchedule:
    """``torch.optim.lr_scheduler.ReduceLROnPlateau``: torch's arguments, defaults and numbers.

    Pass it as the learning rate of an optimizer and give the metric to each update:
    ``tx = jaxsched.torch.SGD(lr=ReduceLROnPlateau(0.1, patience=5))`` then
    ``tx.update(grads, state, params, value=val_loss)``. The learning rate applied by
    update ``i`` equals the one torch holds after ``scheduler.step(metric_i)``.

    The rule (see :func:`jaxsched.reduce_on_plateau`, which also offers a sign-aware
    ``threshold_mode="rel_magnitude"``): better is ``a < best * (1 - threshold)`` (min,
    rel), ``a < best - threshold`` (min, abs), ``a > best * (1 + threshold)`` (max, rel),
    ``a > best + threshold`` (max, abs); when more than ``patience`` evaluations in a row
    are not better, ``lr = max(lr * factor, min_lr)`` if that lowers it by more than
    ``eps``; then ``cooldown`` evaluations ignore bad ones.

    Args:
      lr: the initial learning rate, >= 0 (torch reads it from the optimizer).
      mode: ``"min"`` or ``"max"``.
      factor: in [0, 1) (torch raises for factor >= 1).
      patience, cooldown: ints >= 0 (or integer jax scalars, for sweeps).
      threshold: >= 0; threshold_mode: ``"rel"`` or ``"abs"``.
      min_lr: one lower bound, >= 0 (for per-group bounds, give each
        :func:`jaxsched.partition` label its own schedule).
      eps: minimal decay, >= 0.
      every: updates per ``scheduler.step`` (their metrics are averaged), int >= 1.

    Returns:
      A :class:`~jaxsched.StatefulSchedule` (state
      :class:`jaxsched.ReduceOnPlateauState`).

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> from jaxsched.torch.lr_scheduler import ReduceLROnPlateau
      >>> tx = jaxsched.torch.SGD(lr=ReduceLROnPlateau(0.1, factor=0.5, patience=0))
      >>> state = tx.init(jnp.zeros(1))
      >>> for loss in [1.0, 2.0]:
      ...     _, state = tx.update(jnp.ones(1), state, value=loss)
      >>> print(jaxsched.hyperparams(state)["learning_rate"])
      0.05

    References:
      ``torch.optim.lr_scheduler.ReduceLROnPlateau``.
    """
    return reduce_on_plateau(
        lr,
        factor=factor,
        patience=patience,
        mode=mode,
        threshold=threshold,
        threshold_mode=threshold_mode,
        cooldown=cooldown,
        min_value=min_lr,
        eps=eps,
        every=every,
    )
