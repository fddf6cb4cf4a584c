"""Muon and SOAP against torch, pytorch_optimizer and the authors' code.

Each flavor runs plans of options (none, several groups of them, all together) with
hyperparameters drawn afresh every run (``JAXSCHED_SEED`` replays a run), every step of
100 compared in float32 at 1e-5. Options are grouped, rather than each tried alone, to
keep the compile time small.

Muon's Newton-Schulz iteration runs in bfloat16 in every reference. jaxsched rounds at
the points where torch's and pytorch_optimizer's fused ``addmm`` do, so its outputs are
bit-equal on equal inputs (checked below). Whole bfloat16 trajectories still cannot be
compared: the float32 parts of a step (torch's ``lerp`` momentum, weight decay, the
gradient's ``sin``) differ in the last bit now and then, which flips a bfloat16 rounding
(a 0.4% change of one entry of the update) and, Newton-Schulz amplifying such changes,
the trajectories drift apart by up to 1e-2. So the trajectories are compared with the
iteration made float32 on both sides (the references patched to skip their bfloat16
cast, jaxsched with ``ns_dtype=float32``), and the bfloat16 Muon is compared step by
step from torch's own state (:func:`test_torch_muon_bfloat16_steps`).

SOAP's eigenbases come from ``eigh`` and ``qr`` in float32, by torch's LAPACK and XLA's;
with the problems' leaf shapes chosen so that no eigenspace of the statistics has more
than one dimension at the first step (where the basis ``eigh`` returns is arbitrary), the
trajectories agree to a few 1e-6.
"""

from __future__ import annotations

import contextlib
import functools
from itertools import chain

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import pytorch_optimizer as po
import torch
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
import jaxsched.pytorch_optimizer as jpo
from jaxsched.optimizers import muon, soap
from jaxsched.transforms import EmaMomentumState, orthogonalize

# Muon in bfloat16, step by step: a flipped rounding moves one entry by at most about
# lr * r * 2**-8 (below 5e-4 here), and only a few steps may have one.
BF16_STEP_TOL = 5e-4
BF16_STEPS_OFF = 0.1
# SOAP in float32: the authors' code and pytorch_optimizer, both torch, differ from each
# other by up to 1.5e-5 (the order of float32 operations, amplified where Adam divides
# by a small second moment); jaxsched differs from either by up to 2.3e-5 (measured over
# 12 seeds), and from both by 4e-8 in float64 (test_float64).
SOAP_TOL = 5e-5


@contextlib.contextmanager
def newton_schulz_in(dtype):
    """torch's, the authors' and pytorch_optimizer's Muon with their Newton-Schulz
    iteration in ``dtype`` instead of bfloat16: the ``bfloat16()`` cast of torch and the
    authors made a cast to ``dtype``, and pytorch_optimizer's ``dtype`` argument set."""
    base = po.optimizer.muon.base
    ns = base.zero_power_via_newton_schulz_5
    cast = torch.Tensor.bfloat16
    # A copy, as bfloat16() makes: torch's Muon divides the result in place.
    torch.Tensor.bfloat16 = lambda self, *args, **kwargs: self.to(dtype, copy=True)
    base.zero_power_via_newton_schulz_5 = functools.partial(ns, dtype=dtype)
    try:
        yield
    finally:
        torch.Tensor.bfloat16 = cast
        base.zero_power_via_newton_schulz_5 = ns


float32_newton_schulz = functools.partial(newton_schulz_in, torch.float32)


@contextlib.contextmanager
def torch_default_dtype(dtype):
    """The authors' SOAP makes its statistics in torch's default dtype."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(default)


@contextlib.contextmanager
def one_thread():
    """torch on one thread: its bfloat16 matmuls of tiny matrices take 50 times longer
    on two threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ----------------------------------------------------------------------------------
# The authors' code, transcribed (MIT licensed): KellerJordan/Muon's
# SingleDeviceMuonWithAuxAdam and nikhilvyas/SOAP's SOAP.


def authors_newton_schulz(G, steps):
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G.bfloat16()
    if G.size(-2) > G.size(-1):
        X = X.mT
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    for _ in range(steps):
        A = X @ X.mT
        B = b * A + c * A @ A
        X = a * X + B @ X
    if G.size(-2) > G.size(-1):
        X = X.mT
    return X


