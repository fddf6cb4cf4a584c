"""Switching optimizers (at a step, on a plateau) and SWATS."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch

import jaxsched

PARAMS = {"a": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array([[0.3, -0.7], [1.5, 0.2]])}


def quadratic_grads(params):
    return jax.tree.map(lambda p: 2.0 * p + 0.1, params)


def run(tx, steps, metrics=None):
    """Trains on a quadratic; returns the per-step updates and the final state."""
    state = tx.init(PARAMS)

    def body(carry, metric):
        params, state = carry
        extra = {} if metrics is None else {"value": metric}
        updates, state = tx.update(quadratic_grads(params), state, params, **extra)
        return (optax.apply_updates(params, updates), state), updates

    xs = jnp.zeros(steps) if metrics is None else jnp.asarray(metrics, jnp.float32)
    (_, state), updates = jax.jit(lambda s: jax.lax.scan(body, (PARAMS, s), xs))(state)
    return updates, state


def reference_switch(first, second, k, steps):
    """optax's Adam for k steps, then optax's SGD from a fresh state."""
    params, out = PARAMS, []
    s1, s2 = first.init(params), second.init(params)
    for i in range(steps):
        tx, s = (first, s1) if i < k else (second, s2)
        u, s = tx.update(quadratic_grads(params), s, params)
        if i < k:
            s1 = s
        else:
            s2 = s
        params = optax.apply_updates(params, u)
        out.append(u)
    return jax.tree.map(lambda *xs: jnp.stack(xs), *out)


def test_switch_at_step_uses_first_then_second():
    steps, k = 12, 5
    # A constant schedule: the second's own step count, which starts at the switch.
    second = jaxsched.sgd(optax.constant_schedule(0.05), momentum=0.9)
    tx = jaxsched.switch(jaxsched.adam(0.1), second, at_step=k)
    updates, state = run(tx, steps)
    want = reference_switch(optax.adam(0.1), optax.sgd(0.05, momentum=0.9), k, steps)
    jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-4, atol=2e-6), updates, want)
    assert int(state.switch_step) == k == int(jaxsched.switch_step(state))
    # Both states are kept: Adam's stopped at k updates, SGD's counted the rest.
    assert int(state.first.inner_state[0].count) == k
    assert int(state.second.count) == steps - k
    hp = jaxsched.hyperparams(state)
    assert float(hp["first/learning_rate"]) == pytest.approx(0.1)
    assert float(hp["second/learning_rate"]) == pytest.approx(0.05)


def test_switch_step_is_minus_one_before_the_switch():
    tx = jaxsched.switch(jaxsched.adam(0.1), jaxsched.sgd(0.1), at_step=100)
    _, state = run(tx, 3)
    assert int(jaxsched.switch_step(state)) == -1
    assert state.switch_step.dtype == jnp.int32 and state.count.dtype == jnp.int32


def torch_first_cut(metrics, **kw):
    """Index of the first metric after which torch's ReduceLROnPlateau cuts the rate."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, m in enumerate(metrics):
            sched.step(float(m))
            if opt.param_groups[0]["lr"] < 1.0:
                return i
    return -1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_switch_on_plateau_at_the_step_torch_would_cut(seed):
    rng = np.random.default_rng(seed)
    metrics = np.float32(np.maximum(1 - 0.05 * np.arange(40), 0.2) + 0.02 * rng.normal(size=40))
    options = {"patience": 3, "threshold": 1e-2, "threshold_mode": "abs"}
    k = torch_first_cut(metrics, **options)
    assert 5 < k < 39
    tx = jaxsched.switch(jaxsched.adam(0.1), jaxsched.sgd(0.05), on_plateau=options)
    updates, state = run(tx, 40, metrics)
    assert int(state.switch_step) == k
    want = reference_switch(optax.adam(0.1), optax.sgd(0.05), k, 40)
    jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-4, atol=2e-6), updates, want)


