"""jaxsched.timm against timm's real schedulers (timm.scheduler, timm 1.0.31).

Each scheduler runs every option plan of :func:`parity.option_plans` (none, each alone,
all together) with arguments drawn from the run's seed (``JAXSCHED_SEED`` replays). The
value at ``k`` is compared with the rate timm sets by ``step(k)`` (or ``step_update(k)``
with ``t_in_epochs=False``; with ``steps_per_epoch`` update ``k`` reads timm's epoch
``k // steps_per_epoch``). jaxsched's noise comes from a JAX key, not torch's generator:
outside ``noise_range_t`` the values must equal timm's, inside they must stay within
``noise_pct`` of timm's noiseless rate.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from live_refs import import_timm_scheduler, timm_values
from parity import log_uniform, note, option_plans, rng, uniform

from jaxsched import timm as jt

STEPS = 160
# float32 against timm's float64: relative to the value, plus a floor relative to lr.
RTOL, ATOL = 2e-5, 1e-6

TIMM = import_timm_scheduler()


def _evaluate(schedule, steps: int) -> np.ndarray:
    return np.asarray(jax.vmap(schedule)(jnp.arange(steps)))


def _common(r, name, plan) -> tuple[dict, dict]:
    """Arguments shared by every class: (timm and jaxsched kwargs, jaxsched-only kwargs)."""
    kw, extra = {}, {}
    if "warmup" in plan:
        kw["warmup_t"] = int(r.integers(1, 25))
        kw["warmup_lr_init"] = log_uniform(r, 1e-6, 1e-3)
    if "prefix" in plan:
        kw["warmup_prefix"] = True
    elif "warmup" in plan and name != "WSDLRScheduler":  # WSD's warmup is always a prefix
        kw["warmup_prefix"] = False
    if "noise" in plan:
        start = int(r.integers(0, 60))
        kw["noise_range_t"] = (
            [start, start + int(r.integers(20, 80))] if r.random() < 0.5 else start
        )
        kw["noise_pct"] = uniform(r, 0.05, 0.7)
        kw["noise_std"] = uniform(r, 0.1, 1.5)
        kw["noise_seed"] = int(r.integers(0, 1000))
    if "updates" in plan:
        kw["t_in_epochs"] = False
    if "per_epoch" in plan:
        extra["steps_per_epoch"] = int(r.integers(2, 7))
    return kw, extra


def _cycles(r, plan, kw) -> None:
    if "cycles" in plan:
        kw["cycle_mul"] = 1.0 if r.random() < 0.3 else uniform(r, 1.1, 2.5)
        kw["cycle_decay"] = uniform(r, 0.3, 1.0)
        kw["cycle_limit"] = int(r.integers(2, 6))


SPECIFIC = {
    "CosineLRScheduler": ["lr_min", "cycles", "k_decay"],
    "TanhLRScheduler": ["lr_min", "cycles", "bounds"],
    "PolyLRScheduler": ["lr_min", "cycles", "k_decay", "power"],
    "StepLRScheduler": [],
    "MultiStepLRScheduler": [],
    "WSDLRScheduler": ["lr_min", "stable", "decay"],
}
DECAY_FNS = ["linear", "1-sqrt", "cosine", "power", "exp", lambda f: 1.0 - f**2]
COMMON = ["warmup", "prefix", "noise", "updates", "per_epoch"]


def _plans(name):
    common = [o for o in COMMON if not (name == "WSDLRScheduler" and o == "prefix")]
    return option_plans(
        SPECIFIC[name] + common,
        requires={"prefix": ["warmup"]},
        exclusive=[["updates", "per_epoch"]],
    )


def _draw(name, i, plan) -> tuple[float, dict, dict]:
    r = rng("timm", name, i)
    lr = log_uniform(r, 1e-4, 1.0)
    kw, extra = _common(r, name, plan)
    if name in ("CosineLRScheduler", "TanhLRScheduler", "PolyLRScheduler"):
        kw["t_initial"] = int(r.integers(5, 70))
        _cycles(r, plan, kw)
        if "lr_min" in plan:
            kw["lr_min"] = lr * uniform(r, 0.0, 0.4)
    if "k_decay" in plan:
        kw["k_decay"] = uniform(r, 0.4, 2.5)
    if "power" in plan:
        kw["power"] = uniform(r, 0.2, 3.0)
    if "bounds" in plan:
        lb = uniform(r, -10.0, 0.0)
        kw["lb"], kw["ub"] = lb, lb + uniform(r, 0.5, 12.0)
    if name == "StepLRScheduler":
        kw["decay_t"] = uniform(r, 1.0, 30.0) if r.random() < 0.5 else int(r.integers(1, 30))
        kw["decay_rate"] = uniform(r, 0.1, 1.0)
    if name == "MultiStepLRScheduler":
        kw["decay_t"] = sorted(int(m) for m in r.integers(0, STEPS, size=int(r.integers(1, 6))))
        kw["decay_rate"] = uniform(r, 0.1, 1.0)
    if name == "WSDLRScheduler":
        _wsd(r, i, plan, lr, kw)
    return lr, kw, extra


def _wsd(r, i, plan, lr, kw) -> None:
    kw["t_initial"] = int(r.integers(10, 120))
    kw["decay_t"] = int(r.integers(1, kw["t_initial"] + 1))
    if "lr_min" in plan:
        kw["lr_min"] = lr * uniform(r, 0.0, 0.4)
    if "stable" in plan:
        kw["stable_fn"] = ["rsqrt", "power"][i % 2]
        kw["stable_timescale"] = uniform(r, 1.0, 50.0)
        kw["stable_power"] = uniform(r, 0.2, 1.5)
    if "decay" in plan:
        kw["decay_fn"] = DECAY_FNS[i % len(DECAY_FNS)]
        kw["decay_power"] = uniform(r, 0.2, 3.0)
        kw["decay_ratio"] = uniform(r, 0.01, 0.9)


def _timm(name, lr, kw, steps):
    per_update = kw.get("t_in_epochs", True) is False
    return timm_values(lambda opt: getattr(TIMM, name)(opt, **kw), lr, steps, per_update)


def _boundaries(kw, t):
    """Epochs on a cycle start when ``cycle_mul != 1``: timm finds the cycle with a float
    log there, which can land one cycle early (a value of ``lr_min`` where the next cycle
    starts at its peak); jaxsched's cycle starts are exact. These are left out."""
    mul = kw.get("cycle_mul", 1.0)
    if mul == 1.0:
        return np.zeros_like(t, dtype=bool)
    w = kw.get("warmup_t", 0)
    shifted = t - w if kw.get("warmup_prefix") else t
    starts = [kw["t_initial"] * (mul**i - 1) / (mul - 1) for i in range(1, kw["cycle_limit"] + 2)]
    near = np.any([np.abs(shifted - s) < 1e-6 * s for s in starts], axis=0)
    return near & (t >= w)


