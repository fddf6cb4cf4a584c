"""Hyperparameter sweeps in one program: a batch of optimizer states, one per configuration.

The hyperparameters live in the optimizer state, so N configurations of one optimizer are
N states that differ only in their hyperparameter values. :func:`sweep_init` builds them
with a leading axis of length N (on the parameters too, as each configuration trains its
own copy); ``jax.vmap`` of an ordinary train step then trains all N in one compiled
program, optionally sharded over devices along that axis.
"""

# Helpers are imported under private names: this module's public names are its own.
import itertools as _itertools
import math as _math
import numbers as _numbers
from collections.abc import Mapping as _Mapping
from collections.abc import Sequence as _Sequence
from typing import Any as _Any

import jax as _jax
import jax.numpy as _jnp
import numpy as _np
import optax as _optax
from jax.extend.core import Var as _Var
from jax.sharding import Mesh as _Mesh
from jax.sharding import NamedSharding as _NamedSharding
from jax.sharding import PartitionSpec as _Spec

from ._hyper import _entries, _keys, _map_hp_states
from ._hyper import hyperparams as _hyperparams
from ._hyper import set_hyperparams as _set_hyperparams
from .sharding import _axes, _check_mesh_axis, _leaf_spec

__all__ = ["sweep_init"]

_SCHEDULE_RECIPE = (
    "a schedule is a function fixed when the optimizer is built, so its values cannot be "
    "swept; sweep a factor on top of it instead: build the schedule with peak 1 and chain "
    "a scale, e.g. jaxsched.chain(jaxsched.adam(jaxsched.cosine_decay(1.0, 1000)), "
    "jaxsched.transforms.scale(1.0)), and sweep factor=[...] (the learning rate is then "
    "factor * schedule(step))"
)


def _column(name: str, value: _Any) -> _np.ndarray:
    """The values of one swept hyperparameter as a 1-D float32 array, checked."""
    if isinstance(value, (str, bytes)) or not isinstance(
        value, (_Sequence, _np.ndarray, _jax.Array)
    ):
        raise TypeError(
            f"{name} must be a sequence of numbers, one per configuration, got "
            f"{type(value).__name__}"
        )
    if isinstance(value, (_np.ndarray, _jax.Array)):
        if value.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional, got shape {value.shape}")
        items = list(_np.asarray(value))
    else:
        items = list(value)
    if not items:
        raise ValueError(f"{name} is empty: give at least one value")
    for i, item in enumerate(items):
        dtype = _np.asarray(item).dtype if _np.ndim(item) == 0 else None
        real = isinstance(item, _numbers.Real) or (dtype is not None and (dtype.kind in "iuf"))
        if isinstance(item, (bool, _np.bool_)) or not real:
            shown = repr(item) if isinstance(item, (str, bool)) else type(item).__name__
            raise TypeError(f"{name}[{i}] must be a real number, got {shown}")
        if _math.isnan(float(item)):
            raise ValueError(f"{name}[{i}] is NaN")
    return _np.asarray([float(item) for item in items], _np.float32)


def _ignored_by_update(tx: _Any, state: _Any, params: _Any, keys: list[str]) -> list[str]:
    """The keys that no output of ``tx.update`` depends on: values read only by ``init``.

    Setting such a hyperparameter on a state changes nothing (e.g. Rprop's initial step
    size, Adagrad's initial accumulator). Found from the dependencies of one traced
    update (its updates and new state, without the hyperparameter values it carries).
    """
    update = _optax.with_extra_args_support(tx).update
    current = _hyperparams(state)

    def one_update(values, state, params):
        state = _set_hyperparams(state, dict(zip(keys, values)))
        # value= feeds metric-driven schedules (reduce_on_plateau), which read it.
        out, after = update(params, state, params, value=_jnp.zeros([], _jnp.float32))
        return out, _map_hp_states(lambda _, node: node._replace(hyperparams={}), after)

    jaxpr = _jax.make_jaxpr(one_update)([current[k] for k in keys], state, params).jaxpr
    live = {v for v in jaxpr.outvars if isinstance(v, _Var)}
    for eqn in reversed(jaxpr.eqns):
        if any(v in live for v in eqn.outvars):
            live.update(v for v in eqn.invars if isinstance(v, _Var))
    return [k for k, v in zip(keys, jaxpr.invars) if v not in live]


