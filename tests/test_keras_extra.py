"""Keras 3.15's newer optimizers and common arguments against the real Keras (JAX backend).

Adafactor, Lamb, Muon and ScheduleFreeAdamW run three plans: no option, every option of
their own, then those and all of Keras's common arguments (``weight_decay``, a rotating
clip, ``use_ema`` with ``ema_overwrite_frequency``, ``gradient_accumulation_steps``,
``loss_scale_factor`` and the legacy ``decay``). The classic flavors run the new common
arguments one at a time (rotating), one of them all together. LossScaleOptimizer runs
with forced non-finite gradients (the step skipped, the scale halved) and growth, once
around an optimizer with accumulation and EMA; MultiOptimizer with an OptimizerMap and
with a function. Hyperparameters are drawn afresh every run (``JAXSCHED_SEED`` replays
one). Every case runs in one compiled program per library, Keras as ``model.fit`` runs it
(``stateless_apply`` under ``jit``), with the gradients of the loss times the scale each
optimizer asks for (``jaxsched.keras.scale_loss``); the moving averages of ``use_ema``
(``jaxsched.ema_params``) and the loss scales are compared at the end too.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest
from parity import (
    KERAS_CLIPS,
    SEED,
    STEPS,
    Problem,
    assert_trajectories_close,
    gradient,
    keras_reference,
    log_uniform,
    note,
    rng,
    uniform,
)

import jaxsched
from jaxsched.keras import LossScaleState

NAMES = ("bias", "kernel", "conv")
SHAPES = ((5,), (3, 4), (2, 3, 2))
# Muon's variables: 2-D ones wide and tall, an embedding, an output head, and others.
MUON_NAMES = ("bias", "dense_kernel", "tall_kernel", "token_embedding", "output_head", "conv")
MUON_SHAPES = ((5,), (3, 4), (5, 3), (4, 3), (3, 2), (2, 3, 2))


@dataclass
class Case:
    """One trajectory: a Keras optimizer and its jaxsched flavor on the same problem.

    ``scale``: None, a constant loss scale, or "dynamic" (LossScaleOptimizer's, read
    from each side's state). ``bad``: the steps whose gradients get a NaN or inf.
    """

    label: str
    names: tuple[str, ...]
    problem: Problem
    keras_opt: Any
    tx: optax.GradientTransformation
    scale: float | str | None = None
    bad: np.ndarray = field(default_factory=lambda: np.zeros(STEPS, bool))
    ema: bool = False


def _poison(grads, bad_t, t):
    """The gradients of a step marked bad get a NaN (odd steps) or an inf (even steps)."""
    value = jnp.where(t % 2 == 1, jnp.nan, jnp.inf)
    first = grads[0].reshape(-1)
    return [jnp.where(bad_t, first.at[0].set(value), first).reshape(grads[0].shape), *grads[1:]]


def _inputs(case: Case):
    p = case.problem
    return (
        [jnp.asarray(x) for x in p.params],
        [jnp.asarray(c) for c in p.curvature],
        [jnp.asarray(n) for n in p.noise],
        jnp.asarray(case.bad),
        jnp.arange(STEPS),
    )


def _keras_index(optimizer, variable) -> int:
    return next(i for i, v in enumerate(optimizer.variables) if v is variable)


def _keras_averages(optimizer) -> list[int] | None:
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if not getattr(inner, "use_ema", False):
        return None
    return [_keras_index(optimizer, v) for v in inner._model_variables_moving_average]


def lower_keras(cases: list[Case]):
    """Every case's Keras optimizer in one program, lowered, and its inputs.

    The program gives (trajectory, final variables) per case.
    """
    starts = []
    for case in cases:
        variables = [keras.Variable(x, name=n) for n, x in zip(case.names, case.problem.params)]
        case.keras_opt.build(variables)
        starts.append((_inputs(case), [v.value for v in case.keras_opt.variables]))

    def run(case, inputs, opt_vars):
        params, curvature, noise, bad, steps = inputs
        optimizer = case.keras_opt
        dynamic = case.scale == "dynamic"
        at = _keras_index(optimizer, optimizer.dynamic_scale) if dynamic else None

        def body(carry, xs):
            p, v = carry
            noise_t, bad_t, t = xs
            scale = v[at] if dynamic else case.scale or 1.0
            grads = [g * scale for g in gradient(p, curvature, noise_t)]
            p, v = optimizer.stateless_apply(v, _poison(grads, bad_t, t), p)
            return (p, v), p

        (_, final), traj = jax.lax.scan(body, (params, opt_vars), (noise, bad, steps))
        return traj, final

    return _lower(run, cases, starts)


def lower_jaxsched(cases: list[Case]):
    """Every case's jaxsched transformation in one program, lowered, and its inputs.

    The program gives (trajectory, final state) per case.
    """

    def run(case, inputs, state):
        params, curvature, noise, bad, steps = inputs

        def body(carry, xs):
            p, s = carry
            noise_t, bad_t, t = xs
            leaves = [p[n] for n in case.names]
            scale = jaxsched.keras.scale_loss(s, 1.0)
            grads = [g * scale for g in gradient(leaves, curvature, noise_t)]
            grads = dict(zip(case.names, _poison(grads, bad_t, t)))
            u, s = case.tx.update(grads, s, p)
            p = optax.apply_updates(p, u)
            return (p, s), [p[n] for n in case.names]

        (_, final), traj = jax.lax.scan(body, (params, state), (noise, bad, steps))
        return traj, final

    starts = []
    for case in cases:
        inputs = _inputs(case)
        params = dict(zip(case.names, inputs[0]))
        starts.append(((params, *inputs[1:]), case.tx.init(params)))
    return _lower(run, cases, starts)


def _lower(run, cases, starts):
    program = jax.jit(lambda s: [run(c, *x) for c, x in zip(cases, s, strict=True)])
    return program.lower(starts), starts


def _compile_and_run(*programs):
    """Compiles the lowered programs side by side (XLA releases the GIL), then runs them."""
    with ThreadPoolExecutor(len(programs)) as pool:
        compiled = list(pool.map(lambda program: program[0].compile(), programs))
    return [
        [([np.asarray(x) for x in traj], final) for traj, final in run(starts)]
        for run, (_, starts) in zip(compiled, programs)
    ]


def check_cases(cases: list[Case], record_parity) -> None:
    """Runs both sides and compares trajectories, EMA averages and loss scales."""
    want, got = _compile_and_run(lower_keras(cases), lower_jaxsched(cases))
    failures = []
    for case, (w_traj, w_vars), (g_traj, g_state) in zip(cases, want, got, strict=True):
        try:
            error = assert_trajectories_close(g_traj, w_traj, label=case.label)
            averages = _keras_averages(case.keras_opt)
            assert case.ema == (averages is not None), case.label
            if averages is not None:
                ema = jaxsched.ema_params(g_state)
                ema = [np.asarray(ema[n])[None] for n in case.names]
                want_ema = [np.asarray(w_vars[i])[None] for i in averages]
                error = max(error, assert_trajectories_close(ema, want_ema, label=case.label))
            if case.scale == "dynamic":
                i = _keras_index(case.keras_opt, case.keras_opt.dynamic_scale)
                assert float(g_state.scale) == float(w_vars[i]), case.label
                assert not bool(g_state.underflow), case.label
            record_parity(case.label.split()[0], error)
        except AssertionError as e:
            failures.append(str(e))
    if failures:
        raise AssertionError("\n\n".join(failures))


# ---- draws ------------------------------------------------------------------------------


def _betas(r, prefix=""):
    return {f"{prefix}beta_1": uniform(r, 0.5, 0.95), f"{prefix}beta_2": uniform(r, 0.9, 0.999)}


def _eps(r, i):
    return log_uniform(r, 1e-2, 1e-1) if i % 2 else log_uniform(r, 1e-8, 1e-5)


def common_together(r, k: int) -> dict:
    """Keras's common arguments all at once (one clip, rotating with ``k`` and the seed)."""
    clip = KERAS_CLIPS[(k + SEED) % len(KERAS_CLIPS)]
    bounds = {"clipnorm": (0.3, 1.5), "clipvalue": (0.2, 0.8), "global_clipnorm": (0.5, 3.0)}
    return {
        "weight_decay": uniform(r, 0.01, 0.2),
        clip: uniform(r, *bounds[clip]),
        "use_ema": True,
        "ema_momentum": uniform(r, 0.5, 0.95),
        "ema_overwrite_frequency": int(r.integers(2, 8)),
        "gradient_accumulation_steps": int(r.integers(2, 4)),
        "loss_scale_factor": 2.0 ** int(r.integers(-3, 10)),
        "decay": log_uniform(r, 1e-3, 5e-2),
    }


# The new common arguments one at a time (and EMA with and without overwriting).
COMMON_ALONE: dict[str, Callable] = {
    "use_ema": lambda r: {"use_ema": True, "ema_momentum": uniform(r, 0.5, 0.99)},
    "ema_overwrite": lambda r: {
        "use_ema": True,
        "ema_momentum": uniform(r, 0.5, 0.95),
        "ema_overwrite_frequency": int(r.integers(1, 6)),
    },
    "gradient_accumulation_steps": lambda r: {"gradient_accumulation_steps": int(r.integers(2, 5))},
    "loss_scale_factor": lambda r: {"loss_scale_factor": log_uniform(r, 1e-2, 1e4)},
}

NEW_FLAVORS: dict[str, tuple[Callable, dict[str, Callable]]] = {
    "Adafactor": (
        lambda r, i: {"learning_rate": uniform(r, 1e-2, 0.2)},
        {
            "beta_2_decay": lambda r: {"beta_2_decay": uniform(r, -1.0, -0.3)},
            "epsilons": lambda r: {
                "epsilon_1": log_uniform(r, 1e-3, 1e-1),
                "epsilon_2": log_uniform(r, 0.5, 2.0),
            },
            "clip_threshold": lambda r: {"clip_threshold": uniform(r, 0.2, 0.8)},
            "relative_step": lambda r: {"relative_step": False},
        },
    ),
    "Lamb": (
        lambda r, i: {"learning_rate": uniform(r, 2e-3, 2e-2), "epsilon": _eps(r, i)} | _betas(r),
        {},
    ),
    # Muon's steps have a fixed size, so near the optimum its trajectory is chaotic: from
    # a learning rate of about 0.03 the 1-ulp differences of the weight decay (two
    # roundings in Keras, one in an additive update) grow past 1e-5 within 100 steps.
    "Muon": (
        lambda r, i: (
            {
                "learning_rate": uniform(r, 1e-3, 1e-2),
                "epsilon": _eps(r, i),
                "momentum": uniform(r, 0.5, 0.97),
                "adam_weight_decay": uniform(r, 0.0, 0.1),
                "weight_decay": uniform(r, 0.0, 0.1),
            }
            | _betas(r, "adam_")
        ),
        {
            "exclude_layers": lambda r: {"exclude_layers": ["head", "^tall"]},
            "exclude_embeddings": lambda r: {"exclude_embeddings": False},
            "nesterov": lambda r: {"nesterov": False},
            "rms_rate": lambda r: {"rms_rate": None if r.integers(2) else uniform(r, 0.05, 0.5)},
            "adam_lr_ratio": lambda r: {"adam_lr_ratio": uniform(r, 0.1, 2.0)},
            "ns_steps": lambda r: {"ns_steps": int(r.integers(1, 7))},
        },
    ),
    "ScheduleFreeAdamW": (
        lambda r, i: {"learning_rate": uniform(r, 2e-3, 3e-2), "epsilon": _eps(r, i)} | _betas(r),
        {"warmup_steps": lambda r: {"warmup_steps": int(r.integers(1, 20))}},
    ),
}

CLASSIC: dict[str, Callable] = {
    "SGD": lambda r: {
        "learning_rate": uniform(r, 1e-2, 0.1),
        "momentum": uniform(r, 0.3, 0.9),
        "nesterov": bool(r.integers(2)),
    },
    "Adam": lambda r: {"learning_rate": uniform(r, 2e-3, 3e-2), "amsgrad": True} | _betas(r),
    "RMSprop": lambda r: {
        "learning_rate": uniform(r, 1e-3, 2e-2),
        "rho": uniform(r, 0.8, 0.99),
        "momentum": uniform(r, 0.3, 0.9),
    },
    "Ftrl": lambda r: {
        "learning_rate": uniform(r, 0.05, 0.5),
        "l1_regularization_strength": uniform(r, 0.01, 0.2),
    },
    "Nadam": lambda r: {"learning_rate": uniform(r, 2e-3, 3e-2)} | _betas(r),
}


def _flavor_case(name: str, kw: dict, label: str, r_problem, muon: bool = False) -> Case:
    names, shapes = (MUON_NAMES, MUON_SHAPES) if muon else (NAMES, SHAPES)
    note(label, kw)
    return Case(
        f"keras.{name} {label} {kw}",
        names,
        Problem(r_problem, shapes, STEPS),
        keras_reference(name, kw),
        getattr(jaxsched.keras, name)(**kw),
        scale=kw.get("loss_scale_factor"),
        ema=kw.get("use_ema", False),
    )


def flavor_cases() -> list[Case]:
    """The new flavors: no option, all their own options, then those and every common
    argument. The classic ones: each a new common argument alone (they rotate with the
    seed; five flavors cover the four), and one of them everything together."""
    cases = []
    for k, (name, (base, options)) in enumerate(NEW_FLAVORS.items()):
        plans = list(dict.fromkeys([(), tuple(options), (*options, "common")]))
        for i, plan in enumerate(plans):
            r = rng("keras-extra", name, i)
            kw = base(r, i)
            for option in plan:
                kw |= common_together(r, k) if option == "common" else options[option](r)
            problem = rng("keras-extra", name, i, "p")
            cases.append(_flavor_case(name, kw, f"plan {plan}", problem, muon=name == "Muon"))
    alone = list(COMMON_ALONE)
    together = SEED % len(CLASSIC)
    for k, (name, draw) in enumerate(CLASSIC.items()):
        option = alone[(k + SEED) % len(alone)]
        extras = [(option, COMMON_ALONE[option])]
        if k == together:
            extras.append(("together", lambda r, k=k: common_together(r, k)))
        for i, (label, extra) in enumerate(extras):
            r = rng("keras-extra", name, i)
            kw = draw(r) | extra(r)
            cases.append(_flavor_case(name, kw, label, rng("keras-extra", name, i, "p")))
    return cases


def loss_scale_cases() -> list[Case]:
    cases = []
    for i, (inner, extra) in enumerate(
        [("Adam", {}), ("SGD", {"gradient_accumulation_steps": 2, "use_ema": True})]
    ):
        r = rng("keras-extra", "LossScaleOptimizer", i)
        inner_kw = CLASSIC[inner](r) | extra
        if extra.get("use_ema"):
            inner_kw["ema_overwrite_frequency"] = int(r.integers(2, 6))
        kw = {
            "initial_scale": 2.0 ** int(r.integers(0, 12)),
            "dynamic_growth_steps": int(r.integers(2, 12)),
        }
        bad = r.random(STEPS) < 0.15
        bad[int(r.integers(0, STEPS - 3)) :][:3] = True  # three in a row
        note(f"LossScaleOptimizer {i}", (inner, inner_kw, kw, np.flatnonzero(bad)))
        cases.append(
            Case(
                f"keras.LossScaleOptimizer {i} {inner} {inner_kw} {kw}",
                NAMES,
                Problem(rng("keras-extra", "LossScaleOptimizer", i, "p"), SHAPES, STEPS),
                keras.optimizers.LossScaleOptimizer(keras_reference(inner, inner_kw), **kw),
                jaxsched.keras.LossScaleOptimizer(getattr(jaxsched.keras, inner)(**inner_kw), **kw),
                scale="dynamic",
                bad=bad,
                ema=bool(extra.get("use_ema")),
            )
        )
    return cases


def multi_cases() -> list[Case]:
    r = rng("keras-extra", "MultiOptimizer")
    adam_kw = CLASSIC["Adam"](r)
    sgd_kw = CLASSIC["SGD"](r) | {"use_ema": True, "ema_overwrite_frequency": 3}
    rms_kw = CLASSIC["RMSprop"](r) | {"gradient_accumulation_steps": 2}
    factor = 2.0 ** int(r.integers(-3, 10))
    note("MultiOptimizer", (adam_kw, sgd_kw, rms_kw, factor))

    def both(name, kw):
        return keras_reference(name, kw), getattr(jaxsched.keras, name)(**kw)

    (k_adam, j_adam), (k_sgd, j_sgd), (k_rms, j_rms) = (
        both("Adam", adam_kw),
        both("SGD", sgd_kw),
        both("RMSprop", rms_kw),
    )
    mapped = keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(k_adam, {"kernel": k_sgd, "c.*": k_rms}),
        loss_scale_factor=factor,
    )
    ours = jaxsched.keras.MultiOptimizer(
        jaxsched.keras.OptimizerMap(j_adam, {"kernel": j_sgd, "c.*": j_rms}),
        loss_scale_factor=factor,
    )
    # A function of the path, returning a new optimizer at each call in jaxsched.
    k_lion, k_nadam = keras.optimizers.Lion(1e-3), keras.optimizers.Nadam(1e-2)
    by_function = keras.optimizers.MultiOptimizer(lambda v: k_lion if v.path == "bias" else k_nadam)
    ours_by_function = jaxsched.keras.MultiOptimizer(
        lambda path: jaxsched.keras.Lion(1e-3) if path == "bias" else jaxsched.keras.Nadam(1e-2)
    )
    problem = Problem(rng("keras-extra", "MultiOptimizer", "p"), SHAPES, STEPS)
    return [
        Case("keras.MultiOptimizer map", NAMES, problem, mapped, ours, scale=factor),
        Case("keras.MultiOptimizer function", NAMES, problem, by_function, ours_by_function),
    ]


