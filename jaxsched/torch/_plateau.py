"""``torch.optim.lr_scheduler.ReduceLROnPlateau`` as a learning rate read from ``value=``."""

from __future__ import annotations

from .._base import Array, StatefulSchedule, check_choice, check_hyperparam
from .._plateau import reduce_on_plateau


def ReduceLROnPlateau(
    lr: float | Array,
    mode: str = "min",
    factor: float | Array = 0.1,
    patience: int | Array = 10,
    threshold: float | Array = 1e-4,
    threshold_mode: str = "rel",
    cooldown: int | Array = 0,
    min_lr: float | Array = 0.0,
    eps: float | Array = 1e-8,
    *,
    every: int = 1,
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
      lr: the initial learning rate (torch reads it from the optimizer).
      mode: ``"min"`` or ``"max"``.
      factor: in [0, 1) (torch raises for factor >= 1).
      patience, cooldown: ints >= 0.
      threshold: >= 0; threshold_mode: ``"rel"`` or ``"abs"``.
      min_lr: one lower bound (for per-group bounds, use one schedule per
        :func:`jaxsched.partition` label).
      eps: minimal decay, >= 0.
      every: updates per ``scheduler.step`` (their metrics are averaged), int >= 1.

    Returns:
      A :class:`~jaxsched.StatefulSchedule` (state
      :class:`jaxsched.ReduceOnPlateauState`).
    """
    check_choice("threshold_mode", threshold_mode, ("rel", "abs"))
    if isinstance(min_lr, (list, tuple)):
        raise TypeError(
            "min_lr must be one number here; for per-group bounds give each "
            "jaxsched.partition label its own ReduceLROnPlateau"
        )
    check_hyperparam("lr", lr, low=0.0)
    check_hyperparam("min_lr", min_lr, low=0.0)
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
