"""jaxsched.torch.lr_scheduler against the real torch.optim.lr_scheduler, run side by side.

Value k of a jaxsched schedule must be the learning rate (and momentum) torch's optimizer
uses for its k-th step when the scheduler steps once after each optimizer step.
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from live_refs import xla_inexact_divisors

from jaxsched.torch import lr_scheduler as ls

STEPS = 1000
DRAWS = range(4)
ABS_DIFF: dict[str, float] = {}


def torch_run(make, lr=0.1, steps=STEPS, betas=False):
    """(lrs, momenta) used by torch's optimizer for its first ``steps`` updates."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr) if betas else torch.optim.SGD([p], lr=lr, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = make(opt)
        lrs, moms = [], []
        for k in range(steps):
            group = opt.param_groups[0]
            lrs.append(float(group["lr"]))
            moms.append(float(group["betas"][0] if betas else group["momentum"]))
            if k < steps - 1:
                opt.step()
                sched.step()
    return np.array(lrs), np.array(moms)


def values(schedule, steps=STEPS):
    return np.asarray(jax.vmap(schedule)(jnp.arange(steps)), dtype=np.float64)


def check(name, got, want, record_parity, rtol=1e-5, atol=1e-7):
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)
    diff = np.abs(got - want)
    ABS_DIFF[name] = max(ABS_DIFF.get(name, 0.0), float(diff.max()))
    record_parity(f"lr_scheduler.{name}", float(diff.max() / np.abs(want).max()))


def rng_for(draw):
    return np.random.default_rng(1000 + draw)


@pytest.mark.parametrize("step_size", xla_inexact_divisors(STEPS, high=60))
def test_step_lr_where_xla_would_divide_inexactly(step_size, record_parity):
    """Step sizes whose multiples XLA's ``t * (1 / step_size)`` rounds below the integer:
    a decay computed that way would come one step late."""
    want, _ = torch_run(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, 0.5), 0.1)
    check("StepLR", values(ls.StepLR(0.1, step_size, 0.5)), want, record_parity)


@pytest.mark.parametrize("draw", DRAWS)
def test_step_lr(draw, record_parity):
    r = rng_for(draw)
    lr, step_size, gamma = r.uniform(1e-3, 1), int(r.integers(1, 60)), r.uniform(0.5, 0.999)
    want, _ = torch_run(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma), lr)
    check("StepLR", values(ls.StepLR(lr, step_size, gamma)), want, record_parity)


@pytest.mark.parametrize("draw", DRAWS)
def test_multistep_lr(draw, record_parity):
    r = rng_for(draw)
    lr, gamma = r.uniform(1e-3, 1), r.uniform(0.2, 0.95)
    milestones = sorted(int(m) for m in r.integers(0, 1100, size=6))
    milestones.append(milestones[2])  # a repeated milestone applies gamma twice
    want, _ = torch_run(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones, gamma), lr)
    check("MultiStepLR", values(ls.MultiStepLR(lr, milestones, gamma)), want, record_parity)


@pytest.mark.parametrize("draw", DRAWS)
def test_constant_lr(draw, record_parity):
    r = rng_for(draw)
    lr, factor, total = r.uniform(1e-3, 1), r.uniform(0.05, 1), int(r.integers(1, 300))
    want, _ = torch_run(lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor, total), lr)
    check("ConstantLR", values(ls.ConstantLR(lr, factor, total)), want, record_parity)


@pytest.mark.parametrize("draw", DRAWS)
def test_linear_lr(draw, record_parity):
    r = rng_for(draw)
    lr, start, end = r.uniform(1e-3, 1), r.uniform(0.05, 1), r.uniform(0, 1)
    total = int(r.integers(1, 900))
    want, _ = torch_run(lambda o: torch.optim.lr_scheduler.LinearLR(o, start, end, total), lr)
    check("LinearLR", values(ls.LinearLR(lr, start, end, total)), want, record_parity)


@pytest.mark.parametrize("draw", DRAWS)
def test_exponential_lr(draw, record_parity):
    r = rng_for(draw)
    lr = r.uniform(1e-3, 1)
    gamma = r.uniform(0.99, 0.9999) if draw % 2 else r.uniform(0.9, 0.99)
    want, _ = torch_run(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma), lr)
    check("ExponentialLR", values(ls.ExponentialLR(lr, gamma)), want, record_parity)


@pytest.mark.parametrize("draw", DRAWS)
def test_polynomial_lr(draw, record_parity):
    r = rng_for(draw)
    lr, total, power = r.uniform(1e-3, 1), int(r.integers(1, 1200)), r.uniform(0.3, 3)
    want, _ = torch_run(lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total, power), lr)
    check("PolynomialLR", values(ls.PolynomialLR(lr, total, power)), want, record_parity)


@pytest.mark.parametrize("draw", DRAWS)
def test_cosine_annealing_lr_including_past_t_max(draw, record_parity):
    r = rng_for(draw)
    lr, t_max = r.uniform(1e-3, 1), int(r.integers(1, 400))
    eta_min = 0.0 if draw == 0 else r.uniform(0, lr)
    want, _ = torch_run(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, t_max, eta_min), lr)
    got = values(ls.CosineAnnealingLR(lr, t_max, eta_min))
    check("CosineAnnealingLR", got, want, record_parity)
    assert got[2 * t_max] == pytest.approx(lr, rel=1e-5)  # climbs back up past T_max