class AuthorsMuonWithAuxAdam(torch.optim.Optimizer):
    """``SingleDeviceMuonWithAuxAdam``: groups flagged ``use_muon``."""

    def __init__(self, param_groups):
        super().__init__(param_groups, {})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if group["use_muon"]:
                    if not state:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    grad, buf = p.grad, state["momentum_buffer"]
                    buf.lerp_(grad, 1 - group["momentum"])
                    update = grad.lerp_(buf, group["momentum"])
                    if update.ndim == 4:
                        update = update.view(len(update), -1)
                    update = authors_newton_schulz(update, 5)
                    update *= max(1, grad.size(-2) / grad.size(-1)) ** 0.5
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(update.reshape(p.shape), alpha=-group["lr"])
                else:
                    if not state:
                        state.update(exp_avg=torch.zeros_like(p), step=0)
                        state["exp_avg_sq"] = torch.zeros_like(p)
                    state["step"] += 1
                    (b1, b2), eps = group["betas"], group["eps"]
                    buf1, buf2 = state["exp_avg"], state["exp_avg_sq"]
                    buf1.lerp_(p.grad, 1 - b1)
                    buf2.lerp_(p.grad.square(), 1 - b2)
                    buf1c = buf1 / (1 - b1 ** state["step"])
                    buf2c = buf2 / (1 - b2 ** state["step"])
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(buf1c / (buf2c.sqrt() + eps), alpha=-group["lr"])


