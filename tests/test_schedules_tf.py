"""TF1 decay functions: worked numbers, and independent NumPy float64 versions of TF's formulas.

TF itself is not installed. TF casts every argument to the learning rate's float32 before
computing, so the references below round the drawn arguments to float32 first and then
compute in float64.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from live_refs import xla_inexact_divisors

from jaxsched import schedules as js

STEPS = np.arange(1000, dtype=np.float64)
ABS_DIFF: dict[str, float] = {}


def f32(x):
    return float(np.float32(x))


def evaluate(schedule):
    return np.asarray(jax.vmap(schedule)(jnp.arange(len(STEPS))), np.float64)


def check(name, got, want, record_parity, rtol=1e-5, atol=1e-7):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)
    diff = np.abs(got - want)
    ABS_DIFF[name] = max(ABS_DIFF.get(name, 0.0), float(diff.max()))
    record_parity(f"schedules.{name} (NumPy TF formula)", float(diff.max() / np.abs(want).max()))


def rng_for(draw):
    return np.random.default_rng(3000 + draw)


# Worked numbers ---------------------------------------------------------------------------


def test_seed_exponential_decay_numbers():
    s = js.exponential_decay(0.01, 10, 0.9)
    assert float(s(1)) == pytest.approx(0.009895192, abs=1e-9)
    assert float(s(2)) == pytest.approx(0.009791483, abs=1e-9)
    assert float(s(3)) == pytest.approx(0.009688861, abs=1e-9)
    assert float(s(10)) == pytest.approx(0.009, abs=1e-9)
    stair = js.exponential_decay(0.2, 1, 0.99, staircase=True)
    np.testing.assert_allclose(evaluate(stair)[:3], [0.2, 0.198, 0.19602], rtol=1e-6)


def test_reference_polynomial_cycle_numbers():
    s = js.polynomial_decay(1.0, 10, end_learning_rate=0.1, power=2.0, cycle=True)
    got = [float(s(k)) for k in (0, 1, 5, 10, 11, 20, 25)]
    np.testing.assert_allclose(got, [1, 0.829, 0.325, 0.1, 0.28225, 0.1, 0.125], rtol=1e-6)


def test_reference_cosine_restarts_numbers():
    s = js.cosine_decay_restarts(1.0, 10, t_mul=2.0, m_mul=0.5, alpha=0.1)
    got = [float(s(k)) for k in (0, 1, 5, 10, 11, 20, 25, 30, 35)]
    want = [1, 0.97798, 0.55, 0.55, 0.54723, 0.325, 0.1659, 0.325, 0.31644]
    np.testing.assert_allclose(got, want, atol=1e-5)


# NumPy float64 references of the TF formulas ------------------------------------------------


def np_progress(d, staircase):
    p = STEPS / d
    return np.floor(p) if staircase else p


@pytest.mark.parametrize("draw", range(4))
def test_exponential_natural_exp_inverse_time(draw, record_parity):
    r = rng_for(draw)
    lr, d, staircase = f32(r.uniform(1e-3, 1)), int(r.integers(1, 200)), bool(draw % 2)
    rate = f32(r.uniform(0.3, 0.99))
    p = np_progress(d, staircase)
    got = evaluate(js.exponential_decay(lr, d, rate, staircase))
    check("exponential_decay", got, lr * rate**p, record_parity)
    nat_rate = f32(r.uniform(0.001, 0.05))
    got = evaluate(js.natural_exp_decay(lr, d, nat_rate, staircase))
    check("natural_exp_decay", got, lr * np.exp(-nat_rate * p), record_parity)
    inv_rate = f32(r.uniform(0.01, 3))
    got = evaluate(js.inverse_time_decay(lr, d, inv_rate, staircase))
    check("inverse_time_decay", got, lr / (1 + inv_rate * p), record_parity)


@pytest.mark.parametrize("draw", range(4))
def test_piecewise_constant(draw, record_parity):
    r = rng_for(draw)
    bounds = sorted(int(b) for b in r.choice(1000, size=int(r.integers(1, 8)), replace=False))
    values = [f32(v) for v in r.uniform(0, 1, size=len(bounds) + 1)]
    want = np.empty_like(STEPS)
    for k, s in enumerate(STEPS):
        i = 0
        while i < len(bounds) and s > bounds[i]:
            i += 1
        want[k] = values[i]
    got = evaluate(js.piecewise_constant(bounds, values))
    check("piecewise_constant", got, want, record_parity, rtol=0, atol=0)
    if bounds[0] > 0:
        assert float(js.piecewise_constant(bounds, values)(bounds[0])) == values[0]


@pytest.mark.parametrize("draw", range(4))
def test_polynomial_decay(draw, record_parity):
    r = rng_for(draw)
    lr, d, power = f32(r.uniform(0.1, 1)), int(r.integers(1, 400)), f32(r.uniform(0.2, 3))
    end, cycle = f32(r.uniform(0, 0.05)), draw >= 2
    if draw == 3:  # a cycle length where XLA's x * (1 / d) would start a cycle early
        d = int(r.choice(xla_inexact_divisors(len(STEPS), high=400, ceil=True)))
    if cycle:
        mult = np.where(STEPS == 0, 1.0, np.ceil(STEPS / d))
        dd, s = d * mult, STEPS
    else:
        dd, s = d, np.minimum(STEPS, d)
    want = (lr - end) * (1 - s / dd) ** power + end
    got = evaluate(js.polynomial_decay(lr, d, end, power, cycle))
    check("polynomial_decay", got, want, record_parity)


@pytest.mark.parametrize("draw", range(4))
def test_cosine_decay(draw, record_parity):
    r = rng_for(draw)
    lr, d, alpha = f32(r.uniform(1e-3, 1)), int(r.integers(1, 1200)), f32(r.uniform(0, 0.5))
    s = np.minimum(STEPS, d)
    want = lr * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * s / d)) + alpha)
    check("cosine_decay", evaluate(js.cosine_decay(lr, d, alpha)), want, record_parity)


def np_cosine_restarts(lr, d0, t_mul, m_mul, alpha, i_offset=0):
    """TF's SGDR with the restart index from exact cycle lengths (shifted by i_offset)."""
    out = np.empty_like(STEPS)
    for k, s in enumerate(STEPS):
        i, start, length = 0, 0.0, float(d0)
        while s >= start + length * (1 - 1e-12):
            start, length, i = start + length, length * t_mul, i + 1
        i += i_offset
        start = d0 * (1 - t_mul**i) / (1 - t_mul) if t_mul != 1 else d0 * i
        f = (s - start) / (d0 * t_mul**i)
        out[k] = lr * ((1 - alpha) * 0.5 * m_mul**i * (1 + math.cos(math.pi * f)) + alpha)
    return out


