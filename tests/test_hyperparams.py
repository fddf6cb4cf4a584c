"""Hyperparameters are data: float32 in the state, readable, settable without recompiling."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched

PARAMS = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}
GRADS = {"w": jnp.full((3, 2), 0.5), "b": jnp.full(2, -1.0)}


def test_single_optimizer_keys_are_argument_names():
    state = jaxsched.adamw(1e-3, weight_decay=0.1).init(PARAMS)
    hp = jaxsched.hyperparams(state)
    assert list(hp) == ["learning_rate", "b1", "b2", "eps", "weight_decay"]
    for value in hp.values():
        chex.assert_shape(value, ())
        chex.assert_type(value, jnp.float32)
    assert float(hp["weight_decay"]) == np.float32(0.1)


def test_repeated_names_are_qualified_by_their_path():
    tx = jaxsched.chain(jaxsched.adam(1e-3), jaxsched.sgd(0.1, momentum=0.9))
    hp = jaxsched.hyperparams(tx.init(PARAMS))
    assert set(hp) == {
        "0/learning_rate",
        "1/learning_rate",
        "b1",
        "b2",
        "eps",
        "momentum",
    }
    assert float(hp["1/learning_rate"]) == np.float32(0.1)


def test_bf16_params_keep_float32_hyperparameters():
    params = jax.tree.map(lambda p: p.astype(jnp.bfloat16), PARAMS)
    grads = jax.tree.map(lambda g: g.astype(jnp.bfloat16), GRADS)
    tx = jaxsched.adam(1e-3, b2=0.999)
    updates, state = tx.update(grads, tx.init(params), params)
    assert jaxsched.hyperparams(state)["b2"].dtype == jnp.float32
    assert float(jaxsched.hyperparams(state)["b2"]) == np.float32(0.999)
    chex.assert_trees_all_equal_shapes_and_dtypes(updates, params)
    assert state.inner_state[0].nu["w"].dtype == jnp.float32


def test_set_hyperparams_changes_the_update_without_recompiling():
    tx = jaxsched.momentum(0.1, 0.9)
    traces = []

    @jax.jit
    def step(state):
        traces.append(1)
        return tx.update(GRADS, state, PARAMS)

    state = tx.init(PARAMS)
    u1, _ = step(state)
    u2, _ = step(jaxsched.set_hyperparams(state, learning_rate=0.2))
    u3, _ = step(jaxsched.set_hyperparams(state, {"learning_rate": jnp.float32(0.3)}))
    assert len(traces) == 1
    np.testing.assert_allclose(u2["w"], 2 * u1["w"], rtol=1e-6)
    np.testing.assert_allclose(u3["w"], 3 * u1["w"], rtol=1e-6)


def test_set_hyperparams_errors():
    state = jaxsched.adam(lambda s: 1e-3 * 0.9**s).init(PARAMS)
    with pytest.raises(ValueError, match="unknown hyperparameters \\['lr'\\]"):
        jaxsched.set_hyperparams(state, lr=0.1)
    with pytest.raises(ValueError, match="'learning_rate' follows a schedule"):
        jaxsched.set_hyperparams(state, learning_rate=0.1)


def test_schedule_step_k_uses_schedule_k_and_is_reported():
    def schedule(step):
        return 0.5 / (1.0 + jnp.asarray(step, jnp.float32))

    tx = jaxsched.sgd(schedule)
    state = tx.init(PARAMS)
    assert float(jaxsched.hyperparams(state)["learning_rate"]) == 0.5
    for k in range(4):
        updates, state = tx.update(GRADS, state, PARAMS)
        np.testing.assert_allclose(updates["b"], 0.5 / (1 + k) * 1.0, rtol=1e-6)
        assert float(jaxsched.hyperparams(state)["learning_rate"]) == pytest.approx(0.5 / (1 + k))


def test_any_numeric_hyperparameter_takes_a_schedule():
    tx = jaxsched.adam(1e-2, b1=lambda s: jnp.where(s < 2, 0.0, 0.9))
    state = tx.init(PARAMS)
    for _ in range(3):
        _, state = tx.update(GRADS, state, PARAMS)
    assert float(jaxsched.hyperparams(state)["b1"]) == np.float32(0.9)


def test_jax_scalar_learning_rate():
    tx = jaxsched.sgd(jnp.float32(0.25))
    updates, _ = tx.update(GRADS, tx.init(PARAMS), PARAMS)
    np.testing.assert_allclose(updates["b"], 0.25)


def test_stateful_schedule_reads_update_extra_args():
    """The hook metric-driven schedules use: state of its own and the value= argument."""
    running_max = jaxsched.StatefulSchedule(
        init=lambda: jnp.float32(0.0),
        update=lambda s, step, extra: (jnp.maximum(s, extra["value"]),) * 2,
        current=lambda s: s,
    )
    tx = jaxsched.sgd(running_max)
    state = tx.init(PARAMS)
    for value, want in [(0.1, 0.1), (0.3, 0.3), (0.2, 0.3)]:
        updates, state = tx.update(GRADS, state, PARAMS, value=jnp.float32(value))
        np.testing.assert_allclose(updates["b"], want, rtol=1e-6)
        assert float(jaxsched.hyperparams(state)["learning_rate"]) == np.float32(want)


def test_vmap_sweep_over_learning_rates():
    tx = jaxsched.adam(1e-3)
    lrs = jnp.array([1e-3, 1e-2, 1e-1], jnp.float32)
    states = jax.vmap(lambda lr: jaxsched.set_hyperparams(tx.init(PARAMS), learning_rate=lr))(lrs)

    def run(state):
        params = PARAMS
        for _ in range(3):
            updates, state = tx.update(GRADS, state, params)
            params = optax.apply_updates(params, updates)
        return params

    swept = jax.jit(jax.vmap(run))(states)
    for i, lr in enumerate(lrs):
        single = run(jaxsched.set_hyperparams(tx.init(PARAMS), learning_rate=lr))
        np.testing.assert_allclose(swept["w"][i], single["w"], rtol=1e-6)