def _noise_on(kw, t):
    rng_t = kw.get("noise_range_t")
    if rng_t is None:
        return np.zeros_like(t, dtype=bool)
    if isinstance(rng_t, list):
        return (t >= rng_t[0]) & (t < rng_t[1])
    return t >= rng_t


@pytest.mark.parametrize("name", list(SPECIFIC))
def test_against_timm(name, record_parity):
    worst = 0.0
    for i, plan in enumerate(_plans(name)):
        lr, kw, extra = _draw(name, i, plan)
        note(f"plan {i}", (plan, lr, kw, extra))
        got = _evaluate(getattr(jt, name)(lr, **kw, **extra), STEPS)
        spe = extra.get("steps_per_epoch", 1)
        t = np.arange(STEPS) // spe
        timm_steps = int(t[-1]) + 1
        want = _timm(name, lr, kw, timm_steps)[t]
        quiet = {k: v for k, v in kw.items() if k != "noise_range_t"}
        base = _timm(name, lr, quiet, timm_steps)[t]
        on = _noise_on(kw, t)
        label = f"{name} plan {i} {plan} lr={lr} {kw} {extra}"
        compared = ~on & ~_boundaries(kw, t)
        err = np.abs(got - want)[compared]
        bound = ATOL * lr + RTOL * np.abs(want[compared])
        assert np.all(err <= bound), f"{label}: worst at {np.argmax(err - bound)}"
        if err.size:
            worst = max(worst, float(np.max(err / (lr + np.abs(want[compared])))))
        if on.any():
            pct = kw.get("noise_pct", 0.67)
            keep = (base[on] > 1e-3 * lr) & ~_boundaries(kw, t)[on]
            rel = got[on][keep] / base[on][keep] - 1.0
            assert np.all(np.abs(rel) < pct + 1e-5), label
            # timm's own noisy values obey the same bound (the check is timm's semantics).
            assert np.all(np.abs(want[on][keep] / base[on][keep] - 1.0) < pct + 1e-9)
    record_parity(f"jaxsched.timm.{name}", worst)


