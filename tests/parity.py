"""The differential-test harness: jaxsched side by side with real torch and Keras.

A trajectory runs an optimizer for ``steps`` updates on a small random pytree (leaves of
1, 2 and 3 dims). Gradients depend on the parameters, ``g = c * p + 0.1 * sin(3 p) +
noise_t``, with per-leaf random curvatures ``c`` and per-step noise shared by every
implementation, so a wrong update changes the gradients that follow. Every step's
parameters are recorded and compared in float32.

The problem is convex: its curvature ``c + 0.3 cos(3 p)`` lies in [0.1, 2.3]. Over a
region of negative curvature, two implementations that differ by one float32 rounding
part company exponentially (the reference's own float32 and float64 runs did, past the
tolerances), so a failure there would say nothing about the code under test.

Random draws change from run to run: every generator comes from :func:`rng`, seeded by
the run's :data:`SEED` (``JAXSCHED_SEED`` in the environment, else fresh). The seed is
printed in pytest's header and summary and, with the hyperparameters drawn, under a
failing test (see conftest.py); ``JAXSCHED_SEED=<seed> pytest <test id>`` replays it.

Which options a draw turns on is not random: :func:`option_plans` lists, per optimizer,
no option, each option alone and all of them together, and the tests run every plan.
"""

from __future__ import annotations

import os
import secrets
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import numpy as np
import optax

SHAPES = ((5,), (3, 4), (2, 3, 2))
STEPS = 100
# The curvatures c are drawn from CURVATURE; WIGGLE * sin(3 p) bends the gradient by at
# most 3 * WIGGLE in curvature, less than c's lower bound, so the problem stays convex.
CURVATURE = (0.4, 2.0)
WIGGLE = 0.1


def _run_seed() -> int:
    text = os.environ.get("JAXSCHED_SEED", "").strip()
    return int(text) if text else secrets.randbelow(2**31)


SEED = _run_seed()

# What the running test drew, shown under it if it fails; conftest.py clears it per test.
DRAWN: list[str] = []


def rng(*key: Any) -> np.random.Generator:
    """The generator of the draws named ``key`` (test name, draw index...) in this run."""
    return np.random.default_rng([SEED, *(zlib.crc32(repr(k).encode()) for k in key)])


def note(label: str, value: Any) -> None:
    """Records a drawn value so that a failure shows it."""
    DRAWN.append(f"{label}: {value!r}")


def uniform(r: np.random.Generator, low: float, high: float) -> float:
    return float(r.uniform(low, high))


def log_uniform(r: np.random.Generator, low: float, high: float) -> float:
    return float(10 ** r.uniform(np.log10(low), np.log10(high)))


def option_plans(
    options: Sequence[str],
    requires: Mapping[str, Sequence[str]] | None = None,
    exclusive: Sequence[Sequence[str]] = (),
) -> list[tuple[str, ...]]:
    """The option sets an optimizer's draws turn on: none, each alone, all together.

    ``requires[o]`` are options that ``o`` needs (dampening needs momentum); they come
    along when ``o`` is "alone". Options in one group of ``exclusive`` cannot be on
    together, so "all together" is repeated once per member of the largest group.
    """
    requires = requires or {}

    def closure(names: Sequence[str]) -> tuple[str, ...]:
        out = set(names)
        for name in names:
            out |= set(requires.get(name, ()))
        return tuple(o for o in options if o in out)

    plans = [(), *(closure([o]) for o in options)]
    excluded = {o for group in exclusive for o in group}
    free = [o for o in options if o not in excluded]
    for j in range(max((len(g) for g in exclusive), default=1)):
        plans.append(closure(free + [g[j % len(g)] for g in exclusive]))
    return list(dict.fromkeys(plans))


Draw = Callable[[np.random.Generator], dict]


