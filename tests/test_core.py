"""Shapes, dtypes, jit, counters, convergence and construction errors of the core optimizers."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hlo import donated_step_entry

import jaxsched
from jaxsched._base import safe_increment

OPTIMIZERS = {
    "sgd": lambda: jaxsched.sgd(0.1),
    "momentum": lambda: jaxsched.momentum(0.1, 0.9, weight_decay=0.01),
    "nesterov": lambda: jaxsched.nesterov(0.1),
    "adam": lambda: jaxsched.adam(1e-2, amsgrad=True),
    "adamw": lambda: jaxsched.adamw(1e-2, weight_decay=0.1),
    "torch.SGD": lambda: jaxsched.torch.SGD(lr=0.1, momentum=0.5, maximize=True),
    "torch.AdamW": lambda: jaxsched.torch.AdamW(),
    "keras.SGD": lambda: jaxsched.keras.SGD(momentum=0.9, nesterov=True, weight_decay=0.1),
    "keras.Adam": lambda: jaxsched.keras.Adam(amsgrad=True),
}

PARAMS = {
    "dense": {"kernel": jnp.linspace(-1, 1, 12).reshape(3, 4), "bias": jnp.zeros(4)},
    "scale": jnp.ones((2, 2, 3), jnp.bfloat16),
}


def _grads(params):
    return jax.tree.map(lambda p: (jnp.sin(3 * p) + 0.3).astype(p.dtype), params)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_shapes_dtypes_and_jit_agree(name):
    tx = OPTIMIZERS[name]()
    state = tx.init(PARAMS)
    jitted = jax.jit(tx.update)
    params_eager, params_jit, state_jit = PARAMS, PARAMS, state
    for _ in range(3):
        updates, state = tx.update(_grads(params_eager), state, params_eager)
        chex.assert_trees_all_equal_shapes_and_dtypes(updates, PARAMS)
        params_eager = optax.apply_updates(params_eager, updates)
        updates_jit, state_jit = jitted(_grads(params_jit), state_jit, params_jit)
        params_jit = optax.apply_updates(params_jit, updates_jit)
    chex.assert_trees_all_close(params_eager, params_jit, rtol=1e-6, atol=1e-6)
    chex.assert_trees_all_equal_shapes_and_dtypes(state, state_jit)


def test_state_holds_arrays_only():
    for make in OPTIMIZERS.values():
        for leaf in jax.tree.leaves(make().init(PARAMS)):
            assert isinstance(leaf, jax.Array)


def test_counter_saturates_instead_of_wrapping():
    top = jnp.iinfo(jnp.int32).max
    assert int(safe_increment(jnp.int32(top - 1))) == top
    assert int(safe_increment(jnp.int32(top))) == top
    tx = jaxsched.adam(optax.constant_schedule(1e-3))  # scheduled: the wrapper counts too
    state = tx.init(PARAMS)
    adam_state = state.inner_state[0]
    state = state._replace(
        count=jnp.int32(top), inner_state=(adam_state._replace(count=jnp.int32(top)), ())
    )
    updates, state = tx.update(_grads(PARAMS), state, PARAMS)
    assert int(state.count) == top
    assert int(state.inner_state[0].count) == top
    assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(updates))


def _counters(state) -> dict[str, int]:
    return {
        jax.tree_util.keystr(path): int(leaf)
        for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]
        if jax.tree_util.keystr(path).endswith(".count")
    }


@pytest.mark.parametrize(
    "make, after_two",
    [
        # Nothing reads a step count: none is kept (each costs a kernel per step).
        (lambda: jaxsched.sgd(0.1, 0.9), {}),
        (lambda: jaxsched.adagrad(0.1), {}),
        (lambda: jaxsched.torch.Adagrad(lr_decay=0.0), {}),
        # Read by a schedule, dampening's undamped first step, lr_decay, a bias correction.
        (lambda: jaxsched.sgd(optax.linear_schedule(0.1, 0.0, 10)), {".count": 2}),
        (lambda: jaxsched.sgd(0.1, 0.9, dampening=0.1), {".inner_state[0].count": 2}),
        (lambda: jaxsched.adagrad(0.1, lr_decay=0.1), {".inner_state[0].count": 2}),
        (lambda: jaxsched.adam(0.1), {".inner_state[0].count": 2}),
    ],
)
def test_step_counters_only_where_something_reads_them(make, after_two):
    tx = make()
    state = tx.init(PARAMS)
    assert _counters(state) == dict.fromkeys(after_two, 0)
    for _ in range(2):
        _, state = tx.update(_grads(PARAMS), state, PARAMS)
    assert _counters(state) == after_two


def test_adam_step_compiles_without_a_copy_of_its_counter():
    """The bias corrections read the incremented count: had they read the old one, XLA
    would copy it before the donated buffer takes the new one (a kernel of its own)."""
    entry = donated_step_entry(jaxsched.adam(1e-3), {"w": jnp.zeros(8)})
    assert "s32[] fusion(" in entry  # the counter's increment is there
    assert " copy(" not in entry


SCHEDULE = optax.linear_schedule(1e-3, 0.0, 10)


@pytest.mark.parametrize(
    "make",
    [
        lambda: jaxsched.adamw(SCHEDULE, weight_decay=1e-2),
        lambda: jaxsched.momentum(SCHEDULE, 0.9),
        lambda: jaxsched.momentum(1e-3, 0.9, dampening=0.1),
        lambda: jaxsched.adagrad(1e-3, lr_decay=0.1),
        lambda: jaxsched.adopt(1e-3),
        lambda: jaxsched.asgd(1e-3),
        lambda: jaxsched.lookahead(jaxsched.adam(1e-3)),
    ],
    ids=[
        "adamw-schedule",
        "momentum-schedule",
        "dampening",
        "lr_decay",
        "adopt",
        "asgd",
        "lookahead",
    ],
)
def test_scalar_state_compiles_without_copies(make):
    """No scalar of the state is copied in the donated step, except the count that the
    schedules read before it is incremented (as in ``optax.inject_hyperparams``).

    Two ways a copy had crept in: a rule that read its old count (the donated buffer
    takes the new one), and a schedule's new value, which does not read the previous
    one: ``jit`` dropped that input, and the donated scalars paired with the outputs one
    place off, which XLA swapped through copies."""
    entry = donated_step_entry(make(), {"w": jnp.zeros(8)})
    copied = [
        line.split(" copy(")[1].split(")")[0] for line in entry.splitlines() if "[] copy(" in line
    ]
    assert set(copied) <= {"%state_count.1"}, copied


def _minimise(tx, loss, x0, steps):
    state = tx.init(x0)

    def body(carry, _):
        x, s = carry
        u, s = tx.update(jax.grad(loss)(x), s, x)
        return (optax.apply_updates(x, u), s), None

    (x, _), _ = jax.jit(lambda c: jax.lax.scan(body, c, None, length=steps))((x0, state))
    return x


def test_convergence_on_a_quadratic():
    a = jnp.array([1.0, 10.0, 0.1])

    def loss(x):
        return 0.5 * jnp.sum(a * (x - 3.0) ** 2)

    for tx in [jaxsched.sgd(0.15), jaxsched.momentum(0.05, 0.9), jaxsched.adam(0.1)]:
        x = _minimise(tx, loss, jnp.zeros(3), 1500)
        np.testing.assert_allclose(x, 3.0, atol=1e-2)


def test_convergence_on_rosenbrock():
    def rosenbrock(x):
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    x = _minimise(jaxsched.adam(2e-2), rosenbrock, jnp.array([-1.5, 2.0]), 5000)
    np.testing.assert_allclose(x, [1.0, 1.0], atol=2e-2)
    x = _minimise(jaxsched.momentum(1e-3, 0.9), rosenbrock, jnp.array([-1.5, 2.0]), 20000)
    np.testing.assert_allclose(x, [1.0, 1.0], atol=2e-2)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: jaxsched.sgd(-0.1), "learning_rate must be a number in \\[0, inf\\)"),
        (lambda: jaxsched.sgd(0.1, momentum=1.5), "momentum must be a number in \\[0, 1\\]"),
        (lambda: jaxsched.sgd(0.1, nesterov=True), "nesterov"),
        (lambda: jaxsched.adam(b1=1.0), "b1 must be a number in \\[0, 1\\)"),
        (lambda: jaxsched.adam(b2=-0.1), "b2 must be a number in \\[0, 1\\)"),
        (lambda: jaxsched.adam(eps=-1e-8), "eps must be a number in \\[0, inf\\)"),
        (lambda: jaxsched.adamw(weight_decay=-1.0), "weight_decay"),
        (lambda: jaxsched.adam(float("nan")), "learning_rate"),
        (lambda: jaxsched.torch.SGD(lr=-1.0), "lr must be a number in \\[0, inf\\)"),
        (lambda: jaxsched.torch.SGD(momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
        (lambda: jaxsched.torch.SGD(nesterov=True), "nesterov"),
        (lambda: jaxsched.torch.Adam(betas=(0.9,)), "betas must have 2 items"),
        (lambda: jaxsched.torch.Adam(betas=(0.9, 1.0)), "betas\\[1\\] must be a number in"),
        (lambda: jaxsched.keras.SGD(momentum=2.0), "momentum must be a number in \\[0, 1\\]"),
        (lambda: jaxsched.keras.Adam(epsilon=-1.0), "epsilon must be a number in"),
        (lambda: jaxsched.keras.Adam(decay=-0.1), "decay must be a number in"),
    ],
)
def test_invalid_hyperparameters_raise_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_non_number_hyperparameter_is_a_type_error():
    with pytest.raises(TypeError, match="learning_rate must be a number"):
        jaxsched.sgd("0.1")


@pytest.mark.parametrize(
    ("grads", "match"),
    [
        ({"dense": {"kernel": jnp.ones((3, 4))}, "scale": jnp.ones((2, 2, 3))}, "'dense/bias'"),
        (
            {
                "dense": {"kernel": jnp.ones((3, 4)), "bias": jnp.ones(4), "extra": jnp.ones(1)},
                "scale": jnp.ones((2, 2, 3)),
            },
            "'dense/extra'",
        ),
        (
            {
                "dense": {"kernel": jnp.ones((4, 3)), "bias": jnp.ones(4)},
                "scale": jnp.ones((2, 2, 3)),
            },
            "'dense/kernel' has shape \\(4, 3\\)",
        ),
    ],
)
def test_mismatched_gradient_tree_names_the_path(grads, match):
    for tx in [jaxsched.adam(), jaxsched.momentum(0.1)]:
        with pytest.raises(ValueError, match=match):
            tx.update(grads, tx.init(PARAMS), PARAMS)