@pytest.mark.parametrize("noise_type", ["normal", "uniform"])
def test_noise_distribution(noise_type):
    r = rng("timm noise", noise_type)
    seed, pct, std = int(r.integers(0, 2**20)), uniform(r, 0.1, 0.7), uniform(r, 0.1, 1.0)
    note("noise", (seed, pct, std))
    kw = dict(noise_range_t=0, noise_pct=pct, noise_std=std, noise_seed=seed)
    make = lambda s: jt.StepLRScheduler(1.0, 10_000, noise_type=noise_type, **(kw | s))  # noqa: E731
    n = 4000
    rel = _evaluate(make({}), n) - 1.0
    np.testing.assert_array_equal(rel, _evaluate(make({}), n) - 1.0)  # deterministic
    assert np.all(np.abs(rel) < pct + 1e-6)
    other = _evaluate(make({"noise_seed": seed + 1}), n) - 1.0
    assert np.mean(rel == other) < 0.01
    if noise_type == "uniform":
        want_mean, want_std = 0.0, pct / np.sqrt(3.0)
    else:
        # timm redraws N(0, std) until |noise| < pct: a normal truncated to (-pct, pct).
        samples = np.random.default_rng(seed).normal(0.0, std, 400_000)
        samples = samples[np.abs(samples) < pct]
        want_mean, want_std = 0.0, samples.std()
    assert abs(rel.mean() - want_mean) < 4 * want_std / np.sqrt(n)
    assert abs(rel.std() / want_std - 1.0) < 0.06


def test_noise_outside_range_equals_timm_and_timm_noise_bounds():
    kw = dict(t_initial=40, noise_range_t=[10, 30], noise_pct=0.3, noise_std=0.5, noise_seed=7)
    got = _evaluate(jt.CosineLRScheduler(0.5, **kw), 60)
    want = timm_values(lambda opt: TIMM.CosineLRScheduler(opt, **kw), 0.5, 60)
    out = np.r_[0:10, 30:60]
    np.testing.assert_allclose(got[out], want[out], rtol=RTOL, atol=ATOL)
    assert np.any(got[10:30] != want[10:30])


def test_steps_per_epoch_needs_epochs():
    with pytest.raises(ValueError, match="t_in_epochs"):
        jt.CosineLRScheduler(0.1, 10, t_in_epochs=False, steps_per_epoch=5)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: jt.CosineLRScheduler(0.1, 0), "t_initial"),
        (lambda: jt.CosineLRScheduler(-0.1, 10), "lr"),
        (lambda: jt.CosineLRScheduler(0.1, 10, cycle_mul=0.5), "cycle_mul"),
        (lambda: jt.PolyLRScheduler(0.1, 10, power=0.0), "power"),
        (lambda: jt.TanhLRScheduler(0.1, 10, lb=3.0, ub=-7.0), "lb"),
        (lambda: jt.StepLRScheduler(0.1, 0.0), "decay_t"),
        (lambda: jt.MultiStepLRScheduler(0.1, [5, 3]), "decay_t"),
        (lambda: jt.StepLRScheduler(0.1, 3, noise_range_t=[1, 2, 3]), "noise_range_t"),
        (lambda: jt.StepLRScheduler(0.1, 3, noise_pct=0.0), "noise_pct"),
        (lambda: jt.StepLRScheduler(0.1, 3, noise_type="gauss"), "noise_type"),
        (lambda: jt.StepLRScheduler(0.1, 3, warmup_prefix=1), "warmup_prefix"),
        (lambda: jt.CosineLRScheduler(0.1, 10, steps_per_epoch=0), "steps_per_epoch"),
    ],
)
def test_invalid_arguments(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_public_names():
    assert sorted(n for n in vars(jt) if not n.startswith("_")) == sorted(SPECIFIC)


def test_wsd_checks():
    with pytest.raises(ValueError, match="decay_t"):
        jt.WSDLRScheduler(0.1, 10, 11)
    with pytest.raises(ValueError, match="stable_timescale"):
        jt.WSDLRScheduler(0.1, 10, 5, stable_fn="rsqrt")
    with pytest.raises(ValueError, match="decay_fn"):
        jt.WSDLRScheduler(0.1, 10, 5, decay_fn="square")