def _check_keys(tx: _Any, state: _Any, params: _Any, names: dict[str, str]) -> None:
    entries = _entries(state)
    held = _keys(entries)
    for key, name in names.items():
        if key not in held:
            raise ValueError(
                f"{name}: unknown hyperparameter {key!r}; this optimizer's state holds "
                f"{sorted(held)}"
            )
        _, field, node = entries[held.index(key)]
        if field in node.schedule_states:
            raise ValueError(
                f"{name}: hyperparameter {key!r} follows a schedule; " + _SCHEDULE_RECIPE
            )
    ignored = _ignored_by_update(tx, state, params, list(names))
    if ignored:
        raise ValueError(
            f"{', '.join(names[k] for k in ignored)}: read only when the state is initialised "
            "(an initial value such as Rprop's step size or Adagrad's accumulator), so "
            "setting it on a state changes nothing; build one state per value instead, "
            "jax.vmap(lambda v: make_optimizer(v).init(params))(values), and step them with "
            "any one of those optimizers"
        )


def _sweep_sharding(leaf: _Any, mesh: _Mesh, axis: str) -> _NamedSharding:
    spec = _leaf_spec(leaf, mesh)
    if any(axis in _axes(e) for e in spec):
        raise ValueError(
            f"axis={axis!r} already splits the parameters or the state; sweep over another "
            "mesh axis"
        )
    return _NamedSharding(mesh, _Spec(axis, *spec))


