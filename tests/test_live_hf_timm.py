"""Schedules and Ranger against the live reference libraries (test extras).

* Hugging Face ``transformers.get_*_schedule*`` through torch's ``LambdaLR``, mapped as in
  docs/schedules.md;
* timm's schedulers (``timm.scheduler``: Cosine, Step, MultiStep, Poly, WSD, Plateau);
* Ranger as published in pytorch-optimizer (``pytorch_optimizer.Ranger``), 100 steps;
* Keras's schedules at every step against Keras computing with correctly rounded
  divisions (its numpy backend), with no "vmapped or eager" allowance: jaxsched runs
  under ``jit(vmap(...))``, where XLA's ``x * (1 / c)`` rewrite would move a staircase.

Value ``k`` is the rate of the ``k``-th update (0-based). Draws change every run
(``JAXSCHED_SEED`` replays one, see parity.py). A library that is not installed skips
its tests.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from live_refs import (
    hf_values,
    import_timm_scheduler,
    keras_exact_values,
    timm_values,
    xla_inexact_divisors,
)
from parity import (
    Problem,
    assert_trajectories_close,
    jaxsched_trajectories,
    log_uniform,
    note,
    rng,
    torch_trajectory,
    uniform,
)

import jaxsched
import jaxsched.schedules as js

DRAWS = range(3)


def evaluate(schedule, steps: int) -> np.ndarray:
    """The schedule at steps ``0..steps-1`` as a training loop computes it: under jit."""
    return np.asarray(jax.jit(jax.vmap(schedule))(jnp.arange(steps)), np.float64)


def check(name, got, want, scale, record_parity, rtol=1e-5, atol=0.0):
    """Every step agrees to ``rtol`` (float32 against float64) plus 1e-6 of the peak
    plus ``atol`` (a number, or one per step)."""
    atol = np.broadcast_to(1e-6 * scale + np.asarray(atol), np.shape(got))
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol)
    if bad.any():
        t = int(np.argmax(bad))
        raise AssertionError(
            f"{name}: {bad.sum()} of {bad.size} steps differ, first at step {t}: "
            f"{got[t]!r} against {want[t]!r} (rtol {rtol}, atol {atol[t]:.3g})"
        )
    record_parity(name, float(np.max(np.abs(got - want)) / scale))


# Hugging Face ------------------------------------------------------------------------------


def _hf_draw(name, draw):
    r = rng("hf", name, draw)
    w = 0 if draw == 0 else int(r.integers(1, 40))
    total = w + int(r.integers(1, 150))
    lr = log_uniform(r, 1e-4, 1.0)
    note("draw", dict(lr=lr, num_warmup_steps=w, num_training_steps=total))
    return r, lr, w, total


def _hf_cases(name, draw):
    """(HF keyword arguments, the jaxsched schedule of docs/schedules.md) for one draw."""
    r, lr, w, total = _hf_draw(name, draw)
    warm_total = dict(num_warmup_steps=w, num_training_steps=total)
    if name == "get_constant_schedule":
        return lr, total, {}, js.constant(lr)
    if name == "get_constant_schedule_with_warmup":
        return lr, total, dict(num_warmup_steps=w), js.linear_warmup(lr, w)
    if name == "get_linear_schedule_with_warmup":
        ours = js.linear_warmup(js.polynomial_decay(lr, total - w, end_learning_rate=0.0), w)
        return lr, total, warm_total, ours
    if name == "get_cosine_schedule_with_warmup":
        cycles = uniform(r, 0.2, 2.0)
        ours = js.warmup_cosine(lr, w, total, num_cycles=cycles)
        return lr, total, warm_total | dict(num_cycles=cycles), ours
    if name == "get_cosine_with_min_lr_schedule_with_warmup":
        cycles = uniform(r, 0.2, 2.0)
        if draw % 2:
            min_lr, kw = lr * uniform(r, 0.01, 0.5), {}
            kw["min_lr"] = min_lr
        else:
            rate = uniform(r, 0.01, 0.5)
            min_lr, kw = lr * rate, {"min_lr_rate": rate}
        ours = js.warmup_cosine(lr, w, total, min_value=min_lr, num_cycles=cycles)
        return lr, total, warm_total | kw | dict(num_cycles=cycles), ours
    if name == "get_cosine_with_hard_restarts_schedule_with_warmup":
        cycles = int(r.integers(1, 6))
        ours = js.cosine(
            lr,
            max(1, total - w) / cycles,
            cycle_limit=cycles,
            warmup_steps=w,
            warmup_prefix=True,
        )
        return lr, total, warm_total | dict(num_cycles=cycles), ours
    if name == "get_polynomial_decay_schedule_with_warmup":
        lr_end, power = lr * uniform(r, 0.0, 0.5), uniform(r, 0.3, 3.0)
        ours = js.linear_warmup(js.polynomial_decay(lr, total - w, lr_end, power), w)
        return lr, total, warm_total | dict(lr_end=lr_end, power=power), ours
    if name == "get_inverse_sqrt_schedule":
        timescale = None if draw == 1 else int(r.integers(1, 200))
        ours = js.inverse_sqrt(lr, w, timescale)
        return lr, total, dict(num_warmup_steps=w, timescale=timescale), ours
    assert name == "get_wsd_schedule"
    shapes = ["linear", "cosine", "1-sqrt"]
    kw = dict(
        num_warmup_steps=w,
        num_decay_steps=int(r.integers(0 if draw == 2 else 1, 60)),
        warmup_type=shapes[int(r.integers(3))],
        decay_type=shapes[draw % 3],
        min_lr_ratio=0.0 if draw == 0 else uniform(r, 0.0, 0.5),
        num_cycles=uniform(r, 0.2, 1.5),
    )
    # Draw 1 gives the plateau as what is left of the total, and leaves none.
    stable = 0 if draw == 1 else int(r.integers(0, 60))
    total = w + stable + kw["num_decay_steps"]
    length = {"total_steps": total} if draw == 1 else {"stable_steps": stable}
    ours = js.warmup_stable_decay(
        lr,
        w,
        kw["num_decay_steps"],
        **length,
        warmup_type=kw["warmup_type"],
        decay_type=kw["decay_type"],
        min_lr_ratio=kw["min_lr_ratio"],
        num_cycles=kw["num_cycles"],
    )
    given = {"num_training_steps": total} if draw == 1 else {"num_stable_steps": stable}
    return lr, total, kw | given, ours


HF = [
    "get_constant_schedule",
    "get_constant_schedule_with_warmup",
    "get_linear_schedule_with_warmup",
    "get_cosine_schedule_with_warmup",
    "get_cosine_with_min_lr_schedule_with_warmup",
    "get_cosine_with_hard_restarts_schedule_with_warmup",
    "get_polynomial_decay_schedule_with_warmup",
    "get_inverse_sqrt_schedule",
    "get_wsd_schedule",
]


@pytest.mark.parametrize("draw", DRAWS)
@pytest.mark.parametrize("name", HF)
def test_hugging_face_schedule(name, draw, record_parity):
    pytest.importorskip("transformers")
    lr, total, kw, ours = _hf_cases(name, draw)
    note(name, kw)
    steps = total + 40  # past the end too: HF's cosines are not clamped there
    want = hf_values(name, lr, steps, **kw)
    check(
        f"HF {name}",
        evaluate(ours, steps),
        want,
        lr,
        record_parity,
        atol=_phase_error(name, lr, kw, steps),
    )


def _phase_error(name, lr, kw, steps):
    """What float32 allows in HF's cosines, per step: their phase ``2 pi num_cycles
    (t - warmup) / (total - warmup)`` grows without bound past the end (40 cycles past a
    one-step decay), and rounding ``num_cycles`` and the product to float32 moves it by
    about ``phase * 2^-24``, the value by up to ``lr / 2`` times that; this allows four
    times that. Found by a draw with a one-step decay, 0.77 cycles: the phase reached
    190 rad and the value at step 53 differed by 2e-5 of itself."""
    if not name.startswith("get_cosine"):
        return 0.0
    w, total = kw["num_warmup_steps"], kw["num_training_steps"]
    progress = np.maximum(np.arange(steps) - w, 0) / max(1, total - w)
    return lr * 2 * np.pi * kw["num_cycles"] * progress * 2.0**-23


@pytest.mark.parametrize(
    "name", ["get_cosine_schedule_with_warmup", "get_cosine_with_min_lr_schedule_with_warmup"]
)
def test_hugging_face_cosine_ending_with_the_warmup(name, record_parity):
    """``num_training_steps == num_warmup_steps``: HF's cosine divides by ``max(1, 0)``
    and goes on oscillating past the warmup (the random draws never end there)."""
    pytest.importorskip("transformers")
    lr, w, cycles, min_lr = 0.1, 7, 0.7, 0.0
    kw = dict(num_warmup_steps=w, num_training_steps=w, num_cycles=cycles)
    if name == "get_cosine_with_min_lr_schedule_with_warmup":
        kw["min_lr"] = min_lr = 0.02
    ours = js.warmup_cosine(lr, w, w, min_value=min_lr, num_cycles=cycles)
    check(f"HF {name}", evaluate(ours, 30), hf_values(name, lr, 30, **kw), lr, record_parity)


def test_hugging_face_inverse_sqrt_default_timescale():
    """Without warmup and timescale HF decays on a timescale of 10,000 steps; read far
    out, where a different timescale shows, from HF's own multiplier."""
    transformers = pytest.importorskip("transformers")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    factor = transformers.get_inverse_sqrt_schedule(opt, num_warmup_steps=0).lr_lambdas[0]
    steps = np.array([0, 1_000, 10_000, 30_000, 100_000])
    got = np.asarray(jax.jit(jax.vmap(js.inverse_sqrt(0.1, 0)))(jnp.asarray(steps)))
    np.testing.assert_allclose(got, [0.1 * factor(int(t)) for t in steps], rtol=1e-6)


