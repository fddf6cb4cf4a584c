"""jaxsched speaks optax's protocol: optax.chain, flax TrainState and flax.nnx.Optimizer."""

import inspect

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from flax.training import train_state

import jaxsched

PARAMS = {"dense": {"kernel": jnp.arange(6.0).reshape(2, 3) / 6, "bias": jnp.ones(3)}}


def _grads(params):
    return jax.tree.map(lambda p: jnp.cos(p) + 0.1, params)


def _run(tx, steps=5):
    params, state = PARAMS, tx.init(PARAMS)
    for _ in range(steps):
        updates, state = tx.update(_grads(params), state, params)
        params = optax.apply_updates(params, updates)
    return params, state


def test_is_gradient_transformation_extra_args():
    for tx in [jaxsched.sgd(0.1), jaxsched.adam(), jaxsched.torch.AdamW(), jaxsched.keras.SGD()]:
        assert isinstance(tx, optax.GradientTransformationExtraArgs)


def test_native_adam_matches_optax_adam():
    got, _ = _run(jaxsched.adam(1e-2, 0.8, 0.99, 1e-6))
    want, _ = _run(optax.adam(1e-2, 0.8, 0.99, 1e-6))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), got, want)


def test_native_sgd_momentum_matches_optax_sgd():
    got, _ = _run(jaxsched.sgd(0.1, momentum=0.9, nesterov=True))
    want, _ = _run(optax.sgd(0.1, momentum=0.9, nesterov=True))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), got, want)


def test_mixed_chains_both_ways():
    """optax blocks inside jaxsched.chain and jaxsched blocks inside optax.chain agree."""
    a, _ = _run(jaxsched.chain(optax.clip_by_global_norm(0.5), jaxsched.adam(1e-2)))
    b, _ = _run(optax.chain(optax.clip_by_global_norm(0.5), optax.adam(1e-2)))
    c, _ = _run(optax.chain(jaxsched.transforms.scale_by_adam(), optax.scale(-1e-2)))
    d, _ = _run(optax.chain(optax.scale_by_adam(), optax.scale(-1e-2)))
    for x, y in [(a, b), (c, d)]:
        jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6), x, y)


def test_extra_args_reach_the_transformation_through_optax_chain():
    seen = {}

    def factory():
        def update(updates, state, params=None, **extra):
            seen.update(extra)
            return updates, state

        return optax.GradientTransformationExtraArgs(lambda p: (), update)

    tx = optax.chain(jaxsched.sgd(0.1), factory())
    tx.update(_grads(PARAMS), tx.init(PARAMS), PARAMS, value=jnp.float32(3.0))
    assert float(seen["value"]) == 3.0


def test_flax_train_state():
    tx = jaxsched.torch.AdamW(lr=1e-2, weight_decay=0.1)
    state = train_state.TrainState.create(apply_fn=None, params=PARAMS, tx=tx)
    step = jax.jit(lambda s: s.apply_gradients(grads=_grads(s.params)))
    for _ in range(5):
        state = step(state)
    want, _ = _run(tx)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), state.params, want)
    assert float(jaxsched.hyperparams(state.opt_state)["weight_decay"]) == np.float32(0.1)
    state = state.replace(opt_state=jaxsched.set_hyperparams(state.opt_state, learning_rate=0.0))
    before = state.params
    state = step(state)
    jax.tree.map(np.testing.assert_array_equal, state.params, before)


class _Model(nnx.Module):
    def __init__(self, rngs):
        self.linear = nnx.Linear(3, 2, rngs=rngs)

    def __call__(self, x):
        return self.linear(x)


