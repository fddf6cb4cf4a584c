"""End-to-end training steps of a model with many small leaves: per-leaf vs flat() optimizers.

The model is a residual MLP of ``--layers`` layers of width ``--width`` (a weight and a
bias per layer: 1000 leaves at the default 500 layers). One jitted, buffer-donating step
does the forward, the backward and the Adam update. Variants, compiled and then timed
interleaved (ABCD ABCD ...) in one process; medians of ``--repeats`` runs of
``--steps`` steps:

* ``optax.adam`` and ``jaxsched.adam``: one update per leaf;
* ``flat (drop-in)``: ``jaxsched.flat(jaxsched.adam(...))``, the same step code;
* ``flat (params in buffers)``: the parameters are ``tx.pack(params)`` and the model reads
  ``tx.views(buffers, state)``.

``sgd, no state (floor)`` (plain per-leaf SGD) shows what the forward and backward
cost alone. The last column is the largest difference of the parameters from
``jaxsched.adam``'s after ``--check-steps`` steps from the same start (float32; this deep
residual model is chaotic under Adam, so over many steps the last bits of the
gradients, which differ between any two compiled programs, grow). Not part of the tests.

    python benchmarks/many_leaves.py [--layers 500] [--width 64] [--batch 16]
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


def init_params(layers: int, width: int):
    keys = jax.random.split(jax.random.key(0), layers)
    scale = 0.5 / width**0.5
    return [
        {"w": scale * jax.random.normal(k, (width, width)), "b": jnp.zeros((width,))} for k in keys
    ]


def loss_fn(params, x, y):
    h = x
    for layer in params:
        h = h + jnp.tanh(h @ layer["w"] + layer["b"])
    return jnp.mean((h - y) ** 2)


def per_leaf(tx, params):
    @partial(jax.jit, donate_argnums=(0, 1))
    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    params = jax.tree.map(jnp.copy, params)
    return step, params, jax.tree.map(jnp.copy, tx.init(params)), lambda p, s: p


def in_buffers(tx, params):
    state = jax.tree.map(jnp.copy, tx.init(params))
    buffers = jax.tree.map(jnp.copy, tx.pack(params))

    @partial(jax.jit, donate_argnums=(0, 1))
    def step(buffers, state, x, y):
        loss, grads = jax.value_and_grad(lambda b: loss_fn(tx.views(b, state), x, y))(buffers)
        updates, state = tx.update(grads, state, buffers)
        return optax.apply_updates(buffers, updates), state, loss

    return step, buffers, state, tx.views


VARIANTS = {
    "sgd, no state (floor)": lambda p: per_leaf(optax.sgd(1e-3), p),
    "optax.adam": lambda p: per_leaf(optax.adam(1e-3), p),
    "jaxsched.adam": lambda p: per_leaf(jaxsched.adam(1e-3), p),
    "flat (drop-in)": lambda p: per_leaf(jaxsched.flat(jaxsched.adam(1e-3)), p),
    "flat (params in buffers)": lambda p: in_buffers(jaxsched.flat(jaxsched.adam(1e-3)), p),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=500)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--check-steps", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated variant names")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(VARIANTS)
    params = init_params(args.layers, args.width)
    x = jax.random.normal(jax.random.key(1), (args.batch, args.width))
    y = jax.random.normal(jax.random.key(2), (args.batch, args.width))
    n = sum(p.size for p in jax.tree.leaves(params))
    print(
        f"{len(jax.tree.leaves(params))} leaves, {n:,} parameters, batch {args.batch}; "
        f"{jax.devices()[0]}, jax {jax.__version__}, optax {optax.__version__}",
        flush=True,
    )
    runs, compile_s, checked = {}, {}, {}
    for name in names:
        step, p, s, read = VARIANTS[name](params)
        start = time.perf_counter()
        compiled = step.lower(p, s, x, y).compile()
        compile_s[name] = time.perf_counter() - start
        for _ in range(args.check_steps):
            p, s, _ = compiled(p, s, x, y)
        checked[name] = jax.tree.map(np.asarray, read(p, s))
        runs[name] = [compiled, p, s, read]
        print(f"  compiled {name}: {compile_s[name]:.2f} s", flush=True)
    times = {name: [] for name in names}
    for _ in range(args.repeats):
        for name in names:
            compiled, p, s, read = runs[name]
            start = time.perf_counter()
            for _ in range(args.steps):
                p, s, _ = compiled(p, s, x, y)
            jax.block_until_ready(p)
            times[name].append((time.perf_counter() - start) / args.steps)
            runs[name][1:3] = p, s
    base = float(np.median(times["optax.adam" if "optax.adam" in names else names[0]]))
    ref = checked.get("jaxsched.adam")
    print(f"{'variant':26s} {'compile s':>9s} {'step ms':>9s} {'speedup':>8s} {'max |dp|':>9s}")
    for name in names:
        step_s = float(np.median(times[name]))
        diff = float("nan")
        if ref is not None and not name.startswith("sgd"):
            pairs = zip(jax.tree.leaves(checked[name]), jax.tree.leaves(ref))
            diff = max(float(np.max(np.abs(a - b))) for a, b in pairs)
        print(
            f"{name:26s} {compile_s[name]:9.2f} {1e3 * step_s:9.2f} {base / step_s:7.2f}x "
            f"{diff:9.1e}"
        )
    print("(speedup: step time of optax.adam over the variant's)")


if __name__ == "__main__":
    main()
