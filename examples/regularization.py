"""L2 and L1 regularisation of a 2-11-1 ReLU network on 2-D points (the seeds' experiment).

Trains the same network from the same initialisation three times: without regularisation,
with L2 on the weights only (the gradient of ``lambda * sum(w**2) / 2`` for the kernels,
not the biases: ``add_decayed_weights(..., mask=jaxsched.decay_mask)`` before Adam), and
with L1 (``jaxsched.add_l1``, same mask). The penalties are hyperparameters in the
optimizer state, so the three runs are one optimizer with three states, trained side by
side by one ``jax.vmap`` of the training loop (one compilation). Prints train and test
accuracy and the weights' norms, and draws the three decision boundaries side by side.

    python examples/regularization.py [--steps 3000] [--plot docs/images/regularization.png]
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched

# name -> (L1 strength, L2 strength)
CONFIGS = {
    "no regularisation": (0.0, 0.0),
    "L2 (weights)": (0.0, 2e-3),
    "L1 (weights)": (3e-3, 0.0),
}


def make_points(n: int, noise: float, seed: int):
    """Two interleaved half-moons with Gaussian noise; labels 0/1 (fixed seed)."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    angle = rng.uniform(0, np.pi, n)
    x = np.where(label == 0, np.cos(angle), 1 - np.cos(angle))
    y = np.where(label == 0, np.sin(angle), 0.5 - np.sin(angle))
    points = np.stack([x, y], 1) + rng.normal(0, noise, (n, 2))
    return points.astype(np.float32), label.astype(np.float32)


def init_mlp(seed: int, sizes=(2, 11, 1)):
    """He-normal kernels, zero biases. Drawn with numpy: jax's threefry random numbers take
    seconds to compile on a CPU for some shapes."""
    rng = np.random.default_rng(seed)
    return [
        {
            "kernel": jnp.asarray(rng.standard_normal((m, n)) * np.sqrt(2.0 / m), jnp.float32),
            "bias": jnp.zeros(n),
        }
        for m, n in itertools.pairwise(sizes)
    ]


def logits(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["kernel"] + layer["bias"])
    return (x @ params[-1]["kernel"] + params[-1]["bias"])[..., 0]


def loss_fn(params, x, y):
    return optax.sigmoid_binary_cross_entropy(logits(params, x), y).mean()


def accuracy(params, x, y):
    return jnp.mean((logits(params, x) > 0) == (y > 0.5))


def optimizer(learning_rate: float) -> optax.GradientTransformation:
    """L1 and L2 on the kernels (decay_mask leaves biases out), then Adam."""
    return jaxsched.chain(
        jaxsched.add_l1(0.0, mask=jaxsched.decay_mask),
        jaxsched.transforms.add_decayed_weights(0.0, mask=jaxsched.decay_mask),
        jaxsched.adam(learning_rate),
    )


def train_all(params, data, learning_rate: float, steps: int):
    """The three configurations in one vmapped, jitted full-batch training loop."""
    tx = optimizer(learning_rate)
    l1, l2 = (jnp.asarray(v, jnp.float32) for v in zip(*CONFIGS.values()))

    def run(l1, l2, params, x, y):
        state = jaxsched.set_hyperparams(tx.init(params), l1=l1, weight_decay=l2)

        def step(carry, _):
            params, state = carry
            loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
            updates, state = tx.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), loss

        (params, _), losses = jax.lax.scan(step, (params, state), length=steps)
        return params, losses

    batched = jax.jit(jax.vmap(run, in_axes=(0, 0, None, None, None)))
    return batched(l1, l2, params, *data)


# The three runs evaluated at once, one compilation per input shape.
batched_accuracy = jax.jit(jax.vmap(accuracy, in_axes=(0, None, None)))
batched_probability = jax.jit(
    jax.vmap(lambda params, x: jax.nn.sigmoid(logits(params, x)), in_axes=(0, None))
)


