"""Step and compile time of jaxsched's native optimizers against their optax counterparts.

One command, one process: for each parameter shape (1 leaf x 1M, 200 leaves x 20k,
1000 leaves x 4k float32) and each optimizer pair, the jaxsched and optax steps are
compiled and timed interleaved (ABAB...), so machine load hits both alike; the table
gives the medians and the jaxsched/optax ratios. A streaming roofline is measured in the
same run: a jitted step that reads the parameters, gradients and the optimizer's state
once and writes them once (``x + 1`` on every buffer), i.e. the least memory traffic any
elementwise optimizer step can do; "% roofline" is that time over the optimizer's.

    python benchmarks/run.py            # full run
    python benchmarks/run.py --quick    # fewer optimizers, shapes and repeats
    python benchmarks/run.py --only adam,lion --shapes 1000x4000
    python benchmarks/run.py --all      # then many_leaves.py, quantized.py, torch_adam.py
    python benchmarks/run.py --in-loop  # also --steps steps inside one compiled loop

``--in-loop`` separates the device's work from the host's dispatch of each call: where
steps take tens of microseconds (one leaf on a GPU), a difference between the per-call
and the in-loop ratios is per-call overhead (the arguments and results of the step).

Not part of the tests. Compile time is trace + lower + XLA compile of one fresh jit.
"""

from __future__ import annotations

import argparse
import inspect
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib

import jaxsched

LR = 1e-3
# name: (jaxsched's optimizer, optax's factory, its arguments after the learning rate).
# The optax side is built as ``factory(LR, **kwargs)`` and, with ``--inject``, also as
# ``optax.inject_hyperparams(factory)(LR, **kwargs)``: the same rule with its
# hyperparameters as runtime state, as jaxsched holds them.
PAIRS = {
    "sgd": (lambda: jaxsched.sgd(LR), optax.sgd, {}),
    "momentum": (lambda: jaxsched.momentum(LR, 0.9), optax.sgd, {"momentum": 0.9}),
    "adam": (lambda: jaxsched.adam(LR), optax.adam, {}),
    "adamw": (
        lambda: jaxsched.adamw(LR, weight_decay=1e-2),
        optax.adamw,
        {"weight_decay": 1e-2},
    ),
    "adagrad": (lambda: jaxsched.adagrad(LR), optax.adagrad, {}),
    "rmsprop": (lambda: jaxsched.rmsprop(LR), optax.rmsprop, {}),
    "adamax": (lambda: jaxsched.adamax(LR), optax.adamax, {}),
    "nadam": (lambda: jaxsched.nadam(LR), optax.nadam, {}),
    "radam": (lambda: jaxsched.radam(LR), optax.radam, {}),
    "lion": (lambda: jaxsched.lion(LR), optax.lion, {}),
    "lamb": (lambda: jaxsched.lamb(LR), optax.lamb, {}),
    "lars": (lambda: jaxsched.lars(LR), optax.lars, {}),
    "adan": (lambda: jaxsched.adan(LR), optax.adan, {}),
    "adadelta": (lambda: jaxsched.adadelta(LR), optax.adadelta, {}),
    "amsgrad": (lambda: jaxsched.amsgrad(LR), optax.amsgrad, {}),
    "nesterov": (
        lambda: jaxsched.nesterov(LR, 0.9),
        optax.sgd,
        {"momentum": 0.9, "nesterov": True},
    ),
    "rprop": (lambda: jaxsched.rprop(LR), optax.rprop, {}),
    # Both factor every matrix (optax by default only dimensions of 128 or more).
    "adafactor": (
        lambda: jaxsched.adafactor(LR, relative_step=False),
        optax.adafactor,
        {"min_dim_size_to_factor": 1},
    ),
    # optax.contrib's counterparts.
    "ademamix": (lambda: jaxsched.ademamix(LR), optax.contrib.ademamix, {}),
    "adopt": (lambda: jaxsched.adopt(LR), optax.contrib.adopt, {}),
    "muon": (lambda: jaxsched.muon(LR), optax.contrib.muon, {}),
    "prodigy": (lambda: jaxsched.prodigy(LR), optax.contrib.prodigy, {}),
    "dadapt_adam": (lambda: jaxsched.dadapt_adam(LR), optax.contrib.dadapt_adamw, {}),
    "schedule_free_sgd": (
        lambda: jaxsched.schedule_free_sgd(LR),
        optax.contrib.schedule_free_sgd,
        {},
    ),
    "schedule_free_adamw": (
        lambda: jaxsched.schedule_free_adamw(LR),
        optax.contrib.schedule_free_adamw,
        {},
    ),
    # The many-leaf path: one packed buffer per dtype instead of one update per leaf;
    # by default (on CPUs) leaves over 8192 elements stay apart; "/all" packs every leaf.
    "flat(adam)": (lambda: jaxsched.flat(jaxsched.adam(LR)), optax.adam, {}),
    "flat(adam)/all": (lambda: jaxsched.flat(jaxsched.adam(LR), max_size=None), optax.adam, {}),
}