# timm --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def timm_scheduler():
    try:
        return import_timm_scheduler()
    except ImportError:
        pytest.skip("timm is not installed")


def _timm_warmup(r, draw):
    w = 0 if draw == 0 else int(r.integers(1, 30))
    return w, (0.0 if draw == 1 else log_uniform(r, 1e-5, 1e-3))


@pytest.mark.parametrize("draw", range(4))
def test_timm_cosine(timm_scheduler, draw, record_parity):
    r = rng("timm cosine", draw)
    lr = log_uniform(r, 1e-3, 1.0)
    w, w_init = _timm_warmup(r, draw)
    kw = dict(
        t_initial=int(r.integers(5, 80)),
        lr_min=lr * uniform(r, 0.0, 0.3),
        # A random cycle_mul puts the later cycle boundaries between steps; a simple one
        # (1.5, 2, 2.5, 3) puts some on steps, where timm's float64 log can start a
        # cycle one step late (t_initial=16, cycle_mul=1.5: step 212, not 211).
        cycle_mul=[1.0, uniform(r, 1.1, 2.5), float(r.choice([1.5, 2.0, 2.5, 3.0]))][draw % 3],
        cycle_decay=uniform(r, 0.3, 1.0),
        cycle_limit=int(r.integers(1, 5)),
        warmup_t=w,
        warmup_lr_init=w_init,
        warmup_prefix=draw >= 2,
        k_decay=1.0 if draw == 0 else uniform(r, 0.5, 2.0),
    )
    note("CosineLRScheduler", kw)
    steps = 300
    want = timm_values(lambda opt: timm_scheduler.CosineLRScheduler(opt, **kw), lr, steps)
    ours = js.cosine(
        lr,
        kw["t_initial"],
        kw["lr_min"],
        kw["cycle_mul"],
        kw["cycle_decay"],
        kw["cycle_limit"],
        kw["k_decay"],
        w,
        w_init,
        kw["warmup_prefix"],
    )
    got = evaluate(ours, steps)
    check("timm CosineLRScheduler", got, want, lr, record_parity)


