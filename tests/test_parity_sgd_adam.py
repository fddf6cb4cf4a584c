"""torch.optim SGD, Adam and AdamW against the real torch, and schedules driving them.

The plans of :func:`parity.option_plans` turn every option on alone and together, with
hyperparameters drawn afresh every run (``JAXSCHED_SEED`` replays a run) and torch's
code paths (for-loop, foreach, fused, differentiable) in turn. Keras's SGD, Adam and
AdamW are in test_parity_keras_optim with the other Keras optimizers.
"""

import jax
import keras
import numpy as np
import optax
import pytest
import torch
from parity import (
    Flavor,
    Problem,
    assert_trajectories_close,
    check_torch_flavor,
    eps_draw,
    jaxsched_trajectories,
    jaxsched_trajectory,
    keras_trajectory,
    log_uniform,
    note,
    rng,
    torch_trajectory,
    uniform,
)

import jaxsched

WEIGHT_DECAY = {"weight_decay": lambda r: {"weight_decay": uniform(r, 0.01, 0.2)}}
MAXIMIZE = {"maximize": lambda r: {"maximize": True}}
AMSGRAD = {"amsgrad": lambda r: {"amsgrad": True}}


def _adam_base(r, i):
    return dict(
        lr=uniform(r, 1e-3, 3e-2),
        betas=(uniform(r, 0.5, 0.95), uniform(r, 0.9, 0.9999)),
        eps=eps_draw(r, i),
    )


FLAVORS = {
    "SGD": Flavor(
        lambda r, i: dict(lr=uniform(r, 1e-2, 0.1)),
        WEIGHT_DECAY
        | {
            "momentum": lambda r: {"momentum": uniform(r, 0.1, 0.95)},
            # Large enough that damping torch's first step (which copies the gradient
            # into the buffer undamped) would show.
            "dampening": lambda r: {"dampening": uniform(r, 0.2, 0.9)},
            "nesterov": lambda r: {"nesterov": True},
        }
        | MAXIMIZE,
        requires={"dampening": ("momentum",), "nesterov": ("momentum",)},
        exclusive=(("dampening", "nesterov"),),
    ),
    "Adam": Flavor(
        _adam_base,
        WEIGHT_DECAY
        | AMSGRAD
        | {"decoupled_weight_decay": lambda r: {"decoupled_weight_decay": True}}
        | MAXIMIZE,
        requires={"decoupled_weight_decay": ("weight_decay",)},
    ),
    "AdamW": Flavor(
        lambda r, i: _adam_base(r, i) | {"weight_decay": uniform(r, 0.01, 0.2)},
        AMSGRAD | MAXIMIZE | {"no_weight_decay": lambda r: {"weight_decay": 0.0}},
    ),
}


@pytest.mark.parametrize("name", FLAVORS)
def test_torch_optimizer_trajectories(name, record_parity):
    check_torch_flavor(name, FLAVORS[name], record_parity)


def test_sgd_plans():
    plans = FLAVORS["SGD"].plans()
    assert ("momentum", "dampening") in plans and ("momentum", "nesterov") in plans
    assert ("weight_decay", "momentum", "dampening", "maximize") in plans
    assert ("weight_decay", "momentum", "nesterov", "maximize") in plans


# Terms off by default, None rather than 0: the optimizer (given the term's value as a
# keyword when it is set), and the primitive the term adds to every leaf's loop. The
# key's first word is the term's name.
OFF_BY_NONE = {
    "dampening": (lambda lr, **term: jaxsched.sgd(lr, 0.9, **term), "mul"),
    "eps_root": (jaxsched.adam, "add"),
    "eps_root of AdEMAMix": (jaxsched.ademamix, "add"),
    "eps_root of schedule-free AdamW": (jaxsched.schedule_free_adamw, "add"),
    "lr_decay": (jaxsched.adagrad, "div"),
}


@pytest.mark.parametrize("term", OFF_BY_NONE)
def test_terms_off_by_none_are_zero_without_their_operation(term):
    """A term left as None gives the numbers of 0 bit for bit, keeps no entry in the
    state, and compiles no operation with it into each leaf's loop."""
    make, primitive = OFF_BY_NONE[term]
    name = term.split()[0]

    def zero(lr):
        return make(lr, **{name: 0.0})

    r = rng("off by none", term)
    lr = uniform(r, 1e-3, 0.1)
    note("draw", {"lr": lr})
    problem = Problem(rng("off by none", term, "p"))
    (none, *_), (zeros, *_) = jaxsched_trajectories([problem, problem], [make(lr), zero(lr)])
    for a, b in zip(none, zeros, strict=True):
        np.testing.assert_array_equal(a, b)
    params = {"a": np.full(3, 0.5, np.float32), "b": np.full(2, -0.5, np.float32)}
    assert name not in jaxsched.hyperparams(make(lr).init(params))
    assert name in jaxsched.hyperparams(zero(lr).init(params))

    def count(tx):
        state = tx.init(params)
        jaxpr = jax.make_jaxpr(lambda g, s: tx.update(g, s, params))(params, state)
        return sum(e.primitive.name == primitive for e in jaxpr.jaxpr.eqns)

    # One operation fewer per leaf (two leaves here).
    assert count(zero(lr)) - count(make(lr)) == len(params)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda value: jaxsched.torch.SGD(momentum=0.9, dampening=value), "dampening"),
        (lambda value: jaxsched.torch.Adagrad(lr_decay=value), "lr_decay"),
    ],
)
def test_torch_flavors_keep_no_zero_terms(make, name):
    params = {"a": np.zeros(3, np.float32)}
    assert name not in jaxsched.hyperparams(make(0.0).init(params))
    assert float(jaxsched.hyperparams(make(0.5).init(params))[name]) == 0.5


