"""timm's metric-driven scheduler (``timm.scheduler.PlateauLRScheduler``), jit-safe.

timm wraps ``torch.optim.lr_scheduler.ReduceLROnPlateau`` with a linear warmup and noise;
here the same rule runs on the shared plateau detector (:mod:`jaxsched._detect`) as a
:class:`~jaxsched.StatefulSchedule` that reads the metric from ``update(..., value=)``.
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp

from .._base import Array, StatefulSchedule, safe_increment, zero_count
from .._detect import (
    Mode,
    PlateauOptions,
    PlateauState,
    Threshold,
    TracedCount,
    collect,
    evaluate,
    init_plateau,
    read_metric,
)
from .._plateau import Factor, Level
from .._validate import Count, Integer, Steps, validated
from ._common import NoisePct, NoiseRange, NoiseStd, NoiseType, noisy

# timm's noise_seed defaults to None, which its base class reads as 42.
OptionalSeed = Annotated[int | None, Integer(optional=True)]
# torch's ReduceLROnPlateau skips a cut smaller than its default eps; timm keeps that eps.
_TORCH_EPS = 1e-8


class PlateauLRState(NamedTuple):
    """State of :func:`PlateauLRScheduler` (kept in ``HyperparamsState.schedule_states``).

    Attributes:
      lr: float32 learning rate without noise (timm's ``restore_lr`` when noise is on).
      epoch: int32 number of timm ``step(epoch, metric)`` calls so far: the epoch index.
      plateau: the :class:`~jaxsched.PlateauState` of the detector.
    """

    lr: Array
    epoch: Array
    plateau: PlateauState


@validated
def PlateauLRScheduler(
    lr: Level,
    decay_rate: Factor = 0.1,
    patience_t: TracedCount = 10,
    threshold: Threshold = 1e-4,
    cooldown_t: TracedCount = 0,
    warmup_t: Count = 0,
    warmup_lr_init: Level = 0.0,
    lr_min: Level = 0.0,
    mode: Mode = "max",
    noise_range_t: NoiseRange = None,
    noise_type: NoiseType = "normal",
    noise_pct: NoisePct = 0.67,
    noise_std: NoiseStd = 1.0,
    noise_seed: OptionalSeed = None,
    *,
    every: Steps = 1,
) -> StatefulSchedule:
    """Warmup, then cut by ``decay_rate`` on a plateau (timm's ``PlateauLRScheduler``).

    Update ``k`` reads ``value=metric_k``; every ``every`` updates the mean of their
    metrics is one timm ``scheduler.step(epoch, metric)`` call, with ``epoch`` counting
    those calls from 1 (timm's ``train.py`` calls ``step(epoch + 1, metric)`` after each
    epoch). The rate timm then sets is the one this update uses (the timing of
    :func:`jaxsched.reduce_on_plateau`); before the first call it is the constructor's
    rate: ``lr``, or ``warmup_lr_init`` with a warmup. At epoch ``e``:

    * ``e <= warmup_t``: ``warmup_lr_init + e * (lr - warmup_lr_init) / warmup_t``; the
      metric is ignored (timm does not step the plateau rule during the warmup).
    * ``e > warmup_t``: ``torch.optim.lr_scheduler.ReduceLROnPlateau.step(metric)`` on the
      current rate with ``factor=decay_rate``, ``patience=patience_t``,
      ``cooldown=cooldown_t``, ``min_lr=lr_min``, ``threshold`` (relative, as timm),
      ``eps=1e-8``: better is ``a < best * (1 - threshold)`` (``mode="min"``) or
      ``a > best * (1 + threshold)`` (``"max"``, timm's default); after more than
      ``patience_t`` evaluations without improvement the rate becomes
      ``max(rate * decay_rate, lr_min)`` and ``cooldown_t`` evaluations ignore bad ones.
      A NaN metric is a bad evaluation, as in torch.
    * inside ``noise_range_t`` (and past the warmup) the rate used is
      ``rate * (1 + noise)``; the plateau rule keeps working on the rate without noise
      (timm's ``restore_lr``). The draws come from a JAX key of ``noise_seed`` folded with
      the epoch, not torch's generator (see :func:`CosineLRScheduler`).

    Differences from timm: an infinite metric is never better (torch would keep ``+inf``
    as the best value in ``"max"`` mode for ever); timm's ``step(0, ...)``, which sets
    ``warmup_lr_init`` even without a warmup, is never called (epochs count from 1); the
    epochs are the calls, so they always increase by one. ``step_update`` is a no-op in
    timm, so there is no ``t_in_epochs``; timm 1.0.31 has no ``verbose`` argument.

    Args:
      lr: the base learning rate, >= 0 (timm reads it from the optimizer).
      decay_rate: factor of a cut, in [0, 1).
      patience_t: evaluations without improvement tolerated (int >= 0).
      threshold: >= 0, relative improvement that counts as better.
      cooldown_t: evaluations after a cut that ignore bad ones (int >= 0).
      warmup_t: warmup length in epochs (int >= 0).
      warmup_lr_init: the rate at epoch 0 of the warmup, >= 0.
      lr_min: lower bound of the cuts, >= 0.
      mode: ``"max"`` (an accuracy, timm's default) or ``"min"`` (a loss).
      noise_range_t: None, a start epoch, or a ``[start, end)`` pair where noise applies.
      noise_type: ``"normal"`` or ``"uniform"``.
      noise_pct: bound on the relative noise, > 0.
      noise_std: std of the normal noise, > 0.
      noise_seed: seed of the noise (None: timm's 42).
      every: updates per timm ``step`` (an epoch of ``every`` updates), int >= 1.

    Returns:
      A :class:`~jaxsched.StatefulSchedule` (state :class:`PlateauLRState`) to pass as a
      learning rate; ``update`` raises ``ValueError`` if no ``value=`` is given.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> from jaxsched.timm import PlateauLRScheduler
      >>> lr = PlateauLRScheduler(0.1, decay_rate=0.5, patience_t=0, mode="min")
      >>> tx = jaxsched.sgd(lr)
      >>> state = tx.init(jnp.zeros(1))
      >>> for loss in [1.0, 2.0]:
      ...     _, state = tx.update(jnp.ones(1), state, value=loss)
      >>> print(jaxsched.hyperparams(state)["learning_rate"])
      0.05

    References:
      ``timm.scheduler.PlateauLRScheduler``; ``torch.optim.lr_scheduler.ReduceLROnPlateau``.
    """
    options = PlateauOptions(mode, threshold, "rel", patience_t, cooldown_t, every)
    seed = 42 if noise_seed is None else noise_seed
    noise = (noise_range_t, noise_pct, noise_std, seed, noise_type)
    # timm's warmup_steps: the per-epoch slope (timm uses 1 when there is no warmup, which
    # only matters at epoch 0, never reached here).
    slope = (jnp.asarray(lr, jnp.float32) - warmup_lr_init) / warmup_t if warmup_t else 0.0

    def output(rate: Array, epoch: Array) -> Array:
        # timm adds noise only in its post-warmup branch.
        return jnp.where(epoch > warmup_t, noisy(rate, epoch, *noise), rate)

    def init() -> PlateauLRState:
        start = warmup_lr_init if warmup_t else lr
        return PlateauLRState(jnp.asarray(start, jnp.float32), zero_count(), init_plateau(mode))

    def update(state: PlateauLRState, step: Array, extra: dict) -> tuple:
        del step  # timm's time is its epoch count, kept in the state
        metric = read_metric(extra, "PlateauLRScheduler")
        ready, mean, windowed = collect(state.plateau, metric, every)
        epoch = jnp.where(ready, safe_increment(state.epoch), state.epoch)
        warming = epoch <= warmup_t
        fired, evaluated = evaluate(options, windowed, mean)
        stepped = ready & ~warming
        plateau = jax.tree.map(lambda e, w: jnp.where(stepped, e, w), evaluated, windowed)
        cut_to = jnp.maximum(state.lr * decay_rate, lr_min)
        cut = stepped & fired & (state.lr - cut_to > _TORCH_EPS)
        warm = warmup_lr_init + epoch.astype(jnp.float32) * slope
        rate = jnp.where(ready & warming, warm, jnp.where(cut, cut_to, state.lr))
        new = PlateauLRState(rate.astype(jnp.float32), epoch.astype(jnp.int32), plateau)
        return output(new.lr, new.epoch), new

    def current(state: PlateauLRState) -> Array:
        return output(state.lr, state.epoch)

    return StatefulSchedule(init, update, current)