class AuthorsSOAP(torch.optim.Optimizer):
    """nikhilvyas/SOAP's ``SOAP``, with pytorch_optimizer's ``maximize`` added."""

    def __init__(self, params, data_format="channels_first", maximize=False, **defaults):
        # Every value is given, by _authors_soap.
        super().__init__(params, defaults)
        self._data_format, self.maximize = data_format, maximize

    def merge(self, grad, max_dim):
        if self._data_format == "channels_last" and grad.dim() == 4:
            grad = grad.permute(0, 3, 1, 2)
        new_shape, curr = [], 1
        for sh in grad.shape:
            if curr * sh > max_dim:
                if curr > 1:
                    new_shape.append(curr)
                    curr = sh
                else:
                    new_shape.append(sh)
                    curr = 1
            else:
                curr *= sh
        if curr > 1 or len(new_shape) == 0:
            new_shape.append(curr)
        return grad.reshape(new_shape)

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                grad = -p.grad if self.maximize else p.grad
                state = self.state[p]
                if "step" not in state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(grad)
                    state["exp_avg_sq"] = torch.zeros_like(grad)
                if "Q" not in state:
                    self.init_preconditioner(grad, state, group)
                    self.update_preconditioner(grad, state, group)
                    continue
                grad_projected = self.project(grad, state, group)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                beta1, beta2 = group["betas"]
                state["step"] += 1
                exp_avg.mul_(beta1).add_(grad_projected, alpha=(1.0 - beta1))
                exp_avg_sq.mul_(beta2).add_(grad_projected.square(), alpha=(1.0 - beta2))
                denom = exp_avg_sq.sqrt().add_(group["eps"])
                step_size = group["lr"]
                if group["correct_bias"]:
                    bias_correction1 = 1.0 - beta1 ** (state["step"])
                    bias_correction2 = 1.0 - beta2 ** (state["step"])
                    step_size = step_size * (bias_correction2**0.5) / bias_correction1
                norm_grad = self.project(exp_avg / denom, state, group, back=True)
                if group["normalize_grads"]:
                    norm_grad = norm_grad / (1e-30 + torch.mean(norm_grad**2) ** 0.5)
                p.add_(norm_grad, alpha=-step_size)
                if group["weight_decay"] > 0.0:
                    p.add_(p, alpha=(-group["lr"] * group["weight_decay"]))
                self.update_preconditioner(grad, state, group)

    def init_preconditioner(self, grad, state, group):
        max_dim = group["max_precond_dim"]
        state["GG"] = []
        if grad.dim() == 1:
            if not group["precondition_1d"] or grad.shape[0] > max_dim:
                state["GG"].append([])
            else:
                state["GG"].append(torch.zeros(grad.shape[0], grad.shape[0]))
        else:
            if group["merge_dims"]:
                grad = self.merge(grad, max_dim)
            for sh in grad.shape:
                state["GG"].append([] if sh > max_dim else torch.zeros(sh, sh))
        state["Q"] = None
        sb = group["shampoo_beta"]
        state["shampoo_beta"] = sb if sb >= 0 else group["betas"][1]

    def project(self, grad, state, group, back=False):
        original_shape = grad.shape
        if group["merge_dims"]:
            if grad.dim() == 4 and self._data_format == "channels_last":
                permuted_shape = grad.permute(0, 3, 1, 2).shape
            grad = self.merge(grad, group["max_precond_dim"])
        for mat in state["Q"]:
            if len(mat) > 0:
                grad = torch.tensordot(grad, mat, dims=[[0], [1 if back else 0]])
            else:
                grad = grad.permute([*range(1, len(grad.shape)), 0])
        if group["merge_dims"]:
            if self._data_format == "channels_last" and len(original_shape) == 4:
                grad = grad.reshape(permuted_shape).permute(0, 2, 3, 1)
            else:
                grad = grad.reshape(original_shape)
        return grad

    def update_preconditioner(self, grad, state, group):
        max_dim = group["max_precond_dim"]
        if state["Q"] is not None:
            state["exp_avg"] = self.project(state["exp_avg"], state, group, back=True)
        if grad.dim() == 1:
            if group["precondition_1d"] and grad.shape[0] <= max_dim:
                outer = grad.unsqueeze(1) @ grad.unsqueeze(0)
                state["GG"][0].lerp_(outer, 1 - state["shampoo_beta"])
        else:
            new_grad = self.merge(grad, max_dim) if group["merge_dims"] else grad
            for idx, sh in enumerate(new_grad.shape):
                if sh <= max_dim:
                    dims = [[*chain(range(idx), range(idx + 1, len(new_grad.shape)))]] * 2
                    outer = torch.tensordot(new_grad, new_grad, dims=dims)
                    state["GG"][idx].lerp_(outer, 1 - state["shampoo_beta"])
        if state["Q"] is None:
            state["Q"] = [[] if len(m) == 0 else self.eigenbasis(m) for m in state["GG"]]
        if state["step"] > 0 and state["step"] % group["precondition_frequency"] == 0:
            state["Q"] = self.orthogonal_qr(state, group)
        if state["step"] > 0:
            state["exp_avg"] = self.project(state["exp_avg"], state, group)

    @staticmethod
    def eigenbasis(m):
        return torch.flip(torch.linalg.eigh(m + 1e-30 * torch.eye(m.shape[0]))[1], [1])

    def orthogonal_qr(self, state, group):
        orig_shape = state["exp_avg_sq"].shape
        channels_last = self._data_format == "channels_last" and len(orig_shape) == 4
        if channels_last:
            permuted_shape = state["exp_avg_sq"].permute(0, 3, 1, 2).shape
        exp_avg_sq = state["exp_avg_sq"]
        if group["merge_dims"]:
            exp_avg_sq = self.merge(exp_avg_sq, group["max_precond_dim"])
        final = []
        for ind, (m, o) in enumerate(zip(state["GG"], state["Q"])):
            if len(m) == 0:
                final.append([])
                continue
            est_eig = torch.diag(o.T @ m @ o)
            sort_idx = torch.argsort(est_eig, descending=True)
            exp_avg_sq = exp_avg_sq.index_select(ind, sort_idx)
            o = o[:, sort_idx]
            final.append(torch.linalg.qr(m @ o)[0])
        if group["merge_dims"]:
            if channels_last:
                exp_avg_sq = exp_avg_sq.reshape(permuted_shape).permute(0, 2, 3, 1)
            else:
                exp_avg_sq = exp_avg_sq.reshape(orig_shape)
        state["exp_avg_sq"] = exp_avg_sq
        return final


# ----------------------------------------------------------------------------------
# The harness.


def run_plans(
    name,
    flavor,
    make_jax,
    references,
    record_parity,
    shapes,
    rtol=1e-5,
    plans=None,
    float64=False,
):
    """Every plan of ``flavor`` (or ``plans``): ``make_jax(kw)`` against each reference
    that takes it; with ``float64``, both sides in float64.

    ``references``: (record name, make(torch params, kw) -> optimizer, supports(kw),
    context manager factory around the torch run, which runs on one thread).
    """
    dtype = np.float64 if float64 else np.float32
    torch_dtype = torch.float64 if float64 else torch.float32
    runs = []
    for i, plan in enumerate(plans or flavor.plans()):
        kw = flavor.draw(rng(name, i), i, plan)
        note(f"plan {i}", (plan, kw))
        problem = Problem(rng(name, i, "p"), shapes(kw), ascent=kw.get("maximize", False))
        for field in ("params", "curvature", "noise"):
            setattr(problem, field, [x.astype(dtype) for x in getattr(problem, field)])
        runs.append((f"{name} plan {i} {plan} {kw}", problem, kw))
    with jax.enable_x64(float64):
        txs = [make_jax(run[2]) for run in runs]
        got = jaxsched_trajectories([run[1] for run in runs], txs)
    used, failures = set(), []
    for (label, problem, kw), (traj, _, _) in zip(runs, got, strict=True):
        assert all(np.isfinite(x).all() for x in traj), f"{label}: not finite"
        for ref_name, make, supports, context in references:
            if not supports(kw):
                continue
            used.add(ref_name)
            with context(), one_thread(), torch_default_dtype(torch_dtype):
                want = torch_trajectory(problem, lambda params, make=make, kw=kw: make(params, kw))
            try:
                error = assert_trajectories_close(
                    traj, want, rtol=rtol, atol=rtol, label=f"{label} vs {ref_name}"
                )
            except AssertionError as e:
                failures.append(str(e))
            else:
                record_parity(ref_name, error)
    assert used == {ref[0] for ref in references}, (name, used)
    if failures:
        raise AssertionError("\n\n".join(failures))


