"""Pretrain a small Flax nnx CNN on digits 0-4, then fine-tune it on 5-9 (sklearn's 8x8 digits).

Phase 1 trains the whole network on the digits 0-4 with Adam under a warmup + cosine
schedule. Phase 2 puts a new 5-way head on it and fine-tunes on the digits 5-9 with
per-layer learning rates (``jaxsched.path_labels`` + ``jaxsched.partition``, torch's
parameter groups):

- ``conv1`` frozen (``jaxsched.freeze()``);
- ``conv2`` and ``dense`` ("body") with Adam at a tenth of the head's peak rate, warmup +
  cosine;
- the head with "Adam until it stops improving, then SGD" (``jaxsched.switch`` on a
  plateau of the epoch's training loss), the SGD rate cut in half on each further
  plateau (``jaxsched.reduce_on_plateau``).

Every update gets the batch loss as ``value=``; the plateau detectors average it over
an epoch (``every=`` updates per epoch). Prints the accuracy of each phase, the epoch of
the switch and of each plateau cut; with --plot draws the learning rate of each group
per update and the loss with the switch and the cuts marked. Needs scikit-learn, tqdm
and matplotlib (the `examples` extra) and flax.

    python examples/finetune.py [--pretrain-epochs 10] [--epochs 30] [--plot out.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from tqdm import tqdm

import jaxsched

BATCH = 32
# He initialisation for ReLU layers; uniform because the default truncated normal takes
# seconds to compile on a CPU.
HE_UNIFORM = nnx.initializers.variance_scaling(2.0, "fan_in", "uniform")


class CNN(nnx.Module):
    """8x8x1 -> conv 3x3 (8) -> conv 3x3 stride 2 (16) -> dense 32 -> head."""

    def __init__(self, classes: int, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(1, 8, (3, 3), kernel_init=HE_UNIFORM, rngs=rngs)
        self.conv2 = nnx.Conv(8, 16, (3, 3), strides=2, kernel_init=HE_UNIFORM, rngs=rngs)
        self.dense = nnx.Linear(4 * 4 * 16, 32, kernel_init=HE_UNIFORM, rngs=rngs)
        self.head = nnx.Linear(32, classes, kernel_init=HE_UNIFORM, rngs=rngs)

    def __call__(self, x):
        x = nnx.relu(self.conv1(x))
        x = nnx.relu(self.conv2(x))
        x = nnx.relu(self.dense(x.reshape(x.shape[0], -1)))
        return self.head(x)


def load_digits(seed: int):
    """sklearn's 8x8 digits in [0, 1], split by class into (0-4, 5-9), each 75/25 train/test."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    y = digits.target.astype(np.int32)
    rng = np.random.default_rng(seed)
    splits = {}
    for name, classes in (("0-4", range(5)), ("5-9", range(5, 10))):
        index = rng.permutation(np.nonzero(np.isin(y, list(classes)))[0])
        cut = int(0.75 * len(index))
        # Labels 0..4 in both tasks: the fine-tuned head predicts "digit - 5".
        labels = y - min(classes)
        splits[name] = (
            (x[index[:cut]], labels[index[:cut]]),
            (x[index[cut:]], labels[index[cut:]]),
        )
    return splits


