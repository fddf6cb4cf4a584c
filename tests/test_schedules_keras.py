"""jaxsched.keras.schedules against the real keras.optimizers.schedules (JAX backend).

Keras is evaluated on all steps at once with jax.vmap. Under vmap (and jit) XLA turns
``step / decay_steps`` into ``step * (1 / decay_steps)``, which at some exact multiples
rounds an ulp low, so Keras's vmapped staircase or restart switches one step late.
jaxsched divides exactly, as TF does; at the steps where the two disagree the test asks
Keras again one step at a time (eager scalar ops divide exactly) and compares with that.
"""

import os

os.environ["KERAS_BACKEND"] = "jax"

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from jaxsched.keras import schedules as ks

STEPS = 1000
DRAWS = range(4)
RTOL, ATOL = 1e-5, 1e-7
ABS_DIFF: dict[str, float] = {}


def compare(name, ours, theirs, record_parity, max_rechecked=30):
    steps = jnp.arange(STEPS)
    got = np.asarray(jax.vmap(ours)(steps), np.float64)
    want = np.asarray(jax.vmap(theirs)(steps), np.float64)
    off = np.flatnonzero(~np.isclose(got, want, rtol=RTOL, atol=ATOL))
    assert len(off) <= max_rechecked, f"{name}: {len(off)} steps differ from vmapped Keras"
    for s in off:
        want[s] = float(theirs(int(s)))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=name)
    diff = np.abs(got - want)
    ABS_DIFF[name] = max(ABS_DIFF.get(name, 0.0), float(diff.max()))
    record_parity(f"keras.schedules.{name}", float(diff.max() / np.abs(want).max()))
    return off


def rng_for(draw):
    return np.random.default_rng(2000 + draw)


@pytest.mark.parametrize("draw", DRAWS)
def test_exponential_decay(draw, record_parity):
    r = rng_for(draw)
    kw = dict(
        initial_learning_rate=float(r.uniform(1e-3, 1)),
        decay_steps=int(r.integers(1, 300)),
        decay_rate=float(r.uniform(0.1, 0.99)),
        staircase=bool(draw % 2),
    )
    theirs = keras.optimizers.schedules.ExponentialDecay(**kw)
    compare("ExponentialDecay", ks.ExponentialDecay(**kw), theirs, record_parity)


def test_exponential_decay_staircase_switches_at_the_boundary(record_parity):
    # 41 is one of the decay_steps where vmapped Keras switches a step late.
    kw = dict(initial_learning_rate=0.1, decay_steps=41, decay_rate=0.5, staircase=True)
    theirs = keras.optimizers.schedules.ExponentialDecay(**kw)
    rechecked = compare("ExponentialDecay", ks.ExponentialDecay(**kw), theirs, record_parity)
    assert 41 in rechecked
    assert float(ks.ExponentialDecay(**kw)(41)) == pytest.approx(0.05)
    assert float(jax.jit(ks.ExponentialDecay(**kw))(41)) == pytest.approx(0.05)


@pytest.mark.parametrize("draw", DRAWS)
def test_piecewise_constant_decay(draw, record_parity):
    r = rng_for(draw)
    boundaries = sorted(int(b) for b in r.choice(1100, size=int(r.integers(1, 7)), replace=False))
    values = [float(v) for v in r.uniform(1e-4, 1, size=len(boundaries) + 1)]
    theirs = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    ours = ks.PiecewiseConstantDecay(boundaries, values)
    compare("PiecewiseConstantDecay", ours, theirs, record_parity, max_rechecked=0)


@pytest.mark.parametrize("draw", DRAWS)
def test_polynomial_decay(draw, record_parity):
    r = rng_for(draw)
    lr = float(r.uniform(1e-3, 1))
    kw = dict(
        initial_learning_rate=lr,
        decay_steps=int(r.integers(1, 1200)),
        end_learning_rate=float(r.uniform(0, lr / 2)),
        power=float(r.uniform(0.3, 3)),
        cycle=draw >= 2,
    )
    theirs = keras.optimizers.schedules.PolynomialDecay(**kw)
    compare("PolynomialDecay", ks.PolynomialDecay(**kw), theirs, record_parity)


@pytest.mark.parametrize("draw", DRAWS)
def test_inverse_time_decay(draw, record_parity):
    r = rng_for(draw)
    kw = dict(
        initial_learning_rate=float(r.uniform(1e-3, 1)),
        decay_steps=int(r.integers(1, 300)),
        decay_rate=float(r.uniform(0.01, 2)),
        staircase=bool(draw % 2),
    )
    theirs = keras.optimizers.schedules.InverseTimeDecay(**kw)
    compare("InverseTimeDecay", ks.InverseTimeDecay(**kw), theirs, record_parity)


@pytest.mark.parametrize("draw", DRAWS)
def test_cosine_decay(draw, record_parity):
    r = rng_for(draw)
    kw = dict(
        initial_learning_rate=float(r.uniform(1e-3, 1)),
        decay_steps=int(r.integers(1, 1200)),
        alpha=float(r.uniform(0, 0.5)),
    )
    if draw >= 1:
        kw.update(warmup_target=float(r.uniform(0.1, 2)), warmup_steps=int(r.integers(0, 300)))
    if draw == 1:
        kw.update(initial_learning_rate=0.0)
    theirs = keras.optimizers.schedules.CosineDecay(**kw)
    compare("CosineDecay", ks.CosineDecay(**kw), theirs, record_parity)


@pytest.mark.parametrize("draw", DRAWS)
def test_cosine_decay_restarts(draw, record_parity):
    r = rng_for(draw)
    kw = dict(
        initial_learning_rate=float(r.uniform(1e-3, 1)),
        first_decay_steps=int(r.integers(1, 200)),
        t_mul=[1.0, 2.0, float(r.uniform(1.1, 3)), 1.5][draw],
        m_mul=float(r.uniform(0.3, 1)),
        alpha=float(r.uniform(0, 0.5)),
    )
    if draw == 0:  # hundreds of equal cycles at full height: the phase stays accurate
        kw.update(first_decay_steps=int(r.integers(1, 6)), m_mul=1.0)
    theirs = keras.optimizers.schedules.CosineDecayRestarts(**kw)
    compare("CosineDecayRestarts", ks.CosineDecayRestarts(**kw), theirs, record_parity)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="decay_steps"):
        ks.ExponentialDecay(0.1, 0, 0.9)
    with pytest.raises(ValueError, match="len"):
        ks.PiecewiseConstantDecay([10, 20], [1.0, 0.5])
    with pytest.raises(ValueError, match="strictly increasing"):
        ks.PiecewiseConstantDecay([20, 10], [1.0, 0.5, 0.1])
    with pytest.raises(ValueError, match="first_decay_steps"):
        ks.CosineDecayRestarts(0.1, -5)
    with pytest.raises(ValueError, match="alpha"):
        ks.CosineDecay(0.1, 100, alpha=1.5)
    with pytest.raises(ValueError, match="warmup_steps"):
        ks.CosineDecay(0.1, 100, warmup_target=1.0, warmup_steps=-1)
    with pytest.raises(TypeError, match="staircase"):
        ks.InverseTimeDecay(0.1, 10, 0.5, staircase="yes")
