"""A fast path for models with many small leaves: the optimizer works on one buffer per dtype.

An elementwise optimizer (Adam, SGD with momentum, AdamW, Lion, RMSprop, ...) does the
same arithmetic on every element whatever leaf it sits in, so the leaves can be laid end
to end in one 1-D buffer per dtype and updated in one pass instead of one small program
per leaf. :func:`flat` wraps such an optimizer; see its docstring for the two ways of
using it (drop-in, or parameters kept in the buffers) and for what it refuses.
"""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._base import Array, PyTree
from ._validate import Choice, Either, Flag, Integer, Transformation, validated

# max_size="auto" on CPUs: the leaf size where packing stopped paying (benchmarks).
_CPU_MAX_SIZE = 8192

# State classes of rules that read a leaf's shape or norms over a whole leaf: packing
# leaves into one 1-D buffer would change their numbers, so flat() refuses them.
_SHAPE_RULES = ("Factored", "Adafactor", "Soap", "Lamb", "Lars", "Muon", "Shampoo")


class FlatState(NamedTuple):
    """State of :func:`flat`.

    Attributes:
      offsets: leaf index (as a str) -> int32 offset of that leaf in its buffer, for the
        leaves that are packed. They are data rather than constants so that the slices
        that cut the buffer back into leaves are one compiled kernel per leaf shape
        (XLA compiles a static slice per offset, ~50 ms each on CPU). Which keys are
        present says which leaves are packed (the others are kept as they are).
      inner_state: the wrapped optimizer's state over the packed tree.
    """

    offsets: dict[str, Array]
    inner_state: PyTree


class _Layout(NamedTuple):
    treedef: Any
    shapes: tuple[tuple[int, ...], ...]
    groups: tuple[str | None, ...]  # buffer key per leaf; None: kept as it is
    sizes: tuple[int, ...]
    labels: tuple[str, ...]  # per leaf ("" without labels): kept leaves go under theirs


def _replicated(leaf: Any) -> bool:
    """True unless the leaf is known to be split over devices."""
    sharding = getattr(leaf, "sharding", None)
    if sharding is None:
        try:
            sharding = jax.typeof(leaf).sharding
        except Exception:  # no sharding information: count as unsplit
            return True
        spec = getattr(sharding, "spec", None)
        return spec is None or all(s is None for s in spec)
    try:
        return bool(sharding.is_fully_replicated)
    except Exception:  # abstract shardings: read the spec
        return all(s is None for s in getattr(sharding, "spec", ()))


def _labels(labels: Any, params: PyTree) -> list[str]:
    if labels is None:
        return ["" for _ in jax.tree.leaves(params)]
    tree = labels(params) if callable(labels) else labels
    found = jax.tree.leaves(tree)
    if len(found) != len(jax.tree.leaves(params)) or not all(
        isinstance(x, str) and x and "/" not in x for x in found
    ):
        raise ValueError(
            "labels must be a pytree of non-empty str labels without '/'"
            " with one label per parameter leaf (or a "
            "function params -> such a tree)"
        )
    return found


def _probe_tree(packed: dict[str, Any]) -> dict[str, Any]:
    """The packed tree's floating entries as 8 zeros each (numpy: concrete also while
    ``init`` is traced), in its structure, so that a mask over it fits the probe."""

    def floating(x: Any) -> bool:
        return bool(jnp.issubdtype(jnp.result_type(x), jnp.inexact))

    probe: dict[str, Any] = {}
    for key, node in packed.items():
        if isinstance(node, dict):
            inner = {k: np.zeros(8, jnp.result_type(x)) for k, x in node.items() if floating(x)}
            if inner:
                probe[key] = inner
        elif floating(node):
            probe[key] = np.zeros(8, jnp.result_type(node))
    return probe


def _packed_keys(layout: _Layout) -> set[str]:
    return {str(i) for i, key in enumerate(layout.groups) if key is not None}


def _layout(
    params: PyTree, labels: Any, max_size: int | None, packed_keys: set[str] | None
) -> _Layout:
    """Which buffer each leaf goes to: by label and dtype; None for a leaf kept as it is
    (not floating, split over devices, or over ``max_size`` elements)."""
    leaves, treedef = jax.tree.flatten(params)
    keys: list[str | None] = []
    names = _labels(labels, params)
    for i, (leaf, label) in enumerate(zip(leaves, names)):
        dtype = jnp.result_type(leaf)
        if packed_keys is not None:
            packed = str(i) in packed_keys
        else:
            packed = (
                bool(jnp.issubdtype(dtype, jnp.inexact))
                and (max_size is None or np.size(leaf) <= max_size)
                and _replicated(leaf)
            )
        keys.append(None if not packed else f"{label}/{dtype.name}" if label else dtype.name)
    return _Layout(
        treedef,
        tuple(np.shape(x) for x in leaves),
        tuple(keys),
        tuple(int(np.prod(np.shape(x), dtype=np.int64)) for x in leaves),
        tuple(names),
    )


