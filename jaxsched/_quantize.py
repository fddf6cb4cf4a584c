"""Optimizer state in low precision: 8-bit blockwise quantization or bfloat16."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import PartitionSpec as P

from ._base import Array, PyTree
from ._validate import Choice, Count, Integer, Transformation, validated


def dynamic_map(signed: bool) -> np.ndarray:
    """bitsandbytes' dynamic tree quantization map: 256 sorted float32 values in [-1, 1].

    Each decade ``10^(e-7) .. 10^(e-6)`` (``e = 1 .. 7``) holds ``2^(e-1)`` linearly
    spaced values (the means of ``linspace(0.1, 1, 2^(e-1) + 1)``), mirrored to the
    negatives when ``signed``; the unsigned map gives each decade twice as many values
    instead. 0 and 1 complete the 256. ``bitsandbytes.functional.create_dynamic_map``.
    """
    data: list[float] = []
    for i in range(7):
        items = 2 ** (i + (0 if signed else 1)) + 1
        bounds = np.linspace(0.1, 1, items)
        means = 10.0 ** (i - 6) * (bounds[:-1] + bounds[1:]) / 2
        data += list(means) + (list(-means) if signed else [])
    data += [0.0, 1.0]
    return np.sort(np.asarray(data, np.float32))


class QuantizedArray(NamedTuple):
    """A float array held as 8-bit codes, blockwise (see :func:`quantized_state`).

    Attributes:
      codes: uint8, the array's shape: each element's index into its block's map.
      scales: float32 ``[blocks]``: the absolute maximum of each block.
      signed: bool ``[blocks]``: the block uses the signed map (it holds a negative value).
    """

    codes: Array
    scales: Array
    signed: Array


class Bfloat16Array(NamedTuple):
    """A float array held in bfloat16 (see :func:`quantized_state` with ``bits=16``)."""

    value: Array


class QuantizedState(NamedTuple):
    """State of :func:`quantized_state`.

    Attributes:
      key: uint32 PRNG key data for stochastic rounding (advanced by every update).
      inner_state: the inner optimizer's state, its moments replaced by
        :class:`QuantizedArray` or :class:`Bfloat16Array` nodes.
    """

    key: Array
    inner_state: PyTree


def _explicit_spec(x: Array) -> Any:
    """The PartitionSpec of ``x``'s type where it is split over an Explicit mesh, else
    None (no mesh, Auto axes, or replicated)."""
    spec = jax.typeof(x).sharding.spec
    return spec if any(spec) else None


def _split_layout(x: Array, block_size: int) -> tuple[Any, Any] | None:
    """How the blocks of ``x`` (whole blocks: ``block_size`` divides its size) are split
    over an Explicit mesh.

    None where ``x``'s type carries no sharding (no mesh, or Auto axes: XLA lays the
    blocks out). Otherwise the specs of the flattened array and of its blocks: split
    like ``x`` where only its leading axis is split and every shard holds whole blocks
    (the reshapes stay local), else replicated (``x`` is gathered for the (de)coding).
    """
    spec = _explicit_spec(x)
    if spec is None:
        return None
    spec = tuple(spec)
    lead = spec[0]
    axes = lead if isinstance(lead, tuple) else (lead,)
    mesh = jax.typeof(x).sharding.mesh
    shards = int(np.prod([mesh.shape[a] for a in axes])) if lead else 0
    if shards and not any(spec[1:]) and x.size % (shards * block_size) == 0:
        return P(lead), P(lead, None)
    return P(), P(None, None)


def _blocks(x: Array, block_size: int) -> Array:
    """``x`` as ``[blocks, block_size]``; ``block_size`` divides its size."""
    layout = _split_layout(x, block_size)
    if layout is None:
        return x.reshape(-1, block_size)
    if layout[0] == P():
        x = jax.sharding.reshard(x, P())
    flat = jax.lax.reshape(x, (x.size,), out_sharding=layout[0])
    return jax.lax.reshape(flat, (x.size // block_size, block_size), out_sharding=layout[1])


def _unblock(blocks: Array, like: Array) -> Array:
    """``blocks`` in ``like``'s shape and sharding (inverse of :func:`_blocks`)."""
    layout = _split_layout(like, blocks.shape[1])
    if layout is None:
        return blocks.reshape(like.shape)
    flat = jax.lax.reshape(blocks, (blocks.size,), out_sharding=layout[0])
    spec = _explicit_spec(like)
    if layout[0] == P():
        return jax.sharding.reshard(flat.reshape(like.shape), spec)
    return jax.lax.reshape(flat, like.shape, out_sharding=spec)


