"""ADOPT, AdEMAMix, MARS, Adan, LAMB, LARS and the cautious mask against their references.

Each ``jaxsched.pytorch_optimizer`` flavor runs the plans of :func:`parity.option_plans`
(no option, each alone, all together) with hyperparameters drawn afresh every run
(``JAXSCHED_SEED`` replays a run), every step of 100 compared in float32 with
``pytorch_optimizer`` 4.1 and, where ``pytorch_optimizer`` departs from the authors'
code, with a transcription of the authors' code below; each reference is used on the
plans whose options it has and agrees on. The natives are also checked against optax
(LAMB, LARS) and the cautious wrapper around several optimizers against a generic
masked torch step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import pytorch_optimizer as po
import torch
from parity import (
    SHAPES,
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
import jaxsched.pytorch_optimizer as jpo

# ----------------------------------------------------------------------------------
# Torch references: the authors' code where pytorch_optimizer departs from it, and the
# cautious mask around any torch optimizer.


class AuthorsADOPT(torch.optim.Optimizer):
    """iShohei220/adopt's ``_single_tensor_adopt``: ``clip_lambda`` of the 0-based step,
    and no decoupled decay on the first update."""

    def __init__(self, params, lr, betas, eps, clip_lambda, weight_decay, decouple, maximize):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)
        self.clip_lambda, self.decouple, self.maximize = clip_lambda, decouple, maximize

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                grad = -p.grad if self.maximize else p.grad
                state = self.state[p]
                if not state:
                    state.update(step=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
                if wd != 0 and not self.decouple:
                    grad = grad.add(p, alpha=wd)
                if state["step"] == 0:
                    state["v"].addcmul_(grad, grad)
                    state["step"] += 1
                    continue
                if wd != 0 and self.decouple:
                    p.add_(p, alpha=-lr * wd)
                normed = grad.div(torch.clamp(state["v"].sqrt(), eps))
                if self.clip_lambda is not None:
                    clip = float(self.clip_lambda(state["step"]))
                    normed.clamp_(-clip, clip)
                state["m"].lerp_(normed, 1 - b1)
                p.add_(state["m"], alpha=-lr)
                state["v"].mul_(b2).addcmul_(grad, grad, value=1 - b2)
                state["step"] += 1


class AuthorsMARS(torch.optim.Optimizer):
    """AGI-Arena/MARS's ``update_fn`` (``mars_type="mars-adamw"``, ``is_approx=True``):
    MARS on 2-D leaves only, eps added after the bias correction of ``sqrt(v)``. It also
    takes pytorch_optimizer's options the authors lack (maximize, fixed decay, cautious),
    implemented as pytorch_optimizer does."""

    def __init__(self, params, kw):
        super().__init__(params, dict(lr=kw.get("lr", 3e-3)))
        self.kw = kw

    @torch.no_grad()
    def step(self):
        kw = self.kw
        lr, eps, gamma = kw["lr"], kw["eps"], kw["gamma"]
        for p in self.param_groups[0]["params"]:
            grad = -p.grad if kw.get("maximize") else p.grad.clone()
            state = self.state[p]
            if not state:
                zeros = [torch.zeros_like(p) for _ in range(4)]
                state.update(step=0, m=zeros[0], v=zeros[1], last=zeros[2], v_max=zeros[3])
            state["step"] += 1
            if kw.get("optimize_1d") or grad.ndim == 2:
                b1, b2 = kw["betas"]
                c = (grad - state["last"]).mul(gamma * (b1 / (1.0 - b1))).add(grad)
                norm = torch.norm(c)
                if norm > 1.0:
                    c = c / norm
                step_lr, wd = lr, kw.get("weight_decay", 0.0)
            else:
                b1, b2 = kw["betas_1d"]
                c = grad
                step_lr, wd = kw["lr_1d"], kw["weight_decay_1d"]
            state["m"].mul_(b1).add_(c, alpha=1.0 - b1)
            state["v"].mul_(b2).addcmul_(c, c, value=1.0 - b2)
            v = state["v"]
            if kw.get("ams_bound"):
                torch.max(state["v_max"], v, out=state["v_max"])
                v = state["v_max"]
            bc1, bc2 = 1.0 - b1 ** state["step"], 1.0 - b2 ** state["step"]
            denom = v.sqrt().mul(1 / math.sqrt(bc2)).add(eps).mul(bc1)
            direction = state["m"].clone()
            if kw.get("cautious"):
                po.MARS.apply_cautious(direction, grad)
            p.mul_(1.0 - (wd if kw.get("fixed_decay") else step_lr * wd))
            p.add_(direction.div(denom), alpha=-step_lr)
            state["last"] = grad


class Cautious:
    """The cautious mask around a torch optimizer's step ``delta``: components are kept
    where ``delta * g < 0`` (``g`` the gradient given), scaled by ``n / (kept + 1)``.

    The inner optimizer, ``make(shadow)``, steps float64 copies of the parameters: a
    float32 step smaller than the weight's rounding would vanish from
    ``p_new - p_old`` and flip the mask, which jaxsched reads from the update itself.

    With ``decay=(mode, lr, weight_decay)`` the inner optimizer must have no decay of its
    own: the mask covers its rule only, and the decay is applied here as jaxsched's
    ``cautious=True`` options place it (``"coupled"``: added to the gradient first;
    ``"decoupled"``/``"fixed"``: ``p <- p - lr * wd * p`` / ``p - wd * p``, unmasked).
    ``maximize`` flips the gradient the inner optimizer sees."""

    def __init__(self, params, make, decay=None, maximize=False):
        self.params, self.decay, self.maximize = params, decay, maximize
        self.shadow = [p.double() for p in params]
        self.inner = make(self.shadow)

    @torch.no_grad()
    def step(self):
        mode, lr, wd = self.decay or (None, 0.0, 0.0)
        for p, s in zip(self.params, self.shadow):
            s.copy_(p)
            g = -p.grad if self.maximize else p.grad
            s.grad = (g + wd * p if mode == "coupled" else g).double()
        grads = [s.grad.clone() for s in self.shadow]
        old = [s.clone() for s in self.shadow]
        self.inner.step()
        for p, s, s_old, g in zip(self.params, self.shadow, old, grads):
            delta = s - s_old
            keep = (torch.sign(delta) * torch.sign(g)) < 0
            delta = torch.where(keep, delta * (keep.numel() / (keep.sum() + 1)), 0.0)
            shrink = {"decoupled": lr * wd, "fixed": wd}.get(mode, 0.0)
            p.copy_(s_old * (1 - shrink) + delta)


def _decay_mode(kw: dict) -> str | None:
    if not kw.get("weight_decay"):
        return None
    if not kw.get("weight_decouple"):
        return "coupled"
    return "fixed" if kw.get("fixed_decay") else "decoupled"


def _without(kw: dict, *names: str) -> dict:
    return {k: v for k, v in kw.items() if k not in names}


# ----------------------------------------------------------------------------------
# The harness: every plan of a flavor, each against the references that support it.


@dataclass
class Reference:
    name: str  # the record_parity label
    make: Callable[[list, dict], object]  # (torch params, flavor kwargs) -> optimizer
    supports: Callable[[dict, int], bool] = lambda kw, i: True


def check_flavor(
    name: str,
    flavor: Flavor,
    references: list[Reference],
    record_parity,
    shapes: Callable[[int], tuple] = lambda i: SHAPES,
    rtol: float = 1e-5,
) -> None:
    runs = []
    for i, plan in enumerate(flavor.plans()):
        kw = flavor.draw(rng(name, i), i, plan)
        note(f"plan {i}", (plan, kw))
        problem = Problem(rng(name, i, "problem"), shapes(i), ascent=kw.get("maximize", False))
        runs.append((f"{name} plan {i} {plan} {kw}", i, problem, kw))
    txs = [getattr(jpo, name)(**kw) for *_, kw in runs]
    got = jaxsched_trajectories([run[2] for run in runs], txs)
    used, failures = set(), []
    for (label, i, problem, kw), (traj, _, _) in zip(runs, got, strict=True):
        for ref in references:
            if not ref.supports(kw, i):
                continue
            used.add(ref.name)
            want = torch_trajectory(problem, lambda params, ref=ref, kw=kw: ref.make(params, kw))
            try:
                error = assert_trajectories_close(
                    traj, want, rtol=rtol, label=f"{label} vs {ref.name}"
                )
            except AssertionError as e:
                failures.append(str(e))
            else:
                record_parity(ref.name, error)
    assert used == {ref.name for ref in references}, (name, used)
    if failures:
        raise AssertionError("\n\n".join(failures))


@dataclass(frozen=True)
class Power:
    """``step ** k``: an ADOPT clip schedule that jax can trace and torch can call."""

    k: float

    def __call__(self, step):
        return step**self.k


def _betas(r, high2=0.999):
    return (uniform(r, 0.5, 0.95), uniform(r, 0.9, high2))


WEIGHT_DECAY = {"weight_decay": lambda r: {"weight_decay": uniform(r, 0.01, 0.2)}}
DECOUPLE = {
    "weight_decouple": lambda r: {"weight_decouple": True},
    "fixed_decay": lambda r: {"fixed_decay": True},
}
DECOUPLE_REQUIRES = {
    "weight_decouple": ("weight_decay",),
    "fixed_decay": ("weight_decay", "weight_decouple"),
}
MAXIMIZE = {"maximize": lambda r: {"maximize": True}}
CAUTIOUS = {"cautious": lambda r: {"cautious": True}}


def _adopt_pytorch_optimizer(params, kw):
    # pytorch_optimizer passes clip_lambda the 1-based step; the authors the 0-based one.
    clip = kw.get("clip_lambda", jaxsched.transforms.adopt_clip)
    shifted = None if clip is None else (lambda step: float(clip(step - 1)))
    return po.ADOPT(
        params,
        **_without(kw, "clip_lambda", "cautious"),
        clip_lambda=shifted,
        cautious=kw.get("cautious", False),
    )


ADOPT_REFERENCES = [
    Reference(
        "adopt (authors)",
        lambda params, kw: AuthorsADOPT(
            params,
            kw["lr"],
            kw["betas"],
            kw["eps"],
            kw.get("clip_lambda", jaxsched.transforms.adopt_clip),
            kw.get("weight_decay", 0.0),
            kw.get("weight_decouple", False),
            kw.get("maximize", False),
        ),
        lambda kw, i: not (kw.get("fixed_decay") or kw.get("cautious")),
    ),
    Reference(
        "pytorch_optimizer.ADOPT",
        _adopt_pytorch_optimizer,
        lambda kw, i: _decay_mode(kw) != "decoupled",
    ),
]

ADOPT_FLAVOR = Flavor(
    lambda r, i: dict(
        lr=uniform(r, 1e-3, 3e-2),
        betas=_betas(r, 0.9999),
        eps=eps_draw(r, i),
        clip_lambda=Power(uniform(r, 0.15, 0.35)),
    ),
    WEIGHT_DECAY | DECOUPLE | {"no_clip": lambda r: {"clip_lambda": None}} | MAXIMIZE | CAUTIOUS,
    requires=DECOUPLE_REQUIRES,
)


def _as_held(kw: dict) -> dict:
    """The hyperparameters as jaxsched holds them, float32 (``t_alpha_beta3`` is static).

    With b3 near 1 the slow average amplifies their rounding: 1 - b3 of a float64 draw
    and of its float32 value differ by up to 6e-5 relatively, which moved parameters by
    2e-4 relatively over 100 steps (seed 601752702), against under 1e-6 when both sides
    start from the same float32 values.
    """

    def held(key, value):
        if key == "betas":
            return tuple(float(np.float32(b)) for b in value)
        if isinstance(value, float) and key != "t_alpha_beta3":
            return float(np.float32(value))
        return value

    return {key: held(key, value) for key, value in kw.items()}


def _ademamix_cautious(params, kw):
    kw = _as_held(kw)
    rule = _without(kw, "cautious", "weight_decay", "maximize")
    decay = (_decay_mode(kw), kw["lr"], kw.get("weight_decay", 0.0))
    return Cautious(
        params, lambda p: po.AdEMAMix(p, **rule), decay, maximize=kw.get("maximize", False)
    )


ADEMAMIX_REFERENCES = [
    Reference(
        "pytorch_optimizer.AdEMAMix",
        lambda params, kw: po.AdEMAMix(params, **_as_held(kw)),
        lambda kw, i: not kw.get("cautious"),
    ),
    # pytorch_optimizer masks the fast average only; jaxsched, as the cautious paper,
    # the whole direction: checked against the mask around the uncautious optimizer.
    Reference("cautious(AdEMAMix)", _ademamix_cautious, lambda kw, i: kw.get("cautious", False)),
]

ADEMAMIX_FLAVOR = Flavor(
    lambda r, i: dict(
        lr=uniform(r, 1e-3, 2e-2),
        betas=(uniform(r, 0.5, 0.95), uniform(r, 0.9, 0.999), uniform(r, 0.99, 0.9995)),
        alpha=uniform(r, 1.0, 8.0),
        eps=eps_draw(r, i),
    ),
    {"warmup": lambda r: {"t_alpha_beta3": uniform(r, 20.0, 150.0)}}
    | WEIGHT_DECAY
    | DECOUPLE
    | MAXIMIZE
    | CAUTIOUS,
    requires=DECOUPLE_REQUIRES,
)


def _mars_eps(r, i):
    # Plans 0, 3, 6...: eps far below sqrt(v), where pytorch_optimizer's placement of
    # eps agrees with the authors'; the others large enough for the placement to show.
    return log_uniform(r, 1e-10, 1e-7) if i % 3 == 0 else eps_draw(r, 1)


MARS_FLAVOR = Flavor(
    lambda r, i: dict(
        lr=uniform(r, 1e-3, 1e-2),
        betas=(uniform(r, 0.8, 0.97), uniform(r, 0.9, 0.999)),
        gamma=uniform(r, 0.01, 0.1),
        lr_1d=uniform(r, 1e-3, 1e-2),
        betas_1d=_betas(r),
        weight_decay_1d=uniform(r, 0.01, 0.2),
        eps=_mars_eps(r, i),
    ),
    WEIGHT_DECAY
    | {
        "fixed_decay": lambda r: {"fixed_decay": True},
        "ams_bound": lambda r: {"ams_bound": True},
        "optimize_1d": lambda r: {"optimize_1d": True},
    }
    | MAXIMIZE
    | CAUTIOUS,
    requires={"fixed_decay": ("weight_decay",)},
)

# The problems of plans 0, 3, 6... have no 3-D leaf, which the authors and
# pytorch_optimizer step differently.
MARS_SHAPES = lambda i: ((5,), (3, 4), (4, 3)) if i % 3 == 0 else SHAPES  # noqa: E731

MARS_REFERENCES = [
    Reference("mars (authors)", lambda params, kw: AuthorsMARS(params, kw)),
    Reference(
        "pytorch_optimizer.MARS",
        lambda params, kw: po.MARS(params, **kw),
        lambda kw, i: i % 3 == 0,
    ),
]

ADAN_FLAVOR = Flavor(
    lambda r, i: dict(
        lr=uniform(r, 1e-3, 2e-2),
        betas=(uniform(r, 0.9, 0.99), uniform(r, 0.8, 0.95), uniform(r, 0.95, 0.999)),
        eps=eps_draw(r, i),
    ),
    WEIGHT_DECAY
    | {
        "weight_decouple": lambda r: {"weight_decouple": True},
        # The authors add eps to the global norm: far below it here.
        "max_grad_norm": lambda r: {
            "max_grad_norm": uniform(r, 0.5, 2.0),
            "eps": log_uniform(r, 1e-10, 1e-7),
        },
    }
    | MAXIMIZE,
    requires={"weight_decouple": ("weight_decay",)},
)


class Negated:
    """``inner`` stepping on the negated gradients: minimising ``-f``, which is what
    maximising ``f`` means."""

    def __init__(self, params, inner):
        self.params, self.inner = params, inner

    @torch.no_grad()
    def step(self):
        for p in self.params:
            p.grad = -p.grad
        self.inner.step()


def _adan(params, kw):
    # pytorch_optimizer's maximize seeds the previous gradient before negating the
    # gradient (a first difference of -2 g, not 0): maximising is checked as minimising
    # the negated objective instead.
    if kw.get("maximize"):
        return Negated(params, po.Adan(params, **_without(kw, "maximize")))
    return po.Adan(params, **kw)


# pytorch_optimizer's Adan is otherwise the authors' (sail-sg/Adan) step for step.
ADAN_REFERENCES = [Reference("pytorch_optimizer.Adan", _adan)]

LAMB_FLAVOR = Flavor(
    lambda r, i: dict(lr=uniform(r, 1e-3, 1e-2), betas=_betas(r), eps=eps_draw(r, i)),
    WEIGHT_DECAY
    | {
        "coupled": lambda r: {"weight_decouple": False},
        "no_grad_averaging": lambda r: {"grad_averaging": False},
        "adam": lambda r: {"adam": True},
        "pre_norm": lambda r: {
            "pre_norm": True,
            "max_grad_norm": uniform(r, 0.5, 2.0),
            "eps": log_uniform(r, 1e-10, 1e-7),
        },
    }
    | MAXIMIZE,
    requires={"coupled": ("weight_decay",)},
)

# The paper's step: pytorch_optimizer's without its extra 1 / (1 - b1^t).
LAMB_REFERENCES = [
    Reference("pytorch_optimizer.Lamb", lambda params, kw: po.Lamb(params, **kw, adam_debias=True))
]

LARS_FLAVOR = Flavor(
    lambda r, i: dict(
        # Small enough that the 1-D leaves' plain momentum steps (lr * curvature <= 0.46)
        # and the trust-ratio steps (lr * trust_coefficient <= 0.02) damp the rounding
        # of the rate's two placements (see jaxsched.pytorch_optimizer.LARS) rather
        # than amplify it.
        lr=uniform(r, 0.05, 0.2),
        momentum=uniform(r, 0.5, 0.9),
        trust_coefficient=uniform(r, 0.02, 0.1),
    ),
    WEIGHT_DECAY
    | {
        "dampening": lambda r: {"dampening": uniform(r, 0.1, 0.5)},
        "nesterov": lambda r: {"nesterov": True},
        "no_momentum": lambda r: {"momentum": 0.0},
        # Ascent on this convex problem grows the weights, and LARS's steps with them:
        # a small rate keeps the growth (and the rounding it amplifies) moderate.
        "maximize": lambda r: {"maximize": True, "lr": uniform(r, 0.01, 0.05)},
    },
)

LARS_REFERENCES = [Reference("pytorch_optimizer.LARS", lambda params, kw: po.LARS(params, **kw))]

CASES = {
    "ADOPT": (ADOPT_FLAVOR, ADOPT_REFERENCES, {}),
    "AdEMAMix": (ADEMAMIX_FLAVOR, ADEMAMIX_REFERENCES, {}),
    "MARS": (MARS_FLAVOR, MARS_REFERENCES, {"shapes": MARS_SHAPES}),
    "Adan": (ADAN_FLAVOR, ADAN_REFERENCES, {}),
    "Lamb": (LAMB_FLAVOR, LAMB_REFERENCES, {}),
    "LARS": (LARS_FLAVOR, LARS_REFERENCES, {}),
}


@pytest.mark.parametrize("name", CASES)
def test_pytorch_optimizer_flavor_trajectories(name, record_parity):
    flavor, references, options = CASES[name]
    check_flavor(name, flavor, references, record_parity, **options)


def test_plans_turn_every_option_on():
    for name, (flavor, _, _) in CASES.items():
        plans = flavor.plans()
        for option in flavor.options:
            assert any(option in plan for plan in plans), (name, option)


# ----------------------------------------------------------------------------------
# The cautious wrapper around whole optimizers, natives against optax, and the contract.


def test_cautious_wraps_any_optimizer(record_parity):
    """cautious(tx) against the mask around the torch step: Adam, SGD with momentum,
    Lion, a torch flavor, and an ascending Adam (``follows_gradient=True``)."""
    r = rng("cautious")
    lr, b1, b2, wd = uniform(r, 1e-3, 2e-2), uniform(r, 0.5, 0.95), uniform(r, 0.9, 0.999), 0.05
    momentum = uniform(r, 0.5, 0.9)
    note("draws", (lr, b1, b2, momentum))
    cases = {
        "adam": (
            jaxsched.adam(lr, b1, b2, weight_decay=wd),
            lambda p: torch.optim.Adam(p, lr, (b1, b2), weight_decay=wd),
        ),
        "momentum": (
            jaxsched.momentum(10 * lr, momentum),
            lambda p: torch.optim.SGD(p, 10 * lr, momentum=momentum),
        ),
        "lion": (
            jaxsched.lion(lr, b1, b2, weight_decay=wd),
            lambda p: po.Lion(p, lr, (b1, b2), weight_decay=wd),
        ),
        "torch.AdamW": (
            jaxsched.torch.AdamW(lr=lr, betas=(b1, b2), weight_decay=wd),
            lambda p: torch.optim.AdamW(p, lr, (b1, b2), weight_decay=wd),
        ),
    }
    problems = [Problem(rng("cautious", name)) for name in [*cases, "ascent"]]
    txs = [jaxsched.transforms.cautious(tx) for tx, _ in cases.values()]
    txs.append(
        jaxsched.transforms.cautious(
            jaxsched.adam(lr, b1, b2, maximize=True), follows_gradient=True
        )
    )
    got = jaxsched_trajectories(problems, txs)
    for (name, (_, make)), problem, (traj, _, _) in zip(cases.items(), problems, got):
        want = torch_trajectory(problem, lambda p, make=make: Cautious(p, make))
        record_parity(f"cautious({name})", assert_trajectories_close(traj, want, label=name))
    # Ascent: the mask keeps the components along the gradient, the step's direction.
    want = torch_trajectory(
        problems[-1],
        lambda p: Cautious(p, lambda q: torch.optim.Adam(q, lr, (b1, b2)), maximize=True),
    )
    error = assert_trajectories_close(got[-1][0], want, label="ascent")
    record_parity("cautious(adam, ascent)", error)


def test_cautious_masks_and_rescales():
    tx = jaxsched.transforms.cautious(jaxsched.transforms.scale(-1.0))
    u, _ = tx.update({"a": jnp.array([1.0, -2.0, 0.0, 3.0])}, tx.init({"a": jnp.zeros(4)}))
    # -g always descends: all four kept but the zero, scaled by 4 / (3 + 1).
    np.testing.assert_allclose(u["a"], [-1.0, 2.0, 0.0, -3.0])
    tx = jaxsched.transforms.cautious(jaxsched.transforms.scale(1.0))
    u, _ = tx.update(jnp.array([1.0, -2.0]), tx.init(jnp.zeros(2)))
    np.testing.assert_allclose(u, [0.0, 0.0])  # a step up the gradient: all masked
    # bf16 updates stay bf16, and tiny components whose product underflows still count.
    tx = jaxsched.transforms.cautious(jaxsched.transforms.scale(-1.0))
    g = jnp.array([1e-30, -1e-30], jnp.float32)
    u, _ = tx.update(g, tx.init(g))
    np.testing.assert_allclose(u, -g * 2 / 3)
    u, _ = tx.update(g.astype(jnp.bfloat16), tx.init(g))
    assert u.dtype == jnp.bfloat16


def test_natives_against_optax(record_parity):
    """LAMB as the paper (bias correction, decay inside the ratio) is optax.lamb; LARS
    with the rate inside the momentum is optax.lars (without decay, whose norm optax
    takes as |g + wd p| rather than the paper's |g| + wd |p|), with a scheduled rate."""
    r = rng("optax")
    lr, b1, b2, wd = uniform(r, 1e-3, 1e-2), uniform(r, 0.5, 0.95), uniform(r, 0.9, 0.999), 0.1
    schedule = optax.cosine_decay_schedule(uniform(r, 0.1, 0.5), 100)
    tc, momentum = uniform(r, 0.01, 0.05), uniform(r, 0.5, 0.9)
    note("draws", (lr, b1, b2, tc, momentum))
    pairs = {
        "lamb": (
            jaxsched.optimizers.lamb(lr, b1, b2, 1e-6, wd),
            optax.lamb(lr, b1, b2, 1e-6, weight_decay=wd),
        ),
        "lars": (
            jaxsched.optimizers.lars(schedule, None, tc, 0.0, momentum, nesterov=True),
            optax.lars(schedule, 0.0, trust_coefficient=tc, momentum=momentum, nesterov=True),
        ),
    }
    problems = [Problem(rng("optax", name)) for name in pairs for _ in range(2)]
    txs = [tx for pair in pairs.values() for tx in pair]
    got = jaxsched_trajectories(problems, txs)
    for k, name in enumerate(pairs):
        ours, theirs = got[2 * k][0], got[2 * k + 1][0]
        record_parity(f"optax.{name}", assert_trajectories_close(ours, theirs, label=name))


def _bad(fn: Callable, **kw):
    return lambda: fn(**kw)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (_bad(jaxsched.optimizers.adopt, b1=1.0), ValueError, r"b1 must be a number in \[0, 1\)"),
        (_bad(jaxsched.optimizers.adopt, clip=-1.0), ValueError, "clip must"),
        (_bad(jaxsched.optimizers.ademamix, alpha=float("nan")), ValueError, "alpha must"),
        (_bad(jaxsched.optimizers.ademamix, b3_warmup=0), ValueError, "b3_warmup must"),
        (_bad(jaxsched.optimizers.mars, gamma=True), TypeError, "gamma must"),
        (_bad(jaxsched.optimizers.adan, max_grad_norm=0.0), ValueError, "max_grad_norm must"),
        (_bad(jaxsched.optimizers.lamb, max_param_norm=-1.0), ValueError, "max_param_norm"),
        (
            _bad(jaxsched.optimizers.lars, learning_rate=0.1, nesterov=True, momentum=None),
            ValueError,
            "nesterov=True needs a momentum",
        ),
        (
            _bad(jaxsched.optimizers.lars, learning_rate=0.1, weight_decay_mask=3),
            TypeError,
            "weight_decay_mask must",
        ),
        (_bad(jaxsched.transforms.cautious, inner=3), TypeError, "inner must be a gradient"),
        (
            _bad(jaxsched.transforms.cautious, inner=optax.sgd(0.1), follows_gradient=1),
            TypeError,
            "follows_gradient must be True or False",
        ),
        (_bad(jpo.ADOPT, betas=(0.9, 1.0)), ValueError, r"betas\[1\] must"),
        (_bad(jpo.ADOPT, clip_lambda=2.0), TypeError, "clip_lambda must be a callable"),
        (_bad(jpo.AdEMAMix, t_alpha_beta3=0.0), ValueError, "t_alpha_beta3 must"),
        (_bad(jpo.AdEMAMix, betas=(0.9, 0.999)), ValueError, "betas must have 3 items"),
        (_bad(jpo.MARS, mars_type="lion"), ValueError, "mars_type must be one of 'adamw'"),
        (_bad(jpo.MARS, weight_decouple=False), ValueError, "weight_decouple=False"),
        (_bad(jpo.Adan, max_grad_norm=-1.0), ValueError, "max_grad_norm must"),
        (_bad(jpo.Lamb, rectify=True), ValueError, "rectify=True"),
        (_bad(jpo.Lamb, weight_decay=0.1, fixed_decay=True), ValueError, "fixed_decay=True"),
        (_bad(jpo.Lamb, n_sma_threshold=5.5), ValueError, "n_sma_threshold must"),
        (_bad(jpo.LARS, lr=-1.0), ValueError, r"lr must be a number in \[0, inf\)"),
        (_bad(jpo.LARS, foreach="yes"), TypeError, "foreach must be True, False or None"),
    ],
)
def test_bad_arguments_are_refused_at_construction(make, error, match):
    with pytest.raises(error, match=match):
        make()


