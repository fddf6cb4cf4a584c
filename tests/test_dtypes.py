"""dtypes of every native optimizer: moments, updates and hyperparameters.

Moments default to the parameter dtype promoted to float32 (bf16 -> float32, float64 stays
float64) or follow ``mu_dtype`` / ``nu_dtype`` / ``dtype``; updates come back in each
parameter's dtype; hyperparameters stay float32 whatever the parameters (b2 = 0.999 must
not round to 1.0 as it would in bf16). float64 runs under ``jax.enable_x64(True)`` so the
other tests keep the default configuration.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from jaxsched.transforms import LookaheadState

# name -> (factory taking the dtype overrides, the override keywords it accepts)
MU_NU = ("mu_dtype", "nu_dtype")
OPTIMIZERS = {
    "sgd": (lambda **kw: jaxsched.sgd(0.1, **kw), ()),
    "momentum": (lambda **kw: jaxsched.momentum(0.1, weight_decay=0.01, **kw), ()),
    "nesterov": (lambda **kw: jaxsched.nesterov(0.1, **kw), ()),
    "adam": (lambda **kw: jaxsched.adam(1e-2, **kw), MU_NU),
    "adamw": (lambda **kw: jaxsched.adamw(1e-2, weight_decay=0.1, **kw), MU_NU),
    "amsgrad": (lambda **kw: jaxsched.amsgrad(1e-2, **kw), MU_NU),
    "adagrad": (
        lambda **kw: jaxsched.adagrad(lr_decay=0.01, weight_decay=0.01, **kw),
        ("nu_dtype",),
    ),
    "rmsprop": (
        lambda **kw: jaxsched.rmsprop(momentum=0.9, centered=True, nesterov=True, **kw),
        MU_NU,
    ),
    "adadelta": (lambda **kw: jaxsched.adadelta(**kw), ("nu_dtype",)),
    "adamax": (lambda **kw: jaxsched.adamax(**kw), MU_NU),
    "nadam": (lambda **kw: jaxsched.nadam(weight_decay=0.01, **kw), MU_NU),
    "radam": (lambda **kw: jaxsched.radam(weight_decay=0.01, **kw), MU_NU),
    "asgd": (lambda **kw: jaxsched.asgd(t0=1.0, weight_decay=0.01, **kw), ("dtype",)),
    "rprop": (lambda **kw: jaxsched.rprop(**kw), ("dtype",)),
    "lion": (lambda **kw: jaxsched.lion(1e-3, **kw), ("mu_dtype",)),
    "ftrl": (lambda **kw: jaxsched.ftrl(0.1, l1=0.01, l2=0.01, **kw), ("dtype",)),
    "lookahead": (lambda **kw: jaxsched.lookahead(jaxsched.adam(1e-2, **kw), 2), MU_NU),
    "ranger": (lambda **kw: jaxsched.ranger(1e-2, weight_decay=0.01, **kw), MU_NU),
}


def _params(dtype):
    return {
        "kernel": jnp.linspace(-1, 1, 12, dtype=dtype).reshape(3, 4),
        "bias": jnp.full((4,), 0.5, dtype),
    }


def _grads(params):
    return jax.tree.map(lambda p: (jnp.sin(3 * p) + 0.3).astype(p.dtype), params)


def _moments(state):
    """Array leaves of the state shaped like a parameter, except Lookahead's slow weights."""
    slow = {
        id(leaf)
        for node in jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, LookaheadState))
        if isinstance(node, LookaheadState)
        for leaf in jax.tree.leaves(node.slow)
    }
    return [
        leaf
        for leaf in jax.tree.leaves(state)
        if leaf.shape in {(3, 4), (4,)} and id(leaf) not in slow
    ]


