"""quantized_state: 8-bit blockwise and bfloat16 optimizer state."""

from __future__ import annotations

import io

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import serialization

import jaxsched
from jaxsched._quantize import (
    Bfloat16Array,
    QuantizedArray,
    _decode,
    _encode,
    _random_bits,
    dequantize_blockwise,
    dynamic_map,
    quantize_blockwise,
    stochastic_round_bf16,
)


def _half_gap(signed: bool) -> float:
    return float(np.max(np.diff(dynamic_map(signed).astype(np.float64)))) / 2


def test_dynamic_maps_are_sorted_and_span_the_unit_interval():
    signed, unsigned = dynamic_map(True), dynamic_map(False)
    for m in (signed, unsigned):
        assert m.shape == (256,) and m.dtype == np.float32
        assert np.all(np.diff(m) > 0)  # 256 distinct values, sorted
        assert m[-1] == 1.0 and 0.0 in m
    assert unsigned[0] == 0.0 and signed[0] < -0.99
    # Both reach six decades below the block maximum.
    assert 0 < np.min(unsigned[unsigned > 0]) < 1e-6
    assert 0 < np.min(np.abs(signed[signed != 0])) < 1e-6


@pytest.mark.parametrize("signed", [True, False])
def test_codes_are_the_nearest_map_values(signed):
    # The arithmetic encoder and decoder against a brute-force search of the map: random
    # values over nine decades, every map value, and both sides of every midpoint.
    table = dynamic_map(signed).astype(np.float64)
    mids = (table[1:] + table[:-1]) / 2
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4096) * 10.0 ** rng.uniform(-9, 0, 4096)
    x = np.concatenate([x if signed else np.abs(x), table, mids * (1 + 1e-6), mids * (1 - 1e-6)])
    x = np.clip(np.pad(x, (0, -x.size % 256)), -1, 1).astype(np.float32).reshape(-1, 256)
    flags = jnp.full(x.shape[0], signed)
    codes = np.asarray(jax.jit(_encode)(jnp.asarray(x), flags[:, None]))
    err = np.abs(table[codes] - x)
    best = np.min(np.abs(table - x.astype(np.float64)[..., None]), axis=-1)
    assert np.all(err <= best + 1e-7)
    decoded = np.asarray(jax.jit(_decode)(jnp.arange(256), flags[0]))
    np.testing.assert_allclose(decoded, table, rtol=1e-6, atol=0)


_quantize = jax.jit(quantize_blockwise, static_argnums=1)
_dequantize = jax.jit(dequantize_blockwise, static_argnums=1)