@dataclass
class Flavor:
    """How to draw an optimizer's arguments: always-drawn ones and switchable options.

    ``base(r, i)`` draws the arguments of plan ``i`` that are always given (plan index
    ``i`` lets a test vary them deterministically, e.g. a large eps in two plans out of
    three); ``options[name](r)`` draws the arguments that turn option ``name`` on.
    """

    base: Callable[[np.random.Generator, int], dict]
    options: dict[str, Draw] = field(default_factory=dict)
    requires: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclusive: tuple[tuple[str, ...], ...] = ()

    def plans(self) -> list[tuple[str, ...]]:
        return option_plans(list(self.options), self.requires, self.exclusive)

    def draw(self, r: np.random.Generator, i: int, plan: Sequence[str]) -> dict:
        kw = self.base(r, i)
        for name in plan:
            kw.update(self.options[name](r))
        return kw


def eps_draw(r: np.random.Generator, i: int, low: float = 1e-8) -> float:
    """eps of plan ``i``: in [1e-2, 1e-1], where its placement (inside or outside a square
    root, before or after a bias correction) shows, in two plans out of three."""
    return log_uniform(r, 1e-2, 1e-1) if i % 3 else log_uniform(r, low, 1e-4)


class Problem:
    """Initial parameters, curvatures and per-step noise of one random trajectory.

    ``ascent=True`` negates the gradient, so that an optimizer told to maximize climbs a
    concave function: a stable trajectory, like the descent ones. Climbing the convex
    one instead grows the parameters step after step and amplifies float32 rounding
    (hyperparameters kept in float32 against torch's float64 factors) past any tight
    tolerance.
    """

    def __init__(
        self,
        seed: Any,
        shapes: Sequence[tuple[int, ...]] = SHAPES,
        steps: int = STEPS,
        ascent: bool = False,
    ):
        self.sign = -1.0 if ascent else 1.0
        r = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.steps = steps
        self.params = [r.normal(size=s).astype(np.float32) for s in shapes]
        self.curvature = [r.uniform(*CURVATURE, size=s).astype(np.float32) for s in shapes]
        self.noise = [r.normal(scale=0.3, size=(steps, *s)).astype(np.float32) for s in shapes]

    def grad(self, xp, leaves, t: int):
        """The gradient at step t, in the array library ``xp`` (numpy, jax.numpy, torch)."""
        return [
            self.sign * (xp.asarray(c) * p + WIGGLE * xp.sin(3 * p) + xp.asarray(n[t]))
            for p, c, n in zip(leaves, self.curvature, self.noise)
        ]


def torch_trajectory(
    problem: Problem,
    make_optimizer: Callable,
    make_scheduler: Callable | None = None,
    record: Callable | None = None,
):
    """Runs ``make_optimizer(params)`` from torch.optim; returns per-leaf [steps, ...] arrays.

    With ``record(optimizer, params) -> list of tensors`` it also returns what ``record``
    gave after each step, stacked the same way (ASGD's running average ``ax``).
    """
    import torch

    # Plain tensors: torch's differentiable=True path steps with autograd on, which
    # refuses in-place updates of leaves that require grad.
    params = [torch.tensor(p) for p in problem.params]
    opt = make_optimizer(params)
    sched = make_scheduler(opt) if make_scheduler else None
    torch_xp = _TorchXP()
    out = [[] for _ in params]
    recorded = []
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
        if record is not None:
            recorded.append([x.detach().numpy().copy() for x in record(opt, params)])
    traj = [np.stack(r) for r in out]
    if record is None:
        return traj
    return traj, [np.stack(r) for r in zip(*recorded)]


class _TorchXP:
    @staticmethod
    def asarray(x):
        import torch

        return torch.as_tensor(x)

    @staticmethod
    def sin(x):
        import torch

        return torch.sin(x)


def _jax_inputs(problem: Problem):
    return (
        [jnp.asarray(p) for p in problem.params],
        [jnp.asarray(c) for c in problem.curvature],
        [jnp.asarray(n) for n in problem.noise],
        jnp.float32(problem.sign),
    )