def _always(kw):
    return True


def _coefficients(r):
    # Between Jordan's quintic and the classical (15, -10, 3) / 8, whose iterations keep
    # singular values bounded; a few % off Jordan's some let them grow without bound.
    t = uniform(r, 0.3, 1.0)
    jordan, classical = (3.4445, -4.7750, 2.0315), (1.875, -1.25, 0.375)
    return tuple(t * j + (1 - t) * c for j, c in zip(jordan, classical))


# ----------------------------------------------------------------------------------
# Muon.

# Matrices of aspect ratio 2 or more: a square random matrix now and then has a
# singular value near 0, where Newton-Schulz turns float32 rounding into 1e-4 changes of
# the update, and float32 trajectories drift apart (Muon's own sensitivity).
TORCH_MUON_SHAPES = ((3, 6), (8, 3), (2, 5))

TORCH_MUON = Flavor(
    lambda r, i: dict(
        lr=uniform(r, 2e-3, 2e-2),
        momentum=uniform(r, 0.8, 0.97),
        weight_decay=0.0,
        adjust_lr_fn=(None, "original")[i % 2],
    ),
    {
        "weight_decay": lambda r: {"weight_decay": uniform(r, 0.01, 0.2)},
        "no_nesterov": lambda r: {"nesterov": False},
        "match_rms_adamw": lambda r: {"adjust_lr_fn": "match_rms_adamw"},
        "ns": lambda r: {
            "ns_steps": int(r.integers(2, 8)),
            "ns_coefficients": _coefficients(r),
            "eps": log_uniform(r, 1e-8, 1e-6),
        },
    },
)


# Options grouped in fewer plans than one each, to keep the compile time small.
TORCH_MUON_PLANS = [
    (),
    ("weight_decay", "match_rms_adamw"),
    ("no_nesterov", "ns"),
    tuple(TORCH_MUON.options),
]


def test_torch_muon(record_parity):
    run_plans(
        "torch.Muon (float32 Newton-Schulz)",
        TORCH_MUON,
        lambda kw: jaxsched.torch.Muon(**kw, ns_dtype=jnp.float32),
        [
            (
                "torch.Muon (float32 Newton-Schulz)",
                lambda params, kw: torch.optim.Muon(params, **kw),
                _always,
                float32_newton_schulz,
            )
        ],
        record_parity,
        lambda kw: TORCH_MUON_SHAPES,
        plans=TORCH_MUON_PLANS,
    )


def _torch_muon_steps(problem, kw):
    """torch's bfloat16 Muon: per step, the parameters and momentum buffers before it,
    the gradients it took and the parameters after it."""
    params = [torch.tensor(p) for p in problem.params]
    opt = torch.optim.Muon(params, **kw)
    records = []
    for t in range(problem.steps):
        before = [p.detach().numpy().copy() for p in params]
        bufs = [
            opt.state[p]["momentum_buffer"].numpy().copy()
            if opt.state[p]
            else np.zeros_like(before[i])
            for i, p in enumerate(params)
        ]
        grads = problem.grad(np, before, t)
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g.astype(np.float32))
        opt.step()
        records.append((before, bufs, grads, [p.detach().numpy().copy() for p in params]))
    return [[np.stack([r[k][i] for r in records]) for i in range(len(params))] for k in range(4)]


def _step_errors(got, want):
    """Per step (leading axis), the largest ``|got - want| / max(|want|, 1)``."""
    error = np.abs(np.asarray(got) - want) / np.maximum(np.abs(want), 1.0)
    return error.reshape(len(want), -1).max(axis=1)


