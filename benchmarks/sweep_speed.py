"""A 64-configuration sweep in one program against 64 runs one after another.

Both train the same small network (``--width`` hidden units, synthetic classification
data, mini-batches shared by all configurations) with AdamW, ``--steps`` steps, a Python
loop over steps around one jitted step:

* sequential: the jitted step, called for one configuration at a time; the
  configurations differ only in the hyperparameters held in their states
  (``jaxsched.set_hyperparams``), so the step compiles once;
* sweep: ``jax.vmap`` of the same step over the 64 states from ``jaxsched.sweep_init``
  (split over ``--devices`` simulated CPU devices when more than one).

Compile time is left out of both (each is compiled and run once first). Prints both wall
times and their ratio.

    python benchmarks/sweep_speed.py [--configs 64] [--steps 100] [--devices 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if "jax" not in sys.modules:
        # The number of CPU devices is fixed when JAX starts.
        flag = f"--xla_force_host_platform_device_count={args.devices}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}"
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    import jaxsched

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(args.steps, args.batch, 32)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 10, size=(args.steps, args.batch)), jnp.int32)
    keys = jax.random.split(jax.random.key(0), 2)
    params = {
        "w1": jax.random.normal(keys[0], (32, args.width)) / np.sqrt(32),
        "b1": jnp.zeros(args.width),
        "w2": jax.random.normal(keys[1], (args.width, 10)) / np.sqrt(args.width),
        "b2": jnp.zeros(10),
    }
    tx = jaxsched.adamw(1e-3, weight_decay=1e-4)

    def loss_fn(params, x, y):
        logits = jnp.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def step(params, state, x, y):
        grads = jax.grad(loss_fn)(params, x, y)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    side = int(np.sqrt(args.configs))
    grid = dict(
        learning_rate=np.geomspace(1e-4, 1e-1, side),
        weight_decay=np.geomspace(1e-4, 1.0, args.configs // side),
    )
    mesh = None
    if args.devices > 1:
        mesh = jax.make_mesh((args.devices,), ("sweep",), axis_types=(jax.sharding.AxisType.Auto,))
    params_n, state_n = jaxsched.sweep_init(tx, params, grid=True, mesh=mesh, **grid)
    values = jaxsched.hyperparams(state_n)
    count = len(values["learning_rate"])

    one = jax.jit(step)
    many = jax.jit(jax.vmap(step, in_axes=(0, 0, None, None)))

    def sequential():
        for i in range(count):
            p = params
            s = jaxsched.set_hyperparams(
                tx.init(p),
                learning_rate=values["learning_rate"][i],
                weight_decay=values["weight_decay"][i],
            )
            for t in range(args.steps):
                p, s = one(p, s, x[t], y[t])
        return jax.block_until_ready(p)

    def sweep():
        p, s = params_n, state_n
        for t in range(args.steps):
            p, s = many(p, s, x[t], y[t])
        return jax.block_until_ready(p)

    def best_time(fn):
        fn()  # compiles
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    seq, swp = best_time(sequential), best_time(sweep)
    print(
        f"{count} configurations x {args.steps} steps, hidden width {args.width}, batch "
        f"{args.batch}, {args.devices} {jax.devices()[0].platform} device(s)"
    )
    print(f"sequential runs: {seq:8.3f} s")
    print(f"one sweep:       {swp:8.3f} s")
    print(f"speed-up:        {seq / swp:8.1f}x")
    return seq / swp


if __name__ == "__main__":
    main()
