"""Switching optimizers: one transformation, then another, at a step or on a plateau."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from ._base import Array, PyTree, cast_like, check_int, safe_increment, zero_count
from ._plateau import PlateauState, check_detection_args, collect, detect, init_plateau, read_metric
from .transforms._basic import EmptyState

_PLATEAU_OPTIONS = {"mode": "min", "patience": 10, "threshold": 1e-4, "threshold_mode": "rel"}


class SwitchState(NamedTuple):
    """State of :func:`switch`.

    Attributes:
      count: int32 number of updates done.
      switch_step: int32 0-based index of the first update made by ``second``; -1 until
        the switch happens (also readable with :func:`switch_step`).
      plateau: the detector's :class:`PlateauState` (an empty state without
        ``on_plateau``).
      first, second: the states of the two transformations (both kept throughout).
    """

    count: Array
    switch_step: Array
    plateau: PlateauState | EmptyState
    first: PyTree
    second: PyTree


def _plateau_options(on_plateau: Mapping[str, Any]) -> dict[str, Any]:
    allowed = {*_PLATEAU_OPTIONS, "every"}
    unknown = sorted(set(on_plateau) - allowed)
    if unknown:
        raise ValueError(f"on_plateau has unknown options {unknown}; allowed: {sorted(allowed)}")
    options = {**_PLATEAU_OPTIONS, "every": 1, **on_plateau}
    check_detection_args(**options)
    return options


def switch(
    first: optax.GradientTransformation,
    second: optax.GradientTransformation,
    at_step: int | None = None,
    *,
    on_plateau: Mapping[str, Any] | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Updates with ``first``, then with ``second`` from the switch on.

    The switch happens at update ``at_step`` (updates ``0 .. at_step - 1`` use ``first``)
    or, with ``on_plateau``, at the first update where reduce-on-plateau would cut the
    learning rate (the same detector as :func:`jaxsched.reduce_on_plateau`, reading
    ``update(..., value=metric)``; the update that detects the plateau is already made by
    ``second``); with both, whichever comes first. This is "train with Adam until it stops
    improving, then switch to SGD": ``switch(adam(1e-3), sgd(1e-2), on_plateau={"patience":
    5})``. For Adam -> SGD with an estimated learning rate see :func:`jaxsched.swats`.

    Both states are kept. ``second`` starts from its own ``init`` state at the switch
    (its count and schedules start at 0, as a new stage of ``torch``'s SequentialLR).
    Only the active branch is computed (``jax.lax.cond``; under ``vmap`` with a batched
    switch both are computed and selected).

    Args:
      first, second: the transformations.
      at_step: the switch step, int >= 0, or None.
      on_plateau: detector options, a dict with keys among ``mode`` ("min"),
        ``patience`` (10), ``threshold`` (1e-4), ``threshold_mode`` ("rel"; also "abs",
        "rel_magnitude") and ``every`` (1); or None. With it every update needs
        ``value=``.

    Returns:
      A transformation with a :class:`SwitchState`; the switch step is
      ``state.switch_step`` (-1 before the switch), or :func:`switch_step` of any state
      that contains it. :func:`jaxsched.hyperparams` reports the two optimizers' values
      as ``"first/..."`` and ``"second/..."``.
    """
    if at_step is None and on_plateau is None:
        raise ValueError("switch needs at_step or on_plateau (or both)")
    if at_step is not None:
        at_step = check_int("at_step", at_step, low=0)
    options = None if on_plateau is None else _plateau_options(on_plateau)
    first = optax.with_extra_args_support(first)
    second = optax.with_extra_args_support(second)

    def init(params):
        plateau = EmptyState() if options is None else init_plateau(options["mode"])
        never = jnp.full([], -1, jnp.int32)
        return SwitchState(zero_count(), never, plateau, first.init(params), second.init(params))

    def update(updates, state, params=None, **extra):
        switched = state.switch_step >= 0
        fire = jnp.zeros([], bool)
        plateau = state.plateau
        if at_step is not None:
            fire = state.count >= at_step
        if options is not None:
            metric = read_metric(extra, "switch(on_plateau=...)")
            ready, mean, plateau = collect(plateau, metric, options["every"])
            fired, evaluated = detect(
                plateau,
                mean,
                mode=options["mode"],
                patience=options["patience"],
                threshold=options["threshold"],
                threshold_mode=options["threshold_mode"],
                cooldown=0,
            )
            plateau = jax.tree.map(lambda e, p: jnp.where(ready, e, p), evaluated, plateau)
            fire = fire | (ready & fired)
        use_second = switched | fire

        def run_first(_):
            out, new_first = first.update(updates, state.first, params, **extra)
            return cast_like(out, updates), new_first, state.second

        def run_second(_):
            out, new_second = second.update(updates, state.second, params, **extra)
            return cast_like(out, updates), state.first, new_second

        out, new_first, new_second = jax.lax.cond(use_second, run_second, run_first, None)
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

    Raises:
      ValueError: if the state holds no switch.
    """
    found = [
        node.switch_step
        for node in jax.tree.leaves(state, is_leaf=_has_switch_step)
        if _has_switch_step(node)
    ]
    if not found:
        raise ValueError("this state holds no switch (jaxsched.switch or jaxsched.swats)")
    return found[0]