def test_keras_extra_trajectories(record_parity):
    """All cases in one compiled program per library (compiling dominates the time)."""
    cases = flavor_cases() + loss_scale_cases() + multi_cases()
    assert any(c.ema and "ema_overwrite_frequency" in c.label for c in cases)
    check_cases(cases, record_parity)


# ---- behaviour and errors, without Keras -------------------------------------------------


def test_ema_params_errors_and_partial_averages():
    params = {"a": jnp.ones(2), "b": jnp.ones(2)}
    with pytest.raises(ValueError, match="no moving average of the parameters; build"):
        jaxsched.ema_params(jaxsched.keras.Adam().init(params))
    averaged = {"a": jaxsched.keras.SGD(1.0, use_ema=True)}
    tx = jaxsched.keras.MultiOptimizer(
        jaxsched.keras.OptimizerMap(jaxsched.keras.SGD(1.0), averaged)
    )
    _, state = tx.update(params, tx.init(params), params)
    with pytest.raises(ValueError, match="pass params"):
        jaxsched.ema_params(state)
    ema = jaxsched.ema_params(state, params)
    np.testing.assert_allclose(ema["a"], 0.0)  # the first average is the moved parameter
    np.testing.assert_allclose(ema["b"], 1.0)  # no average: the parameter given