def _flat(x: Array) -> Array:
    """``x`` flattened, gathered first where it is split over an Explicit mesh (a short
    last block cannot be cut into shards)."""
    if _explicit_spec(x) is not None:
        x = jax.sharding.reshard(x, P())
    return x.reshape(-1)


def _unflat(flat: Array, like: Array) -> Array:
    """``flat`` in ``like``'s shape and sharding (inverse of :func:`_flat`)."""
    out = flat.reshape(like.shape)
    spec = _explicit_spec(like)
    return out if spec is None else jax.sharding.reshard(out, spec)


def _extrema(blocks: Array) -> tuple[Array, Array]:
    """The absolute maximum and the minimum of each row of ``blocks``, in one reduction:
    XLA recomputes the elementwise work that produces ``blocks`` (the decode and the
    inner update) in every consumer, and each reduction is one."""
    return jax.lax.reduce(
        (jnp.abs(blocks), blocks),
        (np.float32(0), np.float32(np.inf)),
        lambda a, b: (jax.lax.max(a[0], b[0]), jax.lax.min(a[1], b[1])),
        (1,),
    )


def _ragged_extrema(flat: Array, block_size: int) -> tuple[Array, Array]:
    """:func:`_extrema` of the blocks of ``flat``, whose last block is short."""
    whole = flat.size - flat.size % block_size
    parts = [_extrema(flat[whole:][None])]
    if whole:
        parts.insert(0, _extrema(flat[:whole].reshape(-1, block_size)))
    return jnp.concatenate([p[0] for p in parts]), jnp.concatenate([p[1] for p in parts])


def _per_element(per_block: Array, block_size: int, size: int) -> Array:
    """``per_block[i // block_size]`` for each of ``size`` elements: a broadcast that
    fuses into the elementwise loop, where padding the elements to whole blocks would
    make XLA's CPU loops compute every index (twice the time of an 8-bit step)."""
    return jnp.repeat(per_block, block_size)[:size]


# Decade i of the map (i = 0 .. 6) holds |x| in [10^(i-7), 10^(i-6)).
_DECADE_STARTS = tuple(float(np.float32(10.0**e)) for e in range(-6, 0))


# Per decade i: its scale 10^(i-6), and the gap between the signed map's values in it,
# 0.9 * 10^(i-6) / 2^i, rounded as float32 arithmetic on the scale rounds it (the
# unsigned map's gap is half of it, exactly), and that gap's reciprocal.
_SCALES = tuple(np.float32(10.0 ** (e - 6)) for e in range(7))
_GAPS = tuple(np.float32(np.float32(0.9) * d / np.float32(2**i)) for i, d in enumerate(_SCALES))
_INVERSE_GAPS = tuple(np.float32(1 / g) for g in _GAPS)


def _by_decade(i: Array, values: tuple) -> Array:
    """``values[i]`` for int ``i`` in 0 .. 6 (``values[0]`` elsewhere), by selects
    between constants. They fuse into the caller's loop; a gather does not fuse on
    CPUs, and XLA computes a per-element division in a full-size pass of its own."""
    out = jnp.full(i.shape, values[0], jnp.float32)
    for e in range(1, 7):
        out = jnp.where(i == e, values[e], out)
    return out