@pytest.mark.parametrize("draw", range(3))
def test_timm_step_and_multistep(timm_scheduler, draw, record_parity):
    r = rng("timm step", draw)
    lr = log_uniform(r, 1e-3, 1.0)
    w, w_init = _timm_warmup(r, draw)
    rate = uniform(r, 0.1, 0.9)
    decay_t = int(r.integers(1, 50))
    step_kw = dict(decay_t=decay_t, decay_rate=rate, warmup_t=w, warmup_lr_init=w_init)
    # timm compares milestones with t + 1: milestone m applies from schedule index m - 1.
    # Milestones from 2 on: with one at 1 the decayed rate would apply from index 0, and
    # timm's warmup would still climb to the undecayed rate (jaxsched's to the decayed).
    milestones = sorted(int(m) for m in r.choice(np.arange(2, 200), size=4, replace=False))
    multi_kw = dict(decay_t=milestones, decay_rate=rate, warmup_t=w, warmup_lr_init=w_init)
    note("StepLRScheduler", step_kw)
    note("MultiStepLRScheduler", multi_kw)
    steps = 250
    want = timm_values(lambda opt: timm_scheduler.StepLRScheduler(opt, **step_kw), lr, steps)
    ours = js.linear_warmup(js.step_decay(lr, decay_t, rate), w, w_init)
    check("timm StepLRScheduler", evaluate(ours, steps), want, lr, record_parity)
    want = timm_values(lambda opt: timm_scheduler.MultiStepLRScheduler(opt, **multi_kw), lr, steps)
    ours = js.linear_warmup(js.multistep_decay(lr, [m - 1 for m in milestones], rate), w, w_init)
    check("timm MultiStepLRScheduler", evaluate(ours, steps), want, lr, record_parity)