def sweep_init(
    tx: _optax.GradientTransformation,
    params: _Any,
    *,
    values: _Mapping[str, _Any] | None = None,
    grid: bool = False,
    mesh: _Mesh | None = None,
    axis: str = "sweep",
    **hyperparams: _Any,
) -> tuple[_Any, _Any]:
    """Parameters and optimizer states for N configurations, batched along a leading axis.

    Each keyword names a hyperparameter by its :func:`jaxsched.hyperparams` key and gives
    its values, one per configuration: ``sweep_init(tx, params, learning_rate=[1e-3,
    1e-2], b2=[0.99, 0.999])``. Keys with ``/`` (``"head/learning_rate"`` in a
    partition) and keys that clash with this function's arguments go in ``values``:
    ``sweep_init(tx, params, values={"head/learning_rate": [...]}, b2=[...])``. Keys are
    taken in order, ``values`` first.

    With ``grid=False`` the i-th configuration takes the i-th value of every key (all
    sequences have the same length N). With ``grid=True`` the configurations are the
    Cartesian product, first key slowest: ``a=[1, 2], b=[3, 4, 5]`` gives ``(1, 3), (1, 4),
    (1, 5), (2, 3), ...`` (``itertools.product`` order, ``N = 2 * 3``).

    Every array of the results gets a leading axis of length N: the parameters are
    copied N times, the state is ``tx.init(params)`` copied N times with the swept values
    set. Train with ``jax.vmap`` of the train step over the parameters and the state (and
    not over the data, which all configurations share). Other hyperparameters keep their
    values; values are not range-checked (they are data, as with
    :func:`jaxsched.set_hyperparams`).

    A hyperparameter that follows a schedule cannot be swept (the schedule is a Python
    function fixed at construction); sweep a factor on top of it: build the schedule with
    peak 1, chain :func:`jaxsched.transforms.scale` and sweep ``factor``::

        tx = jaxsched.chain(jaxsched.adam(jaxsched.cosine_decay(1.0, 1000)),
                            jaxsched.transforms.scale(1.0))
        params_n, state_n = jaxsched.sweep_init(tx, params, factor=[1e-3, 3e-3, 1e-2])

    Integer options of a schedule (warmup and decay lengths) are compiled into the
    program: sweep them with one program each.

    Args:
      tx: the optimizer (any transformation whose state holds its hyperparameters).
      params: the parameters (sharded or not).
      values: hyperparameter key -> sequence of values, for keys that are not valid
        Python keywords.
      grid: Cartesian product instead of zipping.
      mesh: a :class:`jax.sharding.Mesh`: the leading axis is split over its axis
        ``axis`` (N must be a multiple of that axis' size), on top of the sharding the
        parameters already have.
      axis: the mesh axis for the configurations.
      **hyperparams: hyperparameter key -> sequence of values (numbers).

    Returns:
      ``(params_n, state_n)``; ``jaxsched.hyperparams(state_n)`` gives N values per key.

    Raises:
      TypeError: a value that is not a sequence of real numbers, ``values`` not a
        mapping, ``mesh`` not a Mesh, ``tx`` not a transformation.
      ValueError: no key, an unknown key, a key given twice, a scheduled key, a key that
        only ``init`` reads (an initial value: Rprop's step size, Adagrad's
        accumulator), an empty sequence, a NaN, unequal lengths without ``grid``, an
        ``axis`` not in ``mesh`` or N not a multiple of its size.

    Example:
      >>> import jax, jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.sgd(0.1)
      >>> params = jnp.array([1.0, 2.0])
      >>> params_n, state_n = jaxsched.sweep_init(tx, params, learning_rate=[0.1, 0.5])
      >>> def step(p, s):
      ...     u, s = tx.update(p, s, p)  # the gradient of |p|^2 / 2 is p
      ...     return jaxsched.apply_updates(p, u), s
      >>> params_n, state_n = jax.jit(jax.vmap(step))(params_n, state_n)
      >>> print(params_n)
      [[0.9 1.8]
       [0.5 1. ]]
      >>> print(jaxsched.hyperparams(state_n)["learning_rate"])
      [0.1 0.5]

    References:
      ``jax.vmap`` over optimizer states, as in ``optax.inject_hyperparams``; Bergstra &
      Bengio 2012 (grid versus random search: give ``grid=False`` sampled values).
    """
    if not (hasattr(tx, "init") and hasattr(tx, "update")):
        raise TypeError(f"tx must be a transformation with init and update, got {tx!r}")
    if values is not None and not isinstance(values, _Mapping):
        raise TypeError(f"values must be a dict of key -> sequence, got {type(values).__name__}")
    if not isinstance(grid, bool):
        raise TypeError(f"grid must be True or False, got {grid!r}")
    given = dict(values or {})
    twice = sorted(set(given) & set(hyperparams))
    if twice:
        raise ValueError(f"hyperparameters given both in values and as keywords: {twice}")
    names = {k: f"values[{k!r}]" for k in given} | {k: k for k in hyperparams}
    given |= hyperparams
    if not given:
        raise ValueError("sweep_init needs at least one hyperparameter to sweep")
    columns = {k: _column(names[k], v) for k, v in given.items()}
    if grid:
        rows = list(_itertools.product(*columns.values()))
        columns = {k: _np.asarray([r[i] for r in rows], _np.float32) for i, k in enumerate(columns)}
    else:
        lengths = {names[k]: len(c) for k, c in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"without grid=True every key needs the same number of values, got {lengths}"
            )
    n = len(next(iter(columns.values())))
    if mesh is not None:
        size = _check_mesh_axis(mesh, axis)
        if n % size:
            raise ValueError(
                f"the sweep has {n} configurations, not a multiple of the {size} devices "
                f"along axis={axis!r}"
            )

    state = tx.init(params)
    _check_keys(tx, state, params, names)

    def build(params, state, columns):
        def tile(x):
            return _jnp.broadcast_to(x, (n, *_jnp.shape(x)))

        return _jax.tree.map(tile, params), _set_hyperparams(_jax.tree.map(tile, state), columns)

    shardings = None
    if mesh is not None:
        shardings = _jax.tree.map(lambda x: _sweep_sharding(x, mesh, axis), (params, state))
    return _jax.jit(build, out_shardings=shardings)(params, state, columns)