@pytest.mark.parametrize("draw", DRAWS)
def test_cosine_annealing_warm_restarts(draw, record_parity):
    r = rng_for(draw)
    lr, t0, t_mult = r.uniform(1e-3, 1), int(r.integers(1, 120)), [1, 2, 3, 2][draw]
    eta_min = r.uniform(0, lr / 2)

    def make(o):
        return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, t0, t_mult, eta_min)

    want, _ = torch_run(make, lr)
    got = values(ls.CosineAnnealingWarmRestarts(lr, t0, t_mult, eta_min))
    check("CosineAnnealingWarmRestarts", got, want, record_parity)


@pytest.mark.parametrize(
    "mode, draw",
    [
        ("triangular", 0),
        ("triangular", 1),
        ("triangular2", 2),
        ("exp_range", 3),
        ("exp_range", 4),
        ("triangular2", 5),
    ],
)
def test_cyclic_lr_and_momentum(mode, draw, record_parity):
    r = rng_for(draw)
    kw = dict(
        base_lr=r.uniform(1e-4, 1e-2),
        max_lr=r.uniform(2e-2, 1),
        step_size_up=int(r.integers(1, 200)),
        step_size_down=None if draw == 0 else int(r.integers(0, 200)),
        mode=mode,
        gamma=r.uniform(0.99, 0.9999),
        base_momentum=r.uniform(0.5, 0.85),
        max_momentum=r.uniform(0.86, 0.99),
    )
    if draw == 5:  # no descent, cycles whose multiples XLA's x * (1 / c) would miss
        up = int(r.choice(xla_inexact_divisors(STEPS, high=200)))
        kw.update(step_size_up=up, step_size_down=0)
    want_lr, want_mom = torch_run(lambda o: torch.optim.lr_scheduler.CyclicLR(o, **kw))
    check("CyclicLR", values(ls.CyclicLR(**kw)), want_lr, record_parity)
    check("CyclicLR.momentum", values(ls.CyclicMomentum(**kw)), want_mom, record_parity)


def test_cyclic_lr_custom_scale_fn_and_adam_beta1(record_parity):
    for scale_mode in ("cycle", "iterations"):
        kw = dict(
            base_lr=1e-3, max_lr=0.1, step_size_up=37, step_size_down=11, scale_mode=scale_mode
        )
        want_lr, want_mom = torch_run(
            lambda o, kw=kw: torch.optim.lr_scheduler.CyclicLR(
                o, scale_fn=lambda x: 1 / (1 + 0.01 * x), **kw
            ),
            betas=True,
        )
        ours = dict(kw, scale_fn=lambda x: 1 / (1 + 0.01 * x))
        check("CyclicLR", values(ls.CyclicLR(**ours)), want_lr, record_parity)
        check("CyclicLR.momentum", values(ls.CyclicMomentum(**ours)), want_mom, record_parity)