@pytest.mark.parametrize("draw", range(3))
def test_timm_poly_and_wsd(timm_scheduler, draw, record_parity):
    r = rng("timm poly", draw)
    lr = log_uniform(r, 1e-3, 1.0)
    w, _ = _timm_warmup(r, draw)
    lr_min = lr * uniform(r, 0.0, 0.3)
    # One cycle, k_decay 1 and the warmup in front (prefix): TF's polynomial decay.
    poly_kw = dict(
        t_initial=int(r.integers(5, 150)),
        power=uniform(r, 0.3, 3.0),
        lr_min=lr_min,
        warmup_t=w,
        warmup_lr_init=lr_min,
        warmup_prefix=True,
    )
    note("PolyLRScheduler", poly_kw)
    steps = 250
    want = timm_values(lambda opt: timm_scheduler.PolyLRScheduler(opt, **poly_kw), lr, steps)
    ours = js.linear_warmup(
        js.polynomial_decay(lr, poly_kw["t_initial"], lr_min, poly_kw["power"]), w, lr_min
    )
    check("timm PolyLRScheduler", evaluate(ours, steps), want, lr, record_parity)
    # timm's WSD warms up from warmup_lr_init; HF's (and jaxsched's) from min_lr_ratio * lr.
    t_initial = int(r.integers(10, 150))
    wsd_kw = dict(
        t_initial=t_initial,
        decay_t=int(r.integers(1, t_initial + 1)),
        lr_min=lr_min,
        decay_fn=["linear", "1-sqrt", "cosine"][draw],
        warmup_t=w,
        warmup_lr_init=lr_min,
    )
    note("WSDLRScheduler", wsd_kw)
    want = timm_values(lambda opt: timm_scheduler.WSDLRScheduler(opt, **wsd_kw), lr, steps)
    ours = js.warmup_stable_decay(
        lr,
        w,
        wsd_kw["decay_t"],
        stable_steps=t_initial - wsd_kw["decay_t"],
        decay_type=wsd_kw["decay_fn"],
        min_lr_ratio=lr_min / lr,
    )
    check("timm WSDLRScheduler", evaluate(ours, steps), want, lr, record_parity)