@pytest.mark.parametrize("draw", range(5))
def test_cosine_decay_restarts(draw, record_parity):
    r = rng_for(draw)
    lr, d0 = f32(r.uniform(1e-3, 1)), int(r.integers(1, 150))
    t_mul = [1.0, 2.0, 3.0, f32(r.uniform(1.05, 3)), 1.5][draw]
    m_mul, alpha = f32(r.uniform(0.3, 1)), f32(r.uniform(0, 0.5))
    got = evaluate(js.cosine_decay_restarts(lr, d0, t_mul, m_mul, alpha))
    want = np_cosine_restarts(lr, d0, t_mul, m_mul, alpha)
    # At an exact restart step TF's float32 log may round down: the end of the previous
    # period (f = 1) is then the value; accept exactly that alternative there.
    late = np_cosine_restarts(lr, d0, t_mul, m_mul, alpha, i_offset=-1)
    is_late = ~np.isclose(got, want, rtol=1e-5, atol=1e-7) & np.isclose(got, late, rtol=1e-5)
    assert is_late.sum() <= 3
    check("cosine_decay_restarts", got, np.where(is_late, late, want), record_parity)


@pytest.mark.parametrize("draw", range(4))
def test_linear_cosine_decay(draw, record_parity):
    r = rng_for(draw)
    lr, d = f32(r.uniform(1e-3, 1)), int(r.integers(1, 1200))
    periods, alpha, beta = f32(r.uniform(0, 3)), f32(r.uniform(0, 0.3)), f32(r.uniform(0, 0.01))
    s = np.minimum(STEPS, d)
    cos = 0.5 * (1 + np.cos(np.pi * 2 * periods * s / d))
    want = lr * ((alpha + (d - s) / d) * cos + beta)
    got = evaluate(js.linear_cosine_decay(lr, d, periods, alpha, beta))
    check("linear_cosine_decay", got, want, record_parity, atol=2e-7)