NATIVE_KEYS = {
    "adopt": ["b1", "b2", "clip", "eps", "learning_rate"],
    "ademamix": ["alpha", "b1", "b2", "b3", "eps", "learning_rate"],
    "mars": ["b1", "b2", "eps", "gamma", "learning_rate"],
    "adan": ["b1", "b2", "b3", "eps", "learning_rate"],
}


@pytest.mark.parametrize("name", NATIVE_KEYS)
def test_natives_report_their_hyperparameters_and_need_no_params(name):
    tx = getattr(jaxsched.optimizers, name)(jaxsched.constant(1e-3))
    params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
    _, state = tx.update(params, tx.init(params))  # no weight decay: no params needed
    assert sorted(jaxsched.hyperparams(state)) == NATIVE_KEYS[name]
    decayed = getattr(jaxsched.optimizers, name)(1e-3, weight_decay=0.1)
    with pytest.raises(ValueError, match="weight_decay reads the parameters"):
        decayed.update(params, decayed.init(params))


def test_flavors_report_native_names():
    params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
    expected = {
        "ADOPT": ["b1", "b2", "clip", "eps", "learning_rate"],
        "AdEMAMix": ["alpha", "b1", "b2", "b3", "eps", "learning_rate"],
        "Adan": ["b1", "b2", "b3", "eps", "learning_rate"],
        "Lamb": ["b1", "b2", "eps", "learning_rate", "max_param_norm", "trust_eps"],
        "LARS": ["dampening", "eps", "learning_rate", "momentum", "trust_coefficient"],
    }
    for name, keys in expected.items():
        tx = getattr(jpo, name)()
        assert sorted(jaxsched.hyperparams(tx.init(params))) == keys, name
    state = jpo.MARS().init(params)
    assert sorted(jaxsched.hyperparams(state)) == [
        "1d/b1", "1d/b2", "1d/eps", "1d/learning_rate", "gamma",
        "mars/b1", "mars/b2", "mars/eps", "mars/learning_rate", "weight_decay",
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["adopt", "ademamix", "mars", "adan", "lamb", "lars"])
def test_bf16_parameters_keep_float32_moments(name):
    params = {"w": jnp.ones((2, 3), jnp.bfloat16), "b": jnp.full(3, 0.5, jnp.bfloat16)}
    kw = {"learning_rate": 0.1} if name == "lars" else {}
    tx = getattr(jaxsched.optimizers, name)(**kw)
    state = tx.init(params)
    u, state = jax.jit(tx.update)(params, state, params)
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u))
    moments = [x for x in jax.tree.leaves(state) if x.ndim > 0]
    assert moments and all(x.dtype == jnp.float32 for x in moments), name


def test_ademamix_b3_warmup_with_b1_zero_is_finite():
    """The half-life of ``b1 = 0`` is taken at ``b1 + 1e-8`` (the authors' guard), so the
    b3 warmup starts from a finite half-life instead of log(0)."""
    tx = jaxsched.optimizers.ademamix(1e-2, b1=0.0, b3_warmup=10, alpha_warmup=10)
    params = {"w": jnp.array([1.0, -2.0, 0.5])}
    state = tx.init(params)
    for _ in range(3):
        updates, state = tx.update(jax.tree.map(jnp.sin, params), state, params)
        params = optax.apply_updates(params, updates)
    assert np.all(np.isfinite(params["w"])) and not np.allclose(params["w"], [1.0, -2.0, 0.5])
