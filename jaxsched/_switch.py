"""Switching optimizers: one transformation, then another, at a step or on a plateau."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from ._base import Array, EmptyState, PyTree, cast_like, safe_increment, zero_count
from ._detect import (
    PlateauOptions,
    PlateauState,
    init_plateau,
    plateau_options,
    plateau_step,
    read_metric,
)
from ._validate import Integer, Transformation, validated
from ._wrappers import typed_cond


class SwitchState(NamedTuple):
    """State of :func:`switch`.

    Attributes:
      count: int32 number of updates done.
      switch_step: int32 0-based index of the first update made by ``second``; -1 until
        the switch happens (also readable with :func:`switch_step`).
      plateau: the detector's :class:`~jaxsched.PlateauState` (an empty state without
        ``on_plateau``).
      first, second: the states of the two transformations (both kept throughout).
    """

    count: Array
    switch_step: Array
    plateau: PlateauState | EmptyState
    first: PyTree
    second: PyTree


@validated
def switch(
    first: Transformation,
    second: Transformation,
    at_step: Annotated[int | None, Integer(low=0, optional=True)] = None,
    *,
    on_plateau: PlateauOptions | dict[str, Any] | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Updates with ``first``, then with ``second`` from the switch on.

    The switch happens at update ``at_step`` (updates ``0 .. at_step - 1`` use ``first``)
    or, with ``on_plateau``, at the first update where reduce-on-plateau would cut the
    learning rate (the detector of :func:`jaxsched.reduce_on_plateau`, reading
    ``update(..., value=metric)``, where a NaN or infinite metric counts as a bad
    evaluation; the update that detects the plateau is already made by ``second``); with
    both, whichever comes first. This is "train with Adam until it stops improving, then
    switch to SGD": ``switch(adam(1e-3), sgd(1e-2), on_plateau={"patience": 5})``. For
    Adam -> SGD with an estimated learning rate see :func:`jaxsched.swats`.

    Both states are kept. ``second`` starts from its own ``init`` state at the switch
    (its count and schedules start at 0, as a new stage of ``torch``'s SequentialLR).
    Only the active branch is computed (``jax.lax.cond``; under ``vmap`` with a batched
    switch both are computed and selected).

    Args:
      first, second: the transformations.
      at_step: the switch step, int >= 0, or None.
      on_plateau: the detector's options, a :class:`~jaxsched.PlateauOptions` or a dict
        of some of its fields (``mode`` "min", ``threshold`` 1e-4, ``threshold_mode``
        "rel", ``patience`` 10, ``every`` 1; ``cooldown`` has no effect, as the first
        plateau switches); or None. With it every update needs ``value=``.

    Returns:
      A transformation with a :class:`SwitchState`; the switch step is
      ``state.switch_step`` (-1 before the switch), or :func:`switch_step` of any state
      that contains it. :func:`jaxsched.hyperparams` reports the two optimizers' values
      as ``"first/..."`` and ``"second/..."``. ``update`` passes ``params`` (None
      included) and extra arguments to the active transformation.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.switch(jaxsched.sgd(1.0), jaxsched.sgd(0.1), at_step=1)
      >>> state = tx.init(jnp.zeros(1))
      >>> u0, state = tx.update(jnp.ones(1), state)
      >>> u1, state = tx.update(jnp.ones(1), state)
      >>> print(u0, u1, jaxsched.switch_step(state))
      [-1.] [-0.1] 1

    References:
      Keskar & Socher 2017 (Adam, then SGD); ``torch.optim.lr_scheduler.SequentialLR``;
      ``optax.join_schedules`` for schedules.
    """
    if at_step is None and on_plateau is None:
        raise ValueError("switch needs at_step or on_plateau (or both)")
    options = None if on_plateau is None else plateau_options(on_plateau, "on_plateau")
    first = optax.with_extra_args_support(first)
    second = optax.with_extra_args_support(second)

    def init(params):
        plateau = EmptyState() if options is None else init_plateau(options.mode)
        never = jnp.full([], -1, jnp.int32)
        return SwitchState(zero_count(), never, plateau, first.init(params), second.init(params))

    def update(updates, state, params=None, **extra):
        switched = state.switch_step >= 0
        fire = jnp.zeros([], bool)
        plateau = state.plateau
        if at_step is not None:
            fire = state.count >= at_step
        if options is not None:
            fired, plateau = plateau_step(
                options, plateau, read_metric(extra, "switch(on_plateau=...)")
            )
            fire = fire | fired
        use_second = switched | fire

        def run_first():
            out, new_first = first.update(updates, state.first, params, **extra)
            return cast_like(out, updates), new_first, state.second

        def run_second():
            out, new_second = second.update(updates, state.second, params, **extra)
            return cast_like(out, updates), state.first, new_second

        like = (updates, state.first, state.second)
        out, new_first, new_second = typed_cond(use_second, run_second, run_first, like)
        step = jnp.where(switched, state.switch_step, jnp.where(fire, state.count, -1))
        new_state = SwitchState(
            safe_increment(state.count), step.astype(jnp.int32), plateau, new_first, new_second
        )
        return out, new_state

    return optax.GradientTransformationExtraArgs(init, update)


def _has_switch_step(node: Any) -> bool:
    return isinstance(node, tuple) and hasattr(node, "_fields") and "switch_step" in node._fields


def switch_step(state: PyTree) -> Array:
    """The switch step held in an optimizer state: -1 until the switch happens.

    Finds the first :class:`SwitchState` (from :func:`switch`) or
    :class:`jaxsched.optimizers.SwatsState` (from :func:`jaxsched.swats`) in ``state``,
    whatever wraps it, and returns its int32 ``switch_step``: the 0-based index of the
    first update made by the second optimizer (SGD for SWATS).

    Args:
      state: an optimizer state (any pytree) containing a switch.

    Returns:
      The int32 switch step (batched like the state under ``vmap``).

    Raises:
      ValueError: if the state holds no switch.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.switch(jaxsched.adam(0.1), jaxsched.sgd(0.1), at_step=10)
      >>> print(jaxsched.switch_step({"opt": tx.init(jnp.zeros(2))}))
      -1

    References:
      Keskar & Socher 2017 (the switch step of SWATS).
    """
    found = [
        node.switch_step
        for node in jax.tree.leaves(state, is_leaf=_has_switch_step)
        if _has_switch_step(node)
    ]
    if not found:
        raise ValueError("this state holds no switch (jaxsched.switch or jaxsched.swats)")
    return found[0]
