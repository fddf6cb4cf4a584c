"""Every other torch.optim optimizer against the real torch (SGD/Adam/AdamW: test_parity_sgd_adam).

Each optimizer runs the plans of :func:`parity.option_plans`: no option, each option alone
and all together, with hyperparameters drawn afresh every run (``JAXSCHED_SEED`` replays
a run) in ranges where every option changes the numbers, eps large enough in two plans
out of three that its placement matters, and torch's code paths (for-loop, foreach,
differentiable, fused) taken in turn.
"""

import numpy as np
import pytest
from parity import (
    SEED,
    Flavor,
    check_torch_flavor,
    eps_draw,
    log_uniform,
    option_plans,
    rng,
    uniform,
)

import jaxsched


def _betas(r):
    return (uniform(r, 0.5, 0.95), uniform(r, 0.9, 0.999))


WEIGHT_DECAY = {"weight_decay": lambda r: {"weight_decay": uniform(r, 0.01, 0.2)}}
MAXIMIZE = {"maximize": lambda r: {"maximize": True}}
DECOUPLED = {"decoupled_weight_decay": lambda r: {"decoupled_weight_decay": True}}

FLAVORS = {
    "ASGD": Flavor(
        # t0 < 100 steps, so the average differs from the last iterate and is tested;
        # in every third draw t0 < 0 (torch's mu = 1 / (step - t0) from the first step).
        lambda r, i: dict(
            lr=uniform(r, 5e-3, 5e-2),
            lambd=log_uniform(r, 1e-4, 3e-2),
            alpha=uniform(r, 0.5, 1.0),
            t0=uniform(r, 5, 60) if i % 3 else uniform(r, -10, -0.5),
        ),
        WEIGHT_DECAY | MAXIMIZE,
    ),
    "Rprop": Flavor(
        lambda r, i: dict(
            lr=log_uniform(r, 1e-3, 0.1),
            etas=(uniform(r, 0.3, 0.7), uniform(r, 1.1, 1.5)),
            step_sizes=(log_uniform(r, 1e-5, 1e-3), uniform(r, 0.02, 0.3)),
        ),
        MAXIMIZE,
    ),
    "Adadelta": Flavor(
        lambda r, i: dict(lr=uniform(r, 0.1, 1.0), rho=uniform(r, 0.8, 0.99), eps=eps_draw(r, i)),
        WEIGHT_DECAY | MAXIMIZE,
    ),
    "Adagrad": Flavor(
        lambda r, i: dict(lr=uniform(r, 1e-2, 0.1), eps=eps_draw(r, i, low=1e-10)),
        WEIGHT_DECAY
        | {
            "lr_decay": lambda r: {"lr_decay": uniform(r, 0.005, 0.05)},
            "initial_accumulator_value": lambda r: {
                "initial_accumulator_value": uniform(r, 0.1, 1.0)
            },
        }
        | MAXIMIZE,
    ),
    "Adamax": Flavor(
        lambda r, i: dict(lr=uniform(r, 2e-3, 3e-2), betas=_betas(r), eps=eps_draw(r, i)),
        WEIGHT_DECAY | MAXIMIZE,
    ),
    "NAdam": Flavor(
        lambda r, i: dict(
            lr=uniform(r, 2e-3, 3e-2),
            betas=_betas(r),
            eps=eps_draw(r, i),
            momentum_decay=log_uniform(r, 1e-3, 0.1),
        ),
        WEIGHT_DECAY | DECOUPLED | MAXIMIZE,
        requires={"decoupled_weight_decay": ("weight_decay",)},
    ),
    "RAdam": Flavor(
        lambda r, i: dict(lr=uniform(r, 2e-3, 3e-2), betas=_betas(r), eps=eps_draw(r, i)),
        WEIGHT_DECAY
        | DECOUPLED
        | MAXIMIZE
        # b2 <= 2/3 keeps rho_t <= rho_inf <= 5 for ever (momentum steps only); the other
        # plans, b2 >= 0.9, rectify after a few steps.
        | {"unrectified": lambda r: {"betas": (uniform(r, 0.5, 0.95), uniform(r, 0.5, 0.65))}},
        requires={"decoupled_weight_decay": ("weight_decay",)},
    ),
    "RMSprop": Flavor(
        lambda r, i: dict(
            lr=uniform(r, 1e-3, 2e-2), alpha=uniform(r, 0.8, 0.999), eps=eps_draw(r, i)
        ),
        WEIGHT_DECAY
        | {
            "momentum": lambda r: {"momentum": uniform(r, 0.3, 0.9)},
            "centered": lambda r: {"centered": True},
        }
        | MAXIMIZE,
    ),
}


@pytest.mark.parametrize("name", FLAVORS)
def test_torch_optimizer_trajectories(name, record_parity):
    if name != "ASGD":
        check_torch_flavor(name, FLAVORS[name], record_parity)
        return
    # ASGD: the running average torch keeps as state["ax"] too, at every step.
    check_torch_flavor(
        name,
        FLAVORS[name],
        record_parity,
        record=lambda opt, params: [opt.state[p]["ax"] for p in params],
        aux=jaxsched.transforms.averaged_params,
    )


def test_plans_turn_every_option_on_alone_and_together():
    assert option_plans(["a", "b", "c"], {"b": ("a",)}, [("b", "c")]) == [
        (),
        ("a",),
        ("a", "b"),
        ("c",),
        ("a", "c"),
    ]
    for name, flavor in FLAVORS.items():
        plans = flavor.plans()
        for option in flavor.options:
            assert any(option in p for p in plans), (name, option)
        assert () in plans


def test_radam_plans_cover_both_branches():
    """The RAdam plans include a never-rectified run and rectified ones."""
    flavor = FLAVORS["RAdam"]
    rho = []
    for i, plan in enumerate(flavor.plans()):
        b2 = flavor.draw(rng("RAdam", i), i, plan)["betas"][1]
        rho_inf = 2 / (1 - b2) - 1
        rho.append(max(rho_inf - 2 * t * b2**t / (1 - b2**t) for t in range(1, 101)))
    assert min(rho) <= 5 < max(rho), (SEED, rho)


@pytest.mark.parametrize("b2", [0.9988533636747378, 0.9999])
def test_radam_rectifies_at_the_step_torch_does_for_b2_near_one(b2):
    """rho_t is the difference of two numbers near 2 / (1 - b2): computed naively in
    float32 it lands on the wrong side of 5 (5.0013 instead of 4.9954 at step 5 for the
    first b2), and the rectified step comes one step early."""
    import torch
    from parity import Problem, assert_trajectories_close, jaxsched_trajectories, torch_trajectory

    kw = {"lr": 1e-3, "betas": (0.9, b2), "eps": 1e-3}
    problem = Problem(rng("RAdam b2 near 1", b2), steps=12)
    want = torch_trajectory(problem, lambda p: torch.optim.RAdam(p, **kw))
    got = jaxsched_trajectories([problem], [jaxsched.torch.RAdam(**kw)])[0][0]
    assert_trajectories_close(got, want, rtol=1e-6, atol=1e-7)


def test_eps_is_large_in_most_plans():
    eps = [eps_draw(np.random.default_rng(i), i) for i in range(6)]
    assert sum(e >= 1e-2 for e in eps) == 4