def test_noisy_linear_cosine_decay_is_pure_and_has_tf_variance():
    # A quarter period keeps the cosine factor >= 0.5, so the noise can be read back.
    lr, d, var0, vdecay, periods = 0.5, 400, 0.8, 0.55, 0.25
    beta, alpha = 0.001, 0.05
    key = jax.random.key(7)
    kw = dict(initial_variance=var0, variance_decay=vdecay, num_periods=periods)
    sched = js.noisy_linear_cosine_decay(lr, d, key, alpha=alpha, beta=beta, **kw)
    a = evaluate(sched)
    np.testing.assert_array_equal(a, evaluate(sched))  # same key, same values
    other = evaluate(js.noisy_linear_cosine_decay(lr, d, jax.random.key(8), **kw))
    assert np.all(a[:d] != other[:d])

    steps = np.array([0, 3, 50, 199, 600])
    keys = jax.random.split(jax.random.key(0), 20000)

    def at_steps(k):
        s = js.noisy_linear_cosine_decay(lr, d, k, alpha=alpha, beta=beta, **kw)
        return jax.vmap(s)(jnp.asarray(steps))

    values = np.asarray(jax.vmap(at_steps)(keys), np.float64)
    s = np.minimum(steps, d)
    cos = 0.5 * (1 + np.cos(np.pi * 2 * periods * s / d))
    eps = (values / lr - beta) / cos - alpha - (d - s) / d
    want_var = var0 / (1 + s) ** vdecay
    assert np.all(np.abs(eps.mean(0)) < 4 * np.sqrt(want_var / len(keys)))
    np.testing.assert_allclose(eps.var(0), want_var, rtol=0.05)
    # Past decay_steps the variance stays at its value for s = decay_steps.
    assert want_var[-1] == pytest.approx(var0 / (1 + d) ** vdecay)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="decay_steps must be an integer >= 1"):
        js.exponential_decay(0.1, 0, 0.9)
    with pytest.raises(ValueError, match="decay_rate"):
        js.natural_exp_decay(0.1, 10, -0.5)
    with pytest.raises(ValueError, match="learning_rate"):
        js.inverse_time_decay(-0.1, 10, 0.5)
    with pytest.raises(ValueError, match="values must have"):
        js.piecewise_constant([10, 20], [1.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        js.piecewise_constant([10, 10], [1.0, 0.5, 0.1])
    with pytest.raises(ValueError, match="power"):
        js.polynomial_decay(0.1, 10, power=-1.0)
    with pytest.raises(ValueError, match="t_mul"):
        js.cosine_decay_restarts(0.1, 10, t_mul=0.5)
    with pytest.raises(ValueError, match="alpha"):
        js.cosine_decay(0.1, 10, alpha=-0.1)
    with pytest.raises(TypeError, match="key"):
        js.noisy_linear_cosine_decay(0.1, 10, key=3)
    with pytest.raises(TypeError, match="learning_rate"):
        js.exponential_decay("0.1", 10, 0.9)
    with pytest.raises(TypeError, match="learning_rate"):
        js.exponential_decay(lambda s: s, 10, 0.9)