def _kept_path(layout: _Layout, i: int) -> tuple[str, ...]:
    """Where kept leaf ``i`` sits in the packed tree: ``leaf{i}``, under its label if any."""
    label = layout.labels[i]
    return (label, f"leaf{i}") if label else (f"leaf{i}",)


def _packed_tree(layout: _Layout, leaves: list[Any]) -> dict[str, Any]:
    """``{label: {dtype: buffer}}`` (or ``{dtype: buffer}`` without labels) plus the kept
    leaves, as ``leaf{i}`` entries beside the buffers of their label."""
    buffers: dict[str, list[Any]] = {}
    tree: dict[str, Any] = {}
    for key, leaf in zip(layout.groups, leaves):
        if key is not None:
            buffers.setdefault(key, []).append(jnp.reshape(leaf, (-1,)))
    for key, parts in buffers.items():
        buffer = parts[0] if len(parts) == 1 else jnp.concatenate(parts)
        if "/" in key:
            label, dtype = key.split("/")
            tree.setdefault(label, {})[dtype] = buffer
        else:
            tree[key] = buffer
    for i, (key, leaf) in enumerate(zip(layout.groups, leaves)):
        if key is None:
            *outer, name = _kept_path(layout, i)
            (tree.setdefault(outer[0], {}) if outer else tree)[name] = leaf
    return tree


def _buffer(tree: dict[str, Any], key: str) -> Any:
    if "/" in key:
        label, dtype = key.split("/")
        return tree[label][dtype]
    return tree[key]


def _offsets(layout: _Layout) -> dict[str, Array]:
    at: dict[str, int] = {}
    offsets = {}
    for i, (key, size) in enumerate(zip(layout.groups, layout.sizes)):
        if key is not None:
            offsets[str(i)] = jnp.asarray(at.get(key, 0), jnp.int32)
            at[key] = at.get(key, 0) + size
    return offsets


def _unpack(layout: _Layout, tree: dict[str, Any], offsets: dict[str, Array]) -> PyTree:
    leaves = []
    for i, (key, shape, size) in enumerate(zip(layout.groups, layout.shapes, layout.sizes)):
        if key is None:
            node = tree
            for name in _kept_path(layout, i):
                node = node[name]
            leaves.append(node)
            continue
        buffer = _buffer(tree, key)
        if buffer.shape[0] == size:  # the only leaf of its buffer
            leaves.append(jnp.reshape(buffer, shape))
        else:
            piece = jax.lax.dynamic_slice_in_dim(buffer, offsets[str(i)], size)
            leaves.append(jnp.reshape(piece, shape))
    return jax.tree.unflatten(layout.treedef, leaves)


def _views(layout: _Layout, tree: dict[str, Any], offsets: dict[str, Array]) -> PyTree:
    """:func:`_unpack` with a gradient that is one concatenation per buffer.

    The default gradient of a dynamic slice writes each leaf's cotangent into a zero
    buffer of the full size, which costs O(leaves x size); the leaves tile each buffer
    in order, so the cotangent is their concatenation.
    """

    @jax.custom_vjp
    def views(tree, offsets):
        return _unpack(layout, tree, offsets)

    def fwd(tree, offsets):
        return views(tree, offsets), offsets

    def bwd(offsets, cotangents):
        zeros = jax.tree.map(lambda o: np.zeros(np.shape(o), jax.dtypes.float0), offsets)
        return _packed_tree(layout, jax.tree.leaves(cotangents)), zeros

    views.defvjp(fwd, bwd)
    return views(tree, offsets)


_REFUSAL = (
    "flat() packs the leaves into one buffer per dtype, so it takes elementwise optimizers "
    "only; {what}. Rules that read leaf shapes or norms over a leaf (Muon, SOAP, Adafactor, "
    "LAMB, LARS, ...) must run without flat(); flat() can wrap an elementwise part of a "
    "jaxsched.partition"
)


def _state_names(state: PyTree) -> set[str]:
    """Class names of every NamedTuple in a state, nested ones included."""
    names: set[str] = set()
    todo = [state]
    while todo:
        node = todo.pop()
        if isinstance(node, tuple):
            if hasattr(node, "_fields"):
                names.add(type(node).__name__)
            todo.extend(node)
        elif isinstance(node, dict):
            todo.extend(node.values())
    return names


