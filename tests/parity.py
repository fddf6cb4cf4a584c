"""The differential-test harness: jaxsched side by side with real torch and Keras.

A trajectory runs an optimizer for ``steps`` updates on a small random pytree (leaves of
1, 2 and 3 dims). Gradients depend on the parameters, ``g = c * p + 0.5 * sin(3 p) +
noise_t``, with per-leaf random curvatures ``c`` and per-step noise shared by every
implementation, so a wrong update changes the gradients that follow. Every step's
parameters are recorded and compared in float32.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import numpy as np
import optax

SHAPES = ((5,), (3, 4), (2, 3, 2))
STEPS = 100


class Problem:
    """Initial parameters, curvatures and per-step noise of one random trajectory."""

    def __init__(self, seed: int, shapes: Sequence[tuple[int, ...]] = SHAPES, steps: int = STEPS):
        rng = np.random.default_rng(seed)
        self.steps = steps
        self.params = [rng.normal(size=s).astype(np.float32) for s in shapes]
        self.curvature = [rng.uniform(0.2, 2.0, size=s).astype(np.float32) for s in shapes]
        self.noise = [rng.normal(scale=0.3, size=(steps, *s)).astype(np.float32) for s in shapes]

    def grad(self, xp, leaves, t: int):
        """The gradient at step t, in the array library ``xp`` (numpy, jax.numpy, torch)."""
        return [
            xp.asarray(c) * p + 0.5 * xp.sin(3 * p) + xp.asarray(n[t])
            for p, c, n in zip(leaves, self.curvature, self.noise)
        ]


def torch_trajectory(
    problem: Problem,
    make_optimizer: Callable,
    make_scheduler: Callable | None = None,
) -> list[np.ndarray]:
    """Runs ``make_optimizer(params)`` from torch.optim; returns per-leaf [steps, ...] arrays."""
    import torch

    params = [torch.tensor(p, requires_grad=True) for p in problem.params]
    opt = make_optimizer(params)
    sched = make_scheduler(opt) if make_scheduler else None
    torch_xp = _TorchXP()
    out = [[] for _ in params]
    for t in range(problem.steps):
        with torch.no_grad():
            grads = problem.grad(torch_xp, [p.detach() for p in params], t)
        for p, g in zip(params, grads):
            p.grad = g.clone()
        opt.step()
        if sched is not None:
            sched.step()
        for rec, p in zip(out, params):
            rec.append(p.detach().numpy().copy())
    return [np.stack(r) for r in out]


class _TorchXP:
    @staticmethod
    def asarray(x):
        import torch

        return torch.as_tensor(x)

    @staticmethod
    def sin(x):
        import torch

        return torch.sin(x)


def keras_trajectory(problem: Problem, optimizer) -> list[np.ndarray]:
    """Runs a Keras 3 optimizer (JAX backend) eagerly; returns per-leaf [steps, ...] arrays."""
    import keras

    variables = [keras.Variable(p) for p in problem.params]
    optimizer.build(variables)
    out = [[] for _ in variables]
    for t in range(problem.steps):
        grads = problem.grad(jnp, [jnp.asarray(v.value) for v in variables], t)
        optimizer.apply(grads, variables)
        for rec, v in zip(out, variables):
            rec.append(np.asarray(v.value).copy())
    return [np.stack(r) for r in out]


def jaxsched_trajectory(
    problem: Problem, tx: optax.GradientTransformation, **extra
) -> tuple[list[np.ndarray], optax.OptState]:
    """Runs a jaxsched transformation under one jitted ``lax.scan``.

    Returns the per-leaf [steps, ...] arrays and the final state.
    """
    params = [jnp.asarray(p) for p in problem.params]
    return _scan(tx, problem, params, tx.init(params), **extra)


def _scan(tx, problem, params, state, **extra):
    noise = [jnp.asarray(n) for n in problem.noise]
    curv = [jnp.asarray(c) for c in problem.curvature]

    def body(carry, noise_t):
        p, s = carry
        g = [c * x + 0.5 * jnp.sin(3 * x) + n for x, c, n in zip(p, curv, noise_t)]
        u, s = tx.update(g, s, p, **extra)
        p = optax.apply_updates(p, u)
        return (p, s), p

    (_, final), traj = jax.jit(lambda p, s: jax.lax.scan(body, (p, s), noise))(params, state)
    return [np.asarray(x) for x in traj], final


def max_rel_error(got: Sequence[np.ndarray], want: Sequence[np.ndarray], floor: float = 1.0):
    """Largest ``|got - want| / max(|want|, floor)`` over all leaves and steps.

    The floor keeps parameters that pass near zero from reporting huge relative errors:
    the measure is relative for values above 1 and absolute below.
    """
    return max(
        float(np.max(np.abs(g - w) / np.maximum(np.abs(w), floor))) for g, w in zip(got, want)
    )


def assert_trajectories_close(
    got: Sequence[np.ndarray], want: Sequence[np.ndarray], rtol: float = 1e-5, atol: float = 1e-5
) -> float:
    """Asserts every step of every leaf agrees; returns :func:`max_rel_error`.

    Hyperparameters live in the state as float32 while torch and Keras compute some
    factors (``1 - b2``, ``b2 ** t``) in float64, which alone moves trajectories by a
    few 1e-6; the default tolerances allow that and nothing more.
    """
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, (i, g.shape, w.shape)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"leaf {i}")
    return max_rel_error(got, want)