@pytest.mark.parametrize("mode", ["min", "max"])
def test_timm_plateau(timm_scheduler, mode, record_parity):
    """timm's PlateauLRScheduler (no warmup) is torch's ReduceLROnPlateau, stepped with the
    next epoch's index after each epoch, as timm's train.py does."""
    r = rng("timm plateau", mode)
    lr = log_uniform(r, 1e-3, 1.0)
    kw = dict(
        decay_rate=uniform(r, 0.1, 0.9),
        patience_t=int(r.integers(0, 5)),
        threshold=log_uniform(r, 1e-4, 1e-1),
        cooldown_t=int(r.integers(0, 4)),
        lr_min=lr * uniform(r, 0.0, 0.05),
        mode=mode,
    )
    note("PlateauLRScheduler", kw)
    # A noisy metric that improves, stalls and improves again.
    steps = 120
    trend = np.concatenate([np.linspace(1.0, 0.5, 40), np.full(40, 0.5), np.linspace(0.5, 0.2, 40)])
    metric = (trend + r.normal(scale=0.05, size=steps)) * (1 if mode == "min" else -1)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    with pytest.warns(FutureWarning):
        sched = timm_scheduler.PlateauLRScheduler(opt, **kw)
    want = []
    for epoch, m in enumerate(metric):
        sched.step(epoch + 1, float(m))
        want.append(opt.param_groups[0]["lr"])
    plateau = jaxsched.torch.lr_scheduler.ReduceLROnPlateau(
        lr,
        mode=mode,
        factor=kw["decay_rate"],
        patience=kw["patience_t"],
        threshold=kw["threshold"],
        cooldown=kw["cooldown_t"],
        min_lr=kw["lr_min"],
    )
    tx = jaxsched.torch.SGD(lr=plateau)

    def body(state, m):
        _, state = tx.update(jnp.zeros(1), state, value=m)
        return state, jaxsched.hyperparams(state)["learning_rate"]

    got = jax.jit(lambda s: jax.lax.scan(body, s, jnp.asarray(metric, jnp.float32))[1])(
        tx.init(jnp.zeros(1))
    )
    assert len(set(want)) > 1, "the metric never plateaued: the test tests nothing"
    check(
        "timm PlateauLRScheduler", np.asarray(got, np.float64), np.asarray(want), lr, record_parity
    )


# pytorch-optimizer's Ranger ----------------------------------------------------------------


RANGER_PLANS = [
    dict(),
    dict(weight_decay=True),
    dict(use_gc=False),
    dict(gc_conv_only=True),
    dict(weight_decay=True, foreach=True),
    dict(weight_decay=True, foreach=False, n_sma_threshold=6),
]


def test_ranger_matches_pytorch_optimizer(record_parity):
    """jaxsched.ranger against pytorch_optimizer.Ranger over 100 steps.

    ``degenerated_to_sgd=True`` is the original Ranger: before the variance is rectified
    it takes bias-corrected momentum steps. (pytorch-optimizer's default, False, sets the
    step size to -lr there, which steps up the gradient: not the published algorithm.)
    pytorch-optimizer centralizes gradients over every axis but the first (torch's
    layout); its threshold test is ``>=`` where the original has ``>``, which differs
    only when the rectification term hits the threshold exactly.
    """
    pytorch_optimizer = pytest.importorskip("pytorch_optimizer")
    runs = []
    for i, plan in enumerate(RANGER_PLANS):
        r = rng("ranger", i)
        kw = dict(
            lr=log_uniform(r, 1e-3, 3e-2),
            betas=(uniform(r, 0.8, 0.97), uniform(r, 0.99, 0.999)),
            alpha=uniform(r, 0.3, 0.8),
            k=int(r.integers(3, 8)),
            eps=log_uniform(r, 1e-5, 1e-1),
            weight_decay=uniform(r, 0.01, 0.2) if plan.get("weight_decay") else 0.0,
            use_gc=plan.get("use_gc", True),
            gc_conv_only=plan.get("gc_conv_only", False),
            n_sma_threshold=plan.get("n_sma_threshold", 5),
        )
        note(f"plan {i}", kw | {"foreach": plan.get("foreach")})
        ours = jaxsched.ranger(
            kw["lr"],
            kw["betas"][0],
            kw["betas"][1],
            kw["eps"],
            kw["weight_decay"] or None,
            kw["k"],
            kw["alpha"],
            centralize=kw["use_gc"],
            threshold=kw["n_sma_threshold"],
            centralize_layout="torch",
            centralize_min_ndim=4 if kw["gc_conv_only"] else 2,
        )
        torch_kw = kw | dict(degenerated_to_sgd=True, foreach=plan.get("foreach"))
        runs.append((f"Ranger plan {i} {kw}", Problem(rng("ranger", i, "p")), torch_kw, ours))
    got = jaxsched_trajectories([run[1] for run in runs], [run[3] for run in runs])
    for (label, problem, torch_kw, _), (traj, _, _) in zip(runs, got, strict=True):
        want = torch_trajectory(problem, lambda p, kw=torch_kw: pytorch_optimizer.Ranger(p, **kw))
        error = assert_trajectories_close(traj, want, label=label)
        record_parity("pytorch_optimizer.Ranger", error)