def test_native_adam_eps_root_against_optax(record_parity):
    """eps_root (inside the square root, optax's) is no torch or Keras argument: optax is
    its reference, with and without decoupled weight decay."""
    runs = []
    for i, decay in enumerate([None, "decoupled"]):
        r = rng("adam eps_root", i)
        kw = dict(
            learning_rate=uniform(r, 1e-3, 3e-2),
            b1=uniform(r, 0.5, 0.95),
            b2=uniform(r, 0.9, 0.999),
            eps=log_uniform(r, 1e-8, 1e-2),
            eps_root=log_uniform(r, 1e-3, 1e-1),
        )
        wd = uniform(r, 0.01, 0.2) if decay else None
        note(f"draw {i}", kw | {"weight_decay": wd})
        if decay:
            ours = jaxsched.adam(**kw, weight_decay=wd, decoupled=True)
            theirs = optax.adamw(**kw, weight_decay=wd)
        else:
            ours, theirs = jaxsched.adam(**kw), optax.adam(**kw)
        runs += [(Problem(rng("adam eps_root", i, "p")), ours), (None, theirs)]
    problems = [p or runs[k - 1][0] for k, (p, _) in enumerate(runs)]
    got = jaxsched_trajectories(problems, [tx for _, tx in runs])
    for k in range(0, len(got), 2):
        error = assert_trajectories_close(got[k][0], got[k + 1][0], label=f"draw {k // 2}")
        record_parity("adam(eps_root) vs optax", error)


def test_torch_sgd_with_step_lr_schedule(record_parity):
    """A schedule as lr: update k uses schedule(k), as torch with scheduler.step() per update."""
    problem = Problem(rng("SGD+StepLR"))
    want = torch_trajectory(
        problem,
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.5),
    )
    schedule = jaxsched.torch.lr_scheduler.StepLR(0.05, step_size=30, gamma=0.5)
    got, state = jaxsched_trajectory(problem, jaxsched.torch.SGD(lr=schedule, momentum=0.9))
    record_parity("torch.SGD+StepLR", assert_trajectories_close(got, want))
    assert float(jaxsched.hyperparams(state)["learning_rate"]) == pytest.approx(0.05 * 0.5**3)


def test_keras_sgd_momentum_with_schedule(record_parity):
    """Keras keeps -lr*g in the momentum buffer, so a changing lr acts unlike torch's SGD."""
    problem = Problem(rng("keras SGD+ExponentialDecay"))
    want = keras_trajectory(
        problem,
        keras.optimizers.SGD(
            keras.optimizers.schedules.ExponentialDecay(0.05, 10, 0.5), momentum=0.9
        ),
    )
    schedule = jaxsched.keras.schedules.ExponentialDecay(0.05, 10, 0.5)
    got, _ = jaxsched_trajectory(problem, jaxsched.keras.SGD(schedule, momentum=0.9))
    record_parity("keras.SGD+ExponentialDecay", assert_trajectories_close(got, want))
    torch_like, _ = jaxsched_trajectory(problem, jaxsched.torch.SGD(lr=schedule, momentum=0.9))
    assert np.max(np.abs(torch_like[0] - want[0])) > 1e-3


def test_keras_legacy_decay_argument():
    """Keras 2's decay=: lr_t = lr / (1 + decay * iterations), reported in the state."""
    tx = jaxsched.keras.SGD(0.1, decay=0.01)
    problem = Problem(3, steps=5)
    got, state = jaxsched_trajectory(problem, tx)
    p = problem.params
    for t in range(5):
        g = problem.grad(np, p, t)
        p = [x - 0.1 / (1 + 0.01 * t) * gx for x, gx in zip(p, g)]
    for leaf, want in zip(got, p):
        np.testing.assert_allclose(leaf[-1], want, rtol=1e-5, atol=1e-6)
    assert float(jaxsched.hyperparams(state)["learning_rate"]) == pytest.approx(0.1 / 1.04)


def test_torch_one_cycle_cycles_lr_and_momentum(record_parity):
    """Schedules on two hyperparameters at once: OneCycleLR drives lr and momentum."""
    problem = Problem(rng("SGD+OneCycleLR"))
    kw = dict(max_lr=0.1, total_steps=problem.steps, pct_start=0.25, three_phase=True)
    want = torch_trajectory(
        problem,
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, **kw),
    )
    sched = jaxsched.torch.lr_scheduler
    tx = jaxsched.torch.SGD(lr=sched.OneCycleLR(**kw), momentum=sched.OneCycleMomentum(**kw))
    got, state = jaxsched_trajectory(problem, tx)
    record_parity("torch.SGD+OneCycleLR", assert_trajectories_close(got, want))
    last = problem.steps - 1
    assert float(jaxsched.hyperparams(state)["momentum"]) == pytest.approx(
        float(sched.OneCycleMomentum(**kw)(last))
    )
