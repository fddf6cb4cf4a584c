"""Gradient accumulation and the non-finite guard."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched

PARAMS = {"w": jnp.array([1.0, -1.0, 2.0]), "b": jnp.array([[0.5, 0.25]])}


def grads_at(i):
    return jax.tree.map(lambda p: (i + 1.0) * 0.1 * p + 0.05 * i, PARAMS)


def test_accumulate_steps_once_per_group_on_the_mean_gradient():
    every = 3
    tx = jaxsched.accumulate(jaxsched.adam(0.1), every=every)
    ref = optax.adam(0.1)
    state, ref_state = tx.init(PARAMS), ref.init(PARAMS)
    step = jax.jit(lambda s, g: tx.update(g, s, PARAMS))
    for i in range(9):
        updates, state = step(state, grads_at(i))
        if i % every == every - 1:
            mean = jax.tree.map(
                lambda *g: sum(g) / every, *[grads_at(j) for j in range(i - 2, i + 1)]
            )
            want, ref_state = ref.update(mean, ref_state)
            jax.tree.map(lambda u, w: np.testing.assert_allclose(u, w, rtol=1e-5), updates, want)
        else:
            for u in jax.tree.leaves(updates):
                np.testing.assert_array_equal(u, 0.0)
    inner = state.inner_state.inner_state[0]
    assert int(inner.count) == 3  # Adam's own count advanced once per group
    assert int(state.micro_step) == 0 and state.micro_step.dtype == jnp.int32


def test_accumulate_memory_is_one_gradient_buffer_and_inner_runs_under_cond():
    tx = jaxsched.accumulate(jaxsched.sgd(0.1), every=4)
    state = tx.init(PARAMS)
    assert [x.shape for x in jax.tree.leaves(state.grad_sum)] == [(1, 2), (3,)]
    assert jax.tree.leaves(state.inner_state.inner_state) == []
    jaxpr = jax.make_jaxpr(lambda s: tx.update(grads_at(0), s, PARAMS))(state)
    assert "cond" in str(jaxpr)


def test_accumulate_every_one_is_the_inner_optimizer():
    tx, ref = jaxsched.accumulate(jaxsched.sgd(0.1, momentum=0.9), every=1), optax.sgd(0.1, 0.9)
    state, ref_state = tx.init(PARAMS), ref.init(PARAMS)
    for i in range(3):
        updates, state = tx.update(grads_at(i), state, PARAMS)
        want, ref_state = ref.update(grads_at(i), ref_state)
        jax.tree.map(lambda u, w: np.testing.assert_allclose(u, w, rtol=1e-6), updates, want)


def test_accumulate_keeps_bf16_grads_in_a_float32_buffer():
    params = {"w": jnp.ones(3, jnp.bfloat16)}
    tx = jaxsched.accumulate(jaxsched.sgd(1.0), every=2)
    state = tx.init(params)
    assert state.grad_sum["w"].dtype == jnp.float32
    _, state = tx.update({"w": jnp.full(3, 0.5, jnp.bfloat16)}, state, params)
    updates, _ = tx.update({"w": jnp.full(3, 1.5, jnp.bfloat16)}, state, params)
    assert updates["w"].dtype == jnp.bfloat16
    np.testing.assert_allclose(updates["w"].astype(np.float32), -1.0)


def test_accumulate_errors():
    with pytest.raises(ValueError, match="every"):
        jaxsched.accumulate(jaxsched.sgd(0.1), every=0)
    tx = jaxsched.accumulate(jaxsched.sgd(0.1), every=2)
    with pytest.raises(ValueError, match="'b'"):
        tx.update({"w": PARAMS["w"]}, tx.init(PARAMS), PARAMS)


def nan_grads():
    return jax.tree.map(lambda p: p * jnp.nan, PARAMS)


def test_skip_nonfinite_skips_and_counts():
    tx = jaxsched.skip_nonfinite(jaxsched.adam(0.1), max_consecutive=2)
    ref = optax.adam(0.1)
    state, ref_state = tx.init(PARAMS), ref.init(PARAMS)
    step = jax.jit(lambda s, g: tx.update(g, s, PARAMS))
    inf_grads = jax.tree.map(lambda p: p.at[0].set(jnp.inf), grads_at(0))
    schedule = [grads_at(0), nan_grads(), inf_grads, grads_at(1), nan_grads(), grads_at(2)]
    finite = [True, False, False, True, False, True]
    for g, ok in zip(schedule, finite, strict=True):
        before = state.inner_state
        updates, state = step(state, g)
        if ok:
            want, ref_state = ref.update(g, ref_state)
            jax.tree.map(lambda u, w: np.testing.assert_allclose(u, w, rtol=1e-5), updates, want)
        else:
            for u in jax.tree.leaves(updates):
                np.testing.assert_array_equal(u, 0.0)
            jax.tree.map(np.testing.assert_array_equal, state.inner_state, before)
    assert int(state.total_skips) == 3
    assert int(state.consecutive_skips) == 0
    assert not bool(state.limit_exceeded)
    jaxsched.check_finite_state(state)


def test_skip_nonfinite_limit_sets_a_flag_that_check_finite_state_raises():
    tx = jaxsched.skip_nonfinite(jaxsched.sgd(0.1), max_consecutive=2)
    state = tx.init(PARAMS)
    step = jax.jit(lambda s, g: tx.update(g, s, PARAMS))
    for expected in (False, False, True):
        updates, state = step(state, nan_grads())
        assert bool(state.limit_exceeded) == expected
        for u in jax.tree.leaves(updates):
            np.testing.assert_array_equal(u, 0.0)
    with pytest.raises(FloatingPointError, match="3 in a row"):
        jaxsched.check_finite_state({"opt": state})
    _, state = step(state, grads_at(0))
    assert bool(state.limit_exceeded) and int(state.consecutive_skips) == 0  # sticky


def test_skip_nonfinite_without_limit_keeps_skipping():
    tx = jaxsched.skip_nonfinite(jaxsched.sgd(0.1))
    state = tx.init(PARAMS)
    for _ in range(5):
        _, state = tx.update(nan_grads(), state, PARAMS)
    assert int(state.consecutive_skips) == 5 and not bool(state.limit_exceeded)
    jaxsched.check_finite_state(state)


def test_skip_nonfinite_vmaps_over_a_batch_of_states():
    tx = jaxsched.skip_nonfinite(jaxsched.sgd(1.0), max_consecutive=0)
    states = jax.vmap(lambda _: tx.init(PARAMS))(jnp.arange(2))
    scale = jnp.array([1.0, jnp.nan])
    updates, states = jax.jit(
        jax.vmap(lambda s, c: tx.update(jax.tree.map(lambda p: c * p, PARAMS), s, PARAMS))
    )(states, scale)
    np.testing.assert_allclose(updates["w"], [-np.asarray(PARAMS["w"]), np.zeros(3)])
    np.testing.assert_array_equal(states.total_skips, [0, 1])
    with pytest.raises(FloatingPointError):
        jaxsched.check_finite_state(states)


def test_skip_nonfinite_errors():
    with pytest.raises(ValueError, match="max_consecutive"):
        jaxsched.skip_nonfinite(jaxsched.sgd(0.1), max_consecutive=-1)


@pytest.mark.parametrize(
    ("build", "exc", "match"),
    [
        (lambda: jaxsched.skip_nonfinite("adam"), TypeError, "inner must be a gradient"),
        (lambda: jaxsched.skip_nonfinite(jaxsched.sgd(0.1), 1.5), ValueError, "max_consecutive"),
        (lambda: jaxsched.skip_nonfinite(jaxsched.sgd(0.1), True), TypeError, "max_consecutive"),
        (lambda: jaxsched.accumulate(optax.adam, 2), TypeError, "inner must be a gradient"),
        (lambda: jaxsched.accumulate(jaxsched.sgd(0.1), 2.5), ValueError, "every"),
        (lambda: jaxsched.accumulate(jaxsched.sgd(0.1), "2"), TypeError, "every"),
    ],
)
def test_wrapper_arguments_are_checked_at_construction(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


def test_wrappers_need_no_params_when_the_inner_optimizer_reads_none():
    grads = grads_at(1)
    for tx in (
        jaxsched.accumulate(jaxsched.adam(0.1), every=1),
        jaxsched.skip_nonfinite(jaxsched.adam(0.1), max_consecutive=1),
    ):
        with_params, _ = tx.update(grads, tx.init(PARAMS), PARAMS)
        without, _ = jax.jit(tx.update)(grads, tx.init(PARAMS))
        jax.tree.map(np.testing.assert_allclose, without, with_params)
