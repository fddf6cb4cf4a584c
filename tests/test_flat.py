"""jaxsched.flat: the numbers of the per-leaf optimizer, one buffer per dtype, clear refusals."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched

PARAMS = {
    "w": jnp.linspace(-1.0, 1.0, 12).reshape(3, 4),
    "b": jnp.linspace(0.5, -0.5, 4),
    "layers": [jnp.full((2, 2), 0.3), jnp.arange(5.0) / 7],
}


def grads_at(params, k):
    return jax.tree.map(lambda p: jnp.sin(3 * p + k) + 0.1 * k, params)


def run(tx, params, steps=3):
    @jax.jit
    def step(params, state, k):
        updates, state = tx.update(grads_at(params, k), state, params)
        return optax.apply_updates(params, updates), state

    state = tx.init(params)
    for k in range(steps):
        params, state = step(params, state, k)
    return params


def assert_trees_close(a, b):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7), a, b)


@pytest.mark.parametrize(
    "make",
    [
        lambda: jaxsched.adam(0.05),
        lambda: jaxsched.momentum(0.05, 0.9),
        lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(0.1)),
    ],
    ids=["adam", "momentum", "clip-global-norm-sgd"],
)
def test_same_numbers_as_per_leaf(make):
    assert_trees_close(run(jaxsched.flat(make()), PARAMS), run(make(), PARAMS))


def test_adamw_with_mask_through_labels():
    mask = {"w": True, "b": False, "layers": [True, False]}
    labels = jax.tree.map(lambda m: "decay" if m else "keep", mask)
    per_leaf = jaxsched.adamw(0.05, weight_decay=0.1, mask=mask)
    # A mask per label covers its buffers and its kept leaves (w, 12 elements, is kept
    # under "decay" with max_size=8); a mask per buffer, where no leaf is kept.
    masks = [
        ({"max_size": 8}, {"decay": True, "keep": False}),
        ({}, {"decay": {"float32": True}, "keep": {"float32": False}}),
    ]
    for kwargs, packed_mask in masks:
        packed = jaxsched.adamw(0.05, weight_decay=0.1, mask=packed_mask)
        tx = jaxsched.flat(packed, labels=labels, **kwargs)
        assert sorted(tx.pack(PARAMS)) == ["decay", "keep"]
        assert_trees_close(run(tx, PARAMS), run(per_leaf, PARAMS))
    layout = jax.tree.map(jnp.shape, jaxsched.flat(packed, labels=labels, max_size=8).pack(PARAMS))
    assert layout == {"decay": {"float32": (4,), "leaf3": (3, 4)}, "keep": {"float32": (9,)}}
    # A label whose leaves are all kept: the mask still fits the elementwise probe.
    mask = {"w": True, "b": False, "layers": [False, False]}
    labels = jax.tree.map(lambda m: "decay" if m else "keep", mask)
    tx = jaxsched.flat(
        jaxsched.adamw(0.05, weight_decay=0.1, mask={"decay": True, "keep": False}),
        labels=labels,
        max_size=8,
    )
    assert jax.tree.map(jnp.shape, tx.pack(PARAMS))["decay"] == {"leaf3": (3, 4)}
    assert_trees_close(
        run(tx, PARAMS), run(jaxsched.adamw(0.05, weight_decay=0.1, mask=mask), PARAMS)
    )


def test_one_buffer_per_dtype_and_hyperparams_reachable():
    params = {"a": jnp.ones(3), "h": jnp.ones((2, 2), jnp.bfloat16), "i": jnp.arange(2)}
    tx = jaxsched.flat(jaxsched.adam(0.1))
    state = tx.init(params)
    assert {k: v.shape for k, v in tx.pack(params).items()} == {
        "float32": (3,),
        "bfloat16": (4,),
        "leaf2": (2,),
    }
    assert float(jaxsched.hyperparams(state)["learning_rate"]) == pytest.approx(0.1)
    grads = {"a": jnp.ones(3), "h": jnp.ones((2, 2), jnp.bfloat16), "i": jnp.ones(2)}
    updates, _ = jax.jit(tx.update)(grads, state, params)
    assert jax.tree.map(lambda u: (u.shape, u.dtype), updates) == jax.tree.map(
        lambda p: (p.shape, jnp.result_type(p) if p.dtype != jnp.int32 else jnp.float32), params
    )


def test_params_kept_in_buffers():
    def loss(params):
        return sum(jnp.sum(jnp.tanh(p) ** 2) for p in jax.tree.leaves(params))

    tx, ref = jaxsched.flat(jaxsched.adam(0.05)), jaxsched.adam(0.05)
    state, ref_state = tx.init(PARAMS), ref.init(PARAMS)
    buffers, params = tx.pack(PARAMS), PARAMS

    @partial(jax.jit, donate_argnums=(0, 1))
    def step(buffers, state):
        grads = jax.grad(lambda b: loss(tx.views(b, state)))(buffers)
        updates, state = tx.update(grads, state, buffers)
        return optax.apply_updates(buffers, updates), state

    @jax.jit
    def ref_step(params, state):
        updates, state = ref.update(jax.grad(loss)(params), state, params)
        return optax.apply_updates(params, updates), state

    for _ in range(3):
        buffers, state = step(buffers, state)
        params, ref_state = ref_step(params, ref_state)
    assert_trees_close(tx.views(buffers, state), params)


def test_leaves_over_max_size_are_kept_as_they_are():
    # Leaves in tree order: big (8200), b (4), layers[0] (4), layers[1] (5), w (12).
    params = {"big": jnp.linspace(-1.0, 1.0, 8200), "small": PARAMS}
    cases = [
        ({}, {"leaf0": (8200,), "float32": (25,)}),
        ({"max_size": 12}, {"leaf0": (8200,), "float32": (25,)}),
        ({"max_size": 11}, {"leaf0": (8200,), "leaf4": (3, 4), "float32": (13,)}),
        ({"max_size": None}, {"float32": (8225,)}),
    ]
    for kwargs, packed in cases:
        tx = jaxsched.flat(jaxsched.adam(0.05), **kwargs)
        assert {k: v.shape for k, v in tx.pack(params).items()} == packed, kwargs
    # "auto" (the default) packs every leaf where the backend is not the CPU.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jax, "default_backend", lambda: "gpu")
        tx = jaxsched.flat(jaxsched.adam(0.05))
        assert {k: v.shape for k, v in tx.pack(params).items()} == {"float32": (8225,)}
    # Kept and packed leaves in one update: the per-leaf numbers.
    tx = jaxsched.flat(jaxsched.adam(0.05), max_size=11)
    assert_trees_close(run(tx, params), run(jaxsched.adam(0.05), params))


@pytest.mark.parametrize(
    "make, why",
    [
        (lambda: jaxsched.lamb(0.1), "ScaleByLambMomentsState"),
        (lambda: jaxsched.muon(0.1), "fails on a 1-D buffer"),
        (lambda: jaxsched.lars(0.1), "reads others"),
    ],
    ids=["lamb", "muon", "lars"],
)
def test_refuses_rules_that_read_leaf_shapes_or_norms(make, why):
    with pytest.raises(ValueError, match=f"elementwise optimizers only.*{why}"):
        jaxsched.flat(make()).init(PARAMS)


def test_bad_arguments():
    with pytest.raises(TypeError, match="inner"):
        jaxsched.flat(lambda g: g)
    tx = jaxsched.flat(jaxsched.sgd(0.1))
    state = tx.init(PARAMS)
    with pytest.raises(ValueError, match=r"buffers made by tx\.pack"):
        tx.views({"nope": jnp.ones(3)}, state)
    with pytest.raises(ValueError, match="one label per parameter leaf"):
        jaxsched.flat(jaxsched.sgd(0.1), labels={"w": "a"}).init(PARAMS)
    with pytest.raises(ValueError, match=r"max_size must be an integer >= 1, or None, got 0"):
        jaxsched.flat(jaxsched.sgd(0.1), max_size=0)


SHARDED = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np, optax, jaxsched
    from jax.sharding import NamedSharding, PartitionSpec as P
    mesh = jax.make_mesh((4,), ("x",), axis_types=(jax.sharding.AxisType.Auto,))
    split = NamedSharding(mesh, P("x", None))
    rep = NamedSharding(mesh, P())
    params = {"w": jax.device_put(jnp.arange(32.0).reshape(8, 4) / 32, split),
              "r": jax.device_put(jnp.ones((3, 4)), rep), "s": jax.device_put(jnp.ones(()), rep)}
    tx, ref = jaxsched.flat(jaxsched.adam(0.1)), jaxsched.adam(0.1)
    state, ref_state = tx.init(params), ref.init(params)
    mu = state.inner_state.inner_state[0].mu
    assert sorted(mu) == ["float32", "leaf2"], sorted(mu)
    assert mu["leaf2"].sharding.is_equivalent_to(split, 2), mu["leaf2"].sharding
    def step(tx):
        @jax.jit
        def f(p, s):
            u, s = tx.update(jax.tree.map(jnp.sin, p), s, p)
            return optax.apply_updates(p, u), s
        return f
    p, s = step(tx)(params, state)
    q, _ = step(ref)(params, ref_state)
    assert p["w"].sharding.is_equivalent_to(split, 2), p["w"].sharding
    assert s.inner_state.inner_state[0].mu["leaf2"].sharding.is_equivalent_to(split, 2)
    for k in p:
        np.testing.assert_allclose(p[k], q[k], rtol=1e-6)
    print("OK")
    """
)


def test_split_leaves_keep_their_sharding():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    env.pop("JAX_NUM_CPU_DEVICES", None)
    out = subprocess.run(
        [sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-3000:]