def test_common_argument_state_keys_and_checks():
    params = [np.zeros(3, np.float32)]
    tx = jaxsched.keras.Adam(use_ema=True, ema_momentum=0.9, loss_scale_factor=8.0)
    hp = jaxsched.hyperparams(tx.init(params))
    assert sorted(hp) == ["b1", "b2", "ema_momentum", "eps", "learning_rate", "loss_scale_factor"]
    assert float(jaxsched.keras.scale_loss(tx.init(params), 2.0)) == 16.0
    with pytest.raises(ValueError, match="use_ema reads the parameters"):
        tx.update(params, tx.init(params))
    bad = [
        ({"gradient_accumulation_steps": 1}, ValueError, "gradient_accumulation_steps must be"),
        ({"ema_overwrite_frequency": 0}, ValueError, "ema_overwrite_frequency must be"),
        ({"ema_momentum": 1.5}, ValueError, "ema_momentum must be a number in \\[0, 1\\]"),
        ({"loss_scale_factor": 0.0}, ValueError, "loss_scale_factor must be a number in \\(0"),
        ({"loss_scale_factor": lambda step: 2.0}, TypeError, "loss_scale_factor must be"),
        ({"use_ema": 1}, TypeError, "use_ema must be True or False"),
    ]
    for kw, error, message in bad:
        with pytest.raises(error, match=message):
            jaxsched.keras.SGD(**kw)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        keras.optimizers.SGD(gradient_accumulation_steps=1)