def _encode(normed: Array, is_signed: Array) -> Array:
    """The index of the nearest map value to each of ``normed`` (in [-1, 1]), from the
    signed map where ``is_signed`` (a bool array broadcasting to ``normed``'s shape).

    Computed from the map's structure, with arithmetic only (a binary search over 256
    values is eight dependent table lookups per element, and lookups with computed
    indices do not fuse on the CPU backend): decade ``i`` of ``|x|`` holds ``k`` evenly
    spaced values, so the nearest is ``j = round((|x| / 10^(i-6) - 0.1) k / 0.9 - 1/2)``.
    At a decade's edges (or where float32 rounding puts ``|x|`` in the next decade) the
    nearest may be in the next decade: one comparison with each neighbour settles it.
    """
    per_value = jnp.where(is_signed, 1.0, 2.0)  # the unsigned map doubles every decade
    # Multiplications by 1 / per_value (exact) rather than divisions, see _by_decade.
    share = jnp.where(is_signed, 1.0, 0.5)
    a = jnp.abs(normed)
    # The decade by comparisons, not log10 (transcendentals dominate the cost on CPUs).
    i = sum((a >= t).astype(jnp.int32) for t in _DECADE_STARTS)
    d = _by_decade(i, _SCALES)
    k = per_value * jnp.left_shift(1, i).astype(jnp.float32)
    gap = _by_decade(i, _GAPS) * share
    # A first guess (a reciprocal may round it off by one at a tie); the comparisons with
    # the neighbours below make it the nearest.
    j = jnp.clip(
        jnp.round((a - 0.1 * d) * (_by_decade(i, _INVERSE_GAPS) * per_value) - 0.5), 0, k - 1
    )
    here = 0.1 * d + (j + 0.5) * gap
    # The neighbours: in the decade, or the last value of decade i-1 (0 below decade 0),
    # or the first of decade i+1 (1 above decade 6).
    lower = jnp.where(j > 0, here - gap, jnp.where(i > 0, 0.1 * (d - gap), 0.0))
    upper = jnp.where(j < k - 1, here + gap, jnp.where(i < 6, d + gap * 2.5, 1.0))
    step = (a > (here + upper) / 2).astype(jnp.int32) - (a < (here + lower) / 2)
    # Index in the non-negative half: 0 holds 0, decade i starts at 1 + k - per_value.
    p = (1 + k - per_value + j).astype(jnp.int32) + step
    # The signed map: 127 negatives (no -1), 0 at index 127, 127 positives, then 1.
    mirrored = jnp.where(normed < 0, 127 - jnp.minimum(p, 127), 127 + p)
    return jnp.where(is_signed, mirrored, p)


def quantize_blockwise(x: Array, block_size: int) -> QuantizedArray:
    """Quantizes ``x`` to 8-bit dynamic codes, one float32 absmax scale per block.

    Blocks are consecutive runs of ``block_size`` elements of the flattened array. Each
    element is rounded to the nearest value of the map times its block's absmax, so its
    error is at most half the widest gap of the map (0.0071 for the signed map, 0.0036
    for the unsigned) times that absmax.
    """
    x = jnp.asarray(x, jnp.float32)
    if x.size % block_size:
        flat = _flat(x)
        absmax, lowest = _ragged_extrema(flat, block_size)
        signed = lowest < 0
        scale = _per_element(jnp.where(absmax > 0, absmax, 1), block_size, flat.size)
        codes = _encode(flat / scale, _per_element(signed, block_size, flat.size))
        return QuantizedArray(_unflat(codes.astype(jnp.uint8), x), absmax, signed)
    blocks = _blocks(x, block_size)
    absmax, lowest = _extrema(blocks)
    signed = lowest < 0
    normed = blocks / jnp.where(absmax > 0, absmax, 1)[:, None]
    codes = _encode(normed, signed[:, None]).astype(jnp.uint8)
    return QuantizedArray(_unblock(codes, x), absmax, signed)


# One program per shape, so that an eager ``init`` does not dispatch (and, on a mesh,
# compile) each of the encoding's operations on its own; under ``jit`` it is inlined.
_quantize_compiled = jax.jit(quantize_blockwise, static_argnums=1)


