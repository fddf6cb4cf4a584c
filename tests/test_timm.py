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
from parity import gradient, log_uniform, note, option_plans, rng, uniform

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
        compared = ~on
        err = np.abs(got - want)[compared]
        bound = ATOL * lr + RTOL * np.abs(want[compared])
        assert np.all(err <= bound), f"{label}: worst at {np.argmax(err - bound)}"
        if err.size:
            worst = max(worst, float(np.max(err / (lr + np.abs(want[compared])))))
        if on.any():
            pct = kw.get("noise_pct", 0.67)
            keep = base[on] > 1e-3 * lr
            rel = got[on][keep] / base[on][keep] - 1.0
            assert np.all(np.abs(rel) < pct + 1e-5), label
            # timm's own noisy values obey the same bound (the check is timm's semantics).
            assert np.all(np.abs(want[on][keep] / base[on][keep] - 1.0) < pct + 1e-9)
            # Noise is on at exactly the steps where timm's is (its range's ends included).
            got_quiet = _evaluate(getattr(jt, name)(lr, **quiet, **extra), STEPS)
            live = base > 1e-3 * lr
            np.testing.assert_array_equal(
                (got != got_quiet)[live], (want != base)[live], err_msg=label
            )
    record_parity(f"jaxsched.timm.{name}", worst)


@pytest.mark.parametrize("name", ["CosineLRScheduler", "TanhLRScheduler", "PolyLRScheduler"])
@pytest.mark.parametrize(("t_initial", "cycle_mul"), [(16, 1.5), (2, 3.0), (7, 2.0)])
def test_cycles_start_where_timm_starts_them(name, t_initial, cycle_mul):
    """timm finds the cycle with a float64 log, which lands just below an exact boundary
    at some steps (16, 1.5: cycle 5 starts at step 212 instead of 211; 2, 3.0: cycle 5
    at 243 instead of 242): jaxsched's timm flavors start the cycle where timm does."""
    kw = dict(t_initial=t_initial, cycle_mul=cycle_mul, cycle_decay=0.8, cycle_limit=50)
    kw["lr_min"] = 0.01
    steps = 300
    want = _timm(name, 1.0, kw, steps)
    got = _evaluate(getattr(jt, name)(1.0, **kw), steps)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kw",
    [
        {"t_initial": 15, "cycle_mul": 2.3385084821253006, "cycle_limit": 5},
        {"t_initial": 20, "cycle_mul": 2.406961994799338, "cycle_limit": 3, "k_decay": 1.43},
        {"t_initial": 9, "cycle_mul": 1.7, "cycle_limit": 6, "k_decay": 0.6, "power": 0.3},
    ],
    ids=["power_0.5", "k_decay", "both_small"],
)
def test_poly_holds_its_precision_to_each_cycle_end(kw):
    """Near a cycle's end ``1 - t_curr / t_i`` is small, and ``power < 1`` magnifies its
    error: computed as ``t_i - t_curr`` in float32 it was 1.4e-9 off timm at step 132 of
    the first case (7.8e-5 of the value; a random draw of ``test_against_timm``). At a
    cycle's start the tabled end can exceed ``t_i`` by an ulp, which with k-decay took the
    log of a negative number (NaN at step 20 of the second case)."""
    want = _timm("PolyLRScheduler", 1e-3, kw, 400)
    got = _evaluate(jt.PolyLRScheduler(1e-3, **kw), 400)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("noise_type", ["normal", "uniform"])
def test_noise_distribution(noise_type):
    """The noise's mean and spread; the second draw's ``noise_std`` is a quarter of
    ``noise_pct``, where a truncated normal and a uniform noise differ by 30% in spread."""
    r = rng("timm noise", noise_type)
    seed, pct, drawn_std = int(r.integers(0, 2**20)), uniform(r, 0.1, 0.7), uniform(r, 0.1, 1.0)
    note("noise", (seed, pct, drawn_std))
    n = 4000

    def noise(std, noise_seed):
        kw = dict(noise_range_t=0, noise_pct=pct, noise_std=std, noise_seed=noise_seed)
        return _evaluate(jt.StepLRScheduler(1.0, 10_000, noise_type=noise_type, **kw), n) - 1.0

    for std in (drawn_std, pct / 4):
        rel = noise(std, seed)
        np.testing.assert_array_equal(rel, noise(std, seed))  # deterministic
        assert np.all(np.abs(rel) < pct + 1e-6)
        other = noise(std, seed + 1)
        assert np.mean(rel == other) < 0.01
        if noise_type == "uniform":
            want_mean, want_std = 0.0, pct / np.sqrt(3.0)
        else:
            # timm redraws N(0, std) until |noise| < pct: a normal truncated to (-pct, pct).
            samples = np.random.default_rng(seed).normal(0.0, std, 400_000)
            samples = samples[np.abs(samples) < pct]
            want_mean, want_std = 0.0, samples.std()
        assert abs(rel.mean() - want_mean) < 4 * want_std / np.sqrt(n)
        assert abs(rel.std() / want_std - 1.0) < 0.06, (std, rel.std(), want_std)


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
        (lambda: jt.TanhLRScheduler(0.1, 10, lb=2.0, ub=2.0), "lb must be below ub"),
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
    extra = ["PlateauLRScheduler", "PlateauLRState", "create_optimizer"]
    assert sorted(n for n in vars(jt) if not n.startswith("_")) == sorted([*SPECIFIC, *extra])