def test_torch_muon_bfloat16_steps(record_parity):
    """Every step of torch's bfloat16 Muon, taken by jaxsched from torch's own state and
    gradients, so that drift cannot build up. An update is bit-equal unless the float32
    momentum (rounded differently: a lerp in torch) flips a bfloat16 rounding, which
    moves one entry of the step by about ``lr * 2**-8``: rare, and bounded here."""
    name = "torch.Muon (bfloat16, per step)"
    for i, plan in enumerate([(), tuple(TORCH_MUON.options)]):
        kw = TORCH_MUON.draw(rng(name, i), i, plan)
        note(f"plan {i}", (plan, kw))
        problem = Problem(rng(name, i, "p"), TORCH_MUON_SHAPES, ascent=kw.get("maximize", False))
        with one_thread():
            before, bufs, grads, after = _torch_muon_steps(problem, kw)
        tx = jaxsched.torch.Muon(**kw)
        start = tx.init([jnp.asarray(p[0]) for p in before])

        def step(p, buf, g, start=start, tx=tx):
            state = jax.tree.map(
                lambda node: node._replace(mu=buf) if isinstance(node, EmaMomentumState) else node,
                start,
                is_leaf=lambda node: isinstance(node, EmaMomentumState),
            )
            u, _ = tx.update(g, state, p)
            return [x + d for x, d in zip(p, u)]

        got = jax.jit(jax.vmap(step))(*[[jnp.asarray(x) for x in v] for v in (before, bufs, grads)])
        per_step = np.max([_step_errors(g, w) for g, w in zip(got, after)], axis=0)
        label = f"{name} plan {i} {plan} {kw}: per-step errors {np.sort(per_step)[-5:]}"
        assert per_step.max() < BF16_STEP_TOL, label
        assert np.mean(per_step > 1e-5) <= BF16_STEPS_OFF, label
        record_parity(name, float(per_step.max()))


MUON_SHAPES = ((5,), (3, 6), (6, 3), (2, 2, 5))


def _use_muon(kw):
    """The flavor's ``use_muon`` as a list mask (None: 2 or more dims)."""
    return kw.get("use_muon") or [len(s) >= 2 for s in MUON_SHAPES]


def _pytorch_optimizer_muon(params, kw):
    flags = _use_muon(kw)
    groups = [
        dict(params=[p for p, f in zip(params, flags) if f is on], use_muon=on)
        for on in (True, False)
    ]
    other = {k: v for k, v in kw.items() if k not in ("use_muon",)}
    return po.Muon(groups, **other)


PYTORCH_OPTIMIZER_MUON = Flavor(
    lambda r, i: dict(
        lr=uniform(r, 2e-3, 2e-2),
        momentum=uniform(r, 0.8, 0.97),
        adamw_lr=uniform(r, 1e-3, 1e-2),
        adamw_betas=(uniform(r, 0.8, 0.95), uniform(r, 0.9, 0.999)),
        adamw_eps=eps_draw(r, i, 1e-10),
        foreach=(None, True, False)[i % 3],
    ),
    {
        "weight_decay": lambda r: {
            "weight_decay": uniform(r, 0.01, 0.2),
            "adamw_wd": uniform(r, 0.01, 0.2),
        },
        "coupled": lambda r: {"weight_decouple": False},
        "no_nesterov": lambda r: {"nesterov": False},
        "use_adjusted_lr": lambda r: {"use_adjusted_lr": True},
        "ns": lambda r: {
            "ns_steps": int(r.integers(2, 8)),
            # Not the Polar Express schedules: their first coefficients (8, -23, 17) turn
            # float32 rounding into drift; test_newton_schulz_bit_equal_to_pytorch_optimizer
            # checks them.
            "ns_coeffs": ("quintic", _coefficients(r))[int(r.integers(0, 2))],
        },
        "use_muon": lambda r: {"use_muon": [False, True, False, True]},
        "maximize": lambda r: {"maximize": True},
    },
    requires={"coupled": ("weight_decay",)},
)


PYTORCH_OPTIMIZER_MUON_PLANS = [
    (),
    ("weight_decay", "use_adjusted_lr", "use_muon"),
    ("weight_decay", "coupled", "no_nesterov", "maximize"),
    ("ns",),
    tuple(PYTORCH_OPTIMIZER_MUON.options),
]