def test_learning_rate_of_no_arguments_and_callables_without_signature():
    """Keras calls a non-schedule ``learning_rate`` with no arguments: jaxsched calls it
    once, at construction (live Keras gives the same first step). A function of the
    step, or a callable whose signature cannot be read, is a schedule of the step."""
    params = [np.array([1.0, -2.0], np.float32)]
    grads = [np.array([0.5, 0.25], np.float32)]
    tx = jaxsched.keras.SGD(learning_rate=lambda: 0.1)
    assert float(jaxsched.hyperparams(tx.init(params))["learning_rate"]) == np.float32(0.1)
    updates, _ = tx.update(grads, tx.init(params), params)
    variable = keras.Variable(params[0])
    keras.optimizers.SGD(learning_rate=lambda: 0.1).apply([keras.ops.array(grads[0])], [variable])
    np.testing.assert_allclose(params[0] + updates[0], np.asarray(variable), rtol=1e-7)

    class Unreadable:  # inspect.signature fails on it: taken as a schedule
        __signature__ = "not a signature"

        def __call__(self, step):
            return 0.1 / (1.0 + step)

    scheduled = jaxsched.keras.SGD(learning_rate=Unreadable())
    state = scheduled.init(params)
    for expected in (0.1, 0.05, 0.1 / 3):
        updates, state = scheduled.update(grads, state, params)
        np.testing.assert_allclose(updates[0], -expected * grads[0], rtol=1e-6)
    with pytest.raises(TypeError, match=r"learning_rate must be .* got a callable that cannot"):
        jaxsched.keras.SGD(learning_rate=lambda step, extra: 0.1)


