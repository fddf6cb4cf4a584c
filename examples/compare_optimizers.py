"""Optimizer comparison on the iris data (the seeds' experiment).

Trains the same small network (4-16-3, tanh) from the same initialisation and with the
same learning rate with SGD, SGDM (the seeds' EMA form), Adagrad, RMSprop and Adam, plus
torch-style heavy-ball momentum, Ranger and "Adam, then SGD" (``jaxsched.switch`` on a
plateau of the training loss). For each it prints the wall time (compile and training
separately), the first epoch at which the test accuracy reaches the target and the final
accuracies. A second table trains one optimizer with the three forms of gradient descent:
full batch, one sample at a time, and mini-batches. With --plot, saves the loss and
accuracy curves (needs matplotlib: the `examples` extra).

    python examples/compare_optimizers.py [--epochs 300] [--lr 0.01] [--plot out.png]
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched

DATA = Path(__file__).parent / "data" / "iris.csv"
N_TRAIN = 120


def load_iris(seed: int = 0):
    """Standardised features, integer labels; a fixed 120/30 train/test split."""
    raw = np.loadtxt(DATA, delimiter=",", skiprows=1)
    x, y = raw[:, :4].astype(np.float32), raw[:, 4].astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    x = (x - x[:N_TRAIN].mean(0)) / x[:N_TRAIN].std(0)
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:])


def init_mlp(seed: int, sizes=(4, 16, 3)):
    """LeCun-normal kernels, zero biases. Drawn with numpy: jax's threefry random numbers
    take seconds to compile on a CPU for some shapes, more than the training itself."""
    rng = np.random.default_rng(seed)
    return [
        {
            "kernel": jnp.asarray(rng.standard_normal((m, n)) / np.sqrt(m), jnp.float32),
            "bias": jnp.zeros(n),
        }
        for m, n in itertools.pairwise(sizes)
    ]


def forward(params, x):
    for layer in params[:-1]:
        x = jnp.tanh(x @ layer["kernel"] + layer["bias"])
    return x @ params[-1]["kernel"] + params[-1]["bias"]


def loss_fn(params, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(forward(params, x), y).mean()


def accuracy(params, x, y):
    return jnp.mean(jnp.argmax(forward(params, x), -1) == y)


@jax.jit
def evaluate(params, x, y):
    """Test loss and accuracy (one compilation, shared by every optimizer's run)."""
    return loss_fn(params, x, y), accuracy(params, x, y)


def make_epoch(tx, batch_size: int):
    """One jitted epoch: a lax.scan over the mini-batches of a given order; buffers donated.

    Every update gets the batch loss as ``value=`` (read by plateau-driven optimizers such
    as the Adam -> SGD switch, ignored by the others).
    """

    @partial(jax.jit, donate_argnums=(0, 1))
    def epoch(params, opt_state, order, x, y):
        n = (x.shape[0] // batch_size) * batch_size
        perm = order[:n]
        batches = (x[perm].reshape(-1, batch_size, x.shape[1]), y[perm].reshape(-1, batch_size))

        def step(carry, batch):
            p, s = carry
            loss, grads = jax.value_and_grad(loss_fn)(p, *batch)
            updates, s = tx.update(grads, s, p, value=loss)
            return (optax.apply_updates(p, updates), s), loss

        (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), batches)
        return params, opt_state, losses.mean()

    return epoch


# name -> factory(learning_rate, updates per epoch). The same rate for all, so that the
# table shows what each rule does with it (the seeds: Adam fastest, SGD slowest).
OPTIMIZERS: dict[str, Callable[[float, int], optax.GradientTransformation]] = {
    "SGD": lambda lr, _: jaxsched.sgd(lr),
    # m <- 0.9 m + 0.1 g; w <- w - lr m: the seeds' "SGDM", not torch's heavy ball.
    "SGDM (EMA form)": lambda lr, _: jaxsched.momentum(lr, 0.9, dampening=0.9, zero_init=True),
    "SGDM (heavy ball)": lambda lr, _: jaxsched.momentum(lr, 0.9),
    "Adagrad": lambda lr, _: jaxsched.adagrad(lr),
    "RMSprop": lambda lr, _: jaxsched.rmsprop(lr),
    "Adam": lambda lr, _: jaxsched.adam(lr),
    "Ranger": lambda lr, _: jaxsched.ranger(lr),
    # Adam until the epoch-mean training loss has not improved by 1% for more than 5
    # epochs, then SGD with momentum at the same rate.
    "Adam -> SGD": lambda lr, per_epoch: jaxsched.switch(
        jaxsched.adam(lr),
        jaxsched.sgd(lr, momentum=0.9),
        on_plateau={"patience": 5, "threshold": 1e-2, "every": per_epoch},
    ),
}


def train(tx, data, epochs: int, batch_size: int, seed: int):
    """Trains from the seed's initialisation; returns timings, per-epoch history, state."""
    (x, y), (xt, yt) = data
    params = init_mlp(seed)
    opt_state = tx.init(params)
    epoch = make_epoch(tx, batch_size)
    # The shuffles of every epoch, the same for every optimizer.
    rng = np.random.default_rng(seed + 1)
    orders = [rng.permutation(len(x)).astype(np.int32) for _ in range(epochs)]

    start = time.perf_counter()
    epoch.lower(params, opt_state, orders[0], x, y).compile()
    evaluate.lower(params, xt, yt).compile()
    compile_time = time.perf_counter() - start

    history = []
    start = time.perf_counter()
    for order in orders:
        params, opt_state, train_loss = epoch(params, opt_state, order, x, y)
        test_loss, test_acc = evaluate(params, xt, yt)
        history.append((float(train_loss), float(test_loss), float(test_acc)))
    train_time = time.perf_counter() - start
    return {
        "compile_s": compile_time,
        "train_s": train_time,
        # Columns: train loss (epoch mean over the batches), test loss, test accuracy.
        "history": np.array(history),
        "train_acc": float(evaluate(params, x, y)[1]),
        "test_acc": history[-1][2],
        "state": opt_state,
    }


def epochs_to(history: np.ndarray, target: float) -> int | None:
    """First epoch (1-based) whose test accuracy reaches ``target``; None if never."""
    reached = np.nonzero(history[:, 2] >= target)[0]
    return int(reached[0]) + 1 if len(reached) else None


def compare_optimizers(names, data, args) -> dict[str, dict]:
    per_epoch = N_TRAIN // args.batch_size
    print(f"\nSame network, initialisation and learning rate ({args.lr}), batch {args.batch_size}")
    header = f"{'optimizer':18s} {'compile s':>9s} {'train s':>8s} {'epochs to':>9s} "
    print(header + f"{'train acc':>9s} {'test acc':>8s}")
    print(f"{'':18s} {'':>9s} {'':>8s} {f'{args.target:.0%} test':>9s}")
    results = {}
    for name in names:
        result = train(
            OPTIMIZERS[name](args.lr, per_epoch), data, args.epochs, args.batch_size, args.seed
        )
        reached = epochs_to(result["history"], args.target)
        note = ""
        if name == "Adam -> SGD":
            step = int(jaxsched.switch_step(result["state"]))
            result["switch_epoch"] = step // per_epoch + 1 if step >= 0 else None
            note = f"  (SGD from epoch {result['switch_epoch']})" if step >= 0 else "  (no switch)"
        print(
            f"{name:18s} {result['compile_s']:9.2f} {result['train_s']:8.2f} "
            f"{reached or 'never':>9} {result['train_acc']:9.3f} {result['test_acc']:8.3f}{note}"
        )
        results[name] = result
    return results


def compare_batch_sizes(name, data, args) -> dict[str, dict]:
    """The seeds' three forms of gradient descent with one optimizer: batch, SGD, mini-batch."""
    forms = {
        f"full batch ({N_TRAIN})": N_TRAIN,
        "one sample (1)": 1,
        f"mini-batch ({args.batch_size})": args.batch_size,
    }
    print(f"\n{name} at learning rate {args.lr}: batch, stochastic and mini-batch gradient descent")
    print(
        f"{'batch':18s} {'updates':>8s} {'compile s':>9s} {'train s':>8s} {'epochs to':>9s} "
        f"{'updates to':>10s} {'test acc':>8s}"
    )
    print(f"{'':18s} {'/epoch':>8s} {'':>9s} {'':>8s} {f'{args.target:.0%} test':>9s}")
    results = {}
    for label, batch_size in forms.items():
        per_epoch = N_TRAIN // batch_size
        result = train(
            OPTIMIZERS[name](args.lr, per_epoch), data, args.epochs, batch_size, args.seed
        )
        reached = epochs_to(result["history"], args.target)
        updates = reached * per_epoch if reached else None
        print(
            f"{label:18s} {per_epoch:8d} {result['compile_s']:9.2f} {result['train_s']:8.2f} "
            f"{reached or 'never':>9} {updates or 'never':>10} {result['test_acc']:8.3f}"
        )
        results[label] = result
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate of every optimizer")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--target", type=float, default=0.95, help="test accuracy to reach")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--optimizers",
        default=",".join(OPTIMIZERS),
        help=f"comma-separated rows of the first table, among: {', '.join(OPTIMIZERS)}",
    )
    parser.add_argument(
        "--batch-optimizer",
        default="SGD",
        help="optimizer of the batch-size table ('none' to skip the table)",
    )
    parser.add_argument("--plot", type=Path, help="save loss/accuracy curves to this PNG")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="reduced budget for tests: 40 epochs, SGD and Adam only, no batch table",
    )
    args = parser.parse_args(argv)
    if args.quick:  # new defaults; options given explicitly win
        quick = {"epochs": 40, "optimizers": "SGD,Adam", "batch_optimizer": "none"}
        for name, value in quick.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    args.optimizers = [name.strip() for name in args.optimizers.split(",")]
    for name in [*args.optimizers, args.batch_optimizer]:
        if name not in OPTIMIZERS and name != "none":
            parser.error(f"unknown optimizer {name!r}; choose among {', '.join(OPTIMIZERS)}")
    return args