def test_pytorch_optimizer_muon(record_parity):
    name = "pytorch_optimizer.Muon (float32 Newton-Schulz)"
    run_plans(
        name,
        PYTORCH_OPTIMIZER_MUON,
        lambda kw: jpo.Muon(**kw, ns_dtype=jnp.float32),
        [(name, _pytorch_optimizer_muon, _always, float32_newton_schulz)],
        record_parity,
        lambda kw: MUON_SHAPES,
        plans=PYTORCH_OPTIMIZER_MUON_PLANS,
    )


AUTHORS_MUON = Flavor(
    lambda r, i: dict(
        learning_rate=uniform(r, 2e-3, 2e-2),
        momentum=uniform(r, 0.8, 0.97),
        adam_lr=uniform(r, 1e-3, 1e-2),
        betas=(uniform(r, 0.8, 0.95), uniform(r, 0.9, 0.999)),
        adam_eps=eps_draw(r, i, 1e-10),
    ),
    {"weight_decay": lambda r: {"weight_decay": uniform(r, 0.01, 0.2)}},
)


def _authors_muon(params, kw):
    wd = kw.get("weight_decay", 0.0)
    flags = [len(s) >= 2 for s in MUON_SHAPES]
    muon_group = dict(
        params=[p for p, f in zip(params, flags) if f],
        use_muon=True,
        lr=kw["learning_rate"],
        momentum=kw["momentum"],
        weight_decay=wd,
    )
    adam_group = dict(
        params=[p for p, f in zip(params, flags) if not f],
        use_muon=False,
        lr=kw["adam_lr"],
        betas=kw["betas"],
        eps=kw["adam_eps"],
        weight_decay=wd,
    )
    return AuthorsMuonWithAuxAdam([muon_group, adam_group])


def _native_muon(kw, ns_dtype=jnp.float32):
    wd = kw.get("weight_decay")
    b1, b2 = kw["betas"]
    fallback = jaxsched.adamw(kw["adam_lr"], b1, b2, kw["adam_eps"], weight_decay=wd)
    return muon(
        kw["learning_rate"],
        kw["momentum"],
        wd,
        reshape="batch",
        fallback=fallback,
        ns_dtype=ns_dtype,
    )


def test_muon_against_authors(record_parity):
    """The native, 3-D leaves as stacks of matrices (``reshape="batch"``), as the authors'
    code treats them, with the authors' AdamW as fallback; float32 iteration."""
    run_plans(
        "muon (authors)",
        AUTHORS_MUON,
        _native_muon,
        [("muon (authors, float32 Newton-Schulz)", _authors_muon, _always, float32_newton_schulz)],
        record_parity,
        lambda kw: MUON_SHAPES,
    )


@pytest.mark.parametrize("shape", [(3, 5), (6, 2), (2, 3, 4)])
def test_newton_schulz_bit_equal_to_torch(shape):
    """On equal inputs the bfloat16 iteration, jitted, gives torch's bits (op by op,
    without XLA's fusions, an entry differs now and then)."""
    from torch.optim._muon import _zeropower_via_newtonschulz

    g = np.random.default_rng(len(shape) * 10 + shape[0]).normal(size=shape).astype(np.float32)
    tx = orthogonalize(reshape="flatten_trailing")
    got = np.asarray(jax.jit(tx.update)(jnp.asarray(g), tx.init(jnp.asarray(g)))[0])
    coefficients = (3.4445, -4.7750, 2.0315)
    want = _zeropower_via_newtonschulz(torch.tensor(g.reshape(shape[0], -1)), coefficients, 5, 1e-7)
    np.testing.assert_array_equal(got, want.float().numpy().reshape(shape))


@pytest.mark.parametrize("shape", [(3, 4, 6), (2, 5, 5), (2, 6, 4)], ids=["wide", "square", "tall"])
@pytest.mark.parametrize("coeffs", ["original", "quintic", "polar_express", "polar_express_safer"])
def test_newton_schulz_bit_equal_to_pytorch_optimizer(coeffs, shape):
    """pytorch_optimizer's iteration on a stack of matrices (its foreach path batches
    the matrices of one shape), coefficient schedules included; 9 steps reach the last
    entry of the 8-step schedules and repeat it. Only tall matrices are transposed."""
    from pytorch_optimizer.optimizer.utils.matrix import zero_power_via_newton_schulz_5

    g = np.random.default_rng(len(coeffs)).normal(size=shape).astype(np.float32)
    tx = orthogonalize(ns_steps=9, ns_coeffs=coeffs, reshape="batch")
    got = np.asarray(jax.jit(tx.update)(jnp.asarray(g), tx.init(jnp.asarray(g)))[0])
    want = zero_power_via_newton_schulz_5(torch.tensor(g), num_steps=9, weights=coeffs)
    np.testing.assert_array_equal(got, want.float().numpy())


