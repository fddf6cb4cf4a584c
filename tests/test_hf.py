"""jaxsched.hf against the real ``transformers.optimization`` (live, not re-derived formulas).

Schedules: value ``k`` of every ``jaxsched.hf.get_*`` function against the learning rate
of a torch optimizer after ``k`` calls of the HF ``LambdaLR``'s ``step()``, over up to
~2000 steps, with arguments drawn afresh every run (``JAXSCHED_SEED`` replays a run; a
failure prints what was drawn). GreedyLR and reduce-on-plateau: against HF's schedulers
on random metric sequences. Adafactor: every parameter at every one of 100 steps
against ``transformers.optimization.Adafactor``, each option alone and all together.
"""

from __future__ import annotations

import functools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from parity import (
    Flavor,
    Problem,
    assert_trajectories_close,
    jaxsched_trajectories,
    log_uniform,
    note,
    rng,
    torch_trajectory,
    uniform,
)

torch = pytest.importorskip("torch")
optimization = pytest.importorskip("transformers.optimization")

import jaxsched  # noqa: E402
from jaxsched import hf  # noqa: E402

DRAWS = 4
FUNCTIONS = [n for n in dir(optimization) if n.startswith("get_")]


def hf_rates(make, lr: float, steps: int = 2000) -> np.ndarray:
    """``param_groups[0]["lr"]`` after ``k`` calls of ``make(opt).step()``, k < ``steps``.

    The optimizer itself is not stepped (a LambdaLR's rate depends only on its count);
    torch's warning about that order is silenced.
    """
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = make(opt)
        rates = []
        for _ in range(steps):
            rates.append(opt.param_groups[0]["lr"])
            sched.step()
    return np.asarray(rates)


def compare(label, schedule, want, lr, record_parity, n=2000):
    """The first ``n`` values of ``schedule`` against ``want``.

    Always 2000 steps are evaluated (one array shape: jax compiles each operation once
    for all the schedules); a cosine is compared up to 300 steps past its end only (its
    float32 phase loses digits in proportion to the number of waves, see docs/hf.md).
    """
    got = np.asarray(schedule(jnp.arange(2000)), np.float64)[:n]
    want = want[:n]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * lr, err_msg=label)
    error = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))
    record_parity(f"hf.{label}", error)


def _steps(r, i):
    """(lr, warmup, total) of draw ``i``: no warmup, one step, random; the last draw ends
    the training at or before the end of the warmup (HF then decays at once)."""
    lr = log_uniform(r, 1e-5, 1.0)
    w = [0, 1, int(r.integers(2, 300)), int(r.integers(2, 300))][i]
    total = w + int(r.integers(200, 1500)) if i < 3 else int(r.integers(0, w + 1))
    return lr, w, total