def test_switch_at_step_comes_first_when_earlier_than_the_plateau():
    metrics = np.float32(np.linspace(1.0, 0.0, 20))  # always improving: no plateau
    tx = jaxsched.switch(jaxsched.adam(0.1), jaxsched.sgd(0.05), at_step=7, on_plateau={})
    _, state = run(tx, 20, metrics)
    assert int(state.switch_step) == 7


def test_switch_computes_only_the_active_branch():
    tx = jaxsched.switch(jaxsched.adam(0.1), jaxsched.sgd(0.05), at_step=3)
    state = tx.init(PARAMS)
    jaxpr = jax.make_jaxpr(lambda s: tx.update(quadratic_grads(PARAMS), s, PARAMS))(state)
    assert "cond" in str(jaxpr)


def test_switch_vmaps_over_states_with_different_switch_steps():
    options = {"patience": 1, "threshold": 0.0}
    tx = jaxsched.switch(jaxsched.sgd(1.0), jaxsched.sgd(0.0), on_plateau=options)
    grads = jax.tree.map(jnp.ones_like, PARAMS)
    states = jax.vmap(lambda _: tx.init(PARAMS))(jnp.arange(2))
    step = jax.jit(jax.vmap(lambda s, v: tx.update(grads, s, PARAMS, value=v)))
    metrics = jnp.array([[3.0, 3.0, 3.0, 1.0], [3.0, 2.0, 1.0, 0.5]])
    moved = []
    for t in range(4):
        updates, states = step(states, metrics[:, t])
        moved.append(np.asarray(updates["a"][:, 0]))
    np.testing.assert_array_equal(states.switch_step, [2, -1])
    np.testing.assert_array_equal(np.stack(moved, 1), [[-1, -1, 0, 0], [-1, -1, -1, -1]])


