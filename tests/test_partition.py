"""Per-layer learning rates and schedules: partition, path_labels, freeze, masked."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxsched

PARAMS = {
    "embed": {"table": jnp.arange(6.0).reshape(3, 2)},
    "body": {"kernel": jnp.ones((2, 3)), "bias": jnp.full(3, 0.5)},
    "head": {"kernel": jnp.full((3, 2), -1.0), "bias": jnp.zeros(2)},
}
GRADS = jax.tree.map(lambda p: 0.1 * p + 0.3, PARAMS)
LABELS = {
    "embed": {"table": "frozen"},
    "body": {"kernel": "body", "bias": "body"},
    "head": {"kernel": "head", "bias": "head"},
}


def select(tree, names):
    return {k: v for k, v in tree.items() if k in names}


def test_each_label_gets_its_own_optimizer():
    tx = jaxsched.partition(
        {"frozen": jaxsched.freeze(), "body": jaxsched.sgd(1e-2), "head": jaxsched.adam(1e-1)},
        LABELS,
    )
    state = tx.init(PARAMS)
    step = jax.jit(lambda s, g, p: tx.update(g, s, p))
    body_ref, head_ref = optax.sgd(1e-2), optax.adam(1e-1)
    body_s, head_s = (
        body_ref.init(select(PARAMS, ("body",))),
        head_ref.init(select(PARAMS, ("head",))),
    )
    params = PARAMS
    for _ in range(3):
        grads = jax.tree.map(lambda p: 0.1 * p + 0.3, params)
        updates, state = step(state, grads, params)
        want_body, body_s = jax.jit(body_ref.update)(select(grads, ("body",)), body_s)
        want_head, head_s = jax.jit(head_ref.update)(select(grads, ("head",)), head_s)
        np.testing.assert_array_equal(updates["embed"]["table"], 0.0)
        jax.tree.map(np.testing.assert_allclose, select(updates, ("body",)), want_body)
        jax.tree.map(
            lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-5),
            select(updates, ("head",)),
            want_head,
        )
        params = optax.apply_updates(params, updates)
    np.testing.assert_array_equal(params["embed"]["table"], PARAMS["embed"]["table"])
    hp = jaxsched.hyperparams(state)
    assert float(hp["head/learning_rate"]) == pytest.approx(0.1)
    assert float(hp["body/learning_rate"]) == pytest.approx(0.01)


def test_state_holds_buffers_for_its_own_leaves_only():
    tx = jaxsched.partition(
        {"frozen": jaxsched.freeze(), "body": jaxsched.sgd(0.1), "head": jaxsched.adam(0.1)},
        LABELS,
    )
    state = tx.init(PARAMS)
    assert set(state.inner_states) == {"frozen", "body", "head"}
    assert jax.tree.leaves(state.inner_states["frozen"]) == []
    adam_mu = state.inner_states["head"].inner_state[0].mu
    assert [x.shape for x in jax.tree.leaves(adam_mu)] == [(2,), (3, 2)]


def test_per_label_schedules():
    def body_schedule(step):
        return 0.1 * 0.5 ** jnp.asarray(step, jnp.float32)

    def head_schedule(step):
        return 0.01 * (1.0 + jnp.asarray(step, jnp.float32))

    tx = jaxsched.partition(
        {
            "frozen": jaxsched.freeze(),
            "body": jaxsched.sgd(body_schedule),
            "head": jaxsched.sgd(head_schedule),
        },
        LABELS,
    )
    state = tx.init(PARAMS)
    step = jax.jit(lambda s: tx.update(GRADS, s, PARAMS))
    for k in range(4):
        updates, state = step(state)
        hp = jaxsched.hyperparams(state)
        assert float(hp["body/learning_rate"]) == pytest.approx(0.1 * 0.5**k)
        assert float(hp["head/learning_rate"]) == pytest.approx(0.01 * (1 + k))
        np.testing.assert_allclose(updates["head"]["bias"], -0.01 * (1 + k) * GRADS["head"]["bias"])
        np.testing.assert_allclose(updates["body"]["bias"], -0.1 * 0.5**k * GRADS["body"]["bias"])


def test_set_hyperparams_changes_one_label_without_recompiling():
    tx = jaxsched.partition(
        {"frozen": jaxsched.freeze(), "body": jaxsched.sgd(0.1), "head": jaxsched.sgd(0.1)},
        LABELS,
    )
    step = jax.jit(lambda s: tx.update(GRADS, s, PARAMS))
    state = tx.init(PARAMS)
    step(state)
    state = jaxsched.set_hyperparams(state, {"head/learning_rate": 0.5})
    updates, _ = step(state)
    assert step._cache_size() == 1
    np.testing.assert_allclose(updates["head"]["kernel"], -0.5 * GRADS["head"]["kernel"])
    np.testing.assert_allclose(updates["body"]["kernel"], -0.1 * GRADS["body"]["kernel"])


def test_vmap_sweeps_a_label_learning_rate():
    tx = jaxsched.partition(
        {"frozen": jaxsched.freeze(), "body": jaxsched.sgd(0.1), "head": jaxsched.sgd(0.1)},
        LABELS,
    )
    lrs = jnp.array([0.1, 0.2, 0.3])
    states = jax.vmap(
        lambda lr: jaxsched.set_hyperparams(tx.init(PARAMS), {"head/learning_rate": lr})
    )(lrs)
    updates, _ = jax.jit(jax.vmap(lambda s: tx.update(GRADS, s, PARAMS)))(states)
    np.testing.assert_allclose(
        updates["head"]["bias"], -lrs[:, None] * GRADS["head"]["bias"][None], rtol=1e-6
    )
    np.testing.assert_allclose(updates["body"]["bias"][1], -0.1 * GRADS["body"]["bias"])


def test_path_labels_first_match_wins_and_default():
    labels = jaxsched.path_labels(
        {r"^head/": "head", r"bias$": "no_decay", r"^embed": "frozen"}, default="body"
    )(PARAMS)
    assert labels == {
        "embed": {"table": "frozen"},
        "body": {"kernel": "body", "bias": "no_decay"},
        "head": {"kernel": "head", "bias": "head"},
    }


def test_path_labels_without_default_names_the_unmatched_path():
    with pytest.raises(ValueError, match="embed/table"):
        jaxsched.path_labels({r"^head/": "head", r"^body/": "body"})(PARAMS)
    with pytest.raises(ValueError, match="rules"):
        jaxsched.path_labels({r"([": "x"})


def test_partition_with_label_function_on_flax_nnx_params():
    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.hidden = nnx.Linear(4, 8, rngs=rngs)
            self.head = nnx.Linear(8, 3, rngs=rngs)

    model = MLP(nnx.Rngs(0))
    params = nnx.state(model, nnx.Param)
    labels = jaxsched.path_labels({r"^head/": "head"}, default="frozen")
    tx = jaxsched.partition({"head": jaxsched.sgd(0.1), "frozen": jaxsched.freeze()}, labels)
    grads = jax.tree.map(jnp.ones_like, params)
    updates, _ = jax.jit(lambda g, p: tx.update(g, tx.init(p), p))(grads, params)
    np.testing.assert_allclose(updates["head"]["kernel"][...], -0.1)
    np.testing.assert_array_equal(updates["hidden"]["kernel"][...], 0.0)


def test_label_errors_name_the_path():
    tx = jaxsched.partition({"body": jaxsched.sgd(0.1), "head": jaxsched.sgd(0.1)}, LABELS)
    with pytest.raises(ValueError, match=r"embed/table.*'frozen'"):
        tx.init(PARAMS)
    short = {"body": LABELS["body"], "head": LABELS["head"]}
    tx = jaxsched.partition({"body": jaxsched.sgd(0.1), "head": jaxsched.sgd(0.1)}, short)
    with pytest.raises(ValueError, match="embed/table"):
        tx.init(PARAMS)
    with pytest.raises(ValueError, match="strings"):
        jaxsched.partition({0: jaxsched.sgd(0.1)}, LABELS)


def test_masked_applies_inner_to_selected_leaves_only():
    mask = jax.tree.map(lambda p: p.ndim == 2, PARAMS)
    tx = jaxsched.masked(jaxsched.adam(0.1), mask)
    ref = optax.masked(optax.adam(0.1), mask)
    state, ref_state = tx.init(PARAMS), ref.init(PARAMS)
    for _ in range(2):
        updates, state = jax.jit(lambda s: tx.update(GRADS, s, PARAMS))(state)
        want, ref_state = jax.jit(lambda s: ref.update(GRADS, s, PARAMS))(ref_state)
        jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-5), updates, want)
    np.testing.assert_array_equal(updates["body"]["bias"], GRADS["body"]["bias"])
    assert len(jax.tree.leaves(state.inner_state.inner_state[0].mu)) == 3


def test_masked_with_a_mask_function():
    tx = jaxsched.masked(jaxsched.sgd(2.0), jaxsched.decay_mask)
    updates, _ = jax.jit(lambda s: tx.update(GRADS, s, PARAMS))(tx.init(PARAMS))
    np.testing.assert_allclose(updates["body"]["kernel"], -2.0 * GRADS["body"]["kernel"])
    np.testing.assert_array_equal(updates["head"]["bias"], GRADS["head"]["bias"])


def test_freeze_returns_zeros_even_for_non_finite_gradients():
    tx = jaxsched.freeze()
    state = tx.init(PARAMS)
    assert jax.tree.leaves(state) == []
    updates, _ = tx.update(jax.tree.map(lambda g: g * jnp.nan, GRADS), state)
    for u in jax.tree.leaves(updates):
        np.testing.assert_array_equal(u, 0.0)


def test_prefix_labels_and_masks_cover_whole_subtrees():
    prefix = {"embed": "frozen", "body": "body", "head": "head"}
    tx = jaxsched.partition(
        {"frozen": jaxsched.freeze(), "body": jaxsched.sgd(0.1), "head": jaxsched.sgd(1.0)},
        prefix,
    )
    updates, _ = tx.update(GRADS, tx.init(PARAMS), PARAMS)
    np.testing.assert_allclose(updates["head"]["kernel"], -GRADS["head"]["kernel"])
    np.testing.assert_allclose(updates["body"]["bias"], -0.1 * GRADS["body"]["bias"], rtol=1e-6)
    masked = jaxsched.masked(jaxsched.sgd(1.0), {"embed": False, "body": False, "head": True})
    updates, _ = masked.update(GRADS, masked.init(PARAMS), PARAMS)
    np.testing.assert_allclose(updates["head"]["bias"], -GRADS["head"]["bias"])
    np.testing.assert_array_equal(updates["embed"]["table"], GRADS["embed"]["table"])
    with pytest.raises(ValueError, match=r"mask tree has no entry.*embed/table"):
        jaxsched.masked(jaxsched.sgd(1.0), {"body": True, "head": True}).init(PARAMS)


@pytest.mark.parametrize(
    ("build", "exc", "match"),
    [
        (lambda: jaxsched.partition([jaxsched.sgd(0.1)], LABELS), TypeError, "transforms"),
        (
            lambda: jaxsched.partition({"body": "sgd"}, LABELS),
            TypeError,
            r"transforms\['body'\] must be a gradient",
        ),
        (lambda: jaxsched.masked("adam", None), TypeError, "inner must be a gradient"),
        (lambda: jaxsched.masked(jaxsched.sgd(0.1), {"body": 1}), TypeError, "mask"),
        (lambda: jaxsched.path_labels([r"^head/"]), TypeError, "rules"),
        (lambda: jaxsched.path_labels({r"^head/": 1}), TypeError, "rules"),
        (lambda: jaxsched.path_labels({r"^head/": "head"}, default=0), TypeError, "default"),
    ],
)
def test_constructor_arguments_are_checked(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


def test_masked_without_a_mask_applies_to_every_leaf_and_needs_no_params():
    tx = jaxsched.masked(jaxsched.sgd(1.0), None)
    updates, _ = tx.update(GRADS, tx.init(PARAMS))
    jax.tree.map(lambda u, g: np.testing.assert_allclose(u, -g), updates, GRADS)
    tx = jaxsched.partition(
        {"frozen": jaxsched.freeze(), "rest": jaxsched.adam(0.1)},
        {"embed": "frozen", "body": "rest", "head": "rest"},
    )
    updates, _ = jax.jit(tx.update)(GRADS, tx.init(PARAMS))
    np.testing.assert_array_equal(updates["embed"]["table"], 0.0)
