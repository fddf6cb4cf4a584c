"""Adam's step time with parameters split over 8 devices: jaxsched against optax.

The parameters (``--size`` float32 elements in ``--leaves`` matrices) are split by rows
over a mesh of ``--devices`` simulated CPU devices; each optimizer's jitted, buffer-
donating step computes a gradient, updates and applies it. The two optimizers are timed
in turns (``--repeats`` rounds of ``--steps`` steps each, so that both see the same
machine load) and the medians are compared.

    python benchmarks/sharded_step.py [--size 8000000] [--leaves 8] [--devices 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8_000_000)
    parser.add_argument("--leaves", type=int, default=8)
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--mesh", choices=("explicit", "auto"), default="explicit")
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
    from jax.sharding import AxisType, NamedSharding
    from jax.sharding import PartitionSpec as P

    import jaxsched

    axis_type = AxisType.Explicit if args.mesh == "explicit" else AxisType.Auto
    mesh = jax.make_mesh((args.devices,), ("x",), axis_types=(axis_type,))
    cols = 256
    rows = max(args.devices, args.size // args.leaves // cols // args.devices * args.devices)
    keys = jax.random.split(jax.random.key(0), args.leaves)

    def measure_all(optimizers):
        with jax.set_mesh(mesh):
            split = NamedSharding(mesh, P("x", None))
            runs = {}
            for name, tx in optimizers.items():
                params = [jax.device_put(jax.random.normal(k, (rows, cols)), split) for k in keys]

                @partial(jax.jit, donate_argnums=(0, 1))
                def step(params, state, tx=tx):
                    grads = jax.tree.map(lambda p: jnp.sin(p) + 0.1, params)
                    updates, state = tx.update(grads, state, params)
                    return optax.apply_updates(params, updates), state

                state = tx.init(params)
                params, state = jax.block_until_ready(step(params, state))  # compiles
                runs[name] = [step, params, state, []]
            for _ in range(args.repeats):
                for run in runs.values():
                    step, params, state, times = run
                    start = time.perf_counter()
                    for _ in range(args.steps):
                        params, state = step(params, state)
                    jax.block_until_ready(params)
                    times.append((time.perf_counter() - start) / args.steps)
                    run[1], run[2] = params, state
            return {name: float(np.median(run[3])) for name, run in runs.items()}

    medians = measure_all({"jaxsched": jaxsched.adam(1e-3), "optax": optax.adam(1e-3)})
    total = rows * cols * args.leaves
    print(
        f"adam, {total:,} float32 parameters in {args.leaves} leaves split over "
        f"{args.devices} {jax.devices()[0].platform} devices ({args.mesh} mesh)"
    )
    for name, seconds in medians.items():
        print(f"{name:9s} {1e3 * seconds:9.3f} ms/step")
    ratio = medians["jaxsched"] / medians["optax"]
    print(f"jaxsched / optax: {ratio:.3f}")
    return ratio


if __name__ == "__main__":
    main()