def _check_elementwise(inner: optax.GradientTransformation, probe_tree: dict[str, Any]) -> None:
    """Refuses rules whose numbers depend on leaf shapes or on statistics over a leaf.

    Two checks on a small packed tree: the state's class names (known per-leaf rules),
    then a probe: changing the second half of each buffer (its parameters, and its
    gradients a little) must leave the update of the first half unchanged. Gradients
    stay small, so clipping by a global norm of 1e-2 or more is not mistaken for a
    per-leaf statistic.
    """
    with jax.ensure_compile_time_eval():
        try:
            state = inner.init(probe_tree)
            found = sorted(
                n for n in _state_names(state) if any(r.lower() in n.lower() for r in _SHAPE_RULES)
            )
            if found:
                raise ValueError(_REFUSAL.format(what=f"its state holds {found}"))

            def probes(state, probe_tree) -> tuple[list[Any], list[Any]]:
                def probe(second: float) -> list[Any]:
                    def halves(x, scale, offset):
                        base = scale * jnp.linspace(-1.0, 1.0, x.shape[0], dtype=x.dtype)
                        return (base + offset).at[x.shape[0] // 2 :].multiply(second)

                    grads = jax.tree.map(lambda x: halves(x, 1e-3, 0.0), probe_tree)
                    params = jax.tree.map(lambda x: halves(x, 1.0, 2.0), probe_tree)
                    out, _ = inner.update(grads, state, params)
                    return [u[: u.shape[0] // 2] for u in jax.tree.leaves(out)]

                return probe(1.0), probe(3.0)

            # One compiled program rather than op-by-op dispatch keeps init fast. It is
            # compiled and called apart from any jit being traced (init under jit), so
            # that its results are concrete.
            args = (state, probe_tree)
            first, second = jax.jit(probes).lower(*args).compile()(*args)
            if not all(bool(jnp.allclose(a, b)) for a, b in zip(first, second)):
                raise ValueError(_REFUSAL.format(what="its update of one element reads others"))
        except ValueError as err:
            if str(err).startswith("flat() packs"):
                raise
            raise ValueError(_REFUSAL.format(what=f"it fails on a 1-D buffer: {err}")) from err


class FlatTransformation(optax.GradientTransformationExtraArgs):
    """An optax transformation (``init``, ``update``) with two helpers, ``pack`` and ``views``.

    ``pack(params)`` returns the packed tree of ``params`` (one buffer per dtype);
    ``views(buffers, state)`` returns the parameter tree as views of those buffers, with
    a gradient that is one concatenation per buffer.
    """


@validated
def flat(
    inner: Transformation,
    *,
    labels: Any = None,
    max_size: Annotated[
        int | str | None, Either((Integer(low=1, optional=True), Choice(("auto",))))
    ] = "auto",
    check: Flag = True,
) -> FlatTransformation:
    """Runs an elementwise optimizer on one buffer per dtype instead of once per leaf.

    Rule: the floating leaves are laid end to end (row-major, in tree order) in one
    1-D buffer per dtype (per ``labels`` label and dtype), ``inner`` updates the buffers,
    and the updates are cut back into leaves. For an elementwise rule the numbers are
    those of ``inner`` on the leaves; the step runs one program over the buffer instead
    of one per leaf, which is what costs time with many small leaves.

    Two ways to use it:

    * drop-in (one line): ``tx = jaxsched.flat(jaxsched.adam(1e-3))``; ``init``,
      ``update`` and ``apply_updates`` as before. The gradients are concatenated and the
      updates sliced back inside ``update`` (end-to-end steps 1.09-1.22x faster than
      ``optax.adam`` on a 1000-leaf MLP on a 2-core CPU, ``benchmarks/many_leaves.py``);
    * parameters kept in the buffers (faster: 1.19-1.42x there): ``buffers =
      tx.pack(params)``, the loss reads ``tx.views(buffers, state)`` (the leaves, as
      views, with a gradient that is one concatenation), and ``update(grads, state,
      buffers)`` with the gradient of the buffers updates them directly.

    It pays where one program per leaf costs more than the work in the leaf. The
    drop-in's concatenation and slicing move about 16 more bytes per parameter. On a
    2-core CPU, Adam's update of 4M parameters, all packed, against optax's per-leaf
    step: 0.68x the time in leaves of 4k elements, 0.95x at 8k, 1.6x at 16k, 2.0x at
    80k (though compiled in half the time); so on CPUs leaves over 8192 elements are
    kept as they are and updated one by one. On an H100, where every leaf is a kernel
    launch, packing all paid at every size measured: 0.36x optax's step at 200 leaves
    of 20k, 0.72x at 50 leaves of 80k; so on accelerators every leaf is packed.

    Refused (``ValueError`` at ``init``): rules that read leaf shapes or norms over a
    leaf (Muon, SOAP, Adafactor, LAMB, LARS, ... found by their state or by a probe
    that changes half a buffer); clipping by the global norm is fine. Not caught: a
    stateless per-leaf norm that leaves the probe's small gradients alone
    (``clip_by_norm``) would clip each buffer's norm instead; do not wrap it. Leaves split over
    devices (a ``NamedSharding`` that is not replicated) are not packed: they keep their
    shape and sharding and ``inner`` updates them one by one; replicated leaves are
    packed. Non-floating leaves are kept as they are.

    Args:
      inner: an elementwise transformation. A weight-decay ``mask`` in it sees the
        packed tree: give ``labels`` and a mask per label, e.g. ``{"decay": True,
        "keep": False}``, which covers the label's buffers and its kept leaves.
      labels: optional pytree of str labels like the parameters (or a function params
        -> labels): leaves with different labels go to different buffers, and the
        packed tree is ``{label: {dtype: buffer}}``, with each kept leaf ``i`` beside
        its label's buffers as ``leaf{i}`` (at the top level without labels).
      max_size: leaves with more elements are kept as they are and updated one by one,
        int >= 1; None packs every leaf (the shortest compile on CPUs too: half the
        time at any leaf size); ``"auto"`` is 8192 (the CPU break-even above) when JAX's
        default backend is the CPU, else None.
      check: run the elementwise check at ``init``.

    Returns:
      A :class:`FlatTransformation` with a :class:`FlatState`.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> params = {"w": jnp.ones((2, 2)), "b": jnp.zeros(3)}
      >>> tx = jaxsched.flat(jaxsched.adam(0.1))
      >>> grads = {"w": jnp.full((2, 2), 2.0), "b": -jnp.ones(3)}
      >>> u, state = tx.update(grads, tx.init(params), params)
      >>> print(u["w"].round(3), u["b"].round(3))
      [[-0.1 -0.1]
       [-0.1 -0.1]] [0.1 0.1 0.1]

    References:
      torch's ``foreach`` and ``fused`` optimizers (``torch.optim.Adam(foreach=True)``),
      which update all parameters in one kernel launch for the same reason.
    """
    inner = optax.with_extra_args_support(inner)
    layouts: dict[Any, _Layout] = {}  # by tree structure, shapes and dtypes
    packed_layouts: dict[Any, _Layout] = {}  # by the structure of a packed tree

    def layout_of(tree: PyTree, packed_keys: set[str] | None = None) -> _Layout:
        leaves, treedef = jax.tree.flatten(tree)
        key = treedef, tuple((np.shape(x), jnp.result_type(x).name) for x in leaves)
        layout = layouts.get(key)
        if layout is None or (packed_keys is not None and _packed_keys(layout) != packed_keys):
            # The state says which leaves are packed (its offsets): under jit on an Auto
            # mesh a leaf's sharding is not visible, so the state's word is final.
            limit = max_size
            if max_size == "auto":
                limit = _CPU_MAX_SIZE if jax.default_backend() == "cpu" else None
            layout = layouts[key] = _layout(tree, labels, limit, packed_keys)
        return layout

    def init(params: PyTree) -> FlatState:
        layout = layout_of(params)
        packed = _packed_tree(layout, jax.tree.leaves(params))
        if check:
            _check_elementwise(inner, _probe_tree(packed))
        return FlatState(_offsets(layout), inner.init(packed))

    def update(updates, state: FlatState, params=None, **extra):
        if jax.tree.structure(updates) in packed_layouts:  # gradients of tx.pack(params)
            out, inner_state = inner.update(updates, state.inner_state, params, **extra)
            return out, FlatState(state.offsets, inner_state)
        layout = layout_of(updates, set(state.offsets))
        grads = _packed_tree(layout, jax.tree.leaves(updates))
        packed = None if params is None else _packed_tree(layout, jax.tree.leaves(params))
        out, inner_state = inner.update(grads, state.inner_state, packed, **extra)
        return _unpack(layout, out, state.offsets), FlatState(state.offsets, inner_state)

    def pack(params: PyTree) -> dict[str, Any]:
        layout = layout_of(params)
        tree = _packed_tree(layout, jax.tree.leaves(params))
        packed_layouts[jax.tree.structure(tree)] = layout
        return tree

    def views(buffers: dict[str, Any], state: FlatState) -> PyTree:
        layout = packed_layouts.get(jax.tree.structure(buffers))
        if layout is None:
            raise ValueError("views(buffers, state) takes the buffers made by tx.pack(params)")
        return _views(layout, buffers, state.offsets)

    tx = FlatTransformation(init, update)
    tx.pack, tx.views = pack, views
    return tx
