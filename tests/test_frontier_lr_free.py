"""Schedule-free SGD/AdamW/RAdam, Prodigy and D-Adapt Adam against their references, live.

The natives follow the authors: ``schedulefree`` 1.4.1 (both its memory-saving classes
and its ``*Reference`` classes, which keep ``x`` explicitly) and ``prodigyopt`` 1.1.2;
D-Adapt Adam follows pytorch-optimizer 4.1 (the authors' ``dadaptation`` is not
installed). The pytorch-optimizer flavors are tested against pytorch-optimizer, where it
agrees with the authors (the deviations are documented in
``jaxsched/pytorch_optimizer/_lr_free.py``). Every step is compared: the parameters,
and the evaluation point ``x`` of schedule-free (``schedule_free_eval_params``) or the
estimate ``d`` of Prodigy and D-Adaptation.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
import prodigyopt
import pytest
import pytorch_optimizer
import schedulefree
import torch
from hlo import donated_step_entry
from parity import (
    Flavor,
    Problem,
    assert_trajectories_close,
    eps_draw,
    jaxsched_trajectories,
    log_uniform,
    note,
    rng,
    torch_trajectory,
    uniform,
)

import jaxsched
from jaxsched import pytorch_optimizer as po
from jaxsched.optimizers import (
    dadapt_adam,
    prodigy,
    schedule_free_adamw,
    schedule_free_radam,
    schedule_free_sgd,
)
from jaxsched.transforms import (
    ScaleByDadaptAdamState,
    ScaleByProdigyState,
    ScheduleFreeState,
    estimated_step_size,
    scale_by_corrected_rms,
    schedule_free_eval_params,
)


@dataclass
class Reference:
    """A torch optimizer to compare with: its name in the summary, how to build it from
    the drawn arguments, and what to read after each step (``x`` or ``d``)."""

    name: str
    make: Callable
    record: Callable


@dataclass
class Case:
    """Draws (in the references' argument names), the jaxsched optimizer they map to, and
    the references; ``inner`` turns the jaxsched state (and parameters) of each step into
    what the references' ``record`` reads."""

    name: str
    flavor: Flavor
    make_jax: Callable
    references: list
    inner: Callable
    plans: Callable = Flavor.plans


def _quiet(make):
    """``make(params, **kw)`` with the references' "Switching to train mode" prints muted."""

    def built(params, **kw):
        with contextlib.redirect_stdout(io.StringIO()):
            return make(params, **kw)

    return built


def _training(cls):
    """A schedule-free class put in train mode, as its users must before stepping."""

    def make(params, **kw):
        opt = cls(params, **kw)
        opt.train()
        return opt

    return make


def _x_from_z(b1_of):
    """``eval()``'s ``x = lerp(y, z, 1 - 1 / b1)``, computed aside (so ``y`` stays intact)."""

    def record(opt, params):
        b1 = b1_of(opt.param_groups[0])
        return [torch.lerp(p, opt.state[p]["z"], 1 - 1 / b1) for p in params]

    return record


def _x_kept(opt, params):
    return [opt.state[p]["x"].clone() for p in params]


def _d(opt, params):
    return [torch.tensor(float(opt.param_groups[0]["d"]))]


def _momentum(group):
    return group["momentum"]


def _beta1(group):
    return group["betas"][0]


def _kept(state):
    """What the comparisons read of each step's state: the schedule-free states or the
    estimate (the moments need not be stacked over the steps)."""
    kinds = (ScheduleFreeState, ScaleByProdigyState, ScaleByDadaptAdamState)
    return [
        n
        for n in jax.tree.leaves(state, is_leaf=lambda n: isinstance(n, kinds))
        if isinstance(n, kinds)
    ]


def _eval_params(states, trajectory):
    return jax.vmap(schedule_free_eval_params)(states, trajectory)


def _estimate(states, trajectory):
    del trajectory
    return [estimated_step_size(states)]


def _none_if_zero(value):
    return value or None


# Schedule-free. Draws in the authors' names; natives map them.
_SF_OPTIONS = {
    "weight_decay": lambda r: {"weight_decay": uniform(r, 0.01, 0.2)},
}
_WARMUP = {"warmup": lambda r: {"warmup_steps": int(r.integers(2, 40))}}


def _sf_sgd_base(r, i):
    return {
        # Up to 0.5: the rate times the sharpest curvature of the problem (2.3) stays
        # under 2, so steps contract rather than grow float32 rounding.
        "lr": log_uniform(r, 0.05, 0.5),
        "momentum": uniform(r, 0.5, 0.95),
        "weight_lr_power": uniform(r, 0.0, 3.0),
        "r": uniform(r, 0.0, 2.0),
    }


def _sf_adam_base(r, i):
    return {
        "lr": log_uniform(r, 2e-3, 5e-2),
        "betas": (uniform(r, 0.5, 0.95), 1 - log_uniform(r, 1e-4, 0.1)),
        "eps": eps_draw(r, i),
        "weight_lr_power": uniform(r, 0.0, 3.0),
        "r": uniform(r, 0.0, 2.0),
    }


def _native_sf(kw, **renames):
    kw = dict(kw)
    out = {"learning_rate": kw.pop("lr"), "weight_decay": _none_if_zero(kw.pop("weight_decay", 0))}
    if "betas" in kw:
        out["b1"], out["b2"] = kw.pop("betas")
    for old, new in renames.items():
        out[new] = kw.pop(old)
    return {**out, **kw}


SF_SGD = Flavor(_sf_sgd_base, {**_SF_OPTIONS, **_WARMUP})
SF_ADAMW = Flavor(_sf_adam_base, {**_SF_OPTIONS, **_WARMUP})
SF_RADAM = Flavor(
    _sf_adam_base,
    {**_SF_OPTIONS, "sgd_phase": lambda r: {"silent_sgd_phase": False}},
)

NATIVE_SF = [
    Case(
        "schedule_free_sgd",
        SF_SGD,
        lambda kw: schedule_free_sgd(**_native_sf(kw, momentum="b1")),
        [
            Reference(
                "schedulefree.SGDScheduleFree",
                _training(schedulefree.SGDScheduleFree),
                _x_from_z(_momentum),
            ),
            Reference(
                "schedulefree.SGDScheduleFreeReference",
                _quiet(_training(schedulefree.SGDScheduleFreeReference)),
                _x_kept,
            ),
        ],
        _eval_params,
    ),
    Case(
        "schedule_free_adamw",
        SF_ADAMW,
        lambda kw: schedule_free_adamw(**_native_sf(kw)),
        [
            Reference(
                "schedulefree.AdamWScheduleFree",
                _training(schedulefree.AdamWScheduleFree),
                _x_from_z(_beta1),
            ),
            Reference(
                "schedulefree.AdamWScheduleFreeReference",
                _quiet(_training(schedulefree.AdamWScheduleFreeReference)),
                _x_kept,
            ),
        ],
        _eval_params,
    ),
    Case(
        "schedule_free_radam",
        SF_RADAM,
        lambda kw: schedule_free_radam(**_native_sf(kw)),
        [
            Reference(
                "schedulefree.RAdamScheduleFree",
                _training(schedulefree.RAdamScheduleFree),
                _x_from_z(_beta1),
            )
        ],
        _eval_params,
    ),
]


def _own_options(*alone: str) -> Callable:
    """A flavor's plans: none, each of ``alone`` (the options its native lacks) alone, and
    all options together. The options it shares with its native are tested alone on the
    native, which keeps the compiled program, and the test, small."""

    def plans(flavor: Flavor) -> list:
        def closure(name):
            names = {name, *flavor.requires.get(name, ())}
            return tuple(o for o in flavor.options if o in names)

        together = max((len(g) for g in flavor.exclusive), default=1)
        own = [(), *(closure(name) for name in alone)]
        return list(dict.fromkeys([*own, *flavor.plans()[-together:]]))

    return plans


# pytorch-optimizer's schedule-free: its own names, so flavor and reference share them.
_PO_COMMON = {"maximize": lambda r: {"maximize": True}}
PO_SF = [
    Case(
        "pytorch_optimizer.ScheduleFreeSGD",
        Flavor(_sf_sgd_base, {**_SF_OPTIONS, **_WARMUP, **_PO_COMMON}),
        lambda kw: po.ScheduleFreeSGD(**kw),
        [
            Reference(
                "pytorch_optimizer.ScheduleFreeSGD",
                pytorch_optimizer.ScheduleFreeSGD,
                _x_from_z(_momentum),
            )
        ],
        _eval_params,
        plans=_own_options("maximize"),
    ),
    Case(
        "pytorch_optimizer.ScheduleFreeAdamW",
        Flavor(
            _sf_adam_base,
            {
                **_SF_OPTIONS,
                **_WARMUP,
                **_PO_COMMON,
                "decoupling_c": lambda r: {"decoupling_c": uniform(r, 0.5, 20.0)},
                "ams_bound": lambda r: {"ams_bound": True},
            },
        ),
        lambda kw: po.ScheduleFreeAdamW(**kw),
        [
            Reference(
                "pytorch_optimizer.ScheduleFreeAdamW",
                pytorch_optimizer.ScheduleFreeAdamW,
                _x_from_z(_beta1),
            )
        ],
        _eval_params,
        plans=_own_options("maximize", "decoupling_c", "ams_bound"),
    ),
    Case(
        "pytorch_optimizer.ScheduleFreeRAdam",
        # Without the silent phase pytorch-optimizer steps with lr 1 (not lr) before the
        # rectification; the flavor follows the authors, so that plan uses lr = 1, and a
        # b2 near 1, which keeps the rectified steps, and the trajectory, tame.
        Flavor(
            _sf_adam_base,
            {
                **_SF_OPTIONS,
                **_PO_COMMON,
                "sgd_phase": lambda r: {
                    "silent_sgd_phase": False,
                    "lr": 1.0,
                    "betas": (uniform(r, 0.5, 0.95), 1 - log_uniform(r, 1e-4, 1e-3)),
                },
            },
        ),
        lambda kw: po.ScheduleFreeRAdam(**kw),
        [
            Reference(
                "pytorch_optimizer.ScheduleFreeRAdam",
                pytorch_optimizer.ScheduleFreeRAdam,
                _x_from_z(_beta1),
            )
        ],
        _eval_params,
        plans=_own_options("maximize", "sgd_phase"),
    ),
]


# Prodigy and D-Adaptation. Their authors advise lr = 1, where the estimated steps are
# of the problem's own scale and the trajectories chaotic: torch in float32 and in
# float64 then part by up to 1e-2 within 100 steps, so no float32 implementation could
# agree to 1e-5. At these smaller rates float32 and float64 agree to a few 1e-6 and d
# still grows by decades. Prodigy's steps are larger than D-Adapt's for one lr.
def _adaptive_base(lr_low, lr_high):
    def base(r, i):
        return {
            "lr": log_uniform(r, lr_low, lr_high),
            "betas": (uniform(r, 0.8, 0.95), uniform(r, 0.95, 0.999)),
            "d0": log_uniform(r, 1e-6, 1e-3),
        }

    return base


_PRODIGY_BASE = _adaptive_base(5e-3, 5e-2)
_DADAPT_BASE = _adaptive_base(5e-2, 0.3)


_ADAPTIVE_OPTIONS = {
    "bias_correction": lambda r: {"bias_correction": True},
    "growth_rate": lambda r: {"growth_rate": uniform(r, 1.02, 1.5)},
}
_PRODIGY_OPTIONS = {
    **_ADAPTIVE_OPTIONS,
    "safeguard_warmup": lambda r: {"safeguard_warmup": True},
    "beta3": lambda r: {"beta3": uniform(r, 0.5, 0.99)},
    "d_coef": lambda r: {"d_coef": uniform(r, 0.5, 2.0)},
    "weight_decay": lambda r: {"weight_decay": uniform(r, 0.01, 0.2)},
}


def _native_prodigy(kw):
    kw = dict(kw)
    kw["b1"], kw["b2"] = kw.pop("betas")
    kw["learning_rate"] = kw.pop("lr")
    kw["b3"] = kw.pop("beta3", None)
    kw["weight_decay"] = _none_if_zero(kw.pop("weight_decay", 0))
    kw["decoupled"] = kw.pop("decouple", True)
    kw["bias_correction"] = kw.pop("use_bias_correction", False)
    return kw


def _prodigyopt_kw(kw):
    kw = dict(kw)
    kw["use_bias_correction"] = kw.pop("bias_correction", False)
    return kw


NATIVE_ADAPTIVE = [
    Case(
        "prodigy",
        Flavor(
            _PRODIGY_BASE,
            {
                **_PRODIGY_OPTIONS,
                "coupled": lambda r: {"weight_decay": uniform(r, 0.01, 0.2), "decouple": False},
                "slice_p": lambda r: {"slice_p": int(r.integers(2, 5))},
                "b1_zero": lambda r: {"betas": (0.0, uniform(r, 0.95, 0.999))},
            },
            exclusive=(("weight_decay", "coupled"),),
        ),
        lambda kw: prodigy(**_native_prodigy(_prodigyopt_kw(kw))),
        [
            Reference(
                "prodigyopt.Prodigy",
                _quiet(lambda params, **kw: prodigyopt.Prodigy(params, **_prodigyopt_kw(kw))),
                _d,
            )
        ],
        _estimate,
    ),
]


PO_ADAPTIVE = [
    Case(
        "pytorch_optimizer.Prodigy",
        # pytorch-optimizer's coupled decay and b1 = 0 differ from the authors (see the
        # flavor): decay is decoupled here and b1 > 0.
        Flavor(
            _PRODIGY_BASE,
            {
                **_PRODIGY_OPTIONS,
                **_PO_COMMON,
                "fixed_decay": lambda r: {"fixed_decay": True},
                "atan2": lambda r: {"eps": None},
            },
            requires={"fixed_decay": ("weight_decay",)},
        ),
        lambda kw: po.Prodigy(**kw),
        [Reference("pytorch_optimizer.Prodigy", pytorch_optimizer.Prodigy, _d)],
        _estimate,
        # Decoupled decay scaled by the step is tested on the native against prodigyopt.
        # pytorch-optimizer rounds it as p * (1 - weight_decay * d * lr): while the steps
        # lie near float32's resolution that moves p0 - p, which the estimate reads, and
        # d by up to a few percent (the parameters still agree to 1e-5).
        plans=_own_options("maximize", "fixed_decay", "atan2"),
    ),
    Case(
        "pytorch_optimizer.DAdaptAdam",
        Flavor(
            _DADAPT_BASE,
            {
                **_ADAPTIVE_OPTIONS,
                **_PO_COMMON,
                "weight_decay": lambda r: {"weight_decay": uniform(r, 0.01, 0.2)},
                "weight_decouple": lambda r: {"weight_decouple": True},
                "fixed_decay": lambda r: {"fixed_decay": True},
            },
            requires={
                "weight_decouple": ("weight_decay",),
                "fixed_decay": ("weight_decay", "weight_decouple"),
            },
        ),
        lambda kw: po.DAdaptAdam(**kw),
        [Reference("pytorch_optimizer.DAdaptAdam", pytorch_optimizer.DAdaptAdam, _d)],
        _estimate,
        plans=_own_options("maximize"),
    ),
]


def _native_dadapt(kw):
    kw = dict(kw)
    kw["b1"], kw["b2"] = kw.pop("betas")
    kw["learning_rate"] = kw.pop("lr")
    kw["weight_decay"] = _none_if_zero(kw.pop("weight_decay", 0))
    kw["decoupled"] = kw.pop("weight_decouple", False)
    kw.pop("maximize", None)
    return kw


NATIVE_ADAPTIVE.append(
    Case(
        "dadapt_adam",
        Flavor(
            _DADAPT_BASE,
            {k: v for k, v in PO_ADAPTIVE[1].flavor.options.items() if k != "maximize"},
            requires=PO_ADAPTIVE[1].flavor.requires,
        ),
        lambda kw: dadapt_adam(**_native_dadapt(kw)),
        [Reference("pytorch_optimizer.DAdaptAdam", pytorch_optimizer.DAdaptAdam, _d)],
        _estimate,
    )
)


def _foreach(reference: Reference, i: int) -> dict:
    """pytorch-optimizer's two code paths, taken in turn by the plans."""
    if reference.name.startswith("pytorch_optimizer."):
        return {"foreach": bool(i % 2)}
    return {}


def _float32(value):
    """A drawn number (or pair) made float32 numbers."""
    if isinstance(value, tuple):
        return tuple(_float32(v) for v in value)
    if isinstance(value, float):
        return float(np.float32(value))
    return value


def _problem(key, kw: dict) -> Problem:
    """The random problem; for ``maximize`` its curvature is negated, so that ascending
    it stays bounded as descending the original does."""
    problem = Problem(rng(*key))
    if kw.get("maximize"):
        problem.curvature = [-c for c in problem.curvature]
    return problem


def _check(cases: list[Case], record_parity) -> None:
    runs = []
    for case in cases:
        for i, plan in enumerate(case.plans(case.flavor)):
            # The state holds hyperparameters in float32, the references the drawn
            # float64 values. Some results scale with 1 / (1 - b2) (RAdam's rho_inf,
            # D-Adaptation's d), which b2's rounding alone moves by up to 6e-4 near
            # b2 = 0.9999: drawing float32 numbers gives both sides the same values.
            kw = {k: _float32(v) for k, v in case.flavor.draw(rng(case.name, i), i, plan).items()}
            note(f"{case.name} plan {i}", (plan, kw))
            problem = _problem((case.name, i, "problem"), kw)
            runs.append((case, f"{case.name} plan {i} {plan} {kw}", i, kw, problem))
    results = jaxsched_trajectories(
        [run[4] for run in runs], [run[0].make_jax(run[3]) for run in runs], aux=_kept
    )
    failures = []
    for (case, label, i, kw, problem), (traj, _, states) in zip(runs, results, strict=True):
        inner = [np.asarray(x) for x in case.inner(states, traj)]
        for ref in case.references:
            flags = _foreach(ref, i)

            def make(params, ref=ref, kw=kw, flags=flags):
                return ref.make(params, **kw, **flags)

            want, want_inner = torch_trajectory(problem, make, record=ref.record)
            what = f"{label} vs {ref.name} {flags}"
            try:
                record_parity(ref.name, assert_trajectories_close(traj, want, label=what))
                if case.inner is _estimate:
                    # d spans decades: compared relatively, not with the unit floor. It is
                    # a ratio of sums of g . (x0 - x), where x0 - x cancels: the reference's
                    # own float32 d is up to 1.5e-3 off its float64 d (prodigyopt, draws
                    # like these), so two float32 implementations that round one step
                    # differently part by up to ~1e-4 (9e-5 seen). The parameters are
                    # still compared at 1e-5 above.
                    got_d, want_d = inner[0], want_inner[0]
                    np.testing.assert_allclose(got_d, want_d, rtol=2e-4, err_msg=what + " d")
                    error = float(np.max(np.abs(got_d - want_d) / np.abs(want_d)))
                    record_parity(ref.name + " (d)", error)
                else:
                    error = assert_trajectories_close(inner, want_inner, label=what + " x")
                    record_parity(ref.name + " (eval x)", error)
            except AssertionError as e:
                failures.append(str(e))
    if failures:
        raise AssertionError("\n\n".join(failures))


def test_schedule_free_natives_against_the_authors(record_parity):
    _check(NATIVE_SF, record_parity)


def test_schedule_free_pytorch_optimizer_flavors(record_parity):
    _check(PO_SF, record_parity)


def test_prodigy_and_dadapt_natives(record_parity):
    _check(NATIVE_ADAPTIVE, record_parity)


def test_prodigy_and_dadapt_pytorch_optimizer_flavors(record_parity):
    _check(PO_ADAPTIVE, record_parity)


# The contract around the estimates and the evaluation point.


def _run(tx, params, steps=3, **extra):
    state = tx.init(params)
    for _ in range(steps):
        grads = jax.tree.map(lambda p: 2 * p + 0.1, params)
        updates, state = tx.update(grads, state, params, **extra)
        params = jaxsched.apply_updates(params, updates)
    return params, state


def test_eval_params_inside_partition_and_chain():
    params = {"a": jnp.array([1.0, -2.0]), "b": jnp.array([0.5])}
    sf = schedule_free_sgd(0.1, b1=0.8)
    y, state = _run(sf, params)
    x = schedule_free_eval_params(state, y)
    z = state.inner_state[-1].z
    np.testing.assert_allclose(x["a"], (y["a"] - 0.2 * z["a"]) / 0.8, rtol=1e-6)
    # Inside a partition: only the schedule-free group moves to x.
    tx = jaxsched.partition({"sf": sf, "plain": jaxsched.sgd(0.1)}, {"a": "sf", "b": "plain"})
    y2, state2 = _run(tx, params)
    x2 = schedule_free_eval_params(state2, y2)
    np.testing.assert_allclose(x2["a"], x["a"], rtol=1e-6)
    np.testing.assert_array_equal(x2["b"], y2["b"])
    # Inside a chain with clipping in front, and under jit.
    chained = optax.chain(optax.clip_by_global_norm(100.0), sf)
    y3, state3 = _run(chained, params)
    x3 = jax.jit(schedule_free_eval_params)(state3, y3)
    np.testing.assert_allclose(x3["a"], x["a"], rtol=1e-6)


def test_eval_params_refuses_a_state_without_schedule_free():
    params = jnp.ones(2)
    state = optax.chain(jaxsched.adam(0.1), jaxsched.sgd(0.1)).init(params)
    with pytest.raises(ValueError, match="no schedule-free optimizer state"):
        schedule_free_eval_params(state, params)
    sf_state = schedule_free_sgd().init(params)
    with pytest.raises(ValueError, match="params do not match"):
        schedule_free_eval_params(sf_state, {"w": params})


def test_estimated_step_size_reads_d_and_refuses_other_states():
    params = jnp.array([1.0, -1.0])
    for tx in (prodigy(d0=1e-3), dadapt_adam(d0=1e-3)):
        assert float(estimated_step_size(tx.init(params))) == pytest.approx(1e-3)
        _, state = _run(tx, params, steps=10)
        assert float(estimated_step_size(state)) > 1e-3
        assert "d" not in jaxsched.hyperparams(state)
    with pytest.raises(ValueError, match="found 0"):
        estimated_step_size(jaxsched.adam().init(params))
    both = jaxsched.partition({"p": prodigy(), "d": dadapt_adam()}, {"a": "p", "b": "d"})
    with pytest.raises(ValueError, match="found 2"):
        estimated_step_size(both.init({"a": params, "b": params}))


def test_hyperparameter_keys():
    params = jnp.ones(2)
    keys = {
        schedule_free_sgd(): ["b1", "learning_rate", "r", "weight_lr_power"],
        schedule_free_adamw(weight_decay=0.1, decoupling_c=2.0): [
            "b1",
            "b2",
            "decoupling_c",
            "eps",
            "learning_rate",
            "r",
            "weight_decay",
            "weight_lr_power",
        ],
        schedule_free_radam(): ["b1", "b2", "eps", "learning_rate", "r", "weight_lr_power"],
        prodigy(): ["b1", "b2", "d0", "d_coef", "eps", "learning_rate"],
        prodigy(b3=0.9, growth_rate=1.02, eps=None): [
            "b1",
            "b2",
            "b3",
            "d0",
            "d_coef",
            "growth_rate",
            "learning_rate",
        ],
        dadapt_adam(): ["b1", "b2", "eps", "learning_rate"],
        po.ScheduleFreeAdamW(weight_decay=0.0, decoupling_c=0): [
            "b1",
            "b2",
            "eps",
            "eps_root",
            "learning_rate",
            "r",
            "weight_lr_power",
        ],
        po.Prodigy(growth_rate=1.5): [
            "b1",
            "b2",
            "d0",
            "d_coef",
            "eps",
            "growth_rate",
            "learning_rate",
        ],
        po.DAdaptAdam(weight_decay=0.1): ["b1", "b2", "eps", "learning_rate", "weight_decay"],
    }
    for tx, expected in keys.items():
        assert sorted(jaxsched.hyperparams(tx.init(params))) == expected


def test_params_are_needed_only_where_read():
    g = jnp.ones(2)
    tx = dadapt_adam()
    tx.update(g, tx.init(g))  # no params: nothing reads them
    for tx, what in (
        (schedule_free_sgd(), "schedule_free"),
        (prodigy(), "prodigy"),
        (dadapt_adam(weight_decay=0.1), "weight_decay"),
    ):
        with pytest.raises(ValueError, match=what):
            tx.update(g, tx.init(g))


def _leaf_fusion_operands(tx, leaves: int) -> tuple[int, int]:
    """(largest operand count of a fusion with a leaf-shaped output, full-size copies)
    in the compiled, buffer-donating step over ``leaves`` leaves of 64 elements."""
    entry = donated_step_entry(tx, [jnp.full(64, 0.5 + i) for i in range(leaves)])
    fusions = [line for line in entry.splitlines() if "= f32[64]{0} fusion(" in line]
    operands = max(line.split(" fusion(", 1)[1].split(")")[0].count("%") for line in fusions)
    return operands, entry.count("= f32[64]{0} copy(")


@pytest.mark.parametrize(
    "make, copies",
    [(lambda: jaxsched.prodigy(1.0), 0), (lambda: jaxsched.dadapt_adam(1.0), 2)],
    ids=["prodigy", "dadapt_adam"],
)
def test_each_leaf_update_reads_the_global_sums_once(make, copies):
    """Each leaf's update reads the step's scalars, not every leaf's sum: XLA copies a
    cheap test on the sum (``s_l1 > 0``) into every leaf's loop, which made Prodigy's
    compile and step grow with the square of the number of leaves (10 s and 2.6x
    optax's step at 200 leaves). And Prodigy writes its moments without a full-size
    copy of each donated buffer; D-Adaptation's numerator reads the old ``s`` and
    ``nu``, which XLA copies (as it does for ``optax.contrib.dadapt_adamw``)."""
    tx = make()
    few, many = _leaf_fusion_operands(tx, 2), _leaf_fusion_operands(tx, 8)
    assert few[0] == many[0], (few, many)
    assert (few[1], many[1]) == (2 * copies, 8 * copies)


def test_prodigy_takes_no_step_with_a_zero_learning_rate():
    params = jnp.array([1.0, -1.0])
    tx = prodigy(learning_rate=0.0)
    state = tx.init(params)
    updates, new_state = tx.update(2 * params, state, params)
    np.testing.assert_array_equal(updates, 0.0)
    inner = next(n for n in jax.tree.leaves(new_state, is_leaf=_is_prodigy) if _is_prodigy(n))
    assert int(inner.count) == 0 and float(inner.d) == pytest.approx(1e-6)


@pytest.mark.parametrize(
    "options",
    [{"slice_p": 3}, {"betas": (0.0, 0.99)}, {"eps": 0.5}],
    ids=["slice_p", "b1_zero", "large_eps"],
)
def test_prodigy_against_prodigyopt_where_the_options_show(options):
    """The random draws cannot see some options: every third entry here has its own
    gradient scale, so the estimate from ``p[::3]`` differs from the whole parameter's;
    with b1 = 0 the step takes the new ``d`` (the moment holds the old one); eps = 0.5 is
    most of ``sqrt(v) + d eps`` for the small gradients."""
    n = 12
    scale = np.where(np.arange(n) % 3 == 0, 4.0, 0.05).astype(np.float32)
    start = np.linspace(-1.0, 1.0, n).astype(np.float32)
    kw = {"lr": 0.05, "d0": 1e-3, "betas": (0.9, 0.99)} | options
    weights = torch.tensor(start, requires_grad=True)
    reference = _quiet(prodigyopt.Prodigy)([weights], **kw)
    tx = prodigy(**_native_prodigy(_prodigyopt_kw(kw)))
    params = jnp.asarray(start)
    state = tx.init(params)
    step = jax.jit(tx.update)
    for t in range(25):
        grads = scale * np.sin(3.0 * np.asarray(params)) + 0.01 * (t % 4)
        weights.grad = torch.tensor(grads, dtype=torch.float32)
        reference.step()
        updates, state = step(jnp.asarray(grads, jnp.float32), state, params)
        params = params + updates
        want_d = reference.param_groups[0]["d"]
        assert float(estimated_step_size(state)) == pytest.approx(want_d, rel=1e-5), t
        np.testing.assert_allclose(params, weights.detach().numpy(), rtol=1e-5, atol=1e-7)


def _is_prodigy(node):
    return isinstance(node, jaxsched.transforms.ScaleByProdigyState)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: schedule_free_sgd(b1=1.0), ValueError, r"b1 must be a number in \(0, 1\)"),
        (lambda: schedule_free_sgd(warmup_steps=-1), ValueError, "warmup_steps"),
        (lambda: schedule_free_sgd(warmup_steps=2.5), ValueError, "warmup_steps"),
        (lambda: schedule_free_adamw(r=float("nan")), ValueError, "r must"),
        (lambda: schedule_free_adamw(decoupling_c=0.0), ValueError, "decoupling_c"),
        (lambda: schedule_free_radam(silent_sgd_phase=1), TypeError, "silent_sgd_phase"),
        (lambda: prodigy(growth_rate=0.5), ValueError, "growth_rate"),
        (lambda: prodigy(slice_p=0), ValueError, "slice_p"),
        (lambda: prodigy(d0=0.0), ValueError, "d0"),
        (lambda: prodigy(b3=1.5), ValueError, "b3"),
        (lambda: dadapt_adam(d0=lambda step: 1e-6), TypeError, "d0"),
        (lambda: dadapt_adam(eps="1e-8"), TypeError, "eps"),
        (lambda: po.ScheduleFreeSGD(momentum=0.0), ValueError, "momentum"),
        (lambda: po.ScheduleFreeAdamW(betas=(0.0, 0.9)), ValueError, r"betas\[0\]"),
        (lambda: po.ScheduleFreeRAdam(betas=(0.9, 1.0)), ValueError, r"betas\[1\]"),
        (lambda: po.ScheduleFreeAdamW(decoupling_c=-1), ValueError, "decoupling_c"),
        (lambda: po.Prodigy(beta3=2.0), ValueError, "beta3"),
        (lambda: po.Prodigy(growth_rate=float("nan")), ValueError, "growth_rate"),
        (lambda: po.DAdaptAdam(lr=-1.0), ValueError, "lr"),
        (lambda: po.DAdaptAdam(foreach="yes"), TypeError, "foreach"),
    ],
)
def test_bad_arguments_are_refused_at_construction(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: schedule_free_sgd(weight_decay=0.1),
        lambda: schedule_free_adamw(weight_decay=0.1, amsgrad=True),
        lambda: schedule_free_radam(silent_sgd_phase=False),
        lambda: prodigy(weight_decay=0.1, slice_p=2),
        lambda: dadapt_adam(weight_decay=0.1, decoupled=True),
    ],
)
def test_bfloat16_parameters_keep_their_dtype_in_a_scan(make):
    tx = make()
    params = {"w": jnp.linspace(-1, 1, 6, dtype=jnp.bfloat16).reshape(2, 3)}

    def body(carry, _):
        p, state = carry
        updates, state = tx.update(jax.tree.map(lambda x: 2 * x, p), state, p)
        return (jaxsched.apply_updates(p, updates), state), None

    (p, _), _ = jax.jit(lambda c: jax.lax.scan(body, c, length=3))((params, tx.init(params)))
    assert p["w"].dtype == jnp.bfloat16
    assert bool(jnp.all(jnp.isfinite(p["w"].astype(jnp.float32))))