def test_legacy_decay_divides_a_schedule():
    """Keras 2's ``decay`` on a schedule: ``lr(t) / (1 + decay * t)``, t the 0-based step
    (Keras 3 ignores ``decay``; the schedule itself is Keras's)."""
    params = [np.array([1.0, -2.0], np.float32)]
    grads = [np.array([0.5, 0.25], np.float32)]
    decay = 0.2
    reference = keras.optimizers.schedules.ExponentialDecay(0.1, 3, 0.5)
    schedule = jaxsched.keras.schedules.ExponentialDecay(0.1, 3, 0.5)
    tx = jaxsched.keras.SGD(learning_rate=schedule, decay=decay)
    state = tx.init(params)
    for t in range(6):
        updates, state = tx.update(grads, state, params)
        expected = float(reference(t)) / (1 + decay * t)
        np.testing.assert_allclose(updates[0], -expected * grads[0], rtol=1e-6)


def test_accumulation_updates_every_n_calls_and_keeps_the_step_count():
    tx = jaxsched.keras.Adam(optax.constant_schedule(0.1), gradient_accumulation_steps=3)
    params = jnp.zeros(1)
    state = tx.init(params)
    outs = []
    for g in (1.0, 2.0, 6.0, 1.0):
        u, state = tx.update(jnp.array([g]), state, params)
        outs.append(float(u[0]))
    assert outs[:2] == [0.0, 0.0] and outs[3] == 0.0
    np.testing.assert_allclose(outs[2], -0.1, rtol=1e-5)  # Adam's first step: lr * sign
    assert int(state.count) == 4  # schedules see every call, as Keras's iterations