def draw_kwargs(name, r, i):
    """HF's keyword arguments of draw ``i`` for ``name`` (the optimizer's lr apart)."""
    lr, w, total = _steps(r, i)
    steps = dict(num_warmup_steps=w, num_training_steps=total)
    # Past the end of a short decay the float32 phase of a fractional number of cosine
    # waves loses digits (see docs/hf.md): the short draw takes whole or half waves.
    cycles = float(r.uniform(0.1, 3.0)) if i < 3 else float(r.integers(1, 6)) / 2
    if name == "get_constant_schedule":
        return lr, {}
    if name in ("get_constant_schedule_with_warmup", "get_inverse_sqrt_schedule"):
        kw = {"num_warmup_steps": w}
        if name == "get_inverse_sqrt_schedule" and i % 2:
            kw["timescale"] = int(r.integers(1, 1000))
        return lr, kw
    if name == "get_linear_schedule_with_warmup":
        return lr, steps
    if name == "get_cosine_schedule_with_warmup":
        return lr, steps | {"num_cycles": [0.5, cycles][i % 2]}
    if name == "get_cosine_with_hard_restarts_schedule_with_warmup":
        many = int(r.integers(10, 60))  # enough restarts that HF's float64 misses some
        return lr, steps | {"num_cycles": [1, int(r.integers(2, 8)), many, cycles][i]}
    if name == "get_polynomial_decay_schedule_with_warmup":
        if total == w:
            steps["num_training_steps"] = w + 1
        return lr, steps | {"lr_end": uniform(r, 0, 0.9) * lr, "power": uniform(r, 0.3, 3.0)}
    if name.startswith("get_cosine_with_min_lr_schedule_with_warmup"):
        floor = {"min_lr": uniform(r, 0, 0.5) * lr} if i % 2 else {"min_lr_rate": uniform(r, 0, 1)}
        kw = steps | floor | {"num_cycles": [0.5, cycles][i % 2]}
        if name.endswith("lr_rate") and i >= 2:
            kw["warmup_lr_rate"] = uniform(r, 0, 1)
        return lr, kw
    if name == "get_wsd_schedule":
        shapes = ("linear", "cosine", "1-sqrt")
        d, stable = int(r.integers(0, 400)), int(r.integers(0, 400))
        kw = {"num_warmup_steps": w, "num_decay_steps": d}
        kw |= {"num_stable_steps": stable} if i % 2 else {"num_training_steps": w + stable + d}
        return lr, kw | {
            "warmup_type": shapes[int(r.integers(3))],
            "decay_type": shapes[int(r.integers(3))],
            "min_lr_ratio": [0.0, uniform(r, 0, 0.5)][i // 2],
            "num_cycles": [0.5, cycles][i % 2],
        }
    raise KeyError(name)


# The step-driven schedules (get_scheduler, the metric-driven two and Adafactor's
# read-back are tested on their own below).
OTHERS = (
    "get_scheduler",
    "get_adafactor_schedule",
    "get_reduce_on_plateau_schedule",
    "get_greedy_schedule",
)
PURE = [n for n in FUNCTIONS if n not in OTHERS]


def test_every_hf_function_has_a_jaxsched_equivalent():
    assert set(FUNCTIONS) <= set(hf.__all__)
    assert {"Adafactor", "GreedyLR"} <= set(hf.__all__)


@pytest.mark.parametrize("name", PURE)
def test_schedule_matches_transformers(name, record_parity):
    for i in range(DRAWS):
        r = rng("hf", name, i)
        lr, kw = draw_kwargs(name, r, i)
        note(f"draw {i}", (lr, kw))
        want = hf_rates(lambda opt, kw=kw: getattr(optimization, name)(opt, **kw), lr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schedule = getattr(hf, name)(lr, **kw)
        n = max(kw.get("num_training_steps") or 0, 400) + 300
        compare(name, schedule, want, lr, record_parity, n)


HARD = "get_cosine_with_hard_restarts_schedule_with_warmup"


def test_hard_restarts_take_hfs_value_where_float64_misses_a_restart():
    # 22 waves over 22 steps: HF's (22 * (15 / 22)) % 1 is 0.99999..., not 0.
    want = hf_rates(lambda opt: getattr(optimization, HARD)(opt, 0, 22, 22), 1.0, 22)
    got = np.asarray(hf.get_cosine_with_hard_restarts_schedule_with_warmup(1.0, 0, 22, 22)(15))
    assert want[15] < 1e-6 and got == pytest.approx(want[15], abs=1e-7)


@pytest.mark.parametrize(
    "name, extra",
    [
        ("linear", {}),
        ("cosine", {"num_cycles": 1.5}),
        ("cosine_with_restarts", {"num_cycles": 3}),
        ("polynomial", {"power": 2.0}),
        ("constant", {}),
        ("constant_with_warmup", {}),
        ("inverse_sqrt", {"timescale": 50}),
        ("cosine_with_min_lr", {"min_lr_rate": 0.1}),
        ("cosine_warmup_with_min_lr", {"min_lr": 1e-3}),
        ("warmup_stable_decay", {"num_decay_steps": 100, "decay_type": "1-sqrt"}),
    ],
)
def test_get_scheduler_dispatches_as_transformers(name, extra, record_parity):
    lr, w, total = 0.05, 37, 700
    want = hf_rates(lambda opt: optimization.get_scheduler(name, opt, w, total, dict(extra)), lr)
    compare(
        f"get_scheduler({name!r})",
        hf.get_scheduler(name, lr, w, total, extra),
        want,
        lr,
        record_parity,
    )


def test_get_scheduler_takes_a_scheduler_type_and_checks_like_hf():
    from transformers.trainer_utils import SchedulerType

    lr = hf.get_scheduler(SchedulerType.COSINE, 0.1, 10, 110)
    assert float(lr(10)) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="requires num_warmup_steps"):
        hf.get_scheduler("linear", 0.1)
    with pytest.raises(ValueError, match="requires num_training_steps"):
        hf.get_scheduler("cosine", 0.1, 10)
    with pytest.raises(ValueError, match="name must be one of"):
        hf.get_scheduler("cosine_annealing", 0.1, 10, 100)
    with pytest.raises(TypeError, match="power"):
        hf.get_scheduler("linear", 0.1, 10, 100, {"power": 2.0})


def test_a_schedule_drives_an_optimizer_as_lambda_lr_does(record_parity):
    """One trajectory: update k uses value k, as torch's optimizer uses the lr after k steps."""
    problem = Problem(rng("hf", "sgd"))
    kw = dict(num_warmup_steps=7, num_training_steps=80, num_cycles=1.5)
    want = torch_trajectory(
        problem,
        lambda params: torch.optim.SGD(params, lr=0.05),
        lambda opt: optimization.get_cosine_schedule_with_warmup(opt, **kw),
    )
    tx = jaxsched.torch.SGD(lr=hf.get_cosine_schedule_with_warmup(0.05, **kw))
    ((got, _, _),) = jaxsched_trajectories([problem], [tx])
    record_parity("hf.schedule in SGD", assert_trajectories_close(got, want, label="SGD"))


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match="only one of min_lr and min_lr_rate"):
        hf.get_cosine_with_min_lr_schedule_with_warmup(0.1, 0, 10, min_lr=0.0, min_lr_rate=0.1)
    with pytest.raises(ValueError, match="one of min_lr and min_lr_rate"):
        hf.get_cosine_with_min_lr_schedule_with_warmup_lr_rate(0.1, 0, 10)
    with pytest.raises(ValueError, match="lr_end"):
        hf.get_polynomial_decay_schedule_with_warmup(0.1, 0, 10, lr_end=0.1)
    with pytest.raises(ValueError, match="differ from num_warmup_steps"):
        hf.get_polynomial_decay_schedule_with_warmup(0.1, 10, 10)
    with pytest.raises(ValueError, match="num_warmup_steps must be an integer >= 0"):
        hf.get_linear_schedule_with_warmup(0.1, -1, 10)
    with pytest.raises(TypeError, match="lr must be"):
        hf.get_constant_schedule("0.1")
    with pytest.raises(ValueError, match="give num_training_steps or num_stable_steps"):
        hf.get_wsd_schedule(0.1, 10, 10)
    too_short = "num_training_steps must be an integer >= num_warmup_steps"
    with pytest.raises(ValueError, match=too_short):
        hf.get_wsd_schedule(0.1, 10, 10, 15)
    with pytest.warns(UserWarning, match="num_stable_steps is used"):
        hf.get_wsd_schedule(0.1, 10, 10, num_training_steps=100, num_stable_steps=5)