def _run(name, param_dtype, overrides=None):
    tx = OPTIMIZERS[name][0](**(overrides or {}))
    params = _params(param_dtype)
    state = tx.init(params)
    step = jax.jit(tx.update)
    for _ in range(3):
        updates, state = step(_grads(params), state, params)
        for u, p in zip(jax.tree.leaves(updates), jax.tree.leaves(params), strict=True):
            assert u.dtype == p.dtype and u.shape == p.shape
        params = jaxsched.apply_updates(params, updates)
    for value in jax.tree.leaves(params):
        assert bool(jnp.all(jnp.isfinite(value.astype(jnp.float32))))
    return state


def _check_hyperparams(name, state):
    hp = jaxsched.hyperparams(state)
    assert hp
    for value in hp.values():
        assert value.dtype == jnp.float32
    if "b2" in hp:
        assert float(hp["b2"]) == np.float32(0.99 if name == "lion" else 0.999)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_bf16_params_get_float32_moments(name):
    state = _run(name, jnp.bfloat16)
    moments = _moments(state)
    if OPTIMIZERS[name][1]:
        assert moments
    for leaf in moments:
        assert leaf.dtype == jnp.float32, name
    _check_hyperparams(name, state)


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if OPTIMIZERS[n][1]])
def test_moment_dtypes_follow_the_overrides(name):
    overrides = dict.fromkeys(OPTIMIZERS[name][1], jnp.bfloat16)
    state = _run(name, jnp.float32, overrides)
    moments = _moments(state)
    assert moments
    for leaf in moments:
        assert leaf.dtype == jnp.bfloat16, name


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float32_params(name):
    state = _run(name, jnp.float32)
    for leaf in _moments(state):
        assert leaf.dtype == jnp.float32
    _check_hyperparams(name, state)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float64_params_keep_float64_moments_and_float32_hyperparams(name):
    with jax.enable_x64(True):
        state = _run(name, jnp.float64)
        for leaf in _moments(state):
            assert leaf.dtype == jnp.float64, name
        _check_hyperparams(name, state)
    assert jnp.asarray(1.0).dtype == jnp.float32


def test_lookahead_slow_weights_keep_the_parameter_dtype():
    state = _run("ranger", jnp.bfloat16)
    (node,) = [
        n
        for n in jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, LookaheadState))
        if isinstance(n, LookaheadState)
    ]
    assert all(leaf.dtype == jnp.bfloat16 for leaf in jax.tree.leaves(node.slow))


def test_schedule_free_z_in_bfloat16_steps_y_by_the_gradient():
    """With ``z`` in bfloat16, ``y`` moves by ``lr g`` itself, not by ``z``'s rounded
    change (the float32 form): a float32 reference with ``z`` rounded to bfloat16 at every
    step, the authors' rule ``y <- y + c (z - y) + lr (b1 (1 - c) - 1) g``, ``c = 1/(k+1)``."""
    lr, b1 = np.float32(0.05), np.float32(0.9)
    y0 = np.linspace(-1.3, 2.1, 16, dtype=np.float32)
    tx = jaxsched.schedule_free_sgd(float(lr), b1=float(b1), z_dtype=jnp.bfloat16)
    step = jax.jit(tx.update)
    y, state = jnp.asarray(y0), tx.init(jnp.asarray(y0))
    y_ref, z_ref = y0, y0.astype(jnp.bfloat16)
    for k in range(8):
        updates, state = step(2 * y + 0.1, state, y)
        y = jaxsched.apply_updates(y, updates)
        g = 2 * y_ref + np.float32(0.1)
        c = np.float32(1 / (k + 1))
        z = z_ref.astype(np.float32)
        y_ref = y_ref + c * (z - y_ref) + lr * (b1 * (1 - c) - 1) * g
        z_ref = (z - lr * g).astype(jnp.bfloat16)
    assert state.inner_state[-1].z.dtype == jnp.bfloat16
    np.testing.assert_array_equal(state.inner_state[-1].z, z_ref)
    np.testing.assert_allclose(y, y_ref, rtol=1e-6, atol=1e-6)