def weight_norms(params) -> tuple[float, float, int]:
    """L2 norm and L1 norm of the kernels, and how many kernel entries are below 1e-3."""
    kernels = [np.asarray(layer["kernel"]) for layer in params]
    flat = np.concatenate([k.ravel() for k in kernels])
    return float(np.linalg.norm(flat)), float(np.abs(flat).sum()), int((np.abs(flat) < 1e-3).sum())


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=3000, help="full-batch Adam steps")
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, help="save the decision boundaries to this PNG")
    parser.add_argument(
        "--quick", action="store_true", help="reduced budget for tests: 600 steps, a coarser plot"
    )
    args = parser.parse_args(argv)
    if args.quick and args.steps == parser.get_default("steps"):
        args.steps = 600
    steps = args.steps

    train = make_points(80, 0.3, args.seed)
    test = make_points(1000, 0.3, args.seed + 1)
    params = init_mlp(args.seed)
    start = time.perf_counter()
    trained, losses = jax.block_until_ready(train_all(params, train, args.lr, steps))
    seconds = time.perf_counter() - start
    print(f"2-11-1 ReLU, {len(train[0])} train / {len(test[0])} test points, {steps} Adam steps")
    print(f"three runs in one vmapped jit: {seconds:.2f} s (compile included)")
    print(
        f"{'':18s} {'L1':>6s} {'L2':>6s} {'train acc':>9s} {'test acc':>8s} {'|w|_2':>6s} "
        f"{'|w|_1':>6s} {'|w|<1e-3':>8s} {'loss':>7s}"
    )
    train_accs, test_accs = batched_accuracy(trained, *train), batched_accuracy(trained, *test)
    trained, losses = jax.tree.map(np.asarray, (trained, losses))
    results = {}
    for i, (name, (l1, l2)) in enumerate(CONFIGS.items()):
        p = jax.tree.map(lambda leaf, i=i: leaf[i], trained)
        train_acc, test_acc = float(train_accs[i]), float(test_accs[i])
        l2_norm, l1_norm, small = weight_norms(p)
        print(
            f"{name:18s} {l1:6.3f} {l2:6.3f} {train_acc:9.3f} {test_acc:8.3f} {l2_norm:6.2f} "
            f"{l1_norm:6.2f} {small:8d} {float(losses[i, -1]):7.4f}"
        )
        results[name] = {
            "params": p,
            "losses": losses[i],
            "train_acc": train_acc,
            "test_acc": test_acc,
            "l2_norm": l2_norm,
            "l1_norm": l1_norm,
            "small_weights": small,
        }
    if args.plot:
        plot(results, train, test, args.plot, resolution=80 if args.quick else 250)
        print(f"figure saved to {args.plot}")
    return results


def plot(results, train, test, path: Path, resolution: int = 250) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (x, y), (xt, _) = train, test
    low, high = xt.min(0) - 0.3, xt.max(0) + 0.3
    g0, g1 = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    grid = np.stack([g0.ravel(), g1.ravel()], 1)
    stacked = jax.tree.map(
        lambda *leaves: np.stack(leaves), *(r["params"] for r in results.values())
    )
    probs = np.asarray(batched_probability(stacked, grid.astype(np.float32)))
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4.6))
    for ax, (name, result), prob in zip(axes, results.items(), probs):
        prob = prob.reshape(g0.shape)
        ax.contourf(g0, g1, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        ax.contour(g0, g1, prob, levels=[0.5], colors="k", linewidths=1.5)
        for label, color in ((0, "tab:blue"), (1, "tab:red")):
            ax.scatter(*x[y == label].T, color=color, edgecolors="k", s=25, label=f"class {label}")
        ax.set(
            xlabel="$x_1$",
            ylabel="$x_2$",
            title=f"{name}\ntrain {result['train_acc']:.2f}, test {result['test_acc']:.2f}, "
            f"|w|_2 = {result['l2_norm']:.1f}",
        )
    axes[0].legend(loc="lower left", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
