"""A gallery of every learning-rate schedule family in jaxsched, one grid of small plots each.

TensorFlow 1 decay functions (staircase against continuous), Keras schedules (and Keras 2's
``decay=``), torch's ``lr_scheduler`` (OneCycle and Cyclic included), the Hugging Face /
timm warmup schedules, and reduce-on-plateau driven by a synthetic loss. Every curve of a
figure is computed in one jitted call (``jax.vmap`` of each schedule over the steps).
Each panel's title is the call that made it; the calls with literal arguments also work
with ``jaxsched plot``.

    python examples/schedule_gallery.py [--out docs/images] [--steps 1000]

writes ``schedule_gallery_{tf1,keras,torch,warmup,plateau}.png``.
"""

from __future__ import annotations

import argparse
import textwrap
import time
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched
from jaxsched import schedules
from jaxsched.keras import schedules as keras_schedules
from jaxsched.torch import lr_scheduler


class Panel(NamedTuple):
    """One small plot: its title, {curve label: schedule} (a label "" means the title says
    it all), and optionally how many steps to show and what a step is."""

    title: str
    curves: dict[str, object]
    span: int | None = None
    xlabel: str = "step"


def tf1_panels(n: int) -> list[Panel]:
    k = n // 10  # decay period: ten of them over the plot
    return [
        Panel(
            f"exponential_decay(0.1, {k}, 0.7)",
            {
                "continuous": schedules.exponential_decay(0.1, k, 0.7),
                "staircase=True": schedules.exponential_decay(0.1, k, 0.7, staircase=True),
            },
        ),
        # The seeds' lr = lr0 * decay^(epoch / step) with lr0 = 0.2, decay 0.99, per epoch.
        Panel(
            "exponential_decay(0.2, 1, 0.99)",
            {"": schedules.exponential_decay(0.2, 1, 0.99)},
            span=min(n, 300),
            xlabel="epoch",
        ),
        Panel(
            f"natural_exp_decay(0.1, {k}, 0.3)",
            {
                "continuous": schedules.natural_exp_decay(0.1, k, 0.3),
                "staircase=True": schedules.natural_exp_decay(0.1, k, 0.3, staircase=True),
            },
        ),
        Panel(
            f"inverse_time_decay(0.1, {k}, 0.5)",
            {
                "continuous": schedules.inverse_time_decay(0.1, k, 0.5),
                "staircase=True": schedules.inverse_time_decay(0.1, k, 0.5, staircase=True),
            },
        ),
        Panel(
            f"polynomial_decay(0.1, {3 * k}, 0.01, power=2)",
            {
                "cycle=False": schedules.polynomial_decay(0.1, 3 * k, 0.01, power=2.0),
                "cycle=True": schedules.polynomial_decay(0.1, 3 * k, 0.01, power=2.0, cycle=True),
            },
        ),
        Panel(
            f"piecewise_constant([{3 * k}, {6 * k}], [0.1, 0.05, 0.01])",
            {"": schedules.piecewise_constant([3 * k, 6 * k], [0.1, 0.05, 0.01])},
        ),
        Panel(
            f"cosine_decay(0.1, {8 * k}, alpha=0.1)",
            {"": schedules.cosine_decay(0.1, 8 * k, alpha=0.1)},
        ),
        Panel(
            f"cosine_decay_restarts(0.1, {k}, m_mul=0.8)",
            {"": schedules.cosine_decay_restarts(0.1, k, m_mul=0.8)},
        ),
        Panel(
            f"linear_cosine_decay(0.1, {n}, num_periods=4)",
            {
                "noisy_linear_cosine_decay(..., key, initial_variance=0.01)": (
                    schedules.noisy_linear_cosine_decay(
                        0.1,
                        n,
                        jax.random.key(0, impl="rbg"),
                        initial_variance=0.01,
                        num_periods=4.0,
                    )
                ),
                "linear_cosine_decay": schedules.linear_cosine_decay(0.1, n, num_periods=4.0),
            },
        ),
    ]