# Metric-driven schedules ------------------------------------------------------------------

T = 300


def metric_sequences(r):
    """Falling, noisy, plateaued, rising and random-walk metrics (float32, exact in HF)."""
    t = np.arange(T)
    plateaus = np.repeat(np.cumsum(r.choice([0, -1, 0, 1, 0], T // 15)), 15) * 0.25
    seqs = [
        1 / (1 + 0.05 * t) + 0.05 * r.normal(size=T),
        np.exp(-t / 80) + 1e-3 * r.normal(size=T),
        plateaus,
        0.01 * t + 0.3 * r.normal(size=T),
        np.cumsum(r.normal(size=T)),
    ]
    return [np.asarray(s, np.float32) for s in seqs]


class Margins:
    """Whether float32 (jaxsched) could decide one of HF's float64 comparisons otherwise.

    ``closest`` is the smallest distance between a compared value and its bound, in
    units of the float32 error it may carry; below 1 the run is set aside. Watched:
    the metric against the best value (absolute for metrics below 1, error 1e-6), the
    cut rate against ``min_lr`` where landing on it counts towards a reset (relative,
    1e-5: the rate went through up to ~100 float32 products), and the change against
    ``eps``. A rise that ties with ``max_lr`` only moves the rate by an ulp.
    """

    def __init__(self, sched, mode, threshold, threshold_mode):
        self.closest = math.inf
        self.events = {"rise": 0, "cut": 0, "reset": 0}
        self.sched = sched
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        # GreedyLR's is_better is torch's _is_better.
        self.better_name = "is_better" if hasattr(sched, "is_better") else "_is_better"
        names = (self.better_name, "_reduce_lr", "_increase_lr")
        self.original = {n: getattr(sched, n) for n in names if hasattr(sched, n)}
        setattr(sched, self.better_name, self.is_better)
        sched._reduce_lr = lambda epoch: self.change(epoch, "cut", sched.factor, sched.min_lrs[0])
        if hasattr(sched, "_increase_lr"):
            sched._increase_lr = lambda e: self.change(
                e, "rise", 1 / sched.factor, sched.max_lrs[0]
            )
            reset = sched._reset

            def fresh():
                self.events["reset"] += 1
                reset()

            sched._reset = fresh

    def see(self, a, b, error, floor=0.0):
        if math.isfinite(a) and math.isfinite(b):
            distance = abs(a - b) / max(abs(a), abs(b), floor, 1e-30)
            self.closest = min(self.closest, distance / error)

    def is_better(self, a, best):
        sign = -1.0 if self.mode == "min" else 1.0
        if self.threshold_mode == "rel":
            bound = best * (1 + sign * self.threshold)
        else:
            bound = best + sign * self.threshold
        # An exact tie (a plateau at a threshold of 0) is a tie in float32 too.
        if a != bound:
            self.see(a, bound, 1e-6, floor=1.0)
        return self.original[self.better_name](a, best)

    def change(self, epoch, kind, ratio, bound):
        self.events[kind] += 1
        old = self.sched.optimizer.param_groups[0]["lr"]
        # At the bound already, both keep it exactly.
        if old != bound:
            new = old * ratio
            resets = getattr(self.sched, "reset_start_original", T) < T
            if kind == "cut" and resets:
                self.see(new, bound, 1e-5)
            applied = min(new, bound) if ratio > 1 else max(new, bound)
            self.see(abs(applied - old), self.sched.eps, 1e-5)
        name = "_increase_lr" if kind == "rise" else "_reduce_lr"
        self.original[name](epoch)


def hf_run(make, metrics, lr, mode, threshold, threshold_mode):
    """HF's rate after each ``step(metric)``, and the :class:`Margins` of the run."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make(opt)
    margins = Margins(sched, mode, threshold, threshold_mode)
    rates = []
    for m in metrics:
        opt.step()
        sched.step(float(m))
        rates.append(opt.param_groups[0]["lr"])
    return np.asarray(rates), margins


def jax_rates(make, configs, metrics):
    """jit(vmap): the rate each update applies, for a batch of numeric settings."""

    def run(cfg, metric_seq):
        schedule = make(cfg)

        def body(state, inputs):
            step, metric = inputs
            value, state = schedule.update(state, step, {"value": metric})
            return state, value

        return jax.lax.scan(body, schedule.init(), (jnp.arange(T), metric_seq))[1]

    batch = {k: jnp.asarray([c[k] for c in configs]) for k in configs[0]}
    return np.asarray(jax.jit(jax.vmap(run))(batch, jnp.asarray(np.stack(metrics))), np.float64)


def _f32(cfg):
    """The settings as float32 numbers, so that HF and jaxsched read the same values."""
    return {k: float(np.float32(v)) if isinstance(v, float) else v for k, v in cfg.items()}


def collect_runs(r, mode, threshold_mode, draw_config, make_hf, wanted):
    """``wanted`` runs (settings, metrics, HF's rates) whose comparisons are all clear."""
    runs, skipped, events = [], 0, {"rise": 0, "cut": 0, "reset": 0}
    while len(runs) < wanted:
        cfg = _f32(draw_config(r))
        metrics = metric_sequences(r)[len(runs) % 5] * (1 if mode == "min" else -1)
        want, margins = hf_run(
            functools.partial(make_hf, cfg),
            metrics,
            cfg["lr"],
            mode,
            cfg["threshold"],
            threshold_mode,
        )
        if margins.closest < 1:
            skipped += 1
            assert skipped <= wanted, "too many runs decided by rounding"
            continue
        events = {k: events[k] + margins.events[k] for k in events}
        note(f"run {len(runs)}", cfg)
        runs.append((cfg, metrics, want))
    return runs, events


def check_runs(label, runs, got, record_parity):
    for (cfg, _, want), g in zip(runs, got, strict=True):
        np.testing.assert_allclose(g, want, rtol=1e-5, err_msg=str(cfg))
        record_parity(label, float(np.max(np.abs(g - want) / want)))


@pytest.mark.parametrize("smooth", [False, True])
@pytest.mark.parametrize("threshold_mode", ["abs", "rel"])
@pytest.mark.parametrize("mode", ["min", "max"])
def test_greedy_lr_matches_transformers(mode, threshold_mode, smooth, record_parity):
    # The window size is static (one compiled program per test).
    static = {"mode": mode, "threshold_mode": threshold_mode, "smooth": smooth}
    static |= {"window_size": int(rng("greedy window").integers(1, 20))} if smooth else {}

    def draw(r):
        lr = log_uniform(r, 1e-3, 0.5)
        return {
            "lr": lr,
            "factor": uniform(r, 0.3, 0.95),
            "patience": int(r.integers(0, 6)),
            "threshold": uniform(r, 0, 0.05) if r.random() < 0.8 else 0.0,
            "cooldown": int(r.integers(0, 4)),
            "warmup": int(r.integers(0, 4)),
            "min_lr": lr * 10 ** -uniform(r, 0.3, 2),
            "max_lr": lr * 10 ** uniform(r, 0.3, 1.5),
            "eps": 1e-8,
            # Small counts reach the reset, the default 500 does not in T steps.
            "reset_start": int(r.integers(0, 12)) if r.random() < 0.7 else 500,
        }

    def make_hf(cfg, opt):
        kw = {k: v for k, v in cfg.items() if k != "lr"}
        return optimization.GreedyLR(opt, **kw, **static)

    r = rng("greedy", mode, threshold_mode, smooth)
    note("static", static)
    runs, events = collect_runs(r, mode, threshold_mode, draw, make_hf, 12)
    assert min(events.values()) > 0, f"every path is taken: {events}"
    got = jax_rates(
        lambda cfg: hf.GreedyLR(**cfg, **static), [run[0] for run in runs], [run[1] for run in runs]
    )
    check_runs("hf.GreedyLR", runs, got, record_parity)


@pytest.mark.parametrize("threshold_mode", ["abs", "rel"])
@pytest.mark.parametrize("mode", ["min", "max"])
def test_reduce_on_plateau_schedule_matches_transformers(mode, threshold_mode, record_parity):
    static = {"mode": mode, "threshold_mode": threshold_mode}

    def draw(r):
        lr = log_uniform(r, 1e-3, 1.0)
        return {
            "lr": lr,
            "factor": uniform(r, 0.05, 0.95),
            "patience": int(r.integers(0, 9)),
            "threshold": uniform(r, 0, 0.05) if r.random() < 0.8 else 0.0,
            "cooldown": int(r.integers(0, 5)),
            "min_lr": lr * 10 ** -uniform(r, 0.5, 3) if r.random() < 0.5 else 0.0,
        }

    def make_hf(cfg, opt):
        kw = {k: v for k, v in cfg.items() if k != "lr"}
        return optimization.get_reduce_on_plateau_schedule(opt, **kw, **static)

    def make(cfg):
        cfg = dict(cfg)
        return hf.get_reduce_on_plateau_schedule(cfg.pop("lr"), **cfg, **static)

    runs, events = collect_runs(
        rng("plateau", mode, threshold_mode), mode, threshold_mode, draw, make_hf, 10
    )
    assert events["cut"] > 0
    got = jax_rates(make, [run[0] for run in runs], [run[1] for run in runs])
    check_runs("hf.get_reduce_on_plateau_schedule", runs, got, record_parity)


def test_greedy_lr_checks_its_arguments_and_needs_a_metric():
    with pytest.raises(ValueError, match=r"factor must be a number in \(0, 1\)"):
        hf.GreedyLR(0.1, factor=1.0)
    with pytest.raises(ValueError, match="threshold_mode must be one of"):
        hf.GreedyLR(0.1, threshold_mode="rel_magnitude")
    with pytest.raises(ValueError, match="window_size must be an integer >= 1"):
        hf.GreedyLR(0.1, smooth=True, window_size=0)
    with pytest.raises(ValueError, match="patience must be an integer"):
        hf.get_greedy_schedule(0.1, patience=1.5)
    schedule = hf.GreedyLR(0.1)
    with pytest.raises(ValueError, match="value="):
        schedule.update(schedule.init(), jnp.zeros([], jnp.int32), {})


def test_greedy_lr_never_takes_a_non_finite_metric_as_best():
    schedule = hf.GreedyLR(0.1, patience=0, factor=0.5, min_lr=0.0)
    state = schedule.init()
    for m in [1.0, -np.inf, 0.5]:
        _, state = schedule.update(state, jnp.zeros([], jnp.int32), {"value": m})
    assert float(state.best) == 0.5


# Adafactor -----------------------------------------------------------------------------

SHAPES = ((5,), (3, 4), (2, 3, 2), (), (4, 1))

ADAFACTOR = Flavor(
    lambda r, i: dict(
        eps=(log_uniform(r, 1e-30, 1e-3), [log_uniform(r, 1e-3, 1e-2), uniform(r, 0.5, 2)][i % 2]),
        clip_threshold=uniform(r, 0.3, 2.0),
        decay_rate=uniform(r, -1.0, -0.3),
    ),
    {
        "beta1": lambda r: {"beta1": uniform(r, 0.5, 0.95)},
        "weight_decay": lambda r: {"weight_decay": uniform(r, 0.05, 0.5)},
        "no_scale": lambda r: {"scale_parameter": False},
        "external_lr": lambda r: {"lr": log_uniform(r, 1e-3, 5e-2), "relative_step": False},
        "warmup_init": lambda r: {"warmup_init": True},
    },
    exclusive=(("external_lr", "warmup_init"),),
)


def test_adafactor_matches_transformers(record_parity):
    runs = []
    for i, plan in enumerate(ADAFACTOR.plans()):
        kw = ADAFACTOR.draw(rng("adafactor", i), i, plan)
        note(f"plan {i}", (plan, kw))
        runs.append((plan, kw, Problem(rng("adafactor", i, "problem"), SHAPES)))
    got = jaxsched_trajectories(
        [run[2] for run in runs],
        [hf.Adafactor(**run[1]) for run in runs],
        aux=lambda state: hf.get_adafactor_schedule(state)[0],
    )
    failures = []
    for (plan, kw, problem), (traj, _, step_sizes) in zip(runs, got):
        proxy = {}
        relative = kw.get("relative_step", True)

        def make_scheduler(opt, proxy=proxy, relative=relative):
            # HF's proxy schedule is meant for relative steps (with an external lr it
            # would write its reading back into the lr).
            if relative:
                proxy["s"] = optimization.AdafactorSchedule(opt)
            return proxy.get("s")

        want, read = torch_trajectory(
            problem,
            lambda params, kw=kw: optimization.Adafactor(params, **kw),
            make_scheduler,
            record=lambda opt, params, proxy=proxy: [
                torch.as_tensor(float(proxy["s"].get_last_lr()[0]) if proxy else 0.0)
            ],
        )
        label = f"Adafactor plan {plan} {kw}"
        try:
            record_parity("hf.Adafactor", assert_trajectories_close(traj, want, label=label))
            if relative:
                np.testing.assert_allclose(step_sizes, read[0], rtol=1e-5, err_msg=label)
                record_parity(
                    "hf.get_adafactor_schedule",
                    float(np.max(np.abs(step_sizes - read[0]) / read[0])),
                )
        except AssertionError as e:
            failures.append(str(e))
    if failures:
        raise AssertionError("\n\n".join(failures))


def test_adafactor_state_keys_and_errors():
    params = [jnp.ones((2, 3)), jnp.ones(3)]
    tx = hf.Adafactor(beta1=0.9, weight_decay=0.1)
    assert sorted(jaxsched.hyperparams(tx.init(params))) == [
        "b1",
        "clip_threshold",
        "decay_rate",
        "eps",
        "learning_rate",
        "min_scale",
        "weight_decay",
    ]
    tx = hf.Adafactor(lr=1e-3, relative_step=False, scale_parameter=False)
    assert "min_scale" not in jaxsched.hyperparams(tx.init(params))
    tx.update(params, tx.init(params))  # no parameter scale, no decay: params not needed
    with pytest.raises(ValueError, match="relative_step=True"):
        hf.Adafactor(lr=1e-3)
    with pytest.raises(ValueError, match="needs an lr"):
        hf.Adafactor(relative_step=False)
    with pytest.raises(ValueError, match="warmup_init=True requires"):
        hf.Adafactor(lr=1e-3, relative_step=False, warmup_init=True)
    with pytest.raises(ValueError, match=r"eps\[1\] must be"):
        hf.Adafactor(eps=(1e-30, -1.0))
    with pytest.raises(ValueError, match="decay_rate must be"):
        hf.Adafactor(decay_rate=0.8)
    with pytest.raises(ValueError, match="none found"):
        hf.get_adafactor_schedule(jaxsched.adam().init(params))
    with pytest.raises(ValueError, match="min_scale"):
        hf.Adafactor().update(params, hf.Adafactor().init(params))