@pytest.mark.parametrize("size,block", [(2048, 256), (1000, 64), (37, 256)])
def test_quantization_error_is_bounded_per_block(size, block):
    key1, key2 = jax.random.split(jax.random.key(1))
    # Blocks of very different magnitudes: each is quantized against its own absmax.
    magnitude = 10.0 ** jax.random.uniform(key2, (size,), minval=-6, maxval=3)
    x = jax.random.normal(key1, (size,)) * magnitude
    for data, signed in ((x, True), (x * x, False)):
        q = _quantize(data, block)
        assert q.codes.dtype == jnp.uint8 and q.codes.shape == data.shape
        assert q.scales.shape == (-(-size // block),) and q.scales.dtype == jnp.float32
        assert bool(jnp.all(q.signed == signed))  # non-negative blocks take the unsigned map
        err = np.abs(np.asarray(_dequantize(q, block), np.float64) - np.asarray(data))
        pad = -size % block
        err_blocks = np.pad(err, (0, pad)).reshape(-1, block).max(axis=1)
        bound = _half_gap(signed) * np.asarray(q.scales, np.float64) * (1 + 1e-5)
        assert np.all(err_blocks <= bound), np.max(err_blocks / bound)
        # Each block's maximum is kept to float32 precision; zeros stay zero.
        np.testing.assert_allclose(
            q.scales, np.pad(np.abs(data), (0, pad)).reshape(-1, block).max(1)
        )
    zero = _quantize(jnp.zeros(300), 256)
    assert bool(jnp.all(_dequantize(zero, 256) == 0))


def test_small_values_keep_relative_precision():
    # The dynamic map's point: values decades below the block maximum survive (a linear
    # map would round everything under absmax/255 to zero).
    x = jnp.concatenate([jnp.ones(1), jnp.logspace(-5, -1, 255)])
    d = _dequantize(_quantize(x, 256), 256)
    rel = jnp.abs(d - x) / x
    assert float(jnp.min(d)) > 0  # nothing rounded to zero
    # Coarsest at the bottom decades (8 values between 1e-5 and 1e-4 of the maximum).
    assert float(jnp.max(rel)) < 0.3
    assert float(jnp.median(rel)) < 0.05


def _train(tx, loss_fn, params, steps):
    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    state = jax.jit(tx.init)(params)
    losses = []
    for _ in range(steps):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    return float(loss_fn(params)), losses, state


def _regression():
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(k1, (256, 32))
    w_true = jax.random.normal(k2, (32, 8))
    y = x @ w_true + 0.1 * jax.random.normal(k3, (256, 8))
    params = {"w": jnp.zeros((32, 8)), "b": jnp.zeros(8)}

    def loss(p):
        return jnp.mean((x @ p["w"] + p["b"] - y) ** 2)

    return loss, params


def _digits(l2=1e-3):
    from sklearn.datasets import load_digits

    data = load_digits()
    x = jnp.asarray(data.data / 16.0, jnp.float32)
    y = jnp.asarray(data.target)
    k1, k2 = jax.random.split(jax.random.key(0))
    params = {
        "w1": jax.random.normal(k1, (64, 64)) / 8.0,
        "b1": jnp.zeros(64),
        "w2": jax.random.normal(k2, (64, 10)) / 8.0,
        "b2": jnp.zeros(10),
    }

    def loss(p):
        h = jnp.tanh(x @ p["w1"] + p["b1"])
        logits = h @ p["w2"] + p["b2"]
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        # A small L2 term gives the loss a floor above zero, so "within 1%" compares
        # where training ends rather than how fast a loss near zero keeps shrinking.
        return ce + l2 * (jnp.sum(p["w1"] ** 2) + jnp.sum(p["w2"] ** 2))

    return loss, params


@pytest.mark.parametrize(
    "task,lr,steps,tol", [(_regression, 3e-2, 300, 0.01), (_digits, 1e-2, 300, 0.01)]
)
def test_8bit_adam_trains_like_float32_adam(task, lr, steps, tol):
    loss_fn, params = task()
    # min_size=0 and small blocks: every moment of these small models is quantized.
    q8 = jaxsched.quantized_state(jaxsched.adam(lr), block_size=64, min_size=0)
    ref, _, _ = _train(jaxsched.adam(lr), loss_fn, params, steps)
    got, losses, state = _train(q8, loss_fn, params, steps)
    moments = [n for n in jax.tree.leaves(state, is_leaf=lambda n: isinstance(n, QuantizedArray))]
    assert sum(isinstance(n, QuantizedArray) for n in moments) == 2 * len(params)
    assert losses[-1] < 0.2 * losses[0]
    assert abs(got - ref) <= tol * ref, (got, ref)


def test_bf16_stochastic_adam_trains_like_float32_adam():
    loss_fn, params = _regression()
    tx = jaxsched.quantized_state(jaxsched.adam(3e-2), bits=16, min_size=0)
    ref, _, _ = _train(jaxsched.adam(3e-2), loss_fn, params, 300)
    got, _, state = _train(tx, loss_fn, params, 300)
    stored = jax.tree.leaves(state, is_leaf=lambda n: isinstance(n, Bfloat16Array))
    assert sum(isinstance(n, Bfloat16Array) for n in stored) == 4
    assert all(n.value.dtype == jnp.bfloat16 for n in stored if isinstance(n, Bfloat16Array))
    assert abs(got - ref) <= 0.01 * ref, (got, ref)


def _state_bytes(state) -> int:
    return sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(state))


@pytest.mark.parametrize("bits,limit", [(8, 2.1), (16, 4.01)])
def test_state_bytes_per_parameter(bits, limit):
    params = {"w": jax.ShapeDtypeStruct((1024, 1024), jnp.float32), "b": jnp.zeros(1024)}
    tx = jaxsched.quantized_state(jaxsched.adam(1e-3), bits=bits)
    per_param = _state_bytes(jax.eval_shape(tx.init, params)) / (1024 * 1024 + 1024)
    assert per_param <= limit, per_param
    assert _state_bytes(jax.eval_shape(jaxsched.adam(1e-3).init, params)) / (1025 * 1024) > 8


def test_small_leaves_counts_and_hyperparameters_are_kept():
    params = {"big": jnp.zeros(5000), "small": jnp.zeros(10), "s": jnp.zeros(())}
    tx = jaxsched.quantized_state(jaxsched.adam(1e-3))
    state = jax.jit(tx.init)(params)
    adam_state = state.inner_state.inner_state[0]
    assert isinstance(adam_state.mu["big"], QuantizedArray)
    assert adam_state.mu["small"].dtype == jnp.float32  # under min_size
    assert adam_state.mu["s"].dtype == jnp.float32
    assert adam_state.count.dtype == jnp.int32
    u, state = jax.jit(tx.update)(jax.tree.map(jnp.ones_like, params), state)
    assert float(jaxsched.hyperparams(state)["learning_rate"]) == pytest.approx(1e-3)
    np.testing.assert_allclose(u["big"], -1e-3 * np.ones(5000), rtol=1e-5)


@pytest.mark.parametrize("bits", [8, 16])
def test_checkpoint_round_trip_is_exact(bits):
    params = {"w": jax.random.normal(jax.random.key(0), (64, 80)), "b": jnp.zeros(80)}
    tx = jaxsched.quantized_state(jaxsched.adam(1e-2), bits=bits, block_size=128, min_size=0)
    init, update = jax.jit(tx.init), jax.jit(tx.update)
    state = init(params)
    for i in range(3):
        _, state = update(jax.tree.map(lambda p, i=i: jnp.sin(p + i) + 0.1, params), state)
    # flax msgpack, restored onto a fresh template.
    restored = serialization.from_bytes(init(params), serialization.to_bytes(state))
    # numpy: the leaves saved and loaded, the tree rebuilt from the template's structure.
    buf = io.BytesIO()
    np.savez(buf, *jax.tree.leaves(state))
    buf.seek(0)
    loaded = np.load(buf)
    # numpy stores bfloat16 as raw 2-byte records: view them back as the template's dtype.
    template = jax.tree.leaves(init(params))
    from_np = jax.tree.unflatten(
        jax.tree.structure(state),
        [loaded[f"arr_{i}"].view(t.dtype) for i, t in enumerate(template)],
    )
    for other in (restored, from_np):
        assert jax.tree.structure(other) == jax.tree.structure(state)
        for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(other)):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    g = jax.tree.map(jnp.cos, params)
    u1, s1 = update(g, state)
    u2, s2 = update(g, jax.tree.map(jnp.asarray, restored))
    for a, b in zip(jax.tree.leaves((u1, s1)), jax.tree.leaves((u2, s2))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("bits", [8, 16])
def test_jit_and_vmap(bits):
    tx = jaxsched.quantized_state(jaxsched.adam(1e-2), bits=bits, block_size=32, min_size=0)
    params = jax.random.normal(jax.random.key(0), (3, 100))  # 3 independent models
    grads = jnp.cos(params)
    states = jax.vmap(tx.init)(params)
    stored = QuantizedArray if bits == 8 else Bfloat16Array
    assert isinstance(states.inner_state.inner_state[0].mu, stored)
    u_vmap, s_vmap = jax.jit(jax.vmap(tx.update))(grads, states)
    init, update = jax.jit(tx.init), jax.jit(tx.update)
    for i in range(3):
        u_one, s_one = update(grads[i], init(params[i]))
        np.testing.assert_allclose(u_vmap[i], u_one, rtol=1e-6, atol=1e-9)
        for a, b in zip(jax.tree.leaves(s_one), jax.tree.leaves(s_vmap)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b)[i])