def test_corrected_rms_adds_eps_root_under_the_root():
    """jaxsched's own ``eps_root`` (no reference has it): ``g / (sqrt(v_hat + eps_root)
    + eps)``; on the first step ``v_hat = g^2``, and a zero gradient gives 0."""
    g = jnp.array([0.0, 1e-3, -0.5, 2.0])
    tx = scale_by_corrected_rms(0.99, eps=1e-3, eps_root=1e-4)
    u, _ = tx.update(g, tx.init(g))
    want = np.asarray(g, np.float64) / (np.sqrt(np.asarray(g, np.float64) ** 2 + 1e-4) + 1e-3)
    np.testing.assert_allclose(u, want, rtol=1e-6)


@pytest.mark.parametrize("b2", [0.5, 0.8, 0.9, 0.92, 0.95, 0.99, 0.999, 0.9999])
def test_radam_rho_series_against_float64(b2):
    """RAdam's rho_t in float32, from series where the direct formula cancels (a = 1 - b2
    below 0.1, t (1 - b2) below 0.1) and directly elsewhere: within 1e-5 of the float64
    ``rho_inf - 2 t b2^t / (1 - b2^t)`` for t up to 3000, on both sides of both switches."""
    from jaxsched.transforms._schedule_free import _rho

    t = np.arange(1, 3001, dtype=np.float64)
    b = float(np.float32(b2))
    rho_inf, rho = jax.jit(_rho)(jnp.float32(b2), jnp.asarray(t, jnp.float32))
    want = (2 / (1 - b) - 1) - 2 * t * b**t / (1 - b**t)
    np.testing.assert_allclose(float(rho_inf), 2 / (1 - b) - 1, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(rho), want, rtol=1e-5, atol=1e-6)
