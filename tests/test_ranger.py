"""Ranger and Lookahead against NumPy implementations of the published algorithms.

``numpy_ranger`` follows the original Ranger (lessw2020/Ranger-Deep-Learning-Optimizer,
2019; RAdam + Lookahead + gradient centralization) step by step: arrays in float32,
scalars in Python floats as in the original.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from parity import (
    Problem,
    assert_trajectories_close,
    jaxsched_trajectories,
    jaxsched_trajectory,
    note,
    rng,
)

import jaxsched


def numpy_ranger(
    problem,
    lr=1e-3,
    alpha=0.5,
    k=6,
    n_sma_threshold=5.0,
    betas=(0.95, 0.999),
    eps=1e-5,
    weight_decay=0.0,
    use_gc=True,
    gc_conv_only=False,
    kept_axis=0,
):
    """The original Ranger; ``kept_axis`` is the output axis gradient centralization keeps."""
    beta1, beta2 = betas
    params = [p.copy() for p in problem.params]
    slow = [p.copy() for p in problem.params]
    exp_avg = [np.zeros_like(p) for p in params]
    exp_avg_sq = [np.zeros_like(p) for p in params]
    gc_threshold = 3 if gc_conv_only else 1
    out = [[] for _ in params]
    for step in range(1, problem.steps + 1):
        grads = problem.grad(np, params, step - 1)
        for i, grad in enumerate(grads):
            grad = grad.astype(np.float32)
            if use_gc and grad.ndim > gc_threshold:
                axes = tuple(a for a in range(grad.ndim) if a != kept_axis % grad.ndim)
                grad = grad - grad.mean(axis=axes, keepdims=True)
            exp_avg_sq[i] = beta2 * exp_avg_sq[i] + (1 - beta2) * grad * grad
            exp_avg[i] = beta1 * exp_avg[i] + (1 - beta1) * grad
            beta2_t = beta2**step
            n_sma_max = 2 / (1 - beta2) - 1
            n_sma = n_sma_max - 2 * step * beta2_t / (1 - beta2_t)
            if n_sma > n_sma_threshold:
                step_size = math.sqrt(
                    (1 - beta2_t)
                    * (n_sma - 4)
                    / (n_sma_max - 4)
                    * (n_sma - 2)
                    / n_sma
                    * n_sma_max
                    / (n_sma_max - 2)
                ) / (1 - beta1**step)
            else:
                step_size = 1.0 / (1 - beta1**step)
            p = params[i]
            if weight_decay != 0:
                p = p - weight_decay * lr * p
            if n_sma > n_sma_threshold:
                p = p - step_size * lr * exp_avg[i] / (np.sqrt(exp_avg_sq[i]) + eps)
            else:
                p = p - step_size * lr * exp_avg[i]
            if step % k == 0:
                slow[i] = slow[i] + alpha * (p - slow[i])
                p = slow[i].copy()
            params[i] = p.astype(np.float32)
            out[i].append(params[i])
    return [np.stack(r) for r in out]


def _draw(*key):
    r = rng("ranger", *key)
    kw = dict(
        lr=float(r.uniform(1e-3, 3e-2)),
        alpha=float(r.uniform(0.3, 0.8)),
        k=int(r.integers(3, 8)),
        betas=(float(r.uniform(0.8, 0.97)), float(r.uniform(0.99, 0.999))),
        eps=float(10 ** r.uniform(-5, -1)),
        weight_decay=float(r.uniform(0.01, 0.1)),
    )
    note(f"draw {key}", kw)
    return kw


def _jaxsched_ranger(kw, **options):
    return jaxsched.ranger(
        kw["lr"],
        kw["betas"][0],
        kw["betas"][1],
        kw["eps"],
        kw["weight_decay"],
        kw["k"],
        kw["alpha"],
        **options,
    )


def test_ranger_matches_the_original(record_parity):
    """Random draws in torch's layout (keep axis 0) and flax's (keep the last axis)."""
    runs = []
    for layout, kept_axis, draws in (("torch", 0, 3), ("flax", -1, 2)):
        for i in range(draws):
            kw = _draw(layout, i)
            problem = Problem(rng("ranger problem", layout, i), steps=120)
            tx = _jaxsched_ranger(kw, centralize_layout=layout)
            runs.append((f"{layout} layout {kw}", problem, kw, kept_axis, tx))
    got = jaxsched_trajectories([run[1] for run in runs], [run[4] for run in runs])
    for (label, problem, kw, kept_axis, _), (traj, _, _) in zip(runs, got, strict=True):
        want = numpy_ranger(problem, **kw, kept_axis=kept_axis)
        error = assert_trajectories_close(traj, want, label=label)
        record_parity(f"Ranger (original, {label.split()[0]} layout)", error)
        if kept_axis == -1:
            # The layouts differ on the 2-d leaf, so the layout is really tested.
            torch_layout = numpy_ranger(problem, **kw, kept_axis=0)
            assert np.max(np.abs(torch_layout[1] - want[1])) > 1e-4


def test_ranger_defaults_and_options(record_parity):
    problem = Problem(rng("ranger defaults"), steps=120)
    txs = [
        jaxsched.ranger(),
        jaxsched.ranger(1e-2, centralize=False),
        jaxsched.ranger(1e-2, centralize_min_ndim=4),
    ]
    wants = [
        numpy_ranger(problem, kept_axis=-1),
        numpy_ranger(problem, lr=1e-2, use_gc=False),
        numpy_ranger(problem, lr=1e-2, gc_conv_only=True),
    ]
    got = jaxsched_trajectories([problem] * 3, txs)
    labels = ["defaults", "centralize=False", "centralize_min_ndim=4"]
    for label, want, (traj, _, _) in zip(labels, wants, got, strict=True):
        record_parity(f"Ranger ({label})", assert_trajectories_close(traj, want, label=label))
    assert sorted(jaxsched.hyperparams(got[0][1])) == [
        "b1",
        "b2",
        "eps",
        "learning_rate",
        "slow_step_size",
        "threshold",
    ]


def test_lookahead_keeps_plain_params_and_matches_numpy():
    problem = Problem(rng("lookahead"), steps=100)
    lr, k, alpha = 0.05, 4, 0.3
    params = [p.copy() for p in problem.params]
    slow = [p.copy() for p in problem.params]
    want = [[] for _ in params]
    for step in range(1, problem.steps + 1):
        grads = problem.grad(np, params, step - 1)
        params = [p - lr * g for p, g in zip(params, grads, strict=True)]
        if step % k == 0:
            slow = [s + alpha * (p - s) for s, p in zip(slow, params, strict=True)]
            params = [s.copy() for s in slow]
        for rec, p in zip(want, params, strict=True):
            rec.append(p)
    tx = jaxsched.lookahead(jaxsched.sgd(lr), sync_period=k, slow_step_size=alpha)
    got, state = jaxsched_trajectory(problem, tx)
    assert_trajectories_close(got, [np.stack(r) for r in want])
    hp = jaxsched.hyperparams(state)
    assert float(hp["slow_step_size"]) == np.float32(alpha)
    assert float(hp["learning_rate"]) == np.float32(lr)


def test_lookahead_updates_have_the_params_structure():
    params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
    tx = jaxsched.lookahead(jaxsched.adam(0.1), sync_period=2)
    state = tx.init(params)
    for _ in range(2):
        updates, state = tx.update(jax.tree.map(jnp.ones_like, params), state, params)
        assert jax.tree.structure(updates) == jax.tree.structure(params)
        params = jaxsched.apply_updates(params, updates)
    # After one synchronisation the parameters sit halfway between start and fast weights.
    np.testing.assert_allclose(params["b"], -0.1, rtol=1e-5)


@pytest.mark.parametrize(
    ("layout", "axes", "kept"), [("flax", None, -1), ("torch", None, 0), ("flax", (1,), (0, 2))]
)
def test_centralize_removes_the_mean_over_the_chosen_axes(layout, axes, kept):
    g = jax.random.normal(jax.random.key(0), (3, 4, 5))
    tx = jaxsched.transforms.centralize(axes, layout=layout)
    out, _ = tx.update({"w": g, "b": g[0, 0]}, tx.init(None))
    averaged = tuple(a for a in range(3) if a not in np.atleast_1d(kept) % 3)
    np.testing.assert_allclose(np.mean(out["w"], axis=averaged), 0.0, atol=1e-6)
    shift = np.asarray(out["w"] - g)
    np.testing.assert_allclose(
        shift, np.mean(shift, axis=averaged, keepdims=True) + 0 * shift, atol=1e-6
    )
    np.testing.assert_array_equal(out["b"], g[0, 0])
