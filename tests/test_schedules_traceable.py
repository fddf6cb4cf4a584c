"""Every schedule is a pure function of the step: jit, vmap (over steps and over numeric
arguments) and grad (with respect to the initial value) work and agree with eager calls.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsched import schedules as js
from jaxsched.keras import schedules as ks
from jaxsched.torch import lr_scheduler as ls

# Each factory maps the initial (peak) value to a schedule that is linear in it, so the
# gradient with respect to it must be value / lr.
FACTORIES = {
    "exponential_decay": lambda lr: js.exponential_decay(lr, 7, 0.8, staircase=True),
    "natural_exp_decay": lambda lr: js.natural_exp_decay(lr, 7, 0.1),
    "inverse_time_decay": lambda lr: js.inverse_time_decay(lr, 7, 0.5),
    "piecewise_constant": lambda lr: js.piecewise_constant([5, 20], [lr, lr / 2, lr / 8]),
    "polynomial_decay": lambda lr: js.polynomial_decay(lr, 30, 0.0, 0.5, cycle=True),
    "cosine_decay": lambda lr: js.cosine_decay(lr, 30, 0.1),
    "cosine_decay_restarts": lambda lr: js.cosine_decay_restarts(lr, 8, 1.5, 0.7, 0.1),
    "linear_cosine_decay": lambda lr: js.linear_cosine_decay(lr, 30),
    "noisy_linear_cosine_decay": lambda lr: js.noisy_linear_cosine_decay(lr, 30, jax.random.key(0)),
    "constant": js.constant,
    "linear_warmup": lambda lr: js.linear_warmup(js.cosine_decay(lr, 20), 10),
    "join": lambda lr: js.join([js.constant(lr), js.step_decay(lr, 3, 0.5)], [12]),
    "warmup_cosine": lambda lr: js.warmup_cosine(lr, 10, 40),
    "inverse_sqrt": lambda lr: js.inverse_sqrt(lr, 10),
    "warmup_stable_decay": lambda lr: js.warmup_stable_decay(
        lr, 10, 20, stable_steps=10, warmup_type="1-sqrt", decay_type="1-sqrt"
    ),
    "warmup_stable_decay(no warmup)": lambda lr: js.warmup_stable_decay(
        lr, 0, 20, stable_steps=10, warmup_type="cosine", decay_type="linear"
    ),
    "cosine": lambda lr: js.cosine(
        lr, 7, cycle_mul=2.0, cycle_decay=0.5, warmup_steps=3, cycle_limit=3, k_decay=1.5
    ),
    "step_decay": lambda lr: js.step_decay(lr, 4, 0.7),
    "multistep_decay": lambda lr: js.multistep_decay(lr, [3, 9, 9], 0.5),
    "multiplicative": lambda lr: js.multiplicative(lr, lambda i: 0.9 + 0.0 * i, horizon=20),
    "cyclic": lambda lr: js.cyclic(lr / 10, lr, 5, 3, mode="exp_range", gamma=0.99),
    "one_cycle": lambda lr: js.one_cycle(lr, 40, three_phase=True),
    "LambdaLR": lambda lr: ls.LambdaLR(lr, lambda k: 1.0 / (1.0 + k)),
    "ConstantLR": lambda lr: ls.ConstantLR(lr, 0.5, 10),
    "LinearLR": lambda lr: ls.LinearLR(lr, 0.2, 1.0, 10),
    "ExponentialLR": lambda lr: ls.ExponentialLR(lr, 0.9),
    "PolynomialLR": lambda lr: ls.PolynomialLR(lr, 20, 0.5),
    "CosineAnnealingLR": lambda lr: ls.CosineAnnealingLR(lr, 15),
    "CosineAnnealingWarmRestarts": lambda lr: ls.CosineAnnealingWarmRestarts(lr, 5, 2),
    "OneCycleMomentum": lambda lr: ls.OneCycleMomentum(
        1.0, 40, max_momentum=lr, base_momentum=lr / 2
    ),
    "SequentialLR": lambda lr: ls.SequentialLR([ls.LinearLR(lr), ls.ExponentialLR(lr, 0.9)], [5]),
    "ChainedScheduler": lambda lr: ls.ChainedScheduler(
        [ls.ConstantLR(lr, 0.5, 10), ls.ExponentialLR(lr, 0.9)], lr
    ),
    "CosineDecay(warmup)": lambda lr: ks.CosineDecay(0.0, 20, warmup_target=lr, warmup_steps=10),
}
STEPS = np.arange(45)


@pytest.mark.parametrize("name", FACTORIES)
def test_jit_vmap_grad(name):
    lr = 0.3
    schedule = FACTORIES[name](lr)
    eager = np.array([float(schedule(int(s))) for s in STEPS])
    assert np.all(np.isfinite(eager))

    for step in (7, np.int32(7), jnp.asarray(7, jnp.int32), jnp.asarray(7.0), 7.0):
        out = schedule(step)
        assert out.shape == () and out.dtype == jnp.float32
        assert float(out) == pytest.approx(eager[7], rel=1e-6)
    np.testing.assert_allclose(jax.vmap(schedule)(jnp.asarray(STEPS)), eager, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(jax.vmap(schedule))(STEPS), eager, rtol=2e-6, atol=1e-9)
    np.testing.assert_allclose(
        jax.vmap(schedule)(jnp.asarray(STEPS, jnp.float32)), eager, rtol=1e-6
    )

    # A sweep over the initial value in one vmap, and its gradient.
    lrs = jnp.asarray([0.1, 0.3, 0.7])
    swept = jax.vmap(lambda v: jax.vmap(FACTORIES[name](v))(jnp.asarray(STEPS)))(lrs)
    np.testing.assert_allclose(swept[1], eager, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(swept[2], eager * 0.7 / 0.3, rtol=1e-5, atol=1e-9)
    grads = jax.vmap(jax.grad(lambda v, s: FACTORIES[name](v)(s)), in_axes=(None, 0))(
        jnp.float32(lr), jnp.asarray(STEPS)
    )
    assert np.all(np.isfinite(grads))
    np.testing.assert_allclose(grads, eager / lr, rtol=1e-5, atol=1e-7)


def _swept(make, values, steps=STEPS):
    """The schedule for each value of a numeric argument, in one vmap over the argument."""
    swept = jax.vmap(lambda v: jax.vmap(make(v))(jnp.asarray(steps)))(jnp.asarray(values))
    one_by_one = np.array([[float(make(float(v))(int(s))) for s in steps] for v in values])
    np.testing.assert_allclose(swept, one_by_one, rtol=3e-6, atol=1e-9)


def test_vmap_over_other_numeric_arguments():
    _swept(lambda r: js.exponential_decay(0.1, 5, r), [0.5, 0.9, 0.99])
    _swept(lambda p: js.polynomial_decay(0.1, 30, 0.01, p), [0.5, 1.0, 2.0])
    _swept(lambda a: js.cosine_decay(0.1, 30, a), [0.0, 0.2])
    _swept(lambda t: js.cosine_decay_restarts(0.1, 5, t, 0.5), [1.0, 2.0, 1.5])
    _swept(lambda g: js.step_decay(0.1, 3, g), [0.5, 0.9])
    _swept(lambda g: js.cyclic(0.01, 0.1, 4, mode="exp_range", gamma=g), [0.9, 0.99])
    _swept(lambda m: js.warmup_stable_decay(0.1, 5, 10, stable_steps=5, min_lr_ratio=m), [0, 0.3])
    _swept(lambda d: js.cosine(0.1, 6, cycle_mul=2.0, cycle_decay=d, cycle_limit=None), [0.5, 1])


def test_gradient_with_respect_to_other_arguments_is_finite_and_correct():
    # d/d rate of lr * rate**(s/D) = lr * (s/D) * rate**(s/D - 1)
    g = jax.grad(lambda r: js.exponential_decay(0.1, 5, r)(12))(0.9)
    assert float(g) == pytest.approx(0.1 * 2.4 * 0.9**1.4, rel=1e-5)
    # d/d alpha of cosine_decay past decay_steps = lr
    g = jax.grad(lambda a: js.cosine_decay(0.3, 10, a)(50))(0.2)
    assert float(g) == pytest.approx(0.3, rel=1e-6)
    g = jax.grad(lambda t: js.cosine_decay_restarts(0.1, 5, t)(7))(2.0)
    assert np.isfinite(float(g))


def test_noisy_schedule_under_jit_matches_eager():
    s = js.noisy_linear_cosine_decay(0.1, 100, jax.random.key(3))
    eager = np.array([float(s(k)) for k in range(20)])
    np.testing.assert_allclose(jax.jit(jax.vmap(s))(jnp.arange(20)), eager, rtol=1e-6)


def test_schedules_are_usable_as_optax_learning_rates():
    import optax

    opt = optax.sgd(js.warmup_cosine(0.1, 2, 10))
    params = jnp.ones(3)
    state = opt.init(params)
    updates, _ = jax.jit(opt.update)(jnp.ones(3), state)
    np.testing.assert_allclose(updates, 0.0)  # step 0 of a warmup from 0