@pytest.mark.parametrize(
    "kwargs,error,name",
    [
        ({"bits": 4}, ValueError, "bits"),
        ({"bits": 32}, ValueError, "bits"),
        ({"bits": True}, ValueError, "bits"),
        ({"block_size": 0}, ValueError, "block_size"),
        ({"block_size": -256}, ValueError, "block_size"),
        ({"block_size": 2.5}, ValueError, "block_size"),
        ({"min_size": -1}, ValueError, "min_size"),
        ({"rounding": "up"}, ValueError, "rounding"),
        ({"rounding": "stochastic"}, ValueError, "rounding"),  # with bits=8
        ({"seed": -1}, ValueError, "seed"),
        ({"inner": "adam"}, TypeError, "inner"),
        ({"inner": optax.adam}, TypeError, "inner"),  # the factory, not a transformation
    ],
)
def test_bad_arguments_are_refused_with_their_name(kwargs, error, name):
    args = {"inner": jaxsched.adam(1e-3), **kwargs}
    with pytest.raises(error, match=name):
        jaxsched.quantized_state(**args)


def test_optax_inner_is_accepted():
    tx = jaxsched.quantized_state(optax.adam(1e-3), min_size=0)
    state = jax.jit(tx.init)(jnp.zeros(300))
    assert isinstance(state.inner_state[0].nu, QuantizedArray)
    u, _ = jax.jit(tx.update)(jnp.ones(300), state)
    np.testing.assert_allclose(u, -1e-3 * np.ones(300), rtol=1e-5)