def test_flax_nnx_optimizer():
    model = _Model(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, jaxsched.keras.Adam(1e-2), wrt=nnx.Param)
    x, y = jnp.ones((4, 3)), jnp.zeros((4, 2))

    def loss(m):
        return jnp.mean((m(x) - y) ** 2)

    @nnx.jit
    def step(m, opt):
        value, grads = nnx.value_and_grad(loss)(m)
        opt.update(m, grads)
        return value

    losses = [float(step(model, optimizer)) for _ in range(20)]
    assert losses[-1] < 0.5 * losses[0]
    hp = jaxsched.hyperparams(nnx.as_pure(optimizer.opt_state))
    # Keras's Adam: no eps_root (not a Keras argument), no weight_decay (None by default).
    assert set(hp) == {"learning_rate", "b1", "b2", "eps"}
    counts = [
        int(leaf)
        for path, leaf in jax.tree_util.tree_flatten_with_path(nnx.as_pure(optimizer.opt_state))[0]
        if jax.tree_util.keystr(path).endswith(".count")
    ]
    assert counts == [20]  # Adam's own; the hyperparameters follow no schedule


def test_state_round_trips_through_flax_serialization():
    _, state = _run(jaxsched.torch.Adam(lr=1e-2, amsgrad=True))
    restored = flax.serialization.from_bytes(
        jaxsched.torch.Adam(lr=1e-2, amsgrad=True).init(PARAMS),
        flax.serialization.to_bytes(state),
    )
    jax.tree.map(np.testing.assert_array_equal, restored, state)
    assert jax.tree.structure(restored) == jax.tree.structure(state)


NATIVES_WITH_OPTAX_NAMES = [
    "adadelta",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "adan",
    "amsgrad",
    "lamb",
    "lars",
    "lion",
    "nadam",
    "radam",
    "rmsprop",
    "rprop",
]


@pytest.mark.parametrize("name", NATIVES_WITH_OPTAX_NAMES)
def test_native_defaults_are_optax_defaults(name):
    """A native optimizer named like optax's takes optax's defaults (the README's table:
    AdamW decays by 1e-4 as optax does, not torch's 1e-2): every hyperparameter in the
    state that optax's function also takes, read from optax's own signature."""
    signature = inspect.signature(getattr(optax, name))
    values = jaxsched.hyperparams(getattr(jaxsched, name)(0.1).init(jnp.zeros(2)))
    shared = {
        k: signature.parameters[k].default
        for k in values
        if k != "learning_rate"
        and k in signature.parameters
        and isinstance(signature.parameters[k].default, (int, float))
    }
    assert shared, name
    for key, default in shared.items():
        assert float(values[key]) == np.float32(default), (name, key)


def _twenty_steps(tx, params):
    """The parameters after 20 steps on gradients that depend on them and on the step."""
    state, p = tx.init(params), params
    for t in range(20):
        g = jax.tree.map(lambda x, t=t: jnp.cos(3 * x + t) + 0.3 * x, p)
        updates, state = tx.update(g, state, p)
        p = optax.apply_updates(p, updates)
    return p


@pytest.mark.parametrize("name", ["adamw", "lamb", "lion"])
def test_natives_with_weight_decay_step_as_optax(name):
    """Where jaxsched's rule is optax's (decoupled weight decay in AdamW, LAMB's trust
    ratio over the decayed update, Lion's), 20 steps with decay agree with optax's."""
    r = np.random.default_rng(len(name))
    kw = dict(learning_rate=float(r.uniform(1e-3, 3e-2)), weight_decay=float(r.uniform(0.01, 0.3)))
    params = {"w": jnp.asarray(r.normal(size=(3, 4)), jnp.float32), "b": jnp.ones(4)}
    got = _twenty_steps(getattr(jaxsched, name)(**kw), params)
    want = _twenty_steps(getattr(optax, name)(**kw), params)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name, reference",
    [("momentum", dict(momentum=0.9)), ("nesterov", dict(momentum=0.9, nesterov=True))],
)
def test_momentum_variants_at_their_documented_defaults_step_as_optax_sgd(name, reference):
    """``momentum(lr)`` and ``nesterov(lr)`` default to momentum 0.9 (their docstrings):
    20 steps equal ``optax.sgd(lr, momentum=0.9[, nesterov=True])``'s."""
    params = {"w": jnp.linspace(-1.0, 2.0, 6).reshape(2, 3)}
    got = _twenty_steps(getattr(jaxsched, name)(0.05), params)["w"]
    want = _twenty_steps(optax.sgd(0.05, **reference), params)["w"]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