@pytest.mark.parametrize(
    ("build", "exc", "match"),
    [
        (lambda: jaxsched.switch(jaxsched.sgd(0.1), jaxsched.sgd(0.1)), ValueError, "at_step"),
        (
            lambda: jaxsched.switch(jaxsched.sgd(0.1), jaxsched.sgd(0.1), at_step=-1),
            ValueError,
            "at_step",
        ),
        (
            lambda: jaxsched.switch(jaxsched.sgd(0.1), jaxsched.sgd(0.1), on_plateau={"p": 1}),
            ValueError,
            "on_plateau",
        ),
        (
            lambda: jaxsched.switch(
                jaxsched.sgd(0.1), jaxsched.sgd(0.1), on_plateau={"mode": "up"}
            ),
            ValueError,
            "mode",
        ),
        (
            lambda: jaxsched.switch(
                jaxsched.sgd(0.1), jaxsched.sgd(0.1), on_plateau={"patience": -3}
            ),
            ValueError,
            "patience",
        ),
        (lambda: jaxsched.swats(-1.0), ValueError, "learning_rate"),
        (lambda: jaxsched.swats(b1=1.0), ValueError, "b1"),
        (lambda: jaxsched.swats(b2=-0.1), ValueError, "b2"),
        (lambda: jaxsched.swats(eps=-1e-9), ValueError, "eps"),
        (lambda: jaxsched.swats(switch_threshold=-1.0), ValueError, "switch_threshold"),
        (lambda: jaxsched.switch_step(jaxsched.sgd(0.1).init(PARAMS)), ValueError, "switch"),
    ],
)
def test_invalid_arguments(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


def test_switch_arguments_are_checked_at_construction():
    sgd = jaxsched.sgd(0.1)
    with pytest.raises(TypeError, match="second must be a gradient"):
        jaxsched.switch(sgd, "sgd", at_step=3)
    with pytest.raises(ValueError, match="at_step"):
        jaxsched.switch(sgd, sgd, at_step=2.5)
    with pytest.raises(TypeError, match=r"on_plateau\['every'\]"):
        jaxsched.switch(sgd, sgd, on_plateau={"every": "epoch"})
    with pytest.raises(TypeError, match="on_plateau must be"):
        jaxsched.switch(sgd, sgd, on_plateau=5)


def test_switch_takes_plateau_options_and_ignores_non_finite_metrics():
    options = jaxsched.PlateauOptions(patience=1, threshold=0.0)
    tx = jaxsched.switch(jaxsched.sgd(1.0), jaxsched.sgd(0.0), on_plateau=options)
    state = tx.init(PARAMS)
    step = jax.jit(lambda s, v: tx.update(PARAMS, s, value=v))  # no params: neither reads them
    for v in [1.0, -np.inf, 0.5, np.nan, 0.25]:
        _, state = step(state, v)
    assert int(state.switch_step) == -1 and float(state.plateau.best) == 0.25
    _, state = step(state, np.nan)
    _, state = step(state, np.nan)
    assert int(state.switch_step) == 6


def test_switch_on_plateau_needs_value():
    tx = jaxsched.switch(jaxsched.sgd(0.1), jaxsched.sgd(0.1), on_plateau={})
    with pytest.raises(ValueError, match="value="):
        tx.update(PARAMS, tx.init(PARAMS), PARAMS)


# SWATS on softmax regression of the iris data, against Algorithm 1 in float64 numpy.
DATA = np.loadtxt("examples/data/iris.csv", delimiter=",", skiprows=1)
X = (DATA[:, :4] - DATA[:, :4].mean(0)) / DATA[:, :4].std(0)
Y = np.eye(3)[DATA[:, 4].astype(int)]
W0 = np.random.default_rng(0).normal(size=(4, 3)) * 0.1


def np_grad(w):
    z = X @ w
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    return X.T @ (p - Y) / len(X)


def swats_reference(lr, b1, b2, eps, threshold, steps):
    """Keskar & Socher 2017, Algorithm 1, line by line."""
    x, m, a, lam = W0.copy(), np.zeros_like(W0), np.zeros_like(W0), 0.0
    phase, big_lambda, v, switch_k, path = "adam", 0.0, None, -1, []
    for k in range(1, steps + 1):
        g = np_grad(x)
        if phase == "sgd":
            v = b1 * v + g
            x = x - (1 - b1) * big_lambda * v
            path.append(x.copy())
            continue
        m = b1 * m + (1 - b1) * g
        a = b2 * a + (1 - b2) * g * g
        p = -lr * np.sqrt(1 - b2**k) / (1 - b1**k) * m / (np.sqrt(a) + eps)
        x = x + p
        pg = np.sum(p * g)
        if pg != 0:
            gamma = np.sum(p * p) / -pg
            lam = b2 * lam + (1 - b2) * gamma
            if k > 1 and abs(lam / (1 - b2**k) - gamma) < threshold:
                phase, v, big_lambda, switch_k = "sgd", np.zeros_like(x), lam / (1 - b2**k), k
        path.append(x.copy())
    return np.array(path), switch_k, big_lambda


@pytest.mark.parametrize("eps", [1e-9, 1e-3])
def test_swats_follows_algorithm_1(eps):
    """Every iterate, the switch step and the SGD rate of Algorithm 1; the larger eps is
    large enough that its place in the denominator shows."""
    lr, steps, threshold = 0.05, 100, 5e-3
    want, switch_k, big_lambda = swats_reference(lr, 0.9, 0.999, eps, threshold, steps)
    assert 10 < switch_k < steps - 10

    def loss(w):
        return -jnp.mean(jnp.sum(Y * jax.nn.log_softmax(X @ w), axis=1))

    tx = jaxsched.swats(lr, eps=eps, switch_threshold=threshold)

    def body(carry, _):
        w, state = carry
        updates, state = tx.update(jax.grad(loss)(w), state, w)
        w = optax.apply_updates(w, updates)
        return (w, state), w

    w0 = jnp.asarray(W0, jnp.float32)
    (_, state), path = jax.jit(lambda: jax.lax.scan(body, (w0, tx.init(w0)), None, steps))()
    # Update k (1-based) makes the switch; the first SGD update has 0-based index k.
    assert int(jaxsched.switch_step(state)) == switch_k
    assert bool(state.inner_state.sgd_phase)
    assert float(state.inner_state.sgd_learning_rate) == pytest.approx(big_lambda, rel=1e-4)
    np.testing.assert_allclose(path, want, rtol=2e-4, atol=2e-5)
    assert set(jaxsched.hyperparams(state)) == {
        "learning_rate",
        "b1",
        "b2",
        "eps",
        "switch_threshold",
    }


def test_swats_state_before_the_switch():
    tx = jaxsched.swats(1e-3)
    state = tx.init(PARAMS)
    assert int(jaxsched.switch_step(state)) == -1
    assert not bool(state.inner_state.sgd_phase)
    assert state.inner_state.lam.dtype == jnp.float32
    # The default threshold is eps (1e-9), which it follows rather than keeping a copy.
    assert "switch_threshold" not in jaxsched.hyperparams(state)
    assert float(jaxsched.hyperparams(state)["eps"]) == pytest.approx(1e-9)


def test_swats_zero_gradient_is_no_projection():
    """Algorithm 1 estimates the SGD rate only where ``p . g != 0``: a zero gradient
    leaves lambda as it was and cannot switch (no 0/0 in the state)."""
    tx = jaxsched.swats(0.1, switch_threshold=1e3)
    zeros = jax.tree.map(jnp.zeros_like, PARAMS)
    state = tx.init(PARAMS)
    for _ in range(2):
        updates, state = tx.update(zeros, state, PARAMS)
        assert all(float(jnp.max(jnp.abs(u))) == 0.0 for u in jax.tree.leaves(updates))
        assert float(state.inner_state.lam) == 0.0
        assert int(jaxsched.switch_step(state)) == -1
    _, state = tx.update(quadratic_grads(PARAMS), state, PARAMS)
    assert np.isfinite(float(state.inner_state.lam)) and float(state.inner_state.lam) != 0.0


def test_swats_switch_test_is_strict_and_skips_the_first_step():
    """Algorithm 1 switches when ``k > 1`` and ``|lambda / (1 - b2^k) - gamma| < threshold``.
    With lr 1, b1 = b2 = 1/2, eps 0 and a unit gradient every quantity is exact in
    float32 and the estimate equals gamma (= 1) from the start: a zero threshold never
    switches (the test is strict); a huge one switches after the second update, not the
    first, and SGD then runs at Lambda = 1."""
    params, grad = jnp.array([1.0]), jnp.array([1.0])

    def run(threshold):
        tx = jaxsched.swats(1.0, b1=0.5, b2=0.5, eps=0.0, switch_threshold=threshold)
        state = tx.init(params)
        for _ in range(2):
            updates, state = tx.update(grad, state, params)
            assert float(updates[0]) == -1.0  # p = -1, so gamma = 1
        return state

    state = run(0.0)
    assert float(state.inner_state.lam) == 0.75  # lambda / (1 - b2^2) = 1 = gamma
    assert int(jaxsched.switch_step(state)) == -1
    assert float(state.inner_state.sgd_learning_rate) == 0.0  # 0 before the switch
    state = run(1e3)
    assert int(jaxsched.switch_step(state)) == 2
    assert float(state.inner_state.sgd_learning_rate) == 1.0


def test_swats_vmaps_over_learning_rates():
    tx = jaxsched.swats(0.1, switch_threshold=1e-2)
    grads = quadratic_grads(PARAMS)

    def three_steps(lr):
        state = jaxsched.set_hyperparams(tx.init(PARAMS), learning_rate=lr)
        for _ in range(3):
            updates, state = tx.update(grads, state, PARAMS)
        return updates, state

    lrs = jnp.array([0.1, 0.3])
    batched, states = jax.jit(jax.vmap(three_steps))(lrs)
    for i, lr in enumerate(lrs):
        single, state = jax.jit(three_steps)(lr)
        row = jax.tree.map(lambda b, i=i: b[i], batched)
        jax.tree.map(lambda b, s: np.testing.assert_allclose(b, s, rtol=1e-6), row, single)
        assert int(states.inner_state.switch_step[i]) == int(jaxsched.switch_step(state))
