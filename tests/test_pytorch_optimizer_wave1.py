"""Lion, Lookahead and Ranger flavors against ``pytorch_optimizer`` 4.1, live.

Each ``jaxsched.pytorch_optimizer`` flavor runs the plans of :func:`parity.option_plans`
(no option, each alone, all together) with hyperparameters drawn afresh every run
(``JAXSCHED_SEED`` replays a run), every step of 100 compared in float32 with
``pytorch_optimizer``. Ranger is compared with ``degenerated_to_sgd=True`` on the torch
side, the authors' step, which the flavor takes whatever the flag says.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import pytorch_optimizer as po
import torch
from parity import (
    SHAPES,
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

import jaxsched
import jaxsched.pytorch_optimizer as jpo

WEIGHT_DECAY = {"weight_decay": lambda r: {"weight_decay": uniform(r, 0.01, 0.2)}}
DECAY_MODES = {
    "coupled": lambda r: {"weight_decouple": False},
    "fixed_decay": lambda r: {"fixed_decay": True},
}
DECAY_REQUIRES = {"coupled": ("weight_decay",), "fixed_decay": ("weight_decay",)}
MAXIMIZE = {"maximize": lambda r: {"maximize": True}}

LION_FLAVOR = Flavor(
    lambda r, i: dict(
        lr=log_uniform(r, 1e-3, 2e-2),
        betas=(uniform(r, 0.5, 0.95), uniform(r, 0.9, 0.999)),
    ),
    WEIGHT_DECAY
    | DECAY_MODES
    | MAXIMIZE
    | {
        "use_gc": lambda r: {"use_gc": True},
        "cautious": lambda r: {"cautious": True},
    },
    requires=DECAY_REQUIRES,
    exclusive=(("coupled", "fixed_decay"),),
)

RANGER_FLAVOR = Flavor(
    lambda r, i: dict(
        lr=log_uniform(r, 1e-3, 3e-2),
        betas=(uniform(r, 0.8, 0.97), uniform(r, 0.99, 0.999)),
        alpha=uniform(r, 0.3, 0.8),
        k=int(r.integers(3, 8)),
        eps=log_uniform(r, 1e-5, 1e-1),
        n_sma_threshold=(5, 6)[i % 2],
    ),
    WEIGHT_DECAY
    | DECAY_MODES
    | MAXIMIZE
    | {
        "no_gc": lambda r: {"use_gc": False},
        "gc_conv_only": lambda r: {"gc_conv_only": True},
    },
    requires=DECAY_REQUIRES,
    exclusive=(("coupled", "fixed_decay"), ("no_gc", "gc_conv_only")),
)
# A 4-D leaf, which gc_conv_only centralizes.
RANGER_SHAPES = (*SHAPES, (2, 3, 2, 2))

# Lookahead: its one option (k) and, per plan, three inner optimizers.
LOOKAHEAD_FLAVOR = Flavor(
    lambda r, i: dict(k=int(r.integers(2, 8)), alpha=uniform(r, 0.2, 0.9)),
    {"every_step": lambda r: {"k": 1}},
)


def _inners(r):
    lr, momentum = uniform(r, 1e-3, 3e-2), uniform(r, 0.5, 0.9)
    b1, b2 = uniform(r, 0.5, 0.95), uniform(r, 0.9, 0.999)
    return {
        "sgd": (
            lambda: jaxsched.sgd(lr, momentum, nesterov=True),
            lambda p: torch.optim.SGD(p, lr, momentum, nesterov=True),
        ),
        "adam": (
            lambda: jaxsched.adam(lr, b1, b2),
            lambda p: torch.optim.Adam(p, lr, (b1, b2)),
        ),
        "lion": (
            lambda: jpo.Lion(lr=lr / 3, betas=(b1, b2), weight_decay=0.05),
            lambda p: po.Lion(p, lr=lr / 3, betas=(b1, b2), weight_decay=0.05),
        ),
    }


def _check(name, runs, record_parity):
    """``runs``: (label, problem, jaxsched transformation, torch factory)."""
    got = jaxsched_trajectories([run[1] for run in runs], [run[2] for run in runs])
    failures = []
    for (label, problem, _, make), (traj, _, _) in zip(runs, got, strict=True):
        want = torch_trajectory(problem, make)
        try:
            error = assert_trajectories_close(traj, want, label=label)
        except AssertionError as e:
            failures.append(str(e))
        else:
            record_parity(name, error)
    if failures:
        raise AssertionError("\n\n".join(failures))


def _flavor_runs(name, flavor, shapes, torch_extra=None):
    runs = []
    for i, plan in enumerate(flavor.plans()):
        kw = flavor.draw(rng(name, i), i, plan)
        note(f"plan {i}", (plan, kw))
        problem = Problem(rng(name, i, "problem"), shapes, ascent=kw.get("maximize", False))
        torch_kw = kw | (torch_extra or {})
        make = lambda p, kw=torch_kw: getattr(po, name)(p, **kw)  # noqa: E731
        runs.append((f"{name} plan {i} {plan} {kw}", problem, getattr(jpo, name)(**kw), make))
    return runs


def test_lion_matches_pytorch_optimizer(record_parity):
    runs = _flavor_runs("Lion", LION_FLAVOR, SHAPES)
    _check("pytorch_optimizer.Lion", runs, record_parity)


def test_ranger_matches_pytorch_optimizer(record_parity):
    # The flavor keeps degenerated_to_sgd at its default, False: the authors' step,
    # pytorch_optimizer's with True.
    runs = _flavor_runs("Ranger", RANGER_FLAVOR, RANGER_SHAPES, {"degenerated_to_sgd": True})
    _check("pytorch_optimizer.Ranger", runs, record_parity)


def test_lookahead_matches_pytorch_optimizer(record_parity):
    runs = []
    for i, plan in enumerate(LOOKAHEAD_FLAVOR.plans()):
        r = rng("Lookahead", i)
        kw = LOOKAHEAD_FLAVOR.draw(r, i, plan)
        for inner, (ours, theirs) in _inners(r).items():
            note(f"plan {i} {inner}", (plan, kw))
            problem = Problem(rng("Lookahead", i, inner, "problem"))
            make = lambda p, kw=kw, theirs=theirs: po.Lookahead(theirs(p), **kw)  # noqa: E731
            label = f"Lookahead({inner}) plan {i} {plan} {kw}"
            runs.append((label, problem, jpo.Lookahead(ours(), **kw), make))
    _check("pytorch_optimizer.Lookahead", runs, record_parity)


def test_plans_turn_every_option_on():
    for flavor in (LION_FLAVOR, RANGER_FLAVOR, LOOKAHEAD_FLAVOR):
        plans = flavor.plans()
        for option in flavor.options:
            assert any(option in plan for plan in plans), option


def test_flavors_are_the_natives():
    """With the natives' options, the flavors are the natives: numbers and state keys
    (the native names)."""
    r = rng("natives")
    lr, b1, b2, wd = uniform(r, 1e-3, 1e-2), uniform(r, 0.5, 0.95), uniform(r, 0.99, 0.999), 0.1
    note("draws", (lr, b1, b2))
    pairs = [
        (jpo.Lion(lr=lr, betas=(b1, b2), weight_decay=wd), jaxsched.lion(lr, b1, b2, wd)),
        (
            jpo.Ranger(lr=lr, betas=(b1, b2), weight_decay=wd),
            jaxsched.ranger(lr, b1, b2, 1e-5, wd, centralize_layout="torch"),
        ),
        (
            jpo.Lookahead(jaxsched.adam(lr), k=4, alpha=0.3),
            jaxsched.lookahead(jaxsched.adam(lr), 4, 0.3),
        ),
    ]
    keys = [
        ["b1", "b2", "learning_rate", "weight_decay"],
        ["b1", "b2", "eps", "learning_rate", "slow_step_size", "threshold", "weight_decay"],
        ["b1", "b2", "eps", "learning_rate", "slow_step_size"],
    ]
    problem = Problem(rng("natives", "problem"), steps=20)
    got = jaxsched_trajectories([problem] * 6, [tx for pair in pairs for tx in pair])
    for j in range(3):
        (ours, ours_state, _), (native, native_state, _) = got[2 * j], got[2 * j + 1]
        for a, b in zip(ours, native, strict=True):
            np.testing.assert_array_equal(a, b)
        assert sorted(jaxsched.hyperparams(ours_state)) == keys[j]
        assert sorted(jaxsched.hyperparams(native_state)) == keys[j]


def _bad(make, **kw):
    return lambda: make(**kw)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (_bad(jpo.Lion, lr=-1.0), ValueError, r"lr must be a number in \[0, inf\)"),
        (_bad(jpo.Lion, betas=(0.0, 0.99)), ValueError, r"betas\[0\] must be in \(0, 1\)"),
        (_bad(jpo.Lion, betas=(0.9, 1.0)), ValueError, r"betas\[1\] must"),
        (_bad(jpo.Lion, weight_decay=-0.1), ValueError, "weight_decay must"),
        (_bad(jpo.Lion, use_gc=1), TypeError, "use_gc must be True or False"),
        (_bad(jpo.Lion, foreach="yes"), TypeError, "foreach must be True, False or None"),
        (_bad(jpo.Lookahead, optimizer=3), TypeError, "optimizer must be a gradient"),
        (
            _bad(jpo.Lookahead, optimizer=jaxsched.sgd(0.1), pullback_momentum="reset"),
            ValueError,
            "pullback_momentum='reset' is not supported",
        ),
        (
            _bad(jpo.Lookahead, optimizer=jaxsched.sgd(0.1), pullback_momentum="pullback"),
            ValueError,
            "pullback_momentum='pullback' is not supported",
        ),
        (
            _bad(jpo.Lookahead, optimizer=jaxsched.sgd(0.1), pullback_momentum="bogus"),
            ValueError,
            "pullback_momentum must be one of",
        ),
        (_bad(jpo.Lookahead, optimizer=jaxsched.sgd(0.1), k=0), ValueError, "k must"),
        (_bad(jpo.Lookahead, optimizer=jaxsched.sgd(0.1), alpha=1.5), ValueError, "alpha must"),
        (_bad(jpo.Ranger, n_sma_threshold=3), ValueError, "n_sma_threshold must"),
        (_bad(jpo.Ranger, k=2.5), ValueError, "k must be an integer"),
        (_bad(jpo.Ranger, alpha=-0.1), ValueError, "alpha must"),
        (_bad(jpo.Ranger, betas=(0.9, 1.0)), ValueError, r"betas\[1\] must"),
        (_bad(jpo.Ranger, eps=-1.0), ValueError, "eps must"),
        (_bad(jpo.Ranger, gc_conv_only="no"), TypeError, "gc_conv_only must be True or False"),
    ],
)
def test_bad_arguments_are_refused_at_construction(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_lookahead_and_ranger_need_params():
    g = jnp.ones(3)
    for tx in (jpo.Lookahead(jaxsched.sgd(0.1)), jpo.Ranger()):
        with pytest.raises(ValueError, match="reads the parameters"):
            tx.update(g, tx.init(g))
