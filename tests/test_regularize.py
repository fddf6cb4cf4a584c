"""Regularisation: L1 (sign of the weights), the weight-decay mask, coupled L2 with the mask."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen, nnx

import jaxsched

PARAMS = {
    "dense": {"kernel": jnp.array([[0.5, -2.0], [0.0, 1.5]]), "bias": jnp.array([1.0, -1.0])},
    "LayerNorm_0": {"scale": jnp.ones(2), "bias": jnp.zeros(2)},
    "embed": {"embedding": jnp.array([[-0.25, 0.0], [3.0, -4.0]])},
}
GRADS = jax.tree.map(lambda p: jnp.full_like(p, 0.1), PARAMS)


def test_add_l1_adds_lambda_times_sign():
    tx = jaxsched.add_l1(0.01)
    updates, state = jax.jit(lambda s: tx.update(GRADS, s, PARAMS))(tx.init(PARAMS))
    for path in (("dense", "kernel"), ("embed", "embedding"), ("dense", "bias")):
        p, g, u = PARAMS[path[0]][path[1]], GRADS[path[0]][path[1]], updates[path[0]][path[1]]
        np.testing.assert_allclose(u, np.asarray(g) + 0.01 * np.sign(np.asarray(p)), rtol=1e-6)
    assert updates["dense"]["kernel"][1, 0] == pytest.approx(0.1)  # sign(0) = 0
    assert float(jaxsched.hyperparams(state)["l1"]) == pytest.approx(0.01)


def test_l1_is_the_gradient_of_the_penalty():
    def loss(p):
        return 0.5 * jnp.sum(p["w"] ** 2) + 0.03 * jnp.sum(jnp.abs(p["w"]))

    params = {"w": jnp.array([0.7, -1.2, 2.0, -0.1])}
    tx = jaxsched.chain(jaxsched.add_l1(0.03), jaxsched.sgd(0.5))
    updates, _ = tx.update({"w": params["w"]}, tx.init(params), params)
    np.testing.assert_allclose(updates["w"], -0.5 * jax.grad(loss)(params)["w"], rtol=1e-6)


def test_add_l1_with_mask():
    tx = jaxsched.add_l1(0.5, mask=jaxsched.decay_mask)
    updates, _ = tx.update(GRADS, tx.init(PARAMS), PARAMS)
    np.testing.assert_allclose(updates["dense"]["bias"], GRADS["dense"]["bias"])
    np.testing.assert_allclose(updates["dense"]["kernel"], [[0.6, -0.4], [0.1, 0.6]], rtol=1e-6)


def test_a_mask_over_a_prefix_covers_whole_subtrees():
    """AdamW decays where the prefix mask says, as with the full mask it stands for."""
    prefix = {"dense": True, "LayerNorm_0": False, "embed": True}
    full = {
        "dense": {"kernel": True, "bias": True},
        "LayerNorm_0": {"scale": False, "bias": False},
        "embed": {"embedding": True},
    }
    ref = jaxsched.adamw(0.1, weight_decay=0.5, mask=full)
    want, _ = ref.update(GRADS, ref.init(PARAMS), PARAMS)
    for mask in (prefix, lambda params: prefix):
        tx = jaxsched.adamw(0.1, weight_decay=0.5, mask=mask)
        got, _ = tx.update(GRADS, tx.init(PARAMS), PARAMS)
        jax.tree.map(np.testing.assert_array_equal, got, want)
    # The first Adam step is -lr sign(g) = -0.1; decay adds -lr wd p = -0.05 p.
    np.testing.assert_allclose(got["dense"]["bias"], [-0.15, -0.05], rtol=1e-5)
    np.testing.assert_allclose(got["LayerNorm_0"]["scale"], [-0.1, -0.1], rtol=1e-5)
    short = jaxsched.add_l1(0.1, mask={"dense": True, "embed": True})
    with pytest.raises(ValueError, match="mask tree has no entry for the parameter at path "):
        short.update(GRADS, short.init(PARAMS), PARAMS)


def test_decay_mask_rule():
    assert jaxsched.decay_mask(PARAMS) == {
        "dense": {"kernel": True, "bias": False},
        "LayerNorm_0": {"scale": False, "bias": False},
        "embed": {"embedding": True},
    }
    custom = jaxsched.decay_mask(PARAMS, exclude=r"embed", min_ndim=1)
    assert custom["dense"]["bias"] and not custom["embed"]["embedding"]
    assert not jaxsched.decay_mask({"LayerNorm_0": {"kernel": jnp.ones((2, 2))}})["LayerNorm_0"][
        "kernel"
    ]


def test_decay_mask_on_flax_models():
    class Linen(linen.Module):
        @linen.compact
        def __call__(self, x):
            x = linen.Dense(4)(x)
            x = linen.LayerNorm()(x)
            return linen.Dense(2)(x)

    variables = Linen().init(jax.random.key(0), jnp.ones((1, 3)))
    flat = {
        jaxsched._base.path_str(p): m
        for p, m in jax.tree_util.tree_flatten_with_path(jaxsched.decay_mask(variables))[0]
    }
    assert flat == {
        "params/Dense_0/bias": False,
        "params/Dense_0/kernel": True,
        "params/Dense_1/bias": False,
        "params/Dense_1/kernel": True,
        "params/LayerNorm_0/bias": False,
        "params/LayerNorm_0/scale": False,
    }

    class Nnx(nnx.Module):
        def __init__(self, rngs):
            self.linear = nnx.Linear(3, 4, rngs=rngs)
            self.norm = nnx.BatchNorm(4, rngs=rngs)

    mask = jaxsched.decay_mask(nnx.state(Nnx(nnx.Rngs(0)), nnx.Param))
    assert [m for m in jax.tree.leaves(mask)] == [False, True, False, False]


def test_coupled_l2_with_decay_mask_is_the_gradient_of_the_masked_penalty():
    wd = 0.2

    def penalty(p):
        return (
            0.5 * wd * (jnp.sum(p["dense"]["kernel"] ** 2) + jnp.sum(p["embed"]["embedding"] ** 2))
        )

    tx = jaxsched.chain(
        jaxsched.transforms.add_decayed_weights(wd, mask=jaxsched.decay_mask), jaxsched.sgd(1.0)
    )
    updates, _ = jax.jit(lambda s: tx.update(GRADS, s, PARAMS))(tx.init(PARAMS))
    want = jax.tree.map(lambda g, pg: -(g + pg), GRADS, jax.grad(penalty)(PARAMS))
    jax.tree.map(lambda u, w: np.testing.assert_allclose(u, w, rtol=1e-6), updates, want)


def test_vmap_over_l1_values():
    tx = jaxsched.add_l1(0.0)
    l1s = jnp.array([0.0, 0.1, 0.2])
    states = jax.vmap(lambda v: jaxsched.set_hyperparams(tx.init(PARAMS), l1=v))(l1s)
    updates, _ = jax.vmap(lambda s: tx.update(GRADS, s, PARAMS))(states)
    np.testing.assert_allclose(updates["dense"]["bias"][:, 0], 0.1 + l1s, rtol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="l1"):
        jaxsched.add_l1(-0.1)
    tx = jaxsched.add_l1(0.1)
    with pytest.raises(ValueError, match="params"):
        tx.update(GRADS, tx.init(PARAMS))
    bad = {"dense": PARAMS["dense"]}
    with pytest.raises(ValueError, match="LayerNorm_0"):
        tx.update(GRADS, tx.init(PARAMS), bad)