@pytest.mark.parametrize("draw", range(6))
def test_one_cycle_lr_and_momentum(draw, record_parity):
    r = rng_for(draw)
    total = int(r.integers(1000, 1400))
    kw = dict(
        max_lr=r.uniform(1e-3, 1),
        pct_start=float(r.uniform(0.05, 0.45)),
        anneal_strategy=["cos", "linear"][draw % 2],
        base_momentum=r.uniform(0.7, 0.85),
        max_momentum=r.uniform(0.86, 0.99),
        div_factor=r.uniform(5, 50),
        final_div_factor=r.uniform(10, 1e4),
        three_phase=draw >= 4,
    )
    if draw == 3:
        kw.update(epochs=total // 10, steps_per_epoch=10)
        total = total // 10 * 10
    else:
        kw.update(total_steps=total)
    n = total + 1  # torch allows one scheduler step past the last update
    want_lr, want_mom = torch_run(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, **kw), steps=n)
    check("OneCycleLR", values(ls.OneCycleLR(**kw), n), want_lr, record_parity)
    check("OneCycleLR.momentum", values(ls.OneCycleMomentum(**kw), n), want_mom, record_parity)
    assert float(ls.OneCycleLR(**kw)(n + 50)) == pytest.approx(want_lr[-1], rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("draw", range(2))
def test_lambda_lr(draw, record_parity):
    r = rng_for(draw)
    lr, g = r.uniform(1e-3, 1), r.uniform(0.99, 0.999)
    lam = [lambda k: g**k, lambda k: 1.0 / (1.0 + 0.01 * k)][draw]
    want, _ = torch_run(lambda o: torch.optim.lr_scheduler.LambdaLR(o, lam), lr)
    check("LambdaLR", values(ls.LambdaLR(lr, lam)), want, record_parity, rtol=2e-5)


@pytest.mark.parametrize("draw", range(3))
def test_multiplicative_lr(draw, record_parity):
    r = rng_for(draw)
    lr, g = r.uniform(1e-3, 1), r.uniform(0.995, 0.9999)
    torch_lam = [lambda i: g, lambda i: g + 0.004 * math.cos(i), lambda i: g][draw]
    jax_lam = [lambda i: g, lambda i: g + 0.004 * jnp.cos(i), lambda i: g][draw]
    want, _ = torch_run(lambda o: torch.optim.lr_scheduler.MultiplicativeLR(o, torch_lam), lr)
    if draw < 2:
        check("MultiplicativeLR", values(ls.MultiplicativeLR(lr, jax_lam)), want, record_parity)
    else:
        # Past the table the product runs in float32: a looser tolerance, as documented.
        got = values(ls.MultiplicativeLR(lr, jax_lam, horizon=300))
        check("MultiplicativeLR(past horizon)", got, want, record_parity, rtol=5e-5)


def test_sequential_lr(record_parity):
    lr = 0.3

    def make(o):
        t = torch.optim.lr_scheduler
        scheds = [
            t.LinearLR(o, 0.1, 1.0, 50),
            t.CosineAnnealingLR(o, 300, 0.01),
            t.StepLR(o, 7, 0.9),
        ]
        return t.SequentialLR(o, scheds, milestones=[80, 500])

    want, _ = torch_run(make, lr)
    ours = ls.SequentialLR(
        [ls.LinearLR(lr, 0.1, 1.0, 50), ls.CosineAnnealingLR(lr, 300, 0.01), ls.StepLR(lr, 7, 0.9)],
        milestones=[80, 500],
    )
    check("SequentialLR", values(ours), want, record_parity)


@pytest.mark.parametrize("draw", range(3))
def test_chained_scheduler(draw, record_parity):
    r = rng_for(draw)
    lr, gamma, factor = r.uniform(1e-3, 1), r.uniform(0.99, 0.999), r.uniform(0.1, 0.9)
    t = torch.optim.lr_scheduler
    torch_makers = [
        lambda o: [t.ConstantLR(o, factor, 40), t.ExponentialLR(o, gamma)],
        lambda o: [
            t.LinearLR(o, factor, 1.0, 120),
            t.StepLR(o, 30, 0.8),
            t.MultiStepLR(o, [90, 400]),
        ],
        lambda o: [t.PolynomialLR(o, 900, 2.0), t.ExponentialLR(o, gamma)],
    ]
    ours = [
        [ls.ConstantLR(lr, factor, 40), ls.ExponentialLR(lr, gamma)],
        [ls.LinearLR(lr, factor, 1.0, 120), ls.StepLR(lr, 30, 0.8), ls.MultiStepLR(lr, [90, 400])],
        [ls.PolynomialLR(lr, 900, 2.0), ls.ExponentialLR(lr, gamma)],
    ][draw]
    want, _ = torch_run(lambda o: t.ChainedScheduler(torch_makers[draw](o)), lr)
    check("ChainedScheduler", values(ls.ChainedScheduler(ours, lr)), want, record_parity)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="step_size"):
        ls.StepLR(0.1, 0)
    with pytest.raises(ValueError, match="step_size must be an integer"):
        ls.StepLR(0.1, 2.5)
    with pytest.raises(ValueError, match="factor"):
        ls.ConstantLR(0.1, factor=1.5)
    with pytest.raises(ValueError, match="start_factor"):
        ls.LinearLR(0.1, start_factor=0.0)
    with pytest.raises(ValueError, match="T_max"):
        ls.CosineAnnealingLR(0.1, 0)
    with pytest.raises(ValueError, match="T_mult"):
        ls.CosineAnnealingWarmRestarts(0.1, 10, T_mult=0)
    with pytest.raises(ValueError, match="mode"):
        ls.CyclicLR(0.1, 1.0, mode="sawtooth")
    with pytest.raises(ValueError, match="cycle_momentum"):
        ls.CyclicMomentum(0.1, 1.0, cycle_momentum=False)
    with pytest.raises(ValueError, match="total_steps"):
        ls.OneCycleLR(0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        ls.OneCycleLR(0.1, total_steps=100, anneal_strategy="exp")
    with pytest.raises(ValueError, match="zero length"):
        ls.OneCycleLR(0.1, total_steps=10, pct_start=0.1)
    with pytest.raises(ValueError, match="pct_start"):
        ls.OneCycleMomentum(0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="milestones"):
        ls.MultiStepLR(0.1, [-1, 5])
    with pytest.raises(ValueError, match="milestones must be strictly increasing"):
        ls.SequentialLR([ls.StepLR(0.1, 3), ls.StepLR(0.1, 3)], milestones=[5, 5])
    with pytest.raises(ValueError, match=r"milestones must have len\(schedulers\) - 1"):
        ls.SequentialLR([ls.StepLR(0.1, 3)], milestones=[5])
    with pytest.raises(ValueError, match="lr"):
        ls.ChainedScheduler([ls.StepLR(0.1, 3)], lr=0.0)
    with pytest.raises(TypeError, match="lr_lambda"):
        ls.LambdaLR(0.1, 0.5)