def loss_fn(model, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()


@nnx.jit
def train_step(model, optimizer, x, y):
    loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
    optimizer.update(model, grads, value=loss)
    return loss, jaxsched.hyperparams(nnx.as_pure(optimizer.opt_state))


@nnx.jit
def evaluate(model, x, y):
    logits = model(x)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return loss, jnp.mean(jnp.argmax(logits, -1) == y)


def run_phase(name, model, optimizer, data, epochs: int, seed: int, quiet: bool = False):
    """Trains for ``epochs`` epochs; returns per-update losses and hyperparameters, and
    per-epoch mean training loss and test accuracy."""
    (x, y), (xt, yt) = data
    per_epoch = len(x) // BATCH
    rng = np.random.default_rng(seed)
    losses, hyper, epoch_loss, epoch_acc = [], [], [], []
    bar = tqdm(range(epochs), desc=name, unit="epoch", disable=quiet, leave=False)
    for _ in bar:
        order = rng.permutation(len(x))[: per_epoch * BATCH].reshape(per_epoch, BATCH)
        for batch in order:
            loss, values = train_step(model, optimizer, x[batch], y[batch])
            losses.append(loss)
            hyper.append(values)
        epoch_loss.append(float(np.mean(losses[-per_epoch:])))
        epoch_acc.append(float(evaluate(model, xt, yt)[1]))
        bar.set_postfix(loss=f"{epoch_loss[-1]:.4f}", test_acc=f"{epoch_acc[-1]:.3f}")
    hyper = jax.tree.map(lambda *v: np.asarray(v), *hyper)
    return {
        "loss": np.asarray(losses),
        "hyperparams": hyper,
        "epoch_loss": np.array(epoch_loss),
        "test_acc": np.array(epoch_acc),
        "per_epoch": per_epoch,
    }


def finetune_optimizer(
    head_lr: float, sgd_lr: float, per_epoch: int, epochs: int, patience: int, threshold: float
):
    """The parameter groups of phase 2 (see the module docstring)."""
    labels = jaxsched.path_labels(
        {r"^conv1/": "frozen", r"^(conv2|dense)/": "body", r"^head/": "head"}
    )
    plateau = {"patience": patience, "threshold": threshold, "every": per_epoch}
    return jaxsched.partition(
        {
            "frozen": jaxsched.freeze(),
            "body": jaxsched.adam(
                jaxsched.warmup_cosine(head_lr / 10, per_epoch, epochs * per_epoch)
            ),
            "head": jaxsched.switch(
                jaxsched.adam(head_lr),
                jaxsched.sgd(
                    jaxsched.reduce_on_plateau(sgd_lr, factor=0.5, **plateau),
                    momentum=0.9,
                ),
                on_plateau=plateau,
            ),
        },
        labels,
    )


def rate(hyper: dict, group: str) -> np.ndarray:
    """The learning rate of a group or switch branch: the one key ``.../<group>/learning_rate``
    (hyperparams qualifies a name only as far as needed to tell the copies apart)."""
    (key,) = [k for k in hyper if k.endswith("learning_rate") and group in k.split("/")]
    return hyper[key]


def cut_steps(lr: np.ndarray, switch: int) -> list[int]:
    """The updates that first use a lower SGD rate (plateau cuts), from the switch on."""
    if switch < 0:
        return []
    return [int(s) for s in np.nonzero(lr[switch + 1 :] < lr[switch:-1] * 0.99)[0] + switch + 1]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=30, help="fine-tuning epochs")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam's peak rate (head)")
    parser.add_argument(
        "--sgd-lr", type=float, default=3e-3, help="the head's SGD rate after the switch"
    )
    parser.add_argument("--patience", type=int, default=2, help="plateau patience, epochs")
    parser.add_argument(
        "--threshold", type=float, default=0.15, help="plateau: smallest relative improvement"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, help="save the rates and the loss to this PNG")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="reduced budget for tests: 2 + 14 epochs, patience 1, threshold 0.25",
    )
    args = parser.parse_args(argv)
    if args.quick:  # new defaults; options given explicitly win
        quick = {"pretrain_epochs": 2, "epochs": 14, "patience": 1, "threshold": 0.25}
        for name, value in quick.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)

    start = time.perf_counter()
    data = load_digits(args.seed)
    # Built under jit, with "rbg" keys: jax's default threefry random numbers take seconds
    # to compile on a CPU for some shapes, more than the training itself.
    model = nnx.jit(lambda: CNN(5, nnx.Rngs(jax.random.key(args.seed, impl="rbg"))))()
    per_epoch = len(data["0-4"][0][0]) // BATCH
    schedule = jaxsched.warmup_cosine(args.lr, per_epoch, args.pretrain_epochs * per_epoch)
    optimizer = nnx.Optimizer(model, jaxsched.adam(schedule), wrt=nnx.Param)
    pre = run_phase(
        "pretrain 0-4", model, optimizer, data["0-4"], args.pretrain_epochs, args.seed, args.quiet
    )
    print(
        f"phase 1, pretrain on 0-4 ({args.pretrain_epochs} epochs, Adam, warmup + cosine): "
        f"test accuracy {pre['test_acc'][-1]:.3f}"
    )

    # A new head for the new classes; conv1, conv2 and dense keep the pretrained weights.
    model.head = nnx.jit(
        lambda: nnx.Linear(
            32, 5, kernel_init=HE_UNIFORM, rngs=nnx.Rngs(jax.random.key(args.seed + 1, impl="rbg"))
        )
    )()
    before = float(evaluate(model, *data["5-9"][1])[1])
    per_epoch = len(data["5-9"][0][0]) // BATCH
    tx = finetune_optimizer(
        args.lr, args.sgd_lr, per_epoch, args.epochs, args.patience, args.threshold
    )
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    conv1 = np.asarray(model.conv1.kernel[...]).copy()
    fine = run_phase(
        "fine-tune 5-9", model, optimizer, data["5-9"], args.epochs, args.seed + 1, args.quiet
    )
    frozen = bool(np.array_equal(conv1, np.asarray(model.conv1.kernel[...])))

    state = nnx.as_pure(optimizer.opt_state)
    switch = int(jaxsched.switch_step(state))
    fine["switch_step"] = switch if switch >= 0 else None
    fine["cut_steps"] = cut_steps(rate(fine["hyperparams"], "second"), switch)
    print(f"phase 2, fine-tune on 5-9 ({args.epochs} epochs), test accuracy:")
    print(f"  new head, before fine-tuning       {before:.3f}")
    if fine["switch_step"] is not None:
        epoch = switch // per_epoch + 1  # 1-based, as the progress bar counts
        at_switch = fine["test_acc"][epoch - 2] if epoch > 1 else before
        print(f"  head on Adam until epoch {epoch - 1:<3d}       {at_switch:.3f}")
        cuts = ", ".join(str(s // per_epoch + 1) for s in fine["cut_steps"]) or "none"
        print(f"  head on SGD from epoch {epoch} (update {switch}); rate halved in epochs: {cuts}")
    else:
        print("  head on Adam throughout (no plateau, no switch)")
    print(f"  final                              {fine['test_acc'][-1]:.3f}")
    print(f"  conv1 unchanged (frozen): {frozen}")
    print(f"wall time {time.perf_counter() - start:.1f} s")
    result = {
        "pretrain": pre,
        "finetune": fine,
        "before": before,
        "conv1_frozen": frozen,
        "plateau": {"patience": args.patience, "threshold": args.threshold},
    }
    if args.plot:
        plot(result, args.plot)
        print(f"figure saved to {args.plot}")
    return result


def plot(result, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fine, pre = result["finetune"], result["pretrain"]
    per_epoch, switch, hyper = fine["per_epoch"], fine["switch_step"], fine["hyperparams"]
    # Update i ends at epoch (i + 1) / per_epoch; the epoch means sit at 1, 2, ...
    at = np.arange(1, len(fine["loss"]) + 1) / per_epoch
    fig, (ax_lr, ax_loss) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    # The head's rate is Adam's until the switch and SGD's from it on.
    head = rate(hyper, "first").copy()
    if switch is not None:
        head[switch:] = rate(hyper, "second")[switch:]
    ax_lr.plot(at, head, label="head: Adam, then SGD (halved on plateaus)")
    ax_lr.plot(at, rate(hyper, "body"), label="conv2 + dense: Adam, warmup + cosine")
    ax_lr.plot([], [], " ", label="conv1: frozen (no updates)")
    ax_lr.set(ylabel="learning rate", yscale="log", title="fine-tuning on 5-9: rate per group")
    ax_lr.legend(fontsize="small", loc="lower left")
    ax_loss.plot(at, fine["loss"], lw=0.6, alpha=0.5, label="batch loss")
    epochs = np.arange(1, len(fine["epoch_loss"]) + 1)
    ax_loss.plot(epochs, fine["epoch_loss"], "o-", ms=3, label="epoch mean (monitored)")
    marks = [(switch, "switch to SGD", "tab:red")] if switch is not None else []
    marks += [(s, "plateau: SGD rate / 2", "tab:green") for s in fine["cut_steps"]]
    labelled = set()
    for step, label, color in marks:
        for ax in (ax_lr, ax_loss):
            shown = ax is ax_loss and label not in labelled
            ax.axvline(at[step], color=color, ls="--", lw=1, label=label if shown else None)
        labelled.add(label)
    ax_loss.set(
        xlabel="fine-tuning epoch",
        ylabel="training loss",
        yscale="log",
        title=f"pretrained on 0-4 (test acc {pre['test_acc'][-1]:.2f}); "
        f"fine-tuned on 5-9 (test acc {fine['test_acc'][-1]:.2f})",
    )
    ax_loss.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
