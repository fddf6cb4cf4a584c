"""Every other torch.optim optimizer against the real torch (SGD/Adam/AdamW: test_parity_sgd_adam).

Each draw takes random hyperparameters in ranges where every option changes the numbers
(eps large enough that its placement matters, momentum and centering on and off, ...);
the boolean options are cycled over the draws so that each is seen both ways.
"""

import numpy as np
import pytest
import torch
from parity import Problem, assert_trajectories_close, jaxsched_trajectory, torch_trajectory

import jaxsched

DRAWS = range(4)


def _rng(name, draw):
    return np.random.default_rng([draw, *name.encode()])


def _log_uniform(rng, low, high):
    return float(10 ** rng.uniform(np.log10(low), np.log10(high)))


def _betas(rng):
    return (float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.9, 0.999)))


def _weight_decay(rng, draw):
    return float(rng.uniform(0.01, 0.2)) if draw % 2 == 0 else 0.0


def _asgd(rng, draw):
    return dict(
        lr=float(rng.uniform(5e-3, 5e-2)),
        lambd=_log_uniform(rng, 1e-4, 3e-2),
        alpha=float(rng.uniform(0.5, 1.0)),
        t0=float(rng.uniform(5, 60)),
        weight_decay=_weight_decay(rng, draw),
        maximize=draw == 1,
    )


def _rprop(rng, draw):
    return dict(
        lr=_log_uniform(rng, 1e-3, 0.1),
        etas=(float(rng.uniform(0.3, 0.7)), float(rng.uniform(1.1, 1.5))),
        step_sizes=(_log_uniform(rng, 1e-5, 1e-3), float(rng.uniform(0.02, 0.3))),
        maximize=draw == 1,
    )


def _adadelta(rng, draw):
    return dict(
        lr=float(rng.uniform(0.1, 1.0)),
        rho=float(rng.uniform(0.8, 0.99)),
        eps=_log_uniform(rng, 1e-6, 1e-2),
        weight_decay=_weight_decay(rng, draw),
        maximize=draw == 1,
    )


def _adagrad(rng, draw):
    return dict(
        lr=float(rng.uniform(1e-2, 0.1)),
        lr_decay=float(rng.uniform(0, 0.05)) if draw != 3 else 0.0,
        weight_decay=_weight_decay(rng, draw),
        initial_accumulator_value=float(rng.uniform(0, 1.0)) if draw != 2 else 0.0,
        eps=_log_uniform(rng, 1e-3, 1e-1),
        maximize=draw == 1,
    )


def _adamax(rng, draw):
    return dict(
        lr=float(rng.uniform(2e-3, 3e-2)),
        betas=_betas(rng),
        eps=_log_uniform(rng, 1e-3, 1e-1),
        weight_decay=_weight_decay(rng, draw),
        maximize=draw == 1,
    )


def _nadam(rng, draw):
    return dict(
        lr=float(rng.uniform(2e-3, 3e-2)),
        betas=_betas(rng),
        eps=_log_uniform(rng, 1e-4, 1e-1),
        weight_decay=float(rng.uniform(0.01, 0.2)) if draw != 1 else 0.0,
        momentum_decay=_log_uniform(rng, 1e-3, 0.1),
        decoupled_weight_decay=draw in (2, 3),
        maximize=draw == 1,
    )


def _radam(rng, draw):
    # b2 <= 2/3 keeps rho_t <= rho_inf <= 5 for ever (momentum steps only); b2 >= 0.9
    # rectifies after a few steps, so the draws cover both branches.
    b1, b2 = _betas(rng)
    return dict(
        lr=float(rng.uniform(2e-3, 3e-2)),
        betas=(b1, float(rng.uniform(0.5, 0.65)) if draw == 3 else b2),
        eps=_log_uniform(rng, 1e-4, 1e-1),
        weight_decay=float(rng.uniform(0.01, 0.2)) if draw != 1 else 0.0,
        decoupled_weight_decay=draw in (2, 3),
        maximize=draw == 1,
    )


def _rmsprop(rng, draw):
    return dict(
        lr=float(rng.uniform(1e-3, 2e-2)),
        alpha=float(rng.uniform(0.8, 0.999)),
        eps=_log_uniform(rng, 1e-3, 1e-1),
        weight_decay=_weight_decay(rng, draw),
        momentum=float(rng.uniform(0.3, 0.9)) if draw in (1, 2) else 0.0,
        centered=draw in (2, 3),
        maximize=draw == 1,
    )


SAMPLERS = {
    "ASGD": _asgd,
    "Rprop": _rprop,
    "Adadelta": _adadelta,
    "Adagrad": _adagrad,
    "Adamax": _adamax,
    "NAdam": _nadam,
    "RAdam": _radam,
    "RMSprop": _rmsprop,
}


def _run(name, draw):
    kw = SAMPLERS[name](_rng(name, draw), draw)
    problem = Problem(1000 + 10 * list(SAMPLERS).index(name) + draw)
    made = []

    def make(params):
        made.append(getattr(torch.optim, name)(params, **kw))
        return made[0]

    want = torch_trajectory(problem, make)
    got, state = jaxsched_trajectory(problem, getattr(jaxsched.torch, name)(**kw))
    return kw, made[0], want, got, state


@pytest.mark.parametrize("draw", DRAWS)
@pytest.mark.parametrize("name", SAMPLERS)
def test_torch_optimizer_trajectory(name, draw, record_parity):
    _, _, want, got, _ = _run(name, draw)
    record_parity(f"torch.{name}", assert_trajectories_close(got, want))


@pytest.mark.parametrize("draw", DRAWS)
def test_asgd_average_matches_torch_ax(draw, record_parity):
    kw, opt, _, _, state = _run("ASGD", draw)
    want = [opt.state[p]["ax"].numpy() for p in opt.param_groups[0]["params"]]
    got = [np.asarray(a) for a in jaxsched.transforms.averaged_params(state)]
    # t0 < 100 steps, so the average differs from the last iterate: it is really tested.
    assert kw["t0"] < 99
    record_parity("torch.ASGD average", assert_trajectories_close(got, want))


def test_radam_draws_cover_both_branches():
    """The draws above include a never-rectified RAdam and rectified ones."""
    rho = []
    for draw in DRAWS:
        b2 = SAMPLERS["RAdam"](_rng("RAdam", draw), draw)["betas"][1]
        rho_inf = 2 / (1 - b2) - 1
        rho.append(max(rho_inf - 2 * t * b2**t / (1 - b2**t) for t in range(1, 101)))
    assert min(rho) <= 5 < max(rho)
