"""A hyperparameter sweep in one program: 64 AdamW configurations on sklearn's digits.

A grid of 8 learning rates x 8 weight decays, each configuration training its own copy
of a small network (64-32-10, tanh) on the same mini-batches. ``jaxsched.sweep_init``
stacks the 64 parameter copies and optimizer states (the hyperparameters live in the
state), ``jax.vmap`` of an ordinary train step trains them all in one compiled program,
and the configuration axis is split over 8 devices (simulated CPU devices unless real
ones are there). Prints the configurations ranked by validation accuracy; ``--plot``
saves a heatmap (matplotlib, the ``examples`` extra). Needs scikit-learn for the data.

    python examples/sweep.py [--steps 300] [--lrs 8] [--wds 8] [--devices 8] [--plot out.png]

A quick run, as in CI: ``python examples/sweep.py --steps 20 --lrs 4 --wds 2``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--batch", type=int, default=128, help="mini-batch size")
    parser.add_argument("--lrs", type=int, default=8, help="learning rates in the grid")
    parser.add_argument("--wds", type=int, default=8, help="weight decays in the grid")
    parser.add_argument("--devices", type=int, default=8, help="simulated CPU devices")
    parser.add_argument("--top", type=int, default=10, help="rows of the ranked table")
    parser.add_argument("--plot", type=str, default=None, help="save a heatmap to this file")
    return parser.parse_args(argv)


def load_digits(seed: int = 0):
    """8x8 digit images as 64 features in [0, 1]; a fixed 1437/360 train/validation split."""
    import numpy as np
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    x, y = (data.data / 16.0).astype(np.float32), data.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    return (x[:1437], y[:1437]), (x[1437:], y[1437:])


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

    (x_train, y_train), (x_val, y_val) = jax.tree.map(jnp.asarray, load_digits())
    learning_rates = np.geomspace(1e-4, 1e-1, args.lrs)
    weight_decays = np.geomspace(1e-4, 1.0, args.wds)
    count = args.lrs * args.wds
    # The configuration axis is split evenly: use as many devices as divide it.
    devices = math.gcd(count, min(args.devices, jax.device_count()))
    mesh = jax.make_mesh((devices,), ("sweep",), devices=jax.devices()[:devices])

    def init_mlp(key, sizes=(64, 32, 10)):
        keys = jax.random.split(key, len(sizes) - 1)
        return [
            {"kernel": jax.random.normal(k, (m, n)) / np.sqrt(m), "bias": jnp.zeros(n)}
            for k, m, n in zip(keys, sizes[:-1], sizes[1:])
        ]

    def forward(params, x):
        for layer in params[:-1]:
            x = jnp.tanh(x @ layer["kernel"] + layer["bias"])
        return x @ params[-1]["kernel"] + params[-1]["bias"]

    def loss_fn(params, x, y):
        return optax.softmax_cross_entropy_with_integer_labels(forward(params, x), y).mean()

    tx = jaxsched.adamw(1e-3, weight_decay=1e-4)

    def train(params, state, batches):
        """All steps of one configuration (vmapped below over the configurations)."""

        def step(carry, batch):
            params, state = carry
            loss, grads = jax.value_and_grad(loss_fn)(params, x_train[batch], y_train[batch])
            updates, state = tx.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), loss

        (params, state), losses = jax.lax.scan(step, (params, state), batches)
        accuracy = jnp.mean(jnp.argmax(forward(params, x_val), -1) == y_val)
        return accuracy, losses[-1]

    rng = np.random.default_rng(1)
    batches = np.stack(
        [rng.choice(len(x_train), args.batch, replace=False) for _ in range(args.steps)]
    )
    params = init_mlp(jax.random.key(0))
    with jax.set_mesh(mesh):
        params_n, state_n = jaxsched.sweep_init(
            tx,
            params,
            grid=True,
            mesh=mesh,
            learning_rate=learning_rates,
            weight_decay=weight_decays,
        )
        run = jax.jit(jax.vmap(train, in_axes=(0, 0, None)))
        start = time.perf_counter()
        compiled = run.lower(params_n, state_n, batches).compile()
        compile_time = time.perf_counter() - start
        start = time.perf_counter()
        accuracy, final_loss = jax.block_until_ready(compiled(params_n, state_n, batches))
        train_time = time.perf_counter() - start
        swept = jaxsched.hyperparams(state_n)
        lrs, wds = np.asarray(swept["learning_rate"]), np.asarray(swept["weight_decay"])
    accuracy, final_loss = np.asarray(accuracy), np.asarray(final_loss)

    print(
        f"{count} configurations x {args.steps} steps on {devices} {jax.devices()[0].platform} "
        f"device(s): compile {compile_time:.1f} s, train {train_time:.2f} s"
    )
    print(f"{'rank':>4s} {'learning_rate':>14s} {'weight_decay':>13s} {'val acc':>8s} {'loss':>8s}")
    order = np.argsort(-accuracy, kind="stable")
    for rank, i in enumerate(order[: args.top], 1):
        print(f"{rank:4d} {lrs[i]:14.2e} {wds[i]:13.2e} {accuracy[i]:8.3f} {final_loss[i]:8.4f}")
    # With grid=True the first key varies slowest: row i holds learning_rates[i].
    table = accuracy.reshape(args.lrs, args.wds)
    if args.plot:
        plot(table, learning_rates, weight_decays, args.plot)
    return {"accuracy": table, "learning_rates": learning_rates, "weight_decays": weight_decays}


def plot(table, learning_rates, weight_decays, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    image = ax.imshow(table, origin="lower", cmap="viridis")
    ax.set_xticks(range(len(weight_decays)), [f"{w:.0e}" for w in weight_decays], rotation=45)
    ax.set_yticks(range(len(learning_rates)), [f"{r:.0e}" for r in learning_rates])
    ax.set_xlabel("weight decay")
    ax.set_ylabel("learning rate")
    ax.set_title("AdamW on digits: validation accuracy")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