def gradient(params, curvature, noise_t, sign=1.0):
    """:meth:`Problem.grad` in jax, with the step's noise given."""
    return [
        sign * (c * x + WIGGLE * jnp.sin(3 * x) + n) for x, c, n in zip(params, curvature, noise_t)
    ]


def keras_trajectories(problems: Sequence[Problem], optimizers: Sequence) -> list[list[np.ndarray]]:
    """Runs Keras 3 optimizers (JAX backend) as ``model.fit`` does: ``stateless_apply``
    under ``jit``; all of them in one compiled program. Returns per-leaf [steps, ...]
    arrays for each."""
    import keras

    starts = []
    for problem, optimizer in zip(problems, optimizers, strict=True):
        optimizer.build([keras.Variable(p) for p in problem.params])
        starts.append((_jax_inputs(problem), [v.value for v in optimizer.variables]))

    def run(optimizer, inputs, variables):
        params, curvature, noise, sign = inputs

        def body(carry, noise_t):
            p, v = carry
            p, v = optimizer.stateless_apply(v, gradient(p, curvature, noise_t, sign), p)
            return (p, v), p

        return jax.lax.scan(body, (params, variables), noise)[1]

    trajectories = jax.jit(
        lambda starts: [run(o, *s) for o, s in zip(optimizers, starts, strict=True)]
    )(starts)
    return [[np.asarray(x) for x in traj] for traj in trajectories]


def keras_trajectory(problem: Problem, optimizer) -> list[np.ndarray]:
    """:func:`keras_trajectories` of one optimizer."""
    return keras_trajectories([problem], [optimizer])[0]


def jaxsched_trajectories(
    problems: Sequence[Problem],
    txs: Sequence[optax.GradientTransformation],
    aux: Callable[[optax.OptState], Any] | None = None,
    **extra,
) -> list[tuple[list[np.ndarray], optax.OptState, Any]]:
    """Runs jaxsched transformations, each under ``lax.scan``, all in one jitted program.

    One program for many optimizers compiles about twice as fast as one each. Returns,
    per transformation, the per-leaf [steps, ...] arrays, the final state and the
    per-step values of ``aux(state)`` (None without ``aux``).
    """

    def run(tx, inputs, state):
        params, curvature, noise, sign = inputs

        def body(carry, noise_t):
            p, s = carry
            u, s = tx.update(gradient(p, curvature, noise_t, sign), s, p, **extra)
            p = optax.apply_updates(p, u)
            return (p, s), (p, None if aux is None else aux(s))

        (_, final), (traj, auxed) = jax.lax.scan(body, (params, state), noise)
        return traj, final, auxed

    starts = []
    for problem, tx in zip(problems, txs, strict=True):
        inputs = _jax_inputs(problem)
        starts.append((inputs, tx.init(inputs[0])))
    results = jax.jit(lambda starts: [run(tx, *s) for tx, s in zip(txs, starts, strict=True)])(
        starts
    )
    return [
        ([np.asarray(x) for x in traj], final, jax.tree.map(np.asarray, auxed))
        for traj, final, auxed in results
    ]


def jaxsched_trajectory(
    problem: Problem, tx: optax.GradientTransformation, **extra
) -> tuple[list[np.ndarray], optax.OptState]:
    """Runs one jaxsched transformation under a jitted ``lax.scan``.

    Returns the per-leaf [steps, ...] arrays and the final state.
    """
    traj, final, _ = jaxsched_trajectories([problem], [tx], **extra)[0]
    return traj, final


def max_rel_error(got: Sequence[np.ndarray], want: Sequence[np.ndarray], floor: float = 1.0):
    """Largest ``|got - want| / max(|want|, floor)`` over all leaves and steps.

    The floor keeps parameters that pass near zero from reporting huge relative errors:
    the measure is relative for values above 1 and absolute below.
    """
    return max(
        float(np.max(np.abs(g - w) / np.maximum(np.abs(w), floor))) for g, w in zip(got, want)
    )