# Keras, exactly rounded --------------------------------------------------------------------

KERAS_STEPS = 400


def _keras_draws():
    inexact = xla_inexact_divisors(KERAS_STEPS, high=120)
    out = []
    for draw in DRAWS:
        r = rng("keras schedules", draw)
        lr = log_uniform(r, 1e-3, 1.0)
        # Half the staircases use a divisor that XLA's rewrite gets wrong (41, 47, ...).
        steps = int(r.choice(inexact)) if draw % 2 == 0 else int(r.integers(1, 120))
        boundaries = sorted(int(b) for b in r.choice(KERAS_STEPS, size=4, replace=False))
        out += [
            (
                "ExponentialDecay",
                dict(
                    initial_learning_rate=lr,
                    decay_steps=steps,
                    decay_rate=uniform(r, 0.1, 0.95),
                    staircase=draw != 1,
                ),
            ),
            (
                "InverseTimeDecay",
                dict(
                    initial_learning_rate=lr,
                    decay_steps=steps,
                    decay_rate=uniform(r, 0.05, 2.0),
                    staircase=draw != 1,
                ),
            ),
            (
                "PiecewiseConstantDecay",
                dict(boundaries=boundaries, values=[log_uniform(r, 1e-4, 1.0) for _ in range(5)]),
            ),
            (
                "PolynomialDecay",
                dict(
                    initial_learning_rate=lr,
                    decay_steps=steps,
                    end_learning_rate=lr * uniform(r, 0.0, 0.5),
                    power=uniform(r, 0.3, 3.0),
                    cycle=draw != 1,
                ),
            ),
            (
                "CosineDecay",
                dict(
                    initial_learning_rate=0.0 if draw == 1 else lr,
                    decay_steps=int(r.integers(1, 300)),
                    alpha=uniform(r, 0.0, 0.5),
                )
                | (
                    {}
                    if draw == 0
                    else dict(warmup_target=uniform(r, 0.1, 2.0), warmup_steps=steps)
                ),
            ),
            (
                "CosineDecayRestarts",
                dict(
                    initial_learning_rate=lr,
                    first_decay_steps=steps,
                    t_mul=[2.0, 1.0, uniform(r, 1.1, 3.0)][draw],
                    m_mul=uniform(r, 0.3, 1.0),
                    alpha=uniform(r, 0.0, 0.5),
                ),
            ),
        ]
    return out


@pytest.fixture(scope="module")
def keras_exact():
    draws = _keras_draws()
    return draws, keras_exact_values([(name, kw, KERAS_STEPS) for name, kw in draws])


@pytest.mark.parametrize("index", range(6 * len(DRAWS)))
def test_keras_schedule_exactly_rounded(keras_exact, index, record_parity):
    import jaxsched.keras.schedules as ks

    draws, values = keras_exact
    name, kw = draws[index]
    note(name, kw)
    got = evaluate(getattr(ks, name)(**kw), KERAS_STEPS)
    want = values[index].astype(np.float64)
    scale = max(float(np.max(np.abs(want))), 1e-3)
    check(f"keras.schedules.{name} (exact)", got, want, scale, record_parity)