def keras_panels(n: int) -> list[Panel]:
    k = n // 10
    return [
        Panel(
            f"ExponentialDecay(0.1, {k}, 0.7)",
            {
                "continuous": keras_schedules.ExponentialDecay(0.1, k, 0.7),
                "staircase=True": keras_schedules.ExponentialDecay(0.1, k, 0.7, staircase=True),
            },
        ),
        Panel(
            f"InverseTimeDecay(0.1, {k}, 0.5)",
            {
                "continuous": keras_schedules.InverseTimeDecay(0.1, k, 0.5),
                "staircase=True": keras_schedules.InverseTimeDecay(0.1, k, 0.5, staircase=True),
            },
        ),
        Panel(
            f"PiecewiseConstantDecay([{3 * k}, {6 * k}], [0.1, 0.05, 0.01])",
            {"": keras_schedules.PiecewiseConstantDecay([3 * k, 6 * k], [0.1, 0.05, 0.01])},
        ),
        Panel(
            f"PolynomialDecay(0.1, {5 * k}, 0.01, power=0.5)",
            {
                "cycle=False": keras_schedules.PolynomialDecay(0.1, 5 * k, 0.01, power=0.5),
                "cycle=True": keras_schedules.PolynomialDecay(
                    0.1, 5 * k, 0.01, power=0.5, cycle=True
                ),
            },
        ),
        Panel(
            f"CosineDecay(0.0, {n - k}, warmup_target=0.1, warmup_steps={k})",
            {"": keras_schedules.CosineDecay(0.0, n - k, warmup_target=0.1, warmup_steps=k)},
        ),
        Panel(
            f"CosineDecayRestarts(0.1, {k}, t_mul=2.0, m_mul=0.7)",
            {"": keras_schedules.CosineDecayRestarts(0.1, k, t_mul=2.0, m_mul=0.7)},
        ),
        # Keras 2's optimizer argument: lr / (1 + decay * iterations).
        Panel(
            "SGD(0.1, decay=0.01): inverse_time_decay(0.1, 1, 0.01)",
            {"": schedules.inverse_time_decay(0.1, 1, 0.01)},
        ),
    ]