def assert_trajectories_close(
    got: Sequence[np.ndarray],
    want: Sequence[np.ndarray],
    rtol: float = 1e-5,
    atol: float = 1e-5,
    label: str = "",
) -> float:
    """Asserts every step of every leaf agrees; returns :func:`max_rel_error`.

    Hyperparameters live in the state as float32 while torch and Keras compute some
    factors (``1 - b2``, ``b2 ** t``) in float64, which alone moves trajectories by a
    few 1e-6; the default tolerances allow that and nothing more. A failure names the
    first step that differs.
    """
    assert len(got) == len(want), (label, len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, (label, i, g.shape, w.shape)
        bad = ~np.isclose(g, w, rtol=rtol, atol=atol)
        if bad.any():
            step = int(np.argwhere(bad)[0][0])
            np.testing.assert_allclose(
                g,
                w,
                rtol=rtol,
                atol=atol,
                err_msg=f"{label} leaf {i}: first differs at step {step}",
            )
    return max_rel_error(got, want)


def _torch_paths(name: str) -> tuple[list[dict], list[dict]]:
    """torch's code paths for ``torch.optim.<name>`` on CPU (the default for-loop, foreach,
    differentiable, fused where torch has it) and the flags jaxsched must accept for them:
    the same, plus ``capturable``, which needs CUDA in torch (jaxsched ignores them all)."""
    import inspect

    import torch

    accepted = inspect.signature(getattr(torch.optim, name)).parameters
    paths = [{}, {"foreach": True}, {"foreach": False}, {"differentiable": True}]
    if "fused" in accepted:
        paths.append({"fused": True})
    flags = [*paths, {"capturable": True}] if "capturable" in accepted else paths
    return paths, flags


def check_torch_flavor(name: str, flavor: Flavor, record_parity, record=None, aux=None) -> None:
    """Every plan of ``flavor``: ``jaxsched.torch.<name>`` against ``torch.optim.<name>``.

    Each plan's jaxsched trajectory is compared with torch on one or more of its code
    paths, so that every path is checked in every run; jaxsched gets the path flags in
    turn. With ``record``/``aux`` the per-step values they return (torch side / jaxsched
    state side) are compared too.
    """
    import torch

    import jaxsched

    paths, flags = _torch_paths(name)
    plans = flavor.plans()
    per_plan = -(-len(paths) // len(plans))
    runs = []
    for i, plan in enumerate(plans):
        kw = flavor.draw(rng(name, i), i, plan)
        jax_flags = flags[(i + SEED) % len(flags)]
        torch_flags = [paths[(i * per_plan + j + SEED) % len(paths)] for j in range(per_plan)]
        note(f"plan {i}", (plan, kw, jax_flags, torch_flags))
        tx = getattr(jaxsched.torch, name)(**kw, **jax_flags)
        problem = Problem(rng(name, i, "problem"), ascent=kw.get("maximize", False))
        runs.append((f"{name} plan {i} {plan} {kw}", problem, kw, tx))

    got = jaxsched_trajectories([run[1] for run in runs], [run[3] for run in runs], aux=aux)
    failures = []
    for i, ((label, problem, kw, _), (traj, _, auxed)) in enumerate(zip(runs, got, strict=True)):
        for j in range(per_plan):
            path = paths[(i * per_plan + j + SEED) % len(paths)]

            def make(params, kw=kw, path=path):
                return getattr(torch.optim, name)(params, **kw, **path)

            want = torch_trajectory(problem, make, record=record)
            pairs = [(traj, want if record is None else want[0], "")]
            if record is not None:
                pairs.append((auxed, want[1], " (recorded)"))
            for g, w, what in pairs:
                try:
                    where = f"{label} torch {path or 'default'}{what}"
                    error = assert_trajectories_close(g, w, label=where)
                except AssertionError as e:
                    failures.append(str(e))
                else:
                    record_parity(f"torch.{name}{what}", error)
    if failures:
        raise AssertionError("\n\n".join(failures))


KERAS_CLIPS = ("clipnorm", "clipvalue", "global_clipnorm")
KERAS_COMMON = ("weight_decay", *KERAS_CLIPS, "decay")


def keras_common_options() -> dict[str, Draw]:
    """Keras's common arguments. The clip thresholds sit below the gradients' norms, so
    clipping is active (test_parity_keras_optim checks it). ``decay`` is Keras 2's, which
    Keras 3 ignores; :func:`keras_reference` turns it into the schedule it stood for."""
    return {
        "weight_decay": lambda r: {"weight_decay": uniform(r, 0.01, 0.2)},
        "clipnorm": lambda r: {"clipnorm": uniform(r, 0.3, 1.5)},
        "clipvalue": lambda r: {"clipvalue": uniform(r, 0.2, 0.8)},
        "global_clipnorm": lambda r: {"global_clipnorm": uniform(r, 0.5, 3.0)},
        "decay": lambda r: {"decay": log_uniform(r, 1e-3, 5e-2)},
    }


def keras_plans(flavor: Flavor, k: int) -> list[tuple[str, ...]]:
    """The plans of the ``k``-th Keras optimizer: no option, each of its own options alone,
    one common argument alone and everything together with one clip argument.

    The common arguments are assembled in one place for every optimizer, so each is tested
    alone on some optimizers (``k`` and the run's seed rotate them; five or more
    optimizers cover all five) and together, with a rotating clip, on all of them.
    """
    own = [o for o in flavor.options if o not in KERAS_COMMON]
    alone = KERAS_COMMON[(k + SEED) % len(KERAS_COMMON)]
    plans = option_plans(own, flavor.requires, flavor.exclusive)[: len(own) + 1]
    together = (*own, "weight_decay", KERAS_CLIPS[(k + SEED) % len(KERAS_CLIPS)], "decay")
    excluded = {o for group in flavor.exclusive for o in group[1:]}
    together = tuple(o for o in together if o not in excluded)
    return list(dict.fromkeys([*plans, (alone,), together]))


def keras_reference(name: str, kw: Mapping[str, Any]):
    """``keras.optimizers.<name>(**kw)``, with ``decay`` as the inverse-time decay it meant."""
    import keras

    kw = dict(kw)
    decay = kw.pop("decay", None)
    if decay is not None:
        kw["learning_rate"] = keras.optimizers.schedules.InverseTimeDecay(
            kw["learning_rate"], decay_steps=1, decay_rate=decay
        )
    return getattr(keras.optimizers, name)(**kw)


def check_keras_flavor(name: str, flavor: Flavor, k: int, record_parity) -> None:
    """Every plan of :func:`keras_plans`: ``jaxsched.keras.<name>`` against Keras."""
    import jaxsched

    runs = []
    for i, plan in enumerate(keras_plans(flavor, k)):
        kw = flavor.draw(rng("keras", name, i), i, plan)
        note(f"plan {i}", (plan, kw))
        runs.append((f"keras.{name} plan {i} {plan} {kw}", Problem(rng("keras", name, i, "p")), kw))
    problems = [run[1] for run in runs]
    want = keras_trajectories(problems, [keras_reference(name, run[2]) for run in runs])
    txs = [getattr(jaxsched.keras, name)(**run[2]) for run in runs]
    got = jaxsched_trajectories(problems, txs)
    failures = []
    for (label, _, _), w, (g, _, _) in zip(runs, want, got, strict=True):
        try:
            record_parity(f"keras.{name}", assert_trajectories_close(g, w, label=label))
        except AssertionError as e:
            failures.append(str(e))
    if failures:
        raise AssertionError("\n\n".join(failures))
