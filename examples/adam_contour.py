"""Adam, SGD and RMSprop fitting y = 4 + 3x + noise: their paths across the loss surface.

Fits the two parameters (theta0, theta1) of ``y = theta0 + theta1 * x`` by full-batch
gradient descent on the mean squared error, from the same starting point with each
optimizer, and draws a filled contour of the loss over (theta0, theta1) with each path,
next to the loss curves (the seeds' Adam linear-regression experiment). Prints the
least-squares solution and, per optimizer, where it ends and how many steps it takes to
come within 1% of the least loss.

    python examples/adam_contour.py [--steps 300] [--plot docs/images/adam_contour.png]
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched

START = (1.0, 8.0)
OPTIMIZERS = {
    "Adam (lr 0.1)": jaxsched.adam(0.1),
    "SGD (lr 0.1)": jaxsched.sgd(0.1),
    "RMSprop (lr 0.02)": jaxsched.rmsprop(0.02),
}


def make_data(n: int = 100, seed: int = 42):
    """x uniform in [0, 2), y = 4 + 3x + standard normal noise (a fixed seed)."""
    rng = np.random.default_rng(seed)
    x = 2 * rng.random(n).astype(np.float32)
    y = (4 + 3 * x + rng.standard_normal(n)).astype(np.float32)
    return x, y


def mse(theta, x, y):
    return jnp.mean((theta[0] + theta[1] * x - y) ** 2)


@partial(jax.jit, static_argnums=(0, 1))
def fit(tx, steps: int, theta, x, y):
    """``steps`` full-batch updates in one lax.scan: the path (steps + 1 points) and the losses."""

    def step(carry, _):
        theta, state = carry
        loss, grad = jax.value_and_grad(mse)(theta, x, y)
        updates, state = tx.update(grad, state, theta)
        return (optax.apply_updates(theta, updates), state), (theta, loss)

    (last, _), (path, losses) = jax.lax.scan(step, (theta, tx.init(theta)), length=steps)
    return jnp.concatenate([path, last[None]]), losses


def run(steps: int, seed: int = 42) -> dict:
    x, y = make_data(seed=seed)
    design = np.stack([np.ones_like(x), x], 1)
    best = np.linalg.lstsq(design, y, rcond=None)[0]
    best_loss = float(mse(jnp.asarray(best), x, y))
    print(f"least squares: theta0 = {best[0]:.3f}, theta1 = {best[1]:.3f}, loss {best_loss:.4f}")
    print(f"start: theta = {START}, {steps} full-batch steps")
    header = f"{'optimizer':18s} {'theta0':>7s} {'theta1':>7s} {'loss':>7s} {'steps to':>9s}"
    print(f"{header} {'wall s':>7s}")
    print(f"{'':18s} {'':>7s} {'':>7s} {'':>7s} {'1% of min':>9s}")
    paths = {}
    for name, tx in OPTIMIZERS.items():
        start = time.perf_counter()
        path, losses = jax.block_until_ready(fit(tx, steps, jnp.asarray(START), x, y))
        seconds = time.perf_counter() - start
        path, losses = np.asarray(path), np.asarray(losses)
        close = np.nonzero(losses <= 1.01 * best_loss)[0]
        reached = str(close[0]) if len(close) else "never"
        final = float(mse(path[-1], x, y))
        print(
            f"{name:18s} {path[-1, 0]:7.3f} {path[-1, 1]:7.3f} {final:7.4f} {reached:>9s} "
            f"{seconds:7.2f}"
        )
        paths[name] = {"path": path, "losses": losses}
    return {"x": x, "y": y, "best": best, "best_loss": best_loss, "runs": paths}


def plot(result: dict, path: Path, resolution: int = 200) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y, best = result["x"], result["y"], result["best"]
    points = np.concatenate([run["path"] for run in result["runs"].values()])
    low = np.minimum(points.min(0), best) - 0.5
    high = np.maximum(points.max(0), best) + 0.5
    t0, t1 = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    # The loss at every grid point in one vectorised call.
    grid = np.stack([t0.ravel(), t1.ravel()], 1)
    surface = np.log10(np.asarray(jax.vmap(mse, (0, None, None))(grid, x, y))).reshape(t0.shape)

    fig, (ax_surface, ax_loss) = plt.subplots(1, 2, figsize=(12, 5))
    filled = ax_surface.contourf(t0, t1, surface, levels=30, cmap="viridis")
    ax_surface.contour(t0, t1, surface, levels=15, colors="k", linewidths=0.3, alpha=0.5)
    fig.colorbar(filled, ax=ax_surface, label="log10 mean squared error")
    colors = ["tab:red", "white", "tab:orange"]
    for i, ((name, run), color) in enumerate(zip(result["runs"].items(), colors)):
        # Earlier rows on top: Adam's path stays visible where the paths overlap.
        ax_surface.plot(*run["path"].T, ".-", color=color, ms=3, lw=1, label=name, zorder=3 - i)
        ax_loss.plot(run["losses"], color=color if color != "white" else "tab:cyan", label=name)
    ax_surface.plot(*START, "ko", ms=7, label="start")
    ax_surface.plot(*best, "w*", ms=14, mec="k", label="least squares")
    ax_surface.set(
        xlabel=r"$\theta_0$ (intercept)",
        ylabel=r"$\theta_1$ (slope)",
        title="loss surface and optimizer paths",
    )
    ax_surface.legend(loc="lower left", fontsize="small", facecolor="lightgray")
    ax_loss.axhline(result["best_loss"], color="gray", ls="--", lw=1, label="least-squares loss")
    ax_loss.set(xlabel="step", ylabel="mean squared error", yscale="log", title="loss curves")
    ax_loss.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated data")
    parser.add_argument("--plot", type=Path, help="save the contour and loss curves to this PNG")
    parser.add_argument(
        "--quick", action="store_true", help="reduced budget for tests: a coarser contour"
    )
    args = parser.parse_args(argv)
    result = run(args.steps, args.seed)
    if args.plot:
        plot(result, args.plot, resolution=60 if args.quick else 200)
        print(f"figure saved to {args.plot}")
    return result


if __name__ == "__main__":
    main()