def test_stochastic_rounding_is_unbiased():
    # Values between two bfloat16 neighbours (1 and 1 + 2^-7), each rounded 200k times.
    n = 200_000
    lo, gap = 1.0, 2.0**-7
    for frac in (0.1, 0.5, 0.77):
        x = jnp.full((n,), lo + frac * gap, jnp.float32)
        r = stochastic_round_bf16(x, jax.random.key(42)).astype(jnp.float32)
        assert set(np.unique(np.asarray(r)).tolist()) <= {lo, lo + gap}
        mean = float(jnp.mean(r))
        stderr = gap * np.sqrt(frac * (1 - frac) / n)
        assert abs(mean - float(x[0])) < 4 * stderr, (frac, mean, float(x[0]))
        # Negative values: the same, mirrored.
        neg = stochastic_round_bf16(-x, jax.random.key(7)).astype(jnp.float32)
        assert abs(float(jnp.mean(neg)) + float(x[0])) < 4 * stderr
    # Random magnitudes: the mean relative error is far below round-to-nearest's worst case.
    x = jax.random.uniform(jax.random.key(3), (n,), minval=1e-3, maxval=1e3)
    r = stochastic_round_bf16(x, jax.random.key(5)).astype(jnp.float32)
    assert abs(float(jnp.mean((r - x) / x))) < 1e-4
    # Exact bf16 values and non-finite values are kept.
    exact = jnp.array([0.0, 1.0, -2.5, jnp.inf, -jnp.inf], jnp.float32)
    np.testing.assert_array_equal(stochastic_round_bf16(exact, jax.random.key(0)), exact)
    assert bool(jnp.isnan(stochastic_round_bf16(jnp.array([jnp.nan]), jax.random.key(0)))[0])


def test_rounding_noise_is_uniform_and_uncorrelated():
    # The 16 bits that stochastic rounding adds: their top byte fills 256 bins evenly
    # (chi-square, 255 degrees of freedom: mean 255, sd 22.6), neighbours in the array
    # and in a 2-D array's columns are uncorrelated, and other keys give other noise.
    x = jnp.zeros((512, 512))
    noise = np.asarray(_random_bits(jax.random.key(0), x) >> 16, np.float64)
    counts = np.bincount((noise.astype(np.int64) >> 8).ravel(), minlength=256)
    expected = noise.size / 256
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert 150 < chi2 < 380, chi2
    centered = noise - noise.mean()
    for a, b in ((centered[:, 1:], centered[:, :-1]), (centered[1:], centered[:-1])):
        corr = float(np.mean(a * b) / np.mean(centered**2))
        assert abs(corr) < 0.01, corr
    other = np.asarray(_random_bits(jax.random.key(1), x) >> 16, np.float64)
    assert abs(float(np.corrcoef(noise.ravel(), other.ravel())[0, 1])) < 0.01