def _decode(codes: Array, is_signed: Array) -> Array:
    """The map values of ``codes`` (int32), from the signed map where ``is_signed``
    (broadcasting to ``codes``' shape); arithmetic inverse of :func:`_encode` (a table
    lookup with sharded indices fails on an Explicit mesh and does not fuse on CPUs);
    equal to :func:`dynamic_map` to float32 rounding."""
    per_value = jnp.where(is_signed, 1, 2)
    negative = is_signed & (codes < 127)
    # Index in the non-negative half (see _encode), and the sign.
    p = jnp.where(is_signed, jnp.abs(codes - 127), codes)
    # Decade i starts at p = 1 + k - per_value with k = per_value 2^i values: so k is the
    # largest power of two <= p - 1 + per_value, read off its leading zeros.
    n = jnp.maximum(p - 1 + per_value, 1)
    log2_k = 31 - jax.lax.clz(n)
    k = jnp.left_shift(1, log2_k)
    # The decade is log2(k / per_value); a shift, not an integer division, which XLA
    # counts as expensive and computes in a separate pass.
    d = _by_decade(log2_k - (per_value - 1), _SCALES)
    # Times 2^-log2_k, from its exponent bits: dividing by k exactly, without a division.
    inverse_k = jax.lax.bitcast_convert_type(jnp.left_shift(127 - log2_k, 23), jnp.float32)
    value = d * (0.1 + 0.9 * ((n - k).astype(jnp.float32) + 0.5) * inverse_k)
    top = jnp.where(is_signed, 128, 255)
    value = jnp.where(p == 0, 0.0, jnp.where(p == top, 1.0, value))
    return jnp.where(negative, -value, value)


def dequantize_blockwise(q: QuantizedArray, block_size: int) -> Array:
    """The float32 array that ``q`` holds (inverse of :func:`quantize_blockwise`)."""
    if q.codes.size % block_size:
        flat = _flat(q.codes).astype(jnp.int32)
        signed = _per_element(q.signed, block_size, flat.size)
        values = _decode(flat, signed) * _per_element(q.scales, block_size, flat.size)
        return _unflat(values, q.codes)
    blocks = _blocks(q.codes.astype(jnp.int32), block_size)
    return _unblock(_decode(blocks, q.signed[:, None]) * q.scales[:, None], q.codes)


def _hash32(h: Array) -> Array:
    """A bijective mix of uint32 values (Wellons' "lowbias32"): each output bit depends
    on every input bit, so consecutive inputs give unrelated outputs."""
    h = (h ^ (h >> 16)) * jnp.uint32(0x7FEB352D)
    h = (h ^ (h >> 15)) * jnp.uint32(0x846CA68B)
    return h ^ (h >> 16)


def _random_bits(key: Array, like: Array) -> Array:
    """uint32 noise of ``like``'s shape (and sharding): a hash of each element's index
    and of two words drawn from ``key``.

    Counter-based like threefry, but a few integer operations that fuse into the
    consumer's loop, where ``jax.random.bits`` is a pass of its own (at 16M elements
    on a CPU: 250 ms, most of a bfloat16 Adam step).
    """
    words = jax.random.bits(key, (2,), jnp.uint32)
    out_sharding = _explicit_spec(like)
    index = jnp.zeros(like.shape, jnp.uint32)
    stride = 1
    for axis in reversed(range(like.ndim)):
        iota = jax.lax.broadcasted_iota(jnp.uint32, like.shape, axis, out_sharding=out_sharding)
        index = index + iota * jnp.uint32(stride % 2**32)
        stride *= like.shape[axis]
    return _hash32(_hash32(index ^ words[0]) + words[1])