def torch_panels(n: int) -> list[Panel]:
    k = n // 10
    return [
        Panel(f"StepLR(0.1, {2 * k}, gamma=0.5)", {"": lr_scheduler.StepLR(0.1, 2 * k, gamma=0.5)}),
        Panel(
            f"MultiStepLR(0.1, [{3 * k}, {6 * k}, {8 * k}], gamma=0.3)",
            {"": lr_scheduler.MultiStepLR(0.1, [3 * k, 6 * k, 8 * k], gamma=0.3)},
        ),
        Panel("ExponentialLR(0.1, 0.995)", {"": lr_scheduler.ExponentialLR(0.1, 0.995)}),
        Panel(
            f"CosineAnnealingLR(0.1, {4 * k}, eta_min=0.01)",
            {"": lr_scheduler.CosineAnnealingLR(0.1, 4 * k, eta_min=0.01)},
        ),
        Panel(
            f"CosineAnnealingWarmRestarts(0.1, {k}, T_mult=2)",
            {"": lr_scheduler.CosineAnnealingWarmRestarts(0.1, k, T_mult=2)},
        ),
        Panel(
            f"CyclicLR(0.01, 0.1, {k // 2}, mode=...)",
            {
                mode: lr_scheduler.CyclicLR(0.01, 0.1, k // 2, mode=mode, gamma=0.997)
                for mode in ("triangular", "triangular2", "exp_range")
            },
        ),
        Panel(
            f"OneCycleLR(0.1, total_steps={n})",
            {
                "cos": lr_scheduler.OneCycleLR(0.1, total_steps=n),
                "three_phase, linear": lr_scheduler.OneCycleLR(
                    0.1, total_steps=n, three_phase=True, anneal_strategy="linear"
                ),
            },
        ),
        Panel(
            f"OneCycleMomentum(0.1, total_steps={n})",
            {"": lr_scheduler.OneCycleMomentum(0.1, total_steps=n)},
        ),
        Panel(
            f"LinearLR(0.1, 0.1, 1.0, {2 * k}); ConstantLR(0.1, 0.5, {3 * k})",
            {
                "LinearLR": lr_scheduler.LinearLR(0.1, 0.1, 1.0, 2 * k),
                "ConstantLR": lr_scheduler.ConstantLR(0.1, 0.5, 3 * k),
            },
        ),
        Panel(
            f"PolynomialLR(0.1, {8 * k}, power=2.0)",
            {"": lr_scheduler.PolynomialLR(0.1, 8 * k, power=2.0)},
        ),
        Panel(
            f"LambdaLR(0.1, lambda k: 0.9 ** (k // {k // 2}))",
            {"": lr_scheduler.LambdaLR(0.1, lambda step: 0.9 ** (step // (k // 2)))},
        ),
        Panel(
            f"SequentialLR([LinearLR(0.1, 0.01, 1.0, {k}), ExponentialLR(0.1, 0.997)], [{k}])",
            {
                "": lr_scheduler.SequentialLR(
                    [
                        lr_scheduler.LinearLR(0.1, 0.01, 1.0, k),
                        lr_scheduler.ExponentialLR(0.1, 0.997),
                    ],
                    [k],
                )
            },
        ),
    ]


def warmup_panels(n: int) -> list[Panel]:
    k = n // 10
    return [
        Panel(
            f"warmup_cosine(0.1, {k}, {n})",
            {
                "min_value=0": schedules.warmup_cosine(0.1, k, n),
                "min_value=0.02": schedules.warmup_cosine(0.1, k, n, min_value=0.02),
            },
        ),
        Panel(
            f"linear_warmup(polynomial_decay(0.1, {n - k}, 0.0), {k})",
            {"": schedules.linear_warmup(schedules.polynomial_decay(0.1, n - k, 0.0), k)},
        ),
        Panel(f"linear_warmup(0.1, {k})", {"": schedules.linear_warmup(0.1, k)}),
        Panel(f"inverse_sqrt(0.1, {k})", {"": schedules.inverse_sqrt(0.1, k)}),
        Panel(
            f"warmup_stable_decay(0.1, {k}, {2 * k}, total_steps={n})",
            {
                "cosine": schedules.warmup_stable_decay(0.1, k, 2 * k, total_steps=n),
                "linear": schedules.warmup_stable_decay(
                    0.1, k, 2 * k, total_steps=n, decay_type="linear"
                ),
            },
        ),
        Panel(
            f"cosine(0.1, {2 * k}, cycle_limit=None, cycle_decay=0.7, warmup_steps={k // 2})",
            {
                "": schedules.cosine(
                    0.1, 2 * k, cycle_limit=None, cycle_decay=0.7, warmup_steps=k // 2
                )
            },
        ),
        Panel(
            f"warmup_cosine(0.1, {k}, {n}, num_cycles=3.0)",
            {"": schedules.warmup_cosine(0.1, k, n, num_cycles=3.0)},
        ),
        Panel(
            f"join([linear_warmup(0.1, {k}), cosine_decay(0.1, {n - k})], [{k}])",
            {
                "": schedules.join(
                    [schedules.linear_warmup(0.1, k), schedules.cosine_decay(0.1, n - k)], [k]
                )
            },
        ),
        Panel(f"one_cycle(0.1, {n})", {"": schedules.one_cycle(0.1, n)}),
    ]


def plateau_rules(epochs: int) -> dict[str, tuple[object, object]]:
    """The figure's plateau schedules (stateful: they read ``value=``), each with the
    schedule it multiplies (None for a plain plateau level)."""
    cosine = schedules.cosine_decay(1.0, epochs)
    return {
        "jaxsched.reduce_on_plateau(0.1, factor=0.5, patience=10, min_value=1e-3)": (
            jaxsched.reduce_on_plateau(0.1, factor=0.5, patience=10, min_value=1e-3),
            None,
        ),
        "torch ReduceLROnPlateau(0.1, factor=0.5, patience=10, min_lr=1e-3)": (
            lr_scheduler.ReduceLROnPlateau(0.1, factor=0.5, patience=10, min_lr=1e-3),
            None,
        ),
        "keras ReduceLROnPlateau(0.1, factor=0.5, patience=10, min_delta=0.01, min_lr=1e-3)": (
            jaxsched.keras.ReduceLROnPlateau(
                0.1, factor=0.5, patience=10, min_delta=0.01, min_lr=1e-3
            ),
            None,
        ),
        f"reduce_on_plateau(..., schedule=cosine_decay(1.0, {epochs}))": (
            jaxsched.reduce_on_plateau(
                0.1, factor=0.5, patience=10, min_value=1e-3, schedule=cosine
            ),
            cosine,
        ),
    }


def simulate_plateaus(epochs: int, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Each plateau schedule drives a synthetic training loss that reacts to the rate.

    The loss relaxes towards a floor that rises with the learning rate (``0.05 + 2 lr``,
    as SGD's noise level does), and is observed with 2% noise: it falls, stalls on a
    plateau, and falls again after each cut. One ``lax.scan`` per rule, all in one jitted
    call. Returns per rule the rate, the observed loss and the plateau level (the rate
    divided by the schedule it multiplies).
    """
    rules = plateau_rules(epochs)
    noise = np.random.default_rng(seed).normal(0.0, 0.02, epochs).astype(np.float32)

    @jax.jit
    def run(noise):
        def drive(rule):
            def epoch(carry, inputs):
                state, loss = carry
                index, eps = inputs
                observed = loss * (1 + eps)
                lr, state = rule.update(state, index, {"value": observed})
                return (state, loss + 0.1 * (0.05 + 2.0 * lr - loss)), (lr, observed)

            start = (rule.init(), jnp.asarray(1.0))
            return jax.lax.scan(epoch, start, (jnp.arange(epochs), noise))[1]

        return [drive(rule) for rule, _ in rules.values()]

    runs = {}
    for (name, (_, times)), (lr, loss) in zip(rules.items(), run(noise)):
        lr = np.asarray(lr)
        level = lr if times is None else lr / np.asarray(jax.vmap(times)(jnp.arange(epochs)))
        runs[name] = {"lr": lr, "loss": np.asarray(loss), "level": level}
    return runs


def plateau_cuts(level: np.ndarray) -> np.ndarray:
    """Epochs where the plateau level drops."""
    return np.nonzero(level[1:] < level[:-1] * (1 - 1e-3))[0] + 1


def evaluate(panels: list[Panel], n: int) -> list[Panel]:
    """All curves of a figure in one jitted call."""
    # Lists, not dicts, out of jit: jax sorts dict keys, and the legend keeps the panel's order.
    values = jax.jit(lambda s: [[jax.vmap(f)(s) for f in p.curves.values()] for p in panels])(
        jnp.arange(n)
    )
    return [
        p._replace(curves={label: np.asarray(v)[: p.span] for label, v in zip(p.curves, vs)})
        for p, vs in zip(panels, values)
    ]


def draw_grid(figure_title: str, panels: list[Panel], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 3
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        for label, values in panel.curves.items():
            ax.plot(values, label=label or None, lw=1.3)
        ax.set_title(textwrap.fill(panel.title, 55), fontsize=8)
        ax.set_xlabel(panel.xlabel, fontsize=8)
        ax.set_ylabel("momentum" if "Momentum" in panel.title else "learning rate", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
        if any(panel.curves):
            ax.legend(fontsize=6)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    fig.suptitle(figure_title)
    # Fixed margins, in inches (tight_layout would draw every figure twice).
    height = fig.get_figheight()
    fig.subplots_adjust(
        left=0.06, right=0.98, bottom=0.5 / height, top=1 - 0.75 / height, wspace=0.28, hspace=0.6
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def draw_plateau(runs: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_lr) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    # Native and torch follow the same rule: the native curve is drawn wide and dashed below.
    styles = [{"lw": 3.5, "ls": "--"}, {}, {}, {}]
    for (name, run), style in zip(runs.items(), styles):
        (line,) = ax_lr.step(
            np.arange(len(run["lr"])),
            run["lr"],
            where="post",
            label=name,
            lw=style.get("lw", 1.3),
            ls=style.get("ls", "-"),
        )
        ax_loss.plot(
            run["loss"], color=line.get_color(), lw=style.get("lw", 1.0), ls=style.get("ls", "-")
        )
        for cut in plateau_cuts(run["level"]):
            ax_loss.axvline(cut, color=line.get_color(), ls=":", lw=0.8)
    ax_loss.set(
        ylabel="synthetic training loss",
        yscale="log",
        title="reduce-on-plateau driving a loss whose floor rises with the rate (dotted: cuts)",
    )
    ax_lr.set(xlabel="epoch (one metric per update)", ylabel="learning rate", yscale="log")
    ax_lr.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


FIGURES = {
    "tf1": ("TensorFlow 1 decay functions (jaxsched.schedules)", tf1_panels),
    "keras": ("Keras schedules (jaxsched.keras.schedules)", keras_panels),
    "torch": ("torch lr_scheduler (jaxsched.torch.lr_scheduler)", torch_panels),
    "warmup": ("Hugging Face / timm warmup schedules (jaxsched.schedules)", warmup_panels),
}


def main(argv=None) -> dict:
    """Writes the five figures; returns {figure: panels} and {"plateau": {rule: run}}."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("docs/images"), help="output folder")
    parser.add_argument("--steps", type=int, default=1000, help="steps per plot")
    parser.add_argument("--epochs", type=int, default=300, help="epochs of the plateau plot")
    parser.add_argument(
        "--quick", action="store_true", help="reduced budget for tests: 200 steps, 150 epochs"
    )
    args = parser.parse_args(argv)
    if args.quick:  # new defaults; options given explicitly win
        quick = {"steps": 200, "epochs": 150}
        for name, value in quick.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    results = {}
    for key, (title, make) in FIGURES.items():
        start = time.perf_counter()
        panels = evaluate(make(args.steps), args.steps)
        path = args.out / f"schedule_gallery_{key}.png"
        draw_grid(title, panels, path)
        results[key] = panels
        count = sum(len(p.curves) for p in panels)
        print(f"{path}: {len(panels)} panels, {count} curves, {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    runs = simulate_plateaus(args.epochs)
    path = args.out / "schedule_gallery_plateau.png"
    draw_plateau(runs, path)
    results["plateau"] = runs
    print(f"{path}: {len(runs)} plateau rules, {time.perf_counter() - start:.1f} s")
    for name, run in runs.items():
        print(f"  {name}: cuts at epochs {plateau_cuts(run['level']).tolist()}")
    return results


if __name__ == "__main__":
    main()