def test_wsd_checks():
    with pytest.raises(ValueError, match="decay_t"):
        jt.WSDLRScheduler(0.1, 10, 11)
    with pytest.raises(ValueError, match="stable_timescale"):
        jt.WSDLRScheduler(0.1, 10, 5, stable_fn="rsqrt")
    with pytest.raises(ValueError, match="decay_fn"):
        jt.WSDLRScheduler(0.1, 10, 5, decay_fn="square")


# PlateauLRScheduler ------------------------------------------------------------------------

EPOCHS = 120
PLATEAU_OPTIONS = ["warmup", "cooldown", "lr_min", "threshold", "noise", "every", "nan", "max"]


def _metric_segment(r, kind: str, n: int, level: float) -> np.ndarray:
    """``n`` metrics of one shape starting near ``level``."""
    if kind == "noisy":
        return level + r.normal(scale=0.3, size=n)
    if kind == "rising":
        return level + np.linspace(0.0, uniform(r, 0.1, 2.0), n) + r.normal(scale=0.01, size=n)
    if kind == "falling":
        return level - np.linspace(0.0, uniform(r, 0.1, 2.0), n) + r.normal(scale=0.01, size=n)
    # plateaus: runs of exactly repeated values, so that the threshold alone decides
    return np.repeat(level + r.normal(scale=0.2, size=-(-n // 4)), 4)[:n]


def _metrics(r, plan, count: int) -> np.ndarray:
    """A float32 sequence of noisy, rising, falling and flat segments (and NaNs)."""
    out, level = [], uniform(r, -2.0, 2.0)
    while sum(len(s) for s in out) < count:
        kind = ["noisy", "rising", "falling", "plateaus"][int(r.integers(0, 4))]
        out.append(_metric_segment(r, kind, int(r.integers(5, 30)), level))
        level = float(out[-1][-1])
    metrics = np.concatenate(out)[:count].astype(np.float32)
    if "nan" in plan:
        metrics[r.random(count) < 0.05] = np.nan
    return metrics


def _plateau_draw(i, plan) -> tuple[float, dict, int, np.ndarray]:
    r = rng("timm plateau", i)
    lr = log_uniform(r, 1e-3, 1.0)
    kw = dict(
        decay_rate=uniform(r, 0.05, 0.95),
        patience_t=int(r.integers(0, 6)),
        mode="max" if "max" in plan else "min",
    )
    if "warmup" in plan:
        kw["warmup_t"] = int(r.integers(1, 20))
        kw["warmup_lr_init"] = lr * uniform(r, 0.0, 0.5)
    if "cooldown" in plan:
        kw["cooldown_t"] = int(r.integers(1, 5))
    if "lr_min" in plan:
        kw["lr_min"] = lr * log_uniform(r, 1e-3, 0.3)
    if "threshold" in plan:
        kw["threshold"] = [0.0, log_uniform(r, 1e-3, 0.3)][i % 2]
    if "noise" in plan:
        start = int(r.integers(0, 40))
        kw["noise_range_t"] = [start, start + int(r.integers(10, 60))] if i % 2 else start
        kw["noise_type"] = ["normal", "uniform"][int(r.integers(0, 2))]
        kw["noise_pct"] = uniform(r, 0.05, 0.7)
        kw["noise_std"] = uniform(r, 0.1, 1.5)
        kw["noise_seed"] = int(r.integers(0, 1000))
    every = int(r.integers(2, 5)) if "every" in plan else 1
    return lr, kw, every, _metrics(r, plan, EPOCHS * every)


def _timm_plateau(lr, kw, epoch_metrics) -> tuple[np.ndarray, np.ndarray]:
    """timm's rate for epochs 0..E (``step(e, metric_e)`` for e >= 1, as train.py calls
    it) and the rate without noise (timm's ``restore_lr``)."""
    import torch

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    with pytest.warns(FutureWarning):  # deprecated in timm 1.0.31
        sched = TIMM.PlateauLRScheduler(opt, **kw)
    rates = [opt.param_groups[0]["lr"]]
    base = list(rates)
    for e, m in enumerate(epoch_metrics, 1):
        sched.step(e, float(m))
        rates.append(opt.param_groups[0]["lr"])
        base.append(sched.restore_lr[0] if sched.restore_lr is not None else rates[-1])
    return np.asarray(rates), np.asarray(base)


def _run_plateau(schedule, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(initial value, value per update, noiseless rate per update), jitted under scan."""

    def body(state, v):
        value, state = schedule.update(state, jnp.int32(0), {"value": v})
        return state, (value, state.lr)

    start = schedule.init()
    _, (got, base) = jax.jit(lambda s: jax.lax.scan(body, s, jnp.asarray(values)))(start)
    return np.asarray(schedule.current(start)), np.asarray(got), np.asarray(base)


def _epoch_means(values: np.ndarray, every: int) -> np.ndarray:
    """The means jaxsched evaluates, in its float32 order: a running sum over the epoch's
    updates divided by their count (timm is given the same float)."""
    total = np.zeros(len(values) // every, np.float32)
    for j in range(every):
        total = total + values[j::every]
    return total / np.float32(every)


def test_plateau_against_timm(record_parity):
    plans = option_plans(PLATEAU_OPTIONS)
    worst, cuts = 0.0, 0
    for i, plan in enumerate(plans):
        lr, kw, every, values = _plateau_draw(i, plan)
        note(f"plan {i}", (plan, lr, kw, every))
        label = f"plan {i} {plan} lr={lr} {kw} every={every}"
        want, want_base = _timm_plateau(lr, kw, _epoch_means(values, every))
        first, got, got_base = _run_plateau(jt.PlateauLRScheduler(lr, **kw, every=every), values)
        epoch = (np.arange(len(values)) + 1) // every  # timm's epoch after update k
        np.testing.assert_allclose(first, want[0], rtol=RTOL, err_msg=label)
        np.testing.assert_allclose(
            got_base, want_base[epoch], rtol=RTOL, atol=ATOL * lr, err_msg=f"{label} (no noise)"
        )
        noise = _noise_on(kw, epoch) & (epoch > kw.get("warmup_t", 0))
        np.testing.assert_allclose(got[~noise], want[epoch][~noise], rtol=RTOL, atol=ATOL * lr)
        if noise.any():
            pct = kw["noise_pct"]
            rel = got[noise] / got_base[noise] - 1.0
            assert np.all(np.abs(rel) < pct + 1e-5), label
            assert np.any(rel != 0.0), label
        worst = max(worst, float(np.max(np.abs(got_base - want_base[epoch]) / lr)))
        cuts += len(np.unique(want_base)) > 2
    assert cuts >= len(plans) // 2, "too few draws cut the rate: the test tests little"
    record_parity("jaxsched.timm.PlateauLRScheduler", worst)


def test_plateau_in_an_optimizer_jits_and_vmaps_over_decay_rate():
    """The schedule as an optimizer's learning rate, one program for three decay rates."""
    import jaxsched

    metrics = jnp.asarray([1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.4, 0.4, 0.4, 0.4], jnp.float32)

    def run(decay_rate):
        lr = jt.PlateauLRScheduler(0.1, decay_rate, patience_t=1, mode="min", warmup_t=1)
        tx = jaxsched.sgd(lr)

        def body(state, m):
            _, state = tx.update(jnp.ones(2), state, value=m)
            return state, jaxsched.hyperparams(state)["learning_rate"]

        return jax.lax.scan(body, tx.init(jnp.zeros(2)), metrics)[1]

    rates = np.asarray(jax.jit(jax.vmap(run))(jnp.asarray([0.5, 0.25, 0.1])))
    # Epoch 1 ends the warmup (its metric is ignored); epoch 2 sets the best (0.5); the
    # second bad epoch after it cuts (patience 1): epochs 4 and 6; epoch 7 improves
    # (0.4), and epoch 9 cuts again.
    for rate, d in zip(rates, [0.5, 0.25, 0.1]):
        want = 0.1 * np.asarray([1, 1, 1, d, d, d**2, d**2, d**2, d**3, d**3])
        np.testing.assert_allclose(rate, want, rtol=1e-6)


def test_plateau_needs_a_metric_and_checks_its_arguments():
    import jaxsched

    tx = jaxsched.sgd(jt.PlateauLRScheduler(0.1))
    with pytest.raises(ValueError, match="value="):
        tx.update(jnp.ones(1), tx.init(jnp.zeros(1)))
    for call, name in [
        (lambda: jt.PlateauLRScheduler(0.1, decay_rate=1.0), "decay_rate"),
        (lambda: jt.PlateauLRScheduler(0.1, patience_t=-1), "patience_t"),
        (lambda: jt.PlateauLRScheduler(0.1, mode="best"), "mode"),
        (lambda: jt.PlateauLRScheduler(0.1, noise_pct=0.0), "noise_pct"),
        (lambda: jt.PlateauLRScheduler(0.1, every=0), "every"),
        (lambda: jt.PlateauLRScheduler(0.1, warmup_t=1.5), "warmup_t"),
    ]:
        with pytest.raises((ValueError, TypeError), match=name):
            call()


# create_optimizer ----------------------------------------------------------------------------

# A model's parameters as a pytree: a 2-D "bias" (excluded by its name), vectors and a
# scalar (excluded as at most 1-D), and matrices that get weight decay.
TREE = {
    "conv": {"bias": (2, 1), "kernel": (2, 3, 2)},
    "dense": {"bias": (4,), "kernel": (3, 4)},
    "gain": (),
    "norm": {"bias": (4,), "scale": (4,)},
}


def _timm_group_parameters():
    """timm's own ``group_parameters`` (timm/models/_manipulate.py), loaded from its file.

    That module imports ``use_reentrant_ckpt`` from ``timm.layers``, whose package imports
    torchvision too; while it loads, ``timm.layers`` is a stand-in holding that one name,
    taken from timm/layers/config.py (which needs only torch), and then removed.
    """
    import importlib.util
    import os
    import sys
    import types

    root = next(iter(sys.modules["timm"].__path__))

    def load(name, relative):
        spec = importlib.util.spec_from_file_location(name, os.path.join(root, relative))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    layers = types.ModuleType("timm.layers")
    layers.use_reentrant_ckpt = load("timm.layers.config", "layers/config.py").use_reentrant_ckpt
    saved = sys.modules.get("timm.layers")
    sys.modules["timm.layers"] = layers
    try:
        return load("timm.models._manipulate", "models/_manipulate.py").group_parameters
    finally:
        if saved is None:
            del sys.modules["timm.layers"]
        else:
            sys.modules["timm.layers"] = saved


def _import_timm_optim():
    """``timm.optim`` beside ``timm.scheduler`` (see live_refs.import_timm_scheduler).

    ``timm.optim._param_groups`` imports ``group_parameters`` from ``timm.models``, whose
    package imports torchvision (a CUDA build here, which fails to load). It is only used
    for ``layer_decay``, so a stand-in ``timm.models`` holds timm's own
    ``group_parameters`` (:func:`_timm_group_parameters`); the optimizers, the factory and
    the grouping are timm's own code.
    """
    import sys
    import types

    if "timm.optim" in sys.modules:
        return sys.modules["timm.optim"]
    if "timm.models" not in sys.modules:
        stand_in = types.ModuleType("timm.models")
        stand_in.group_parameters = _timm_group_parameters()
        sys.modules["timm.models"] = stand_in
    import timm.optim

    return timm.optim


def _torch_model(tree, leaves):
    """A torch module whose ``named_parameters`` are the tree's paths (``dense.bias``,
    ``blocks.0.attn.kernel``...): dicts and lists become submodules."""
    import torch

    module = torch.nn.Module()
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, sub in items:
        if isinstance(sub, (dict, list)):
            module.add_module(str(key), _torch_model(sub, leaves))
        else:
            module.register_parameter(key, torch.nn.Parameter(torch.tensor(leaves.pop(0))))
    return module


def _timm_optimizer(problem, kw, tree=None, no_weight_decay=(), group_matcher=None):
    """timm's optimizer on the tree as a torch model, and its parameters in leaf order.

    The model answers ``no_weight_decay()`` and ``group_matcher()`` as timm's models do.
    With ``layer_decay`` a timm scheduler is made, as timm's training does: its
    ``update_groups`` sets each group's rate to ``lr * lr_scale``.
    """
    timm_optim = _import_timm_optim()
    model = _torch_model(TREE if tree is None else tree, list(problem.params))
    model.no_weight_decay = lambda: set(no_weight_decay)
    if group_matcher is not None:
        model.group_matcher = lambda coarse=False: group_matcher
    named = sorted(model.named_parameters())  # the pytree's leaf order
    opt = timm_optim.create_optimizer_v2(model, **kw)
    if kw.get("layer_decay") is not None:
        TIMM.StepLRScheduler(opt, decay_t=10**9)  # constant: the scales alone
    return opt, named


def _timm_trajectory(problem, kw, tree=None, no_weight_decay=(), group_matcher=None):
    import torch

    opt, named = _timm_optimizer(problem, kw, tree, no_weight_decay, group_matcher)
    params = [p for _, p in named]
    out = [[] for _ in params]
    for t in range(problem.steps):
        with torch.no_grad():
            grads = problem.grad(torch, [p.detach() for p in params], t)
        for p, g in zip(params, grads):
            p.grad = g.clone()
        opt.step()
        for rec, p in zip(out, params):
            rec.append(p.detach().numpy().copy())
    return [np.stack(r) for r in out]


def _structure(tree):
    return jax.tree.structure(tree, is_leaf=lambda x: isinstance(x, tuple))


def _jaxsched_trajectories(problems, txs, tree=None) -> list[list[np.ndarray]]:
    """Each transformation on its problem's tree (dict leaves in sorted order), one jit."""
    import optax

    shapes = _structure(TREE if tree is None else tree)

    def run(tx, start, curvature, noise):
        def step(carry, noise_t):
            p, s = carry
            leaves = jax.tree.leaves(p)
            g = gradient(leaves, curvature, noise_t)
            u, s = tx.update(jax.tree.unflatten(shapes, g), s, p)
            p = optax.apply_updates(p, u)
            return (p, s), jax.tree.leaves(p)

        return jax.lax.scan(step, (start, tx.init(start)), noise)[1]

    inputs = [
        (
            jax.tree.unflatten(shapes, [jnp.asarray(x) for x in pr.params]),
            [jnp.asarray(c) for c in pr.curvature],
            [jnp.asarray(n) for n in pr.noise],
        )
        for pr in problems
    ]
    out = jax.jit(lambda inputs: [run(tx, *i) for tx, i in zip(txs, inputs)])(inputs)
    return [[np.asarray(x) for x in traj] for traj in out]


def _betas(r):
    return {"betas": (uniform(r, 0.5, 0.95), uniform(r, 0.9, 0.999))}


# Per name: the optimizer's own options (drawn with timm's names) beyond lr/weight_decay.
OPTIM_OPTIONS = {
    "sgd": {"dampening": lambda r: {"nesterov": False, "dampening": uniform(r, 0.0, 0.5)}},
    "nesterov": {},
    "momentum": {"dampening": lambda r: {"dampening": uniform(r, 0.0, 0.5)}},
    "adam": {"betas": _betas, "amsgrad": lambda r: {"amsgrad": True}},
    "adamw": {"betas": _betas, "amsgrad": lambda r: {"amsgrad": True}},
    "nadam": {"betas": _betas, "decoupled": lambda r: {"decoupled_weight_decay": True}},
    "radam": {"betas": _betas, "decoupled": lambda r: {"decoupled_weight_decay": True}},
    "radamw": {"betas": _betas},
    "adamax": {"betas": _betas},
    "adagrad": {"lr_decay": lambda r: {"lr_decay": uniform(r, 0.0, 0.1)}},
    "adadelta": {"rho": lambda r: {"rho": uniform(r, 0.5, 0.95)}},
    "rmsprop": {"centered": lambda r: {"centered": True}, "alpha": lambda r: {"alpha": 0.99}},
    "rmsproptf": {"centered": lambda r: {"centered": True}, "alpha": lambda r: {"alpha": 0.99}},
    "lion": {"betas": _betas},
    "lamb": {
        "betas": _betas,
        "clip": lambda r: {"max_grad_norm": [None, uniform(r, 0.5, 5.0)][int(r.integers(0, 2))]},
        "always_adapt": lambda r: {"always_adapt": True},
        "decoupled": lambda r: {"decoupled_decay": True},
        "no_averaging": lambda r: {"grad_averaging": False},
        "no_bias_correction": lambda r: {"bias_correction": False},
    },
}
# lr ranges in which 100 steps stay stable for each family.
OPTIM_LR = {
    "adagrad": (0.01, 0.5),
    "adadelta": (0.1, 2.0),
    "lion": (1e-4, 1e-2),
    # centered RMSprop divides by sqrt(v - a^2), which cancels: as test_parity_torch_optim
    "rmsprop": (1e-3, 2e-2),
    "rmsproptf": (1e-3, 2e-2),
    # LAMB's step is lr * ||p|| / ||update|| per leaf: at larger rates the float32 norms'
    # rounding adds up over 100 steps past 1e-5 (lr 0.027 without grad averaging).
    "lamb": (1e-3, 2e-2),
}

# Lion moves every weight by exactly lr per step, so the one-ulp difference between timm's
# two roundings (decay, then step) and jaxsched's (one update) adds up step after step
# instead of averaging out: 60 steps keep it well inside the harness's tolerance.
OPTIM_STEPS = {"lion": 60}


def _optim_draw(name, i, plan) -> dict:
    r = rng("timm create_optimizer", name, i)
    lo, hi = OPTIM_LR.get(name, (1e-3, 5e-2))
    kw = {"opt": name, "lr": None if i == 1 else log_uniform(r, lo, hi)}
    # weight decay on in most plans; filter_bias_and_bn off in every third.
    kw["weight_decay"] = 0.0 if i == 2 else uniform(r, 0.01, 0.3)
    kw["filter_bias_and_bn"] = i % 3 != 0
    if name in ("sgd", "nesterov", "momentum", "rmsprop", "rmsproptf") and i % 2:
        kw["momentum"] = uniform(r, 0.0, 0.95) if name == "momentum" else uniform(r, 0.5, 0.95)
        if i == 3 and name.startswith("rmsprop"):
            kw["momentum"] = 0.0  # no buffer (timm's default momentum is 0.9)
    if i % 2 == 0:  # given to every name: timm drops it where the optimizer has none
        kw["eps"] = log_uniform(r, 1e-8, 1e-3)
    for option in plan:
        kw.update(OPTIM_OPTIONS[name][option](r))
    return kw


@pytest.mark.parametrize("name", list(OPTIM_OPTIONS))
def test_create_optimizer_against_timm(name, record_parity):
    from parity import Problem, assert_trajectories_close

    plans = option_plans(list(OPTIM_OPTIONS[name]))
    plans = plans + [()] * max(0, 4 - len(plans))  # at least: lr=None, no decay, no filter
    runs = []
    for i, plan in enumerate(plans):
        kw = _optim_draw(name, i, plan)
        note(f"plan {i}", (plan, kw))
        shapes = jax.tree.leaves(TREE, is_leaf=lambda x: isinstance(x, tuple))
        problem = Problem(
            rng("timm create_optimizer", name, i, "problem"), shapes, OPTIM_STEPS.get(name, 100)
        )
        params = jax.tree.unflatten(
            jax.tree.structure(TREE, is_leaf=lambda x: isinstance(x, tuple)),
            [jnp.asarray(p) for p in problem.params],
        )
        txs = jt.create_optimizer(params, **kw)
        runs.append((f"{name} plan {i} {plan} {kw}", problem, kw, txs))
    got = _jaxsched_trajectories([r[1] for r in runs], [r[3] for r in runs])
    failures = []
    for (label, problem, kw, _), traj in zip(runs, got):
        want = _timm_trajectory(problem, kw)
        try:
            record_parity(
                f"timm.create_optimizer({name!r})",
                assert_trajectories_close(traj, want, label=label),
            )
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, "\n\n".join(failures)


def test_create_optimizer_refuses_what_it_does_not_reproduce():
    params = {"w": jnp.ones((2, 2))}
    with pytest.raises(ValueError, match=r"allowed names: .*'adamw'.*'sgd'"):
        jt.create_optimizer(params, "adafactor")
    with pytest.raises(ValueError, match="allowed names"):
        jt.create_optimizer(params, "lookahead_adamw")
    with pytest.raises(TypeError, match="opt"):
        jt.create_optimizer(params, 3)
    with pytest.raises(ValueError, match="trust_clip"):
        jt.create_optimizer(params, "lamb", trust_clip=True)
    with pytest.raises(ValueError, match="caution"):
        jt.create_optimizer(params, "lion", caution=True)
    with pytest.raises((TypeError, ValueError), match="weight_decay"):
        jt.create_optimizer(params, "sgd", weight_decay=-1.0)
    with pytest.raises((TypeError, ValueError), match="filter_bias_and_bn"):
        jt.create_optimizer(params, "sgd", filter_bias_and_bn=1)
    assert jt.create_optimizer(params, "AdamW", lr=1e-3) is not None  # timm lowers the name


def test_create_optimizer_groups_like_timm_and_takes_a_schedule():
    """The groups follow the tree given to init when no params are given, and a
    learning rate may be a schedule (timm's schedulers included)."""
    import jaxsched
    from jaxsched.timm._optim import decay_labels

    params = {"dense": {"kernel": jnp.ones((2, 3)), "bias": jnp.ones((1, 3))}, "s": jnp.ones(())}
    assert decay_labels(params) == {
        "dense": {"bias": "no_decay", "kernel": "decay"},
        "s": "no_decay",
    }
    lr = jt.CosineLRScheduler(0.1, t_initial=10)
    tx = jt.create_optimizer(None, "adamw", lr=lr, weight_decay=0.5)
    zeros = jax.tree.map(jnp.zeros_like, params)
    u, state = jax.jit(tx.update)(zeros, tx.init(params), params)
    np.testing.assert_allclose(u["dense"]["kernel"], -0.05)
    np.testing.assert_array_equal(u["dense"]["bias"], 0.0)
    assert jaxsched.hyperparams(state)["decay/learning_rate"] == pytest.approx(0.1)


# create_optimizer: no_weight_decay and layer decay ---------------------------------------

# A small ViT as a pytree: a stem (tokens, patch embedding), three blocks, a final norm
# (which timm's ViT matcher joins to the last block) and a head (unmatched: the last
# layer). The head's 2-D bias decays in layer-decay mode (timm looks at dimensions only
# there) but not in weight-decay mode (a name ending in ".bias").
LAYER_TREE = {
    "blocks": [
        {"attn": {"bias": (3,), "kernel": (3, 3)}, "norm": {"bias": (3,), "scale": (3,)}}
        for _ in range(3)
    ],
    "cls_token": (1, 3),
    "head": {"bias": (1, 2), "kernel": (3, 2)},
    "norm": {"scale": (3,)},
    "patch_embed": {"bias": (3,), "kernel": (2, 3)},
    "pos_embed": (2, 3),
}
# timm's VisionTransformer.group_matcher(coarse=False), on this tree's names.
VIT_MATCHER = {
    "stem": r"^cls_token|pos_embed|patch_embed",
    "blocks": [(r"^blocks\.(\d+)", None), (r"^norm", (99999,))],
}


def _by_depth(name: str) -> int:
    """A callable matcher with gaps between ordinals (0, 1, 3, 5, 100): timm ranks them."""
    if name.startswith("blocks."):
        return 2 * int(name.split(".")[1]) + 1
    return 0 if name.startswith(("cls_token", "pos_embed", "patch_embed")) else 100


NO_WD_CHOICES = ["cls_token", "pos_embed", "head.*", "blocks.1.attn.kernel", "absent"]


def _layer_draw(i: int) -> dict:
    """Plan ``i``: the optimizer, timm's arguments and the model's lists, drawn at random."""
    r = rng("timm create_optimizer layer decay", i)
    opt = ["adamw", "sgd", "adamw", "sgd", "lamb", "adamw", "sgd", "momentum"][i]
    kw = {"opt": opt, "lr": log_uniform(r, 1e-3, 5e-2)}
    kw["weight_decay"] = 0.0 if i == 3 else uniform(r, 0.01, 0.3)
    kw["filter_bias_and_bn"] = i not in (2, 6)
    if i < 6:  # the last plans: weight-decay groups with a no_weight_decay list only
        kw["layer_decay"] = uniform(r, 0.3, 0.95)
        if i in (1, 4):  # freeze the two lowest layers (of five)
            kw["layer_decay_no_opt_scale"] = kw["layer_decay"] ** 2.5
        if i == 2:
            kw["layer_decay_min_scale"] = kw["layer_decay"] ** 1.5
    chosen = r.random(len(NO_WD_CHOICES)) < 0.5
    no_wd = [n for n, c in zip(NO_WD_CHOICES, chosen) if c] if i != 0 else []
    matcher = None if "layer_decay" not in kw else (_by_depth if i % 2 else VIT_MATCHER)
    return {"kw": kw, "no_weight_decay": no_wd, "matcher": matcher}


def _jaxsched_kw(draw) -> dict:
    kw = dict(draw["kw"], no_weight_decay=draw["no_weight_decay"])
    if draw["matcher"] is not None:
        kw["layer_of"] = draw["matcher"]
    return kw


def _layer_problem(i: int):
    from parity import Problem

    shapes = jax.tree.leaves(LAYER_TREE, is_leaf=lambda x: isinstance(x, tuple))
    problem = Problem(rng("timm create_optimizer layer decay", i, "problem"), shapes, 100)
    params = jax.tree.unflatten(_structure(LAYER_TREE), [jnp.asarray(p) for p in problem.params])
    return problem, params


def _group_value(rates: dict, label: str, name: str):
    """The hyperparameter ``name`` of the group ``label`` in ``jaxsched.hyperparams``:
    keyed by the shortest tail of ``label/name`` that tells the groups apart; None when
    that group does not hold it."""
    full = f"{label}/{name}"
    found = [k for k in rates if k == name or full == k or full.endswith("/" + k)]
    assert len(found) <= 1, (label, name, found)
    return float(rates[found[0]]) if found else None


def _jaxsched_groups(params, kw) -> dict:
    """Leaf name -> (group label, learning rate, weight decay) as jaxsched's state holds."""
    import jaxsched
    from jaxsched.timm._optim import decay_labels, layer_decay_groups, param_name

    if kw.get("layer_decay") is not None:
        labels, _ = layer_decay_groups(
            params,
            kw["layer_of"],
            kw["layer_decay"],
            kw["weight_decay"],
            tuple(kw["no_weight_decay"]),
            kw["filter_bias_and_bn"],
            kw.get("layer_decay_min_scale", 0.0),
            kw.get("layer_decay_no_opt_scale"),
        )
    else:
        labels = decay_labels(params, tuple(kw["no_weight_decay"]), kw["filter_bias_and_bn"])
    state = jt.create_optimizer(params, **kw).init(params)
    # each group's own hyperparameters: the partition's state per label (LAMB chains a
    # clipping before it).
    parts = (state,) if hasattr(state, "inner_states") else tuple(state)
    found = [part for part in parts if hasattr(part, "inner_states")]
    rates = jaxsched.hyperparams(state)
    out = {}
    for path, label in jax.tree_util.tree_flatten_with_path(labels)[0]:
        if not found:  # one optimizer for every leaf
            own = rates
        else:
            own = jaxsched.hyperparams(found[0].inner_states[label]) if label != "frozen" else {}
            if label != "frozen":  # and the whole state's report names the group's rate
                assert _group_value(rates, label, "learning_rate") == float(own["learning_rate"])
        lr = float(own["learning_rate"]) if "learning_rate" in own else None
        out[param_name(path)] = (label, lr, float(own.get("weight_decay", 0.0)))
    return out


def test_create_optimizer_groups_and_rates_equal_timms():
    """Each leaf's learning rate and weight decay in jaxsched's state (hyperparams of its
    group) equal those of its parameter's group in timm's optimizer (with a timm
    scheduler's lr_scale applied); the labels are timm's group names; the leaves timm
    leaves out (no_opt_scale) are jaxsched's "frozen"."""
    for i in range(8):
        draw = _layer_draw(i)
        note(f"plan {i}", draw)
        problem, params = _layer_problem(i)
        opt, named = _timm_optimizer(
            problem, draw["kw"], LAYER_TREE, draw["no_weight_decay"], draw["matcher"]
        )
        names = {id(p): n for n, p in named}
        want = {}
        for group in opt.param_groups:
            for p in group["params"]:
                want[names[id(p)]] = (group["lr"], group["weight_decay"])
        got = _jaxsched_groups(params, _jaxsched_kw(draw))
        assert set(got) == {n for n, _ in named}
        for name, (label, lr, wd) in got.items():
            if label == "frozen":
                assert name not in want, (i, name)
                continue
            assert lr == pytest.approx(want[name][0], rel=1e-6), (i, name, label)
            assert wd == pytest.approx(want[name][1], rel=1e-6, abs=0.0), (i, name, label)
        # the same groups: each of timm's param groups is one jaxsched label.
        timm_groups = {frozenset(names[id(p)] for p in g["params"]) for g in opt.param_groups}
        labels = {lab for lab, _, _ in got.values() if lab != "frozen"}
        ours = {frozenset(n for n, (lab, _, _) in got.items() if lab == x) for x in labels}
        assert ours == timm_groups, (i, sorted(labels))


def test_create_optimizer_layer_decay_trajectories_equal_timms(record_parity):
    """100 steps of timm's factory (with layer_decay, the model's group_matcher and
    no_weight_decay, a timm scheduler applying lr_scale) and jaxsched's, per leaf."""
    from parity import assert_trajectories_close

    runs = []
    for i in range(8):
        draw = _layer_draw(i)
        problem, params = _layer_problem(i)
        tx = jt.create_optimizer(params, **_jaxsched_kw(draw))
        runs.append((f"plan {i} {draw}", problem, draw, tx))
    got = _jaxsched_trajectories([r[1] for r in runs], [r[3] for r in runs], LAYER_TREE)
    failures = []
    for (label, problem, draw, _), traj in zip(runs, got):
        want = _timm_trajectory(
            problem, draw["kw"], LAYER_TREE, draw["no_weight_decay"], draw["matcher"]
        )
        try:
            record_parity(
                "timm.create_optimizer(layer_decay)",
                assert_trajectories_close(traj, want, label=label),
            )
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, "\n\n".join(failures)


def test_create_optimizer_layer_groups_and_schedules():
    """Layer ids as timm's group_parameters numbers them; labels; a schedule is scaled."""
    import jaxsched
    from jaxsched.timm._optim import layer_ids

    _, params = _layer_problem(0)
    ids = layer_ids(params, VIT_MATCHER)
    assert [b["attn"]["kernel"] for b in ids["blocks"]] == [1, 2, 3]
    assert (ids["cls_token"], ids["norm"]["scale"], ids["head"]["kernel"]) == (0, 3, 4)
    # the callable's ordinals 0, 1, 3, 5, 100 (norm and head) become 0..4.
    ids = layer_ids(params, _by_depth)
    assert [b["norm"]["scale"] for b in ids["blocks"]] == [1, 2, 3]
    assert (ids["pos_embed"], ids["norm"]["scale"], ids["head"]["bias"]) == (0, 4, 4)
    lr = jt.CosineLRScheduler(0.1, t_initial=10)
    tx = jt.create_optimizer(
        params, "adamw", lr=lr, weight_decay=0.1, layer_decay=0.5, layer_of=VIT_MATCHER
    )
    _, state = jax.jit(tx.update)(jax.tree.map(jnp.zeros_like, params), tx.init(params), params)
    rates = jaxsched.hyperparams(state)
    assert _group_value(rates, "layer_4/decay", "learning_rate") == pytest.approx(0.1)
    assert _group_value(rates, "layer_0/decay", "learning_rate") == pytest.approx(0.1 / 16)
    # no params: the weight-decay groups (and no_weight_decay) follow the tree at init.
    tx = jt.create_optimizer(None, "sgd", lr=0.1, weight_decay=0.5, no_weight_decay={"pos_embed"})
    u, _ = tx.update(jax.tree.map(jnp.zeros_like, params), tx.init(params), params)
    np.testing.assert_array_equal(u["pos_embed"], 0.0)
    assert np.all(np.asarray(u["cls_token"]) != 0.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"no_weight_decay": "pos_embed"}, TypeError, "no_weight_decay"),
        ({"no_weight_decay": ["pos_embed", 3]}, TypeError, "no_weight_decay"),
        ({"layer_decay": -0.5, "layer_of": VIT_MATCHER}, ValueError, "layer_decay"),
        ({"layer_decay": float("nan"), "layer_of": VIT_MATCHER}, ValueError, "layer_decay"),
        ({"layer_decay": "0.7", "layer_of": VIT_MATCHER}, TypeError, "layer_decay"),
        ({"layer_decay": lambda t: 0.7, "layer_of": VIT_MATCHER}, TypeError, "layer_decay"),
        ({"layer_decay": 0.7}, ValueError, "layer_of"),
        ({"layer_of": VIT_MATCHER}, ValueError, "layer_of"),
        ({"layer_decay_min_scale": 0.1}, ValueError, "layer_decay_min_scale"),
        ({"layer_decay_no_opt_scale": 0.1}, ValueError, "layer_decay_no_opt_scale"),
        ({"layer_decay": 0.7, "layer_of": 3}, TypeError, "layer_of"),
        ({"layer_decay": 0.7, "layer_of": {"a": r"(\d"}}, ValueError, r"layer_of\['a'\]"),
        ({"layer_decay": 0.7, "layer_of": {"a": [r"^a"]}}, TypeError, r"layer_of\['a'\]"),
        ({"layer_decay": 0.7, "layer_of": {"a": [(r"^a", 3)]}}, TypeError, "suffix"),
        ({"layer_decay": 0.7, "layer_of": lambda n: "x"}, TypeError, "layer_of"),
        (
            {"layer_decay": 0.7, "layer_of": VIT_MATCHER, "layer_decay_min_scale": -1},
            ValueError,
            "layer_decay_min_scale",
        ),
        (
            {"layer_decay": 0.7, "layer_of": VIT_MATCHER, "layer_decay_no_opt_scale": "a"},
            TypeError,
            "layer_decay_no_opt_scale",
        ),
        ({"layer_decay": 0.7, "layer_of": VIT_MATCHER, "params": None}, ValueError, "params"),
    ],
)
def test_create_optimizer_layer_decay_checks_its_arguments(kwargs, error, match):
    _, params = _layer_problem(0)
    kwargs = {"params": params, **kwargs}
    with pytest.raises(error, match=match):
        jt.create_optimizer(kwargs.pop("params"), "adamw", lr=0.1, weight_decay=0.1, **kwargs)