def test_loss_scale_optimizer_underflow_flag_and_refusals():
    tx = jaxsched.keras.LossScaleOptimizer(jaxsched.keras.SGD(0.1), initial_scale=2.0**-124)
    state = tx.init(jnp.zeros(1))
    for _ in range(2):
        _, state = tx.update(jnp.array([jnp.nan]), state)
        assert not bool(state.underflow)
    _, state = tx.update(jnp.array([jnp.nan]), state)
    assert bool(state.underflow) and float(state.scale) < 2.0**-126
    with pytest.raises(ValueError, match="ignores: build the inner optimizer without it"):
        jaxsched.keras.LossScaleOptimizer(jaxsched.keras.SGD(loss_scale_factor=2.0)).init(
            jnp.zeros(1)
        )
    lso = jaxsched.keras.LossScaleOptimizer(jaxsched.keras.SGD())
    multi = jaxsched.keras.MultiOptimizer(jaxsched.keras.OptimizerMap(lso))
    with pytest.raises(ValueError, match="LossScaleOptimizer cannot be used inside"):
        multi.init(jnp.zeros(1))
    multi = jaxsched.keras.MultiOptimizer(
        jaxsched.keras.OptimizerMap(jaxsched.keras.SGD(loss_scale_factor=2.0))
    )
    with pytest.raises(ValueError, match="set loss_scale_factor on the MultiOptimizer"):
        multi.init(jnp.zeros(1))
    assert isinstance(tx.init(jnp.zeros(1)), LossScaleState)


def test_optimizer_map_lookup_and_errors():
    sgd, adam = jaxsched.keras.SGD(), jaxsched.keras.Adam()
    m = jaxsched.keras.OptimizerMap(adam, {"enc/.*": sgd, "enc/dense": adam})
    assert m["enc/dense"] is adam and m["enc/attn"] is sgd and m["dec"] is adam
    with pytest.raises(ValueError, match="already in the OptimizerMap"):
        m["enc/.*"] = adam
    with pytest.raises(TypeError, match="optimizer_map\\['x'\\] must be a gradient"):
        m["x"] = "adam"
    m["e.*"] = sgd
    with pytest.raises(ValueError, match="several optimizers are assigned to 'enc/attn'"):
        m["enc/attn"]
    with pytest.raises(TypeError, match="optimizer_map must be an OptimizerMap or a function"):
        jaxsched.keras.MultiOptimizer({"a": sgd})
    with pytest.raises(ValueError, match="exclude_layers has an invalid regular expression"):
        jaxsched.keras.Muon(exclude_layers=["("])
