"""Optimizer state over several devices: ZeRO-1 partitioning of the per-parameter buffers.

Every state array that has a parameter's shape is built with ``*_like`` from that
parameter, so it already has the parameter's sharding (a replicated parameter gives a
replicated moment). :func:`zero_sharding` goes one step further for data-parallel
training: it splits those buffers over the data axis, so each device keeps ``1/n`` of the
moments (ZeRO stage 1, Rajbhandari et al. 2020) while the parameters stay replicated.
"""

# Helpers are imported under private names: this module's public names are its own.
import math as _math
from typing import Any as _Any

import jax as _jax
from jax.sharding import Mesh as _Mesh
from jax.sharding import NamedSharding as _NamedSharding
from jax.sharding import PartitionSpec as _Spec

from ._hyper import HyperparamsState as _HyperparamsState

__all__ = ["zero_sharding"]


def _check_mesh_axis(mesh: _Any, axis: _Any) -> int:
    """The size of ``axis`` in ``mesh``; TypeError for a non-mesh, ValueError for a bad axis."""
    if not isinstance(mesh, _Mesh):
        raise TypeError(
            "mesh must be a jax.sharding.Mesh (e.g. jax.make_mesh((8,), ('data',))), got "
            f"{type(mesh).__name__}"
        )
    if not isinstance(axis, str):
        raise TypeError(f"axis must be the name of a mesh axis (a str), got {axis!r}")
    if axis not in mesh.axis_names:
        raise ValueError(
            f"axis={axis!r} is not an axis of the mesh; its axes are {mesh.axis_names}"
        )
    return mesh.shape[axis]


def _axes(entry: _Any) -> tuple[str, ...]:
    """The mesh axes of one partition-spec entry (None, a name or a tuple of names)."""
    if entry is None or entry is _Spec.UNCONSTRAINED:
        return ()
    return entry if isinstance(entry, tuple) else (entry,)


def _leaf_spec(leaf: _Any, mesh: _Mesh) -> tuple[_Any, ...]:
    """The partition spec of an array, one entry per dimension (None where not split).

    Arrays without a NamedSharding (numpy arrays, single-device or fully replicated
    arrays) count as unsplit.
    """
    ndim = len(getattr(leaf, "shape", ()))
    sharding = getattr(leaf, "sharding", None)
    if isinstance(sharding, _NamedSharding):
        spec = tuple(None if not _axes(s) else s for s in sharding.spec)
        missing = sorted({a for s in spec for a in _axes(s)} - set(mesh.axis_names))
        if missing:
            raise ValueError(
                f"a state array is sharded over axes {missing} that the mesh "
                f"{mesh.axis_names} lacks"
            )
        return spec + (None,) * (ndim - len(spec))
    if sharding is not None and not sharding.is_fully_replicated:
        raise ValueError(
            f"a state array has a {type(sharding).__name__} that is not replicated; give "
            "the state NamedShardings (jax.device_put(x, NamedSharding(mesh, spec)))"
        )
    return (None,) * ndim


def _split(leaf: _Any, mesh: _Mesh, axis: str, size: int) -> _NamedSharding:
    spec = _leaf_spec(leaf, mesh)
    if any(axis in _axes(e) for e in spec):
        return _NamedSharding(mesh, _Spec(*spec))
    # Each dimension's length on one device, given the axes it is already split over.
    local = [n // _math.prod(mesh.shape[a] for a in _axes(e)) for n, e in zip(leaf.shape, spec)]
    fits = [d for d, n in enumerate(local) if n > 0 and n % size == 0]
    if not fits:
        return _NamedSharding(mesh, _Spec(*spec))
    best = max(fits, key=lambda d: local[d])
    entry = (*_axes(spec[best]), axis)
    spec = (*spec[:best], entry[0] if len(entry) == 1 else entry, *spec[best + 1 :])
    return _NamedSharding(mesh, _Spec(*spec))


def _is_hp(node: _Any) -> bool:
    return isinstance(node, _HyperparamsState)


def zero_sharding(state: _Any, mesh: _Mesh, axis: str = "data") -> _Any:
    """Shardings that split an optimizer state over the data axis (ZeRO-1).

    Each array of ``state`` with one dimension or more (moments, accumulators, slow
    weights: the per-parameter buffers) is split over ``axis`` along its longest
    dimension whose length on one device is a multiple of the axis size, on top of the
    axes it is already split over (a model-parallel ``P(None, "model")`` moment becomes
    ``P("data", "model")`` or ``P(None, ("model", "data"))``); an array already split
    over ``axis``, or with no such dimension, keeps its sharding. Scalars (step counts)
    and hyperparameter values (also when batched by :func:`jaxsched.sweep_init`) keep
    theirs: replicated unless already sharded.

    Use the result with ``jax.device_put(state, shardings)`` and as the state's
    ``out_shardings`` in the jitted train step: each device then holds ``1/n`` of the
    moments; XLA reduce-scatters the gradients onto the moment shards and all-gathers the
    updated parameters (the "Multiple devices" section of the README shows the step).

    Args:
      state: an optimizer state (arrays, or ``jax.ShapeDtypeStruct`` from
        ``jax.eval_shape(tx.init, params)``), with NamedShardings or unsharded.
      mesh: the :class:`jax.sharding.Mesh` (Explicit or Auto axes).
      axis: the name of the mesh axis to split over (the data-parallel axis).

    Returns:
      A pytree of :class:`jax.sharding.NamedSharding` with the structure of ``state``.

    Raises:
      TypeError: if ``mesh`` is not a Mesh or ``axis`` is not a str.
      ValueError: if ``axis`` is not an axis of ``mesh``, or a state array is sharded
        over axes that ``mesh`` lacks.

    Example:
      >>> import jax, jax.numpy as jnp, jaxsched
      >>> mesh = jax.make_mesh((1,), ("data",))
      >>> state = jaxsched.adam(1e-3).init({"w": jnp.zeros((4, 6))})
      >>> shardings = jaxsched.zero_sharding(state, mesh, "data")
      >>> print(shardings.inner_state[0].mu["w"].spec, shardings.inner_state[0].count.spec)
      P(None, 'data') P()
      >>> state = jax.device_put(state, shardings)

    References:
      Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion
      Parameter Models" (stage 1, optimizer-state partitioning); Xu et al. 2020,
      "Automatic Cross-Replica Sharding of Weight Update in Data-Parallel Training".
    """
    size = _check_mesh_axis(mesh, axis)

    def keep(tree: _Any) -> _Any:
        return _jax.tree.map(lambda x: _NamedSharding(mesh, _Spec(*_leaf_spec(x, mesh))), tree)

    def visit(node: _Any) -> _Any:
        if _is_hp(node):
            inner = _jax.tree.map(visit, node.inner_state, is_leaf=_is_hp)
            return _HyperparamsState(
                keep(node.count), keep(node.hyperparams), keep(node.schedule_states), inner
            )
        return _split(node, mesh, axis, size)

    return _jax.tree.map(visit, state, is_leaf=_is_hp)
