"""``transformers.get_scheduler`` (any HF schedule by its ``SchedulerType`` name) and the
metric-driven schedules."""

from __future__ import annotations

from typing import Annotated, Any

from .._base import Schedule, StatefulSchedule
from .._validate import Choice, check_value
from ..torch._plateau import ReduceLROnPlateau
from . import _schedules as s
from ._greedy import GreedyLR


def get_reduce_on_plateau_schedule(lr: Any, **kwargs: Any) -> StatefulSchedule:
    """``torch.optim.lr_scheduler.ReduceLROnPlateau``, read from ``update(..., value=)``.

    Args:
      lr: the initial learning rate, >= 0.
      **kwargs: ``ReduceLROnPlateau``'s (``mode``, ``factor``, ``patience``,
        ``threshold``, ``threshold_mode``, ``cooldown``, ``min_lr``, ``eps``).

    Returns:
      :func:`jaxsched.torch.lr_scheduler.ReduceLROnPlateau`, a
      :class:`~jaxsched.StatefulSchedule`.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> from jaxsched import hf
      >>> tx = jaxsched.sgd(hf.get_reduce_on_plateau_schedule(0.1, factor=0.5, patience=0))
      >>> state = tx.init(jnp.zeros(1))
      >>> for loss in [1.0, 2.0]:
      ...     _, state = tx.update(jnp.ones(1), state, value=loss)
      >>> print(jaxsched.hyperparams(state)["learning_rate"])
      0.05

    References:
      ``transformers.get_reduce_on_plateau_schedule``.
    """
    return ReduceLROnPlateau(lr, **kwargs)


def get_greedy_schedule(lr: Any, **kwargs: Any) -> StatefulSchedule:
    """:func:`GreedyLR`, read from ``update(..., value=)``.

    Args:
      lr: the initial learning rate, >= 0.
      **kwargs: :func:`GreedyLR`'s arguments.

    Returns:
      A :class:`~jaxsched.StatefulSchedule`.

    Example:
      >>> from jaxsched import hf
      >>> schedule = hf.get_greedy_schedule(0.1, patience=5)

    References:
      ``transformers.get_greedy_schedule``.
    """
    return GreedyLR(lr, **kwargs)


# SchedulerType's values, with the function each names.
SCHEDULERS = {
    "linear": s.get_linear_schedule_with_warmup,
    "cosine": s.get_cosine_schedule_with_warmup,
    "cosine_with_restarts": s.get_cosine_with_hard_restarts_schedule_with_warmup,
    "polynomial": s.get_polynomial_decay_schedule_with_warmup,
    "constant": s.get_constant_schedule,
    "constant_with_warmup": s.get_constant_schedule_with_warmup,
    "inverse_sqrt": s.get_inverse_sqrt_schedule,
    "reduce_lr_on_plateau": get_reduce_on_plateau_schedule,
    "cosine_with_min_lr": s.get_cosine_with_min_lr_schedule_with_warmup,
    "cosine_warmup_with_min_lr": s.get_cosine_with_min_lr_schedule_with_warmup_lr_rate,
    "warmup_stable_decay": s.get_wsd_schedule,
    "greedy": get_greedy_schedule,
}
Name = Annotated[str, Choice(tuple(SCHEDULERS))]


def get_scheduler(
    name: Name,
    lr: Any,
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    scheduler_specific_kwargs: dict[str, Any] | None = None,
) -> Schedule | StatefulSchedule:
    """The HF schedule called ``name``, given the arguments HF's ``get_scheduler`` passes.

    ``"constant"`` takes only ``lr``; ``"reduce_lr_on_plateau"`` and ``"greedy"`` take
    ``lr`` and ``scheduler_specific_kwargs``; ``"constant_with_warmup"`` takes
    ``num_warmup_steps``; ``"inverse_sqrt"`` takes it and the extra arguments;
    ``"warmup_stable_decay"`` takes both step counts (``num_training_steps`` may be
    None) and the extra arguments; the others take both step counts and the extra
    arguments. Each argument is checked by the function it goes to.

    Args:
      name: a ``transformers.SchedulerType`` or its value (``"linear"``, ``"cosine"``,
        ``"cosine_with_restarts"``, ``"polynomial"``, ``"constant"``,
        ``"constant_with_warmup"``, ``"inverse_sqrt"``, ``"reduce_lr_on_plateau"``,
        ``"cosine_with_min_lr"``, ``"cosine_warmup_with_min_lr"``,
        ``"warmup_stable_decay"``, ``"greedy"``).
      lr: the optimizer's learning rate.
      num_warmup_steps, num_training_steps: as the named function takes them.
      scheduler_specific_kwargs: the named function's other arguments.

    Returns:
      A schedule, or a :class:`~jaxsched.StatefulSchedule` for the metric-driven two.

    Raises:
      ValueError: for an unknown name, or a step count the named schedule needs that
        is None (as HF).

    Example:
      >>> from jaxsched import hf
      >>> lr = hf.get_scheduler("cosine", 0.1, num_warmup_steps=10, num_training_steps=110)
      >>> print(lr(10), lr(110))
      0.1 0.0

    References:
      ``transformers.get_scheduler``.
    """
    name = check_value("name", getattr(name, "value", name), Name.__metadata__[0])
    function = SCHEDULERS[name]
    kwargs = dict(scheduler_specific_kwargs or {})
    if name == "constant":
        return function(lr)
    if name in ("reduce_lr_on_plateau", "greedy"):
        return function(lr, **kwargs)
    if num_warmup_steps is None:
        raise ValueError(f"{name} requires num_warmup_steps, as in transformers")
    if name == "constant_with_warmup":
        return function(lr, num_warmup_steps=num_warmup_steps)
    if name == "inverse_sqrt":
        return function(lr, num_warmup_steps=num_warmup_steps, **kwargs)
    if name != "warmup_stable_decay" and num_training_steps is None:
        raise ValueError(f"{name} requires num_training_steps, as in transformers")
    return function(
        lr, num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps, **kwargs
    )