def main(argv=None):
    """Runs both tables; returns ``{"optimizers": {name: result}, "batch": {form: result}}``."""
    args = parse_args(argv)
    data = load_iris(args.seed)
    print(f"iris: {len(data[0][0])} train / {len(data[1][0])} test rows, jax {jax.__version__}")
    # Every run shares the evaluation's compilation: make it before the first row's timing.
    evaluate(init_mlp(args.seed), *data[1])
    if not args.quick:
        # An unreported run of the same length first: the process's first few hundred
        # dispatches are slower, and the first optimizer in the table would pay for them.
        train(jaxsched.sgd(0.0), data, args.epochs, args.batch_size, args.seed)
    results = {"optimizers": compare_optimizers(args.optimizers, data, args), "batch": {}}
    if args.batch_optimizer != "none":
        results["batch"] = compare_batch_sizes(args.batch_optimizer, data, args)
    if args.plot:
        plot(results, args.plot)
        print(f"\ncurves saved to {args.plot}")
    return results


def plot(results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [results["optimizers"]] + ([results["batch"]] if results["batch"] else [])
    fig, axes = plt.subplots(len(rows), 2, figsize=(11, 4 * len(rows)), squeeze=False)
    titles = ["optimizers, same learning rate", "forms of gradient descent"]
    for (ax_loss, ax_acc), runs, title in zip(axes, rows, titles):
        for name, result in runs.items():
            epochs = np.arange(1, len(result["history"]) + 1)
            (line,) = ax_loss.plot(epochs, result["history"][:, 0], label=name)
            ax_acc.plot(epochs, result["history"][:, 2], label=name, color=line.get_color())
            if result.get("switch_epoch"):
                ax_loss.axvline(result["switch_epoch"], color=line.get_color(), ls=":", lw=1)
        ax_loss.set(xlabel="epoch", ylabel="training loss", yscale="log", title=title)
        ax_acc.set(xlabel="epoch", ylabel="test accuracy", ylim=(0.5, 1.02), title=title)
        ax_acc.legend(fontsize="small", loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
