"""SGD, Adam and AdamW against the real torch.optim and keras.optimizers."""

import keras
import numpy as np
import pytest
import torch
from parity import (
    Problem,
    assert_trajectories_close,
    jaxsched_trajectory,
    keras_trajectory,
    torch_trajectory,
)

import jaxsched

DRAWS = range(4)


def _rng(name, draw):
    return np.random.default_rng([draw, *name.encode()])


def _torch_sgd_kwargs(rng):
    kw = dict(
        lr=float(rng.uniform(1e-3, 0.1)), weight_decay=float(rng.choice([0.0, rng.uniform(0, 0.1)]))
    )
    kw["maximize"] = bool(rng.random() < 0.3)
    if rng.random() < 0.8:
        kw["momentum"] = float(rng.uniform(0.1, 0.95))
        if rng.random() < 0.5:
            kw["nesterov"] = True
        else:
            kw["dampening"] = float(rng.uniform(0, 0.9))
    return kw


@pytest.mark.parametrize("draw", DRAWS)
def test_torch_sgd(draw, record_parity):
    kw = _torch_sgd_kwargs(_rng("sgd", draw))
    problem = Problem(draw)
    want = torch_trajectory(problem, lambda p: torch.optim.SGD(p, **kw))
    got, _ = jaxsched_trajectory(problem, jaxsched.torch.SGD(**kw))
    record_parity("torch.SGD", assert_trajectories_close(got, want))


@pytest.mark.parametrize("draw", DRAWS)
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_torch_adam(name, draw, record_parity):
    rng = _rng(name, draw)
    kw = dict(
        lr=float(rng.uniform(1e-3, 3e-2)),
        betas=(float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.9, 0.9999))),
        eps=float(10 ** rng.uniform(-8, -2)),
        weight_decay=float(rng.uniform(0, 0.2)),
        amsgrad=bool(rng.random() < 0.5),
        maximize=bool(rng.random() < 0.3),
    )
    if name == "Adam" and rng.random() < 0.5:
        kw["decoupled_weight_decay"] = True
    problem = Problem(100 + draw)
    want = torch_trajectory(problem, lambda p: getattr(torch.optim, name)(p, **kw))
    got, _ = jaxsched_trajectory(problem, getattr(jaxsched.torch, name)(**kw))
    record_parity(f"torch.{name}", assert_trajectories_close(got, want))


def test_torch_sgd_with_step_lr_schedule(record_parity):
    """A schedule as lr: update k uses schedule(k), as torch with scheduler.step() per update."""
    problem = Problem(7)
    want = torch_trajectory(
        problem,
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.5),
    )
    schedule = jaxsched.torch.lr_scheduler.StepLR(0.05, step_size=30, gamma=0.5)
    got, state = jaxsched_trajectory(problem, jaxsched.torch.SGD(lr=schedule, momentum=0.9))
    record_parity("torch.SGD+StepLR", assert_trajectories_close(got, want))
    assert float(jaxsched.hyperparams(state)["learning_rate"]) == pytest.approx(0.05 * 0.5**3)


@pytest.mark.parametrize("draw", DRAWS)
def test_keras_sgd(draw, record_parity):
    rng = _rng("ksgd", draw)
    kw = dict(
        learning_rate=float(rng.uniform(1e-3, 0.1)),
        momentum=float(rng.choice([0.0, rng.uniform(0.1, 0.95)])),
        nesterov=bool(rng.random() < 0.5),
        weight_decay=float(rng.uniform(0, 0.2)) if rng.random() < 0.7 else None,
    )
    problem = Problem(200 + draw)
    want = keras_trajectory(problem, keras.optimizers.SGD(**kw))
    got, _ = jaxsched_trajectory(problem, jaxsched.keras.SGD(**kw))
    record_parity("keras.SGD", assert_trajectories_close(got, want))


@pytest.mark.parametrize("draw", DRAWS)
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_keras_adam(name, draw, record_parity):
    rng = _rng("k" + name, draw)
    kw = dict(
        learning_rate=float(rng.uniform(1e-3, 3e-2)),
        beta_1=float(rng.uniform(0.5, 0.95)),
        beta_2=float(rng.uniform(0.9, 0.9999)),
        epsilon=float(10 ** rng.uniform(-7, -2)),
        amsgrad=bool(rng.random() < 0.5),
        weight_decay=float(rng.uniform(0, 0.2)),
    )
    problem = Problem(300 + draw)
    want = keras_trajectory(problem, getattr(keras.optimizers, name)(**kw))
    got, _ = jaxsched_trajectory(problem, getattr(jaxsched.keras, name)(**kw))
    record_parity(f"keras.{name}", assert_trajectories_close(got, want))


def test_keras_sgd_momentum_with_schedule(record_parity):
    """Keras keeps -lr*g in the momentum buffer, so a changing lr acts unlike torch's SGD."""
    problem = Problem(9)
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
    problem = Problem(11)
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