def test_muon_routing_and_errors():
    params = {
        "embed": jnp.ones((4, 3)),
        "w": jnp.ones((3, 3)),
        "conv": jnp.ones((2, 3, 2, 2)),
        "b": jnp.ones(3),
    }
    with pytest.raises(ValueError, match=r"leaf at 'b' of shape \(3,\).*fallback="):
        muon().init(params)
    with pytest.raises(ValueError, match=r"'conv'.*reshape='flatten_trailing'"):
        muon().init({"conv": params["conv"]})
    with pytest.raises(ValueError, match="fallback_leaves needs fallback"):
        muon(fallback_leaves=("embed",))
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        jaxsched.torch.Muon().init(params)
    sgd = jaxsched.transforms.scale_by_learning_rate(1.0)
    tx = muon(0.1, fallback=sgd, fallback_leaves=("embed",), reshape="flatten_trailing")
    grads = jax.tree.map(lambda p: jnp.full_like(p, 2.0), params)
    u, state = jax.jit(tx.update)(grads, tx.init(params))
    # SGD on the embedding and the bias, Muon on the others.
    np.testing.assert_allclose(u["embed"], -2.0)
    np.testing.assert_allclose(u["b"], -2.0)
    assert float(jnp.abs(u["w"]).max()) < 0.1 and u["conv"].shape == (2, 3, 2, 2)
    assert sorted(jaxsched.hyperparams(state)) == [
        "eps",
        "fallback/learning_rate",
        "learning_rate",
        "momentum",
    ]


# ----------------------------------------------------------------------------------
# SOAP.

SOAP_SHAPES = ((2,), (4, 5), (3, 2, 2))
# With merge_dims, max dim 4: the merged views have no null space of more than one dim
# (where eigh's basis is arbitrary), and no leaf merges into one dim (where
# pytorch_optimizer's merge_small_dims fails).
SOAP_MERGE_SHAPES = ((5,), (4, 5), (3, 2, 2), (2, 3, 2, 2))


def _soap_shapes(kw):
    return SOAP_MERGE_SHAPES if kw.get("merge_dims") else SOAP_SHAPES


SOAP_FLAVOR = Flavor(
    lambda r, i: dict(
        lr=uniform(r, 1e-3, 1e-2),
        betas=(uniform(r, 0.8, 0.95), uniform(r, 0.9, 0.99)),
        eps=eps_draw(r, i),
        weight_decay=0.0,
        precondition_frequency=int(r.integers(2, 7)),
    ),
    {
        "weight_decay": lambda r: {"weight_decay": uniform(r, 0.01, 0.2)},
        "shampoo_beta": lambda r: {"shampoo_beta": uniform(r, 0.8, 0.99)},
        "precondition_1d": lambda r: {"precondition_1d": True},
        "max_precondition_dim": lambda r: {"max_precondition_dim": 4},
        "merge_dims": lambda r: {"merge_dims": True, "max_precondition_dim": 4},
        "channels_last": lambda r: {"data_format": "channels_last"},
        # pytorch_optimizer adds eps to the RMS it divides by, the authors 1e-30: the two
        # agree for an eps far below the RMS.
        "normalize_gradient": lambda r: {
            "normalize_gradient": True,
            "eps": log_uniform(r, 1e-10, 1e-8),
        },
        "no_correct_bias": lambda r: {"correct_bias": False},
        "maximize": lambda r: {"maximize": True},
    },
    requires={"channels_last": ("merge_dims",)},
)


def _authors_soap(params, kw):
    kw = dict(kw)
    values = dict(
        shampoo_beta=kw.pop("shampoo_beta", -1),
        max_precond_dim=kw.pop("max_precondition_dim", 10000),
        normalize_grads=kw.pop("normalize_gradient", False),
        merge_dims=kw.pop("merge_dims", False),
        precondition_1d=kw.pop("precondition_1d", False),
        correct_bias=kw.pop("correct_bias", True),
    )
    return AuthorsSOAP(params, **values, **kw)


# Options grouped in fewer plans than one each: every preconditioned dim compiles an
# eigh, a qr and a sort, about 0.4 s of CPU.
SOAP_PLANS = [
    (),
    ("weight_decay", "shampoo_beta", "no_correct_bias", "max_precondition_dim"),
    ("precondition_1d", "normalize_gradient", "maximize"),
    tuple(SOAP_FLAVOR.options),
]


