"""Hyperparameters as data: they live in the optimizer state as float32 scalars.

:func:`with_hyperparams` turns a factory ``(**hyperparams) -> transformation`` into a
transformation whose state holds every numeric hyperparameter (and the value each
schedule gave for the most recent update). The factory is called again inside each
``update`` with the current values as arrays, so changing a value with
:func:`set_hyperparams` never recompiles a jitted step, and a vmap over states sweeps
many settings in one program.

:func:`block` declares a transformation once: the factory's own signature says which
arguments are hyperparameters (positional-or-keyword, annotated with a
:class:`~jaxsched._validate.Real` spec) and which are static (keyword-only), with the
allowed ranges in the annotations. Called by a user, the block checks its arguments and
returns the factory under :func:`with_hyperparams`; called inside another block's
factory (while a factory is being built), it is the plain rule on the values it is
given, so a composed optimizer keeps all its hyperparameters in one state.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from ._base import (
    Array,
    PyTree,
    ScalarOrSchedule,
    StatefulSchedule,
    check_float_updates,
    distinct_buffers,
    is_schedule,
    path_str,
    safe_increment,
    zero_count,
)
from ._validate import Real, check_schedule_arg, signature_specs, validated

_BUILDING = contextvars.ContextVar("jaxsched_building", default=False)


def _build(factory: Callable[..., Any], values: dict[str, Any]) -> Any:
    """Calls ``factory(**values)`` with blocks acting as plain rules."""
    token = _BUILDING.set(True)
    try:
        return factory(**values)
    finally:
        _BUILDING.reset(token)


class HyperparamsState(NamedTuple):
    """State of :func:`with_hyperparams`.

    Attributes:
      count: int32 number of updates done (saturating), the step the schedules see at the
        next update; None where no hyperparameter follows a schedule (nothing reads it,
        and a counter costs a kernel of its own in every step).
      hyperparams: name -> float32 value. For a constant, the value in force; for a
        scheduled hyperparameter, the value applied by the most recent update (before
        any update, the value the first update will use).
      schedule_states: one entry per scheduled hyperparameter: ``()`` for a pure schedule,
        the schedule's own state for a :class:`StatefulSchedule`.
      inner_state: the state of the wrapped transformation.
    """

    count: Array | None
    hyperparams: dict[str, Array]
    schedule_states: dict[str, PyTree]
    inner_state: PyTree


def _as_f32(value: Any) -> Array:
    return jnp.asarray(value, dtype=jnp.float32)


def with_hyperparams(
    factory: Callable[..., optax.GradientTransformation],
    /,
    **hyperparams: ScalarOrSchedule,
) -> optax.GradientTransformationExtraArgs:
    """Keeps the numeric hyperparameters of ``factory(**hyperparams)`` in its state.

    Each value may be a number, a jax scalar, a schedule ``step -> value`` (update k,
    0-based, uses ``schedule(k)``) or a :class:`~jaxsched.StatefulSchedule` (which may
    read the extra arguments of ``update``, e.g. ``value=`` for reduce-on-plateau).

    Args:
      factory: builds the transformation from hyperparameter values. It is called with
        float32 arrays inside ``update``, so it must not branch in Python on them.
      **hyperparams: the hyperparameters, by the names ``factory`` takes.

    Returns:
      A transformation with a :class:`HyperparamsState`.
    """
    hyperparams = {k: check_schedule_arg(k, v) for k, v in hyperparams.items()}
    scheduled = {k: v for k, v in hyperparams.items() if is_schedule(v)}
    constants = {k: v for k, v in hyperparams.items() if k not in scheduled}

    def _schedule_value(name: str, sched_state: PyTree, count: Array, extra: dict) -> tuple:
        schedule = scheduled[name]
        if isinstance(schedule, StatefulSchedule):
            value, sched_state = schedule.update(sched_state, count, extra)
            return _as_f32(value), sched_state
        return _as_f32(schedule(count)), sched_state

    def initial() -> tuple[dict[str, Array], dict[str, PyTree]]:
        values = {k: _as_f32(v) for k, v in constants.items()}
        sched_states = {}
        for name, schedule in scheduled.items():
            if isinstance(schedule, StatefulSchedule):
                sched_states[name] = schedule.init()
                values[name] = _as_f32(schedule.current(sched_states[name]))
            else:
                sched_states[name] = ()
                values[name] = _as_f32(schedule(zero_count()))
        return {k: values[k] for k in hyperparams}, sched_states

    def init(params: PyTree) -> HyperparamsState:
        values, sched_states = initial()
        inner_state = _build(factory, values).init(params)
        # Each array once, so that the state can be donated; a dict comprehension for
        # the values keeps their order (the arguments').
        seen: set[int] = set()
        values = {k: distinct_buffers(v, seen) for k, v in values.items()}
        sched_states = distinct_buffers(sched_states, seen)
        inner_state = distinct_buffers(inner_state, seen)
        return HyperparamsState(
            zero_count() if scheduled else None, values, sched_states, inner_state
        )

    # Built once now, so that the factory's own checks (options that need each other)
    # fail at construction rather than at the first init.
    if not _BUILDING.get():
        _build(factory, initial()[0])

    def update(updates, state: HyperparamsState, params=None, **extra):
        check_float_updates(updates)
        values = dict(state.hyperparams)
        sched_states = {}
        for name in scheduled:
            value, sched_states[name] = _schedule_value(
                name, state.schedule_states[name], state.count, extra
            )
            values[name] = _in_place_of(state.hyperparams[name], value)
        inner = optax.with_extra_args_support(_build(factory, values))
        updates, inner_state = inner.update(updates, state.inner_state, params, **extra)
        count = safe_increment(state.count) if scheduled else None
        new_state = HyperparamsState(count, values, sched_states, inner_state)
        return updates, new_state

    return optax.GradientTransformationExtraArgs(init, update)


def _in_place_of(previous: Array, value: Array) -> Array:
    """``value``, read as a function of ``previous`` as well (a select of ``value`` either
    way, which XLA removes).

    A schedule's new value does not read the previous one, and ``jax.jit`` drops inputs
    that nothing reads. Donated buffers are then paired with the outputs of their type
    in order, one place off: each later scalar hyperparameter goes to its neighbour's
    buffer, and XLA swaps them through copies (two scalar kernels per step with
    ``adamw(schedule, weight_decay=...)``).
    """
    return jax.lax.select(previous == previous, value, value)


def block(factory: Callable[..., optax.GradientTransformation]) -> Callable[..., Any]:
    """Declares a building block or optimizer once, from its factory's signature.

    The factory's positional-or-keyword parameters annotated with a
    :class:`~jaxsched._validate.Real` spec are its hyperparameters: kept in the state
    (float32) under their names, settable with :func:`set_hyperparams`, and possibly
    schedules. A hyperparameter given as None is left out of the state (the factory sees
    None). Every other parameter, keyword-only ones included, is static. Every
    annotated argument is checked at construction (see :mod:`jaxsched._validate`).

    Inside a factory being built by :func:`with_hyperparams` the block is its plain
    factory: its arguments are the enclosing state's values, and it keeps none of its own.
    """
    sig = inspect.signature(factory)
    names: list[str] | None = None

    def public(*args, **kwargs):
        nonlocal names
        if names is None:
            names = [
                n
                for n, spec in signature_specs(factory).items()
                if isinstance(spec, Real)
                and sig.parameters[n].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            ]
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        values = {n: bound.arguments[n] for n in names if bound.arguments[n] is not None}
        static = {n: v for n, v in bound.arguments.items() if n not in values}
        return with_hyperparams(functools.partial(factory, **static), **values)

    public = validated(functools.update_wrapper(public, factory))

    @functools.wraps(factory)
    def call(*args, **kwargs):
        if _BUILDING.get():
            return factory(*args, **kwargs)
        return public(*args, **kwargs)

    return call


def _is_hp(node: Any) -> bool:
    return isinstance(node, HyperparamsState)


def _map_hp_states(
    fn: Callable[[tuple[str, ...], HyperparamsState], HyperparamsState],
    tree: PyTree,
    prefix: tuple[str, ...] = (),
) -> PyTree:
    """Applies ``fn(path, node)`` to every HyperparamsState, innermost first."""

    def visit(path, node):
        if not _is_hp(node):
            return node
        full = prefix + tuple(p for p in path_str(path).split("/") if p != "<root>")
        node = node._replace(inner_state=_map_hp_states(fn, node.inner_state, full))
        return fn(full, node)

    return jax.tree_util.tree_map_with_path(visit, tree, is_leaf=_is_hp)


def _entries(state: PyTree) -> list[tuple[tuple[str, ...], str, HyperparamsState]]:
    found: list[tuple[tuple[str, ...], str, HyperparamsState]] = []

    def record(path, node):
        found.extend((path, name, node) for name in node.hyperparams)
        return node

    _map_hp_states(record, state)
    return found


def _keys(entries: list) -> list[str]:
    """The shortest path suffix (ending in the name) that no other entry shares."""
    full = [(*path, name) for path, name, _ in entries]
    keys = []
    for i, parts in enumerate(full):
        for n in range(1, len(parts) + 1):
            suffix = parts[-n:]
            if all(other[-n:] != suffix for j, other in enumerate(full) if j != i):
                break
        keys.append("/".join(suffix))
    return keys


def hyperparams(state: PyTree) -> dict[str, Array]:
    """Returns every hyperparameter held in an optimizer state, as float32 arrays.

    For one optimizer the keys are its argument names (``learning_rate``, ``b1``, ...).
    In a composition (``chain``, ``partition``, wrappers such as ``lookahead``) a name
    that occurs once stays bare; a name that occurs more than once is qualified by the
    shortest tail of its path in the state that tells it apart, with ``/`` between
    parts: chain positions (``"0/learning_rate"``), partition labels
    (``"head/learning_rate"``) or wrapper fields (``"first/learning_rate"``).

    A scheduled hyperparameter reports the value applied by the most recent update.
    """
    entries = _entries(state)
    return {key: node.hyperparams[name] for key, (_, name, node) in zip(_keys(entries), entries)}


def set_hyperparams(
    state: PyTree, values: Mapping[str, Any] | None = None, **kwargs: Any
) -> PyTree:
    """Returns a copy of ``state`` with some hyperparameters replaced.

    Keys are those of :func:`hyperparams` (use ``values`` for keys containing ``/``).
    The new values become float32 arrays of the shape given (a scalar, or a batch of
    values for a vmapped sweep), so a jitted step that takes the state does not
    recompile for scalar changes. A hyperparameter that follows a schedule cannot be
    set: its schedule would overwrite the value at the next update.

    Raises:
      ValueError: for an unknown key or a scheduled hyperparameter.
    """
    new = dict(values or {})
    overlap = set(new) & set(kwargs)
    if overlap:
        raise ValueError(f"hyperparameters given twice: {sorted(overlap)}")
    new.update(kwargs)
    entries = _entries(state)
    keys = _keys(entries)
    by_location = {}
    for key, (path, name, node) in zip(keys, entries):
        by_location[(path, name)] = key
        if key in new and name in node.schedule_states:
            raise ValueError(
                f"hyperparameter {key!r} follows a schedule and cannot be set; build the "
                "optimizer with a constant (or a different schedule) instead"
            )
    unknown = sorted(set(new) - set(keys))
    if unknown:
        raise ValueError(f"unknown hyperparameters {unknown}; this state holds {sorted(keys)}")

    def replace(path, node):
        hp = dict(node.hyperparams)
        for name in hp:
            key = by_location[(path, name)]
            if key in new:
                hp[name] = _as_f32(new[key])
        return node._replace(hyperparams=hp)

    return _map_hp_states(replace, state)


class Variant:
    """A function of its own name and docstring that calls ``base`` with other defaults.

    Made by :func:`variant`; its signature is ``base``'s with the bound defaults, so it
    takes positional and keyword arguments as a ``def`` would.
    """

    def __init__(self, base: Callable[..., Any], name: str, doc: str, module: str, **defaults):
        sig = inspect.signature(base)
        unknown = set(defaults) - set(sig.parameters)
        if unknown:
            raise TypeError(f"{base.__name__} has no arguments {sorted(unknown)}")
        params = [
            p.replace(default=defaults[p.name]) if p.name in defaults else p
            for p in sig.parameters.values()
        ]
        self.__wrapped__ = base
        self.__signature__ = sig.replace(parameters=params)
        self.__name__ = self.__qualname__ = name
        self.__doc__ = doc
        self.__module__ = module

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            bound = self.__signature__.bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(f"{self.__name__}(): {err}") from None
        bound.apply_defaults()
        return self.__wrapped__(*bound.args, **bound.kwargs)

    def __repr__(self) -> str:
        return f"<jaxsched variant {self.__module__}.{self.__name__}>"


def variant(base: Callable[..., Any], name: str, doc: str, **defaults: Any) -> Variant:
    """``base`` with some arguments bound to new defaults, under its own name and docstring.

    How optimizers that differ from another only in settings are declared (``adamw`` is
    ``adam`` with decoupled weight decay): one definition, no relayed argument lists.
    """
    import sys

    module = sys._getframe(1).f_globals.get("__name__", base.__module__)
    return Variant(base, name, doc, module, **defaults)