def contenders(name: str, inject: bool) -> list:
    """Factories of the optimizers compared under ``name``: jaxsched's, optax's, and
    with ``inject`` optax's under ``optax.inject_hyperparams``."""
    ours, factory, kwargs = PAIRS[name]
    makers = [ours, lambda: factory(LR, **kwargs)]
    if inject:
        # Integer and bool arguments select code paths, and functions (adopt's
        # clip_value_fn) would be read as schedules: optax needs them static.
        defaults = {
            k: p.default
            for k, p in inspect.signature(factory).parameters.items()
            if p.default is not p.empty
        }
        static = tuple(
            k for k, v in (defaults | kwargs).items() if isinstance(v, (bool, int)) or callable(v)
        )
        injected = optax.inject_hyperparams(factory, static_args=static)
        makers.append(lambda: injected(LR, **kwargs))
    return makers


QUICK = ("sgd", "momentum", "adam", "adamw", "lion")
SHAPES = ((1, 1_000_000), (200, 20_000), (1000, 4_000))


# Rules of matrices: their leaves are near-square matrices of the same size
# (1000 x 1000, 125 x 160, 50 x 80), the others vectors.
MATRIX_RULES = ("muon", "adafactor")


def make_params(leaves: int, per: int, matrix: bool = False):
    keys = jax.random.split(jax.random.key(0), leaves)
    rows = max(d for d in range(1, int(per**0.5) + 1) if per % d == 0)
    shape = (rows, per // rows) if matrix else (per,)
    return [jax.random.normal(k, shape) for k in keys]


def grads_of(params):
    return jax.tree.map(lambda p: jnp.sin(p) + 0.1, params)


def compile_step(tx, params):
    """(compile seconds, compiled step, fresh params, state) for a buffer-donating step."""

    @partial(jax.jit, donate_argnums=(0, 1))
    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    params = jax.tree.map(jnp.copy, params)
    # Copies: an init may share one buffer between state entries, which donation refuses.
    state = jax.tree.map(jnp.copy, tx.init(params))
    grads = grads_of(params)
    start = time.perf_counter()
    compiled = step.lower(params, state, grads).compile()
    return time.perf_counter() - start, compiled, params, state, grads


def roofline_step(params, state):
    """Reads and writes params and every state array once, reads the gradients once."""

    @partial(jax.jit, donate_argnums=(0, 1))
    def step(params, state, grads):
        bump = partial(jax.tree.map, lambda x: x + 1 if jnp.issubdtype(x.dtype, jnp.inexact) else x)
        total = sum(
            jnp.sum(g[:1]) for g in jax.tree.leaves(grads)
        )  # reads one element: keeps grads live
        return bump(params), bump(state), total

    return step


def time_steps(compiled, params, state, grads, steps: int):
    start = time.perf_counter()
    for _ in range(steps):
        params, state = compiled(params, state, grads)[:2]
    jax.block_until_ready(params)
    return (time.perf_counter() - start) / steps, params, state


def bench(makers, params, steps: int, repeats: int):
    """Interleaved compile and step medians of each maker's optimizer (A B C A B C ...):
    (compile seconds, step seconds, the second maker's final state, which ``main``'s
    roofline copies)."""
    count = len(makers)
    comp = [[] for _ in makers]
    runs = [None] * count
    for _ in range(max(repeats, 1)):
        for i, make in enumerate(makers):
            c, *run = compile_step(make(), params)
            comp[i].append(c)
            runs[i] = run
    step_t = [[] for _ in makers]
    for i in range(count):  # warm up
        compiled, p, s, g = runs[i]
        p, s = jax.block_until_ready(compiled(p, s, g))
        runs[i] = [compiled, p, s, g]
    for _ in range(repeats):
        for i in range(count):
            compiled, p, s, g = runs[i]
            t, p, s = time_steps(compiled, p, s, g, steps)
            runs[i] = [compiled, p, s, g]
            step_t[i].append(t)
    med = lambda xs: float(np.median(xs))  # noqa: E731
    return [med(c) for c in comp], [med(t) for t in step_t], runs[1][2]


def loop_times(makers, params, steps: int, repeats: int) -> list[float]:
    """Median seconds per step of each maker's optimizer with ``steps`` steps inside one
    compiled ``fori_loop`` (interleaved A B A B ...): the device's work alone, without
    the host's dispatch of one call per step that ``bench`` times."""

    def compile_loop(tx):
        @partial(jax.jit, donate_argnums=(0, 1))
        def loop(params, state, grads):
            def body(_, carry):
                params, state = carry
                updates, state = tx.update(grads, state, params)
                return optax.apply_updates(params, updates), state

            return jax.lax.fori_loop(0, steps, body, (params, state))

        p = jax.tree.map(jnp.copy, params)
        s = jax.tree.map(jnp.copy, tx.init(p))
        g = grads_of(p)
        compiled = loop.lower(p, s, g).compile()
        p, s = jax.block_until_ready(compiled(p, s, g))  # warm up
        return [compiled, p, s, g]

    runs = [compile_loop(make()) for make in makers]
    times = [[] for _ in makers]
    for _ in range(repeats):
        for i, (compiled, p, s, g) in enumerate(runs):
            start = time.perf_counter()
            p, s = jax.block_until_ready(compiled(p, s, g))
            times[i].append((time.perf_counter() - start) / steps)
            runs[i][1:3] = p, s
    return [float(np.median(t)) for t in times]


def roofline(params, state, steps: int, repeats: int):
    step = roofline_step(params, state)
    p, s = jax.tree.map(jnp.copy, params), jax.tree.map(jnp.copy, state)
    g = grads_of(p)
    compiled = step.lower(p, s, g).compile()
    p, s = jax.block_until_ready(compiled(p, s, g))[:2]
    times = []
    for _ in range(repeats):
        t, p, s = time_steps(compiled, p, s, g, steps)
        times.append(t)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 optimizers, 2 repeats")
    parser.add_argument("--only", default="", help="comma-separated optimizer names")
    parser.add_argument("--shapes", default="", help="e.g. 1x1000000,1000x4000")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--inject",
        action="store_true",
        help="also time optax.inject_hyperparams(optax's factory) (js/inj columns)",
    )
    parser.add_argument(
        "--in-loop",
        action="store_true",
        help="also time --steps steps inside one compiled loop (no per-step dispatch)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="then run many_leaves.py, quantized.py and torch_adam.py",
    )
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(QUICK if args.quick else PAIRS)
    repeats = 2 if args.quick else args.repeats
    shapes = (
        [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
        if args.shapes
        else SHAPES
    )
    print(f"device: {jax.devices()[0]}, jax {jax.__version__}, optax {optax.__version__}")
    width = max(len(n) for n in names)
    head = (
        f"{'shape':>10s} {'optimizer':{width}s} {'compile s js/ox':>17s} {'ratio':>6s} "
        f"{'step ms js/ox':>17s} {'ratio':>6s} {'%roof js/ox':>12s}"
        + (
            f" {'inj compile s':>13s} {'js/inj':>6s} {'inj step ms':>11s} {'js/inj':>6s}"
            if args.inject
            else ""
        )
        + (f" {'in-loop ms js/ox':>17s} {'ratio':>6s}" if args.in_loop else "")
    )
    print(head)
    # One throwaway compile, so that neither library pays JAX's first-compile setup.
    compile_step(optax.sgd(LR), make_params(1, 8))
    for leaves, per in shapes:
        for name in names:
            params = make_params(leaves, per, matrix=name in MATRIX_RULES)
            makers = contenders(name, args.inject)
            comp, step, state = bench(makers, params, args.steps, repeats)
            (c1, c2), (s1, s2) = comp[:2], step[:2]
            roof = roofline(params, state, args.steps, repeats)
            line = (
                f"{leaves:>4d}x{per:<5d} {name:{width}s} {c1:8.2f}/{c2:<8.2f} {c1 / c2:6.2f} "
                f"{1e3 * s1:8.3f}/{1e3 * s2:<8.3f} {s1 / s2:6.2f} "
                f"{100 * roof / s1:5.0f}/{100 * roof / s2:<5.0f}"
            )
            if args.inject:
                c3, s3 = comp[2], step[2]
                line += f" {c3:13.2f} {c1 / c3:6.2f} {1e3 * s3:11.3f} {s1 / s3:6.2f}"
            if args.in_loop:
                l1, l2 = loop_times(makers[:2], params, args.steps, repeats)
                line += f" {1e3 * l1:8.3f}/{1e3 * l2:<8.3f} {l1 / l2:6.2f}"
            print(line, flush=True)
    if args.all:
        import many_leaves
        import quantized
        import torch_adam

        print("\n# many_leaves.py", flush=True)
        many_leaves.main([])
        print("\n# quantized.py", flush=True)
        quantized.main([])
        print("\n# torch_adam.py", flush=True)
        torch_adam.main([])


if __name__ == "__main__":
    main()