def stochastic_round_bf16(x: Array, key: Array) -> Array:
    """Rounds float32 to bfloat16 up or down at random, unbiased: ``E[round(x)] = x``.

    bfloat16 is float32 without its lower 16 bits. Adding 16 uniform random bits to them
    and truncating carries into the kept bits with probability (lower bits) / 2^16, i.e.
    the distance to the value below over the gap. Non-finite values round to nearest.
    Without it, a moment ``v <- 0.999 v + 0.001 g^2`` in bfloat16 (8-bit mantissa) stops
    moving once the increment is under half a unit in the last place. The random bits
    are a hash of each element's index and of ``key`` (see :func:`_random_bits`).
    """
    x = jnp.asarray(x, jnp.float32)
    bits = jax.lax.bitcast_convert_type(x, jnp.uint32)
    noise = _random_bits(key, x) >> 16
    truncated = (bits + noise) & jnp.uint32(0xFFFF0000)
    rounded = jax.lax.bitcast_convert_type(truncated, jnp.float32).astype(jnp.bfloat16)
    return jnp.where(jnp.isfinite(x), rounded, x.astype(jnp.bfloat16))


def _is_stored(node: Any) -> bool:
    return isinstance(node, (QuantizedArray, Bfloat16Array))


@validated
def quantized_state(
    inner: Transformation,
    bits: Annotated[int, Choice((8, 16))] = 8,
    block_size: Annotated[int, Integer(low=1)] = 256,
    *,
    min_size: Count = 4096,
    rounding: Annotated[str | None, Choice((None, "nearest", "stochastic"))] = None,
    seed: Count = 0,
) -> optax.GradientTransformationExtraArgs:
    """Keeps the moments of ``inner``'s state in 8 bits (or bfloat16) between updates.

    The moments are the floating leaves of ``inner.init(params)`` with a parameter's
    shape (one or more dimensions) and at least ``min_size`` elements; counts,
    hyperparameters and small leaves stay as they are. ``update`` restores them to
    float32, runs ``inner.update`` on them, and stores the new ones again, so ``inner``
    computes in float32 and only the stored state is small.

    ``bits=8``: blockwise dynamic quantization (Dettmers et al. 2022). The flattened
    moment is cut into blocks of ``block_size`` elements; each block keeps its absolute
    maximum as a float32 scale, and each element the uint8 index of the nearest value of
    bitsandbytes' dynamic map (:func:`dynamic_map`) times that scale. A block with a
    negative value uses the signed map; a block of non-negative values (every block of
    a second moment, which is a mean of squares) the unsigned map, which spends the sign
    bit on twice the resolution. The dynamic map rather than linear absmax levels: its
    values run over decades, 1e-7 to 1 of the block maximum (under 1% relative error in
    the top decade, coarser below, never zero), while linear levels round everything
    under absmax/255 to zero. Adam's
    ``sqrt(v)`` divides the update, and a second moment rounded to zero turns a small
    gradient into a step of ``m / eps``; the paper reports linear 8-bit Adam unstable.
    Per element this costs 1 byte plus 5 bytes per block (8-bit Adam: about 2.04 bytes
    per parameter with ``block_size=256``, float32 Adam 8).

    ``bits=16``: the moments are held in bfloat16, rounded stochastically by default
    (:func:`stochastic_round_bf16`, with the PRNG key in the state): 4 bytes per
    parameter for Adam.

    Sharding: codes keep the moment's shape and sharding; blocks run along the flattened
    leaf. A leaf split along its leading axis only, into shards of whole blocks (shard
    size a multiple of ``block_size``), is coded shard by shard with no communication,
    its scales split alike. Other layouts cannot be cut into local blocks: on an
    Explicit mesh the leaf is gathered for the (de)coding and the codes resharded after
    (communication, and a full-size temporary); on an Auto mesh XLA chooses, and may
    also lay the codes out differently from the parameter.

    Checkpoints: the state is NamedTuples of arrays (uint8, float32, bool, uint32, and
    bfloat16 for ``bits=16``), restored exactly by ``flax.serialization`` onto a fresh
    ``init``; numpy saves bfloat16 as raw 2-byte records (``.view`` them back).

    Args:
      inner: the optimizer whose state is stored.
      bits: 8 (blockwise dynamic quantization) or 16 (bfloat16).
      block_size: elements per block for ``bits=8``, int >= 1 (bitsandbytes: 256 or
        2048). Smaller blocks follow outliers more closely and cost 5 bytes each.
      min_size: moments with fewer elements stay in their own dtype (bitsandbytes'
        ``min_8bit_size``), int >= 0.
      rounding: ``"nearest"`` or ``"stochastic"``; None picks nearest for 8 bits and
        stochastic for 16 (stochastic 8-bit rounding is not offered).
      seed: seed of the stochastic rounding's PRNG key, int >= 0.

    Returns:
      A transformation with a :class:`QuantizedState`; ``update`` passes
      ``params`` and extra arguments to ``inner``. The state holds arrays only, works
      under ``jit`` and ``vmap``, and round-trips through checkpoints exactly.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.quantized_state(jaxsched.adam(1e-3), bits=8, min_size=0)
      >>> state = tx.init(jnp.zeros(1000))
      >>> u, state = tx.update(jnp.ones(1000), state)
      >>> mu = state.inner_state.inner_state[0].mu
      >>> print(mu.codes.dtype, mu.codes.shape, mu.scales.shape, u[0].round(6))
      uint8 (1000,) (4,) -0.001

    References:
      Dettmers, Lewis, Shleifer & Zettlemoyer 2022, "8-bit Optimizers via Block-wise
      Quantization"; ``bitsandbytes.optim.Adam8bit``, ``bitsandbytes.functional.
      quantize_blockwise``; Zamirai et al. 2020, "Revisiting BFloat16 Training".
    """
    if rounding is None:
        rounding = "nearest" if bits == 8 else "stochastic"
    if bits == 8 and rounding == "stochastic":
        raise ValueError("rounding='stochastic' is offered for bits=16 only, got bits=8")
    inner = optax.with_extra_args_support(inner)

    def is_moment(leaf, shapes):
        return (
            jnp.issubdtype(jnp.result_type(leaf), jnp.floating)
            and np.ndim(leaf) >= 1
            and np.shape(leaf) in shapes
            and np.size(leaf) >= min_size
        )

    def store(x, key, i):
        if bits == 8:
            return _quantize_compiled(x, block_size)
        if rounding == "stochastic":  # independent random bits for each moment
            return Bfloat16Array(stochastic_round_bf16(x, jax.random.fold_in(key, i)))
        return Bfloat16Array(jnp.asarray(x).astype(jnp.bfloat16))

    def restore(node):
        if isinstance(node, QuantizedArray):
            return dequantize_blockwise(node, block_size)
        if isinstance(node, Bfloat16Array):
            return node.value.astype(jnp.float32)
        return node

    def store_all(template, new_state, key):
        """``new_state`` with the leaves where ``template`` holds a moment stored again.

        ``template`` is the stored state (its moment nodes are leaves here), or for
        ``init`` ``inner``'s own state with the moments marked ``True``.
        """
        nodes, treedef = jax.tree.flatten(template, is_leaf=_is_stored)
        new = treedef.flatten_up_to(new_state)
        out = [
            store(x, key, i) if (node is True or _is_stored(node)) else x
            for i, (node, x) in enumerate(zip(nodes, new))
        ]
        return jax.tree.unflatten(treedef, out)

    def init(params):
        shapes = {np.shape(p) for p in jax.tree.leaves(params)}
        # The barrier keeps XLA from constant-folding the quantization of the initial
        # zeros under jit, which takes minutes at 16M parameters.
        inner_state = jax.lax.optimization_barrier(inner.init(params))
        marks = jax.tree.map(lambda x: bool(is_moment(x, shapes)) or x, inner_state)
        key = jax.random.key(seed)
        stored = store_all(marks, inner_state, key)
        return QuantizedState(jax.random.key_data(key), stored)

    def update(updates, state, params=None, **extra):
        key, sub = jax.random.split(jax.random.wrap_key_data(state.key))
        inner_state = jax.tree.map(restore, state.inner_state, is_leaf=_is_stored)
        out, inner_state = inner.update(updates, inner_state, params, **extra)
        stored = store_all(state.inner_state, inner_state, sub)
        return out, QuantizedState(jax.random.key_data(key), stored)

    return optax.GradientTransformationExtraArgs(init, update)
