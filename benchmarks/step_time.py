"""Step and compile time of jaxsched optimizers against optax's, in the same process.

Each optimizer updates a pytree of ``--leaves`` float32 leaves (``--size`` elements in
all) inside one jitted, buffer-donating step; the table gives compile time and the median
step time over ``--repeats`` timed runs of ``--steps`` steps.

    python benchmarks/step_time.py [--size 4000000] [--leaves 16] [--steps 50]
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched

PAIRS = {
    "sgd+momentum": (lambda: jaxsched.momentum(0.1, 0.9), lambda: optax.sgd(0.1, 0.9)),
    "adam": (lambda: jaxsched.adam(1e-3), lambda: optax.adam(1e-3)),
    "adamw": (
        lambda: jaxsched.adamw(1e-3, weight_decay=1e-2),
        lambda: optax.adamw(1e-3, weight_decay=1e-2),
    ),
    "rmsprop": (lambda: jaxsched.rmsprop(1e-3), lambda: optax.rmsprop(1e-3)),
    "adam+cosine": (
        lambda: jaxsched.adam(jaxsched.cosine_decay(1e-3, 10_000)),
        lambda: optax.adam(optax.cosine_decay_schedule(1e-3, 10_000)),
    ),
}


def make_params(size: int, leaves: int):
    per = size // leaves
    keys = jax.random.split(jax.random.key(0), leaves)
    return [jax.random.normal(k, (per,)) for k in keys]


def measure(tx, params, steps: int, repeats: int) -> tuple[float, float]:
    @partial(jax.jit, donate_argnums=(0, 1))
    def step(params, state):
        grads = jax.tree.map(lambda p: jnp.sin(p) + 0.1, params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    params = jax.tree.map(jnp.copy, params)
    state = tx.init(params)
    start = time.perf_counter()
    compiled = step.lower(params, state).compile()
    compile_time = time.perf_counter() - start
    params, state = jax.block_until_ready(compiled(params, state))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            params, state = compiled(params, state)
        jax.block_until_ready(params)
        times.append((time.perf_counter() - start) / steps)
    return compile_time, float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4_000_000)
    parser.add_argument("--leaves", type=int, default=16)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    params = make_params(args.size, args.leaves)
    print(f"{args.size:,} float32 parameters in {args.leaves} leaves, {jax.devices()[0]}")
    print(f"{'optimizer':14s} {'compile s':>18s} {'step ms':>18s}")
    print(f"{'':14s} {'jaxsched':>9s}{'optax':>9s} {'jaxsched':>9s}{'optax':>9s}")
    for name, (ours, theirs) in PAIRS.items():
        c1, s1 = measure(ours(), params, args.steps, args.repeats)
        c2, s2 = measure(theirs(), params, args.steps, args.repeats)
        print(f"{name:14s} {c1:9.3f}{c2:9.3f} {1e3 * s1:9.3f}{1e3 * s2:9.3f}")


if __name__ == "__main__":
    main()