def test_pytorch_optimizer_soap(record_parity):
    run_plans(
        "pytorch_optimizer.SOAP",
        SOAP_FLAVOR,
        lambda kw: jpo.SOAP(**kw),
        [
            (
                "pytorch_optimizer.SOAP",
                lambda params, kw: po.SOAP(params, **kw),
                _always,
                contextlib.nullcontext,
            ),
            ("soap (authors)", _authors_soap, _always, contextlib.nullcontext),
        ],
        record_parity,
        _soap_shapes,
        rtol=SOAP_TOL,
        plans=SOAP_PLANS,
    )


def test_soap_jit_and_first_step():
    """The eigenbasis refresh is traced once (no recompilation as the step moves), the
    first update is zero, and the hyperparameters are in the state."""
    params = {"w": jnp.arange(6.0).reshape(2, 3) / 5, "b": jnp.ones(2)}
    tx = soap(1e-2, precondition_frequency=2)
    state = tx.init(params)
    traces = []

    @jax.jit
    def step(params, state):
        traces.append(1)
        u, state = tx.update(jax.tree.map(jnp.sin, params), state, params)
        return jax.tree.map(lambda p, d: p + d, params, u), state

    new, state = step(params, state)
    assert all(bool((a == b).all()) for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(params)))
    for _ in range(5):
        new, state = step(new, state)
    assert len(traces) == 1
    assert sorted(jaxsched.hyperparams(state)) == [
        "b1",
        "b2",
        "eps",
        "learning_rate",
        "weight_decay",
    ]
    assert all(np.isfinite(x).all() for x in jax.tree.leaves(new))


def test_soap_errors():
    with pytest.raises(ValueError, match="precondition_frequency"):
        soap(precondition_frequency=0)
    with pytest.raises(ValueError, match=r"betas\[0\]"):
        jpo.SOAP(betas=(1.0, 0.9))
    with pytest.raises(TypeError, match="merge_dims"):
        soap(merge_dims="yes")
    with pytest.raises(ValueError, match="shampoo_beta"):
        soap(shampoo_beta=1.0)


# ----------------------------------------------------------------------------------
# float64 on both sides: the float32 tolerances above are rounding, not a difference in
# the algorithms. The plan of all options of each flavor.

FLOAT64_CASES = {
    "torch.Muon": (
        TORCH_MUON,
        lambda kw: jaxsched.torch.Muon(**kw, ns_dtype=None),
        [
            (
                "torch.Muon (float64)",
                lambda params, kw: torch.optim.Muon(params, **kw),
                _always,
                functools.partial(newton_schulz_in, torch.float64),
            )
        ],
        lambda kw: TORCH_MUON_SHAPES,
    ),
    "pytorch_optimizer.Muon": (
        PYTORCH_OPTIMIZER_MUON,
        lambda kw: jpo.Muon(**kw, ns_dtype=None),
        [
            (
                "pytorch_optimizer.Muon (float64)",
                _pytorch_optimizer_muon,
                _always,
                functools.partial(newton_schulz_in, torch.float64),
            )
        ],
        lambda kw: MUON_SHAPES,
    ),
    "muon (authors)": (
        AUTHORS_MUON,
        lambda kw: _native_muon(kw, ns_dtype=None),
        [
            (
                "muon (authors, float64)",
                _authors_muon,
                _always,
                functools.partial(newton_schulz_in, torch.float64),
            )
        ],
        lambda kw: MUON_SHAPES,
    ),
    "SOAP": (
        SOAP_FLAVOR,
        lambda kw: jpo.SOAP(**kw),
        [
            (
                "pytorch_optimizer.SOAP (float64)",
                lambda params, kw: po.SOAP(params, **kw),
                _always,
                contextlib.nullcontext,
            ),
            ("soap (authors, float64)", _authors_soap, _always, contextlib.nullcontext),
        ],
        _soap_shapes,
    ),
}


@pytest.mark.parametrize("case", sorted(FLOAT64_CASES))
def test_float64(case, record_parity):
    flavor, make_jax, references, shapes = FLOAT64_CASES[case]
    run_plans(
        f"{case} (float64)",
        flavor,
        make_jax,
        references,
        record_parity,
        shapes,
        rtol=1e-6,
        plans=[tuple(flavor.options)],
        float64=True,
    )
