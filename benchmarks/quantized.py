"""8-bit and bfloat16 optimizer state (``jaxsched.quantized_state``) against float32 Adam.

Reports, in one process:

* state bytes per parameter of Adam: float32, 8-bit blockwise, bfloat16;
* step time of a jitted, buffer-donating ``update + apply_updates`` at ``--size``
  parameters (one leaf), the three interleaved (A B C A B C ...), medians and ratios:
  once with a least-squares gradient computed in the step by matrix products (a
  training step), once for the update alone;
* final training loss of Adam, 8-bit Adam and bf16 Adam (stochastic rounding) on
  sklearn's digits (MLP 64-64-10, full batch, with and without a small L2 term) and a
  linear regression, from ``--seeds`` initialisations each (the formats' differences
  from float32 paired by seed, beside float32's own spread over the seeds), with the
  first seed's loss curves plotted to ``--plot``.

    python benchmarks/quantized.py [--size 16000000] [--steps 10] [--repeats 5]
        [--train-steps 300] [--seeds 5] [--plot quantized_loss.png]
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


def optimizers(lr: float) -> dict:
    # min_size=0: the small training models below are quantized too (the default leaves
    # moments under 4096 elements in float32, as bitsandbytes does).
    return {
        "float32": jaxsched.adam(lr),
        "8-bit": jaxsched.quantized_state(jaxsched.adam(lr), bits=8, min_size=0),
        "bf16-sr": jaxsched.quantized_state(jaxsched.adam(lr), bits=16, min_size=0),
    }


def state_bytes(tx, params) -> float:
    shapes = jax.eval_shape(tx.init, params)
    total = sum(x.size * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(shapes))
    return total / sum(p.size for p in jax.tree.leaves(params))


def step_times(size: int, steps: int, repeats: int, with_gradient: bool) -> dict:
    """Compile seconds and median step seconds of each optimizer, interleaved.

    ``with_gradient``: the step first computes a gradient, as a training step does: the
    parameters are a ``[size / 1000, 1000]`` linear map fitted by least squares on a
    batch of 8, so the gradient comes out of a matrix product as a backward pass's does.
    Otherwise the gradient is an input and the step is the update alone.
    """
    size -= size % 1000
    params = jax.random.normal(jax.random.key(0), (size,))
    given = jnp.sin(params) + 0.1
    x = jax.random.normal(jax.random.key(1), (8, size // 1000))
    y = jax.random.normal(jax.random.key(2), (8, 1000))
    compiled = {}
    for name, tx in optimizers(1e-3).items():

        @partial(jax.jit, donate_argnums=(0, 1))
        def step(params, state, grads, tx=tx):
            if with_gradient:
                w = params.reshape(-1, 1000)
                grads = (x.T @ (x @ w - y)).reshape(-1)
            updates, state = tx.update(grads, state, params)
            return optax.apply_updates(params, updates), state

        p = jnp.copy(params)
        s = jax.jit(tx.init)(p)
        start = time.perf_counter()
        fn = step.lower(p, s, given).compile()
        compile_s = time.perf_counter() - start
        p, s = jax.block_until_ready(fn(p, s, given))
        compiled[name] = [fn, p, s, compile_s, []]
    for _ in range(repeats):  # interleaved, so machine load hits all alike
        for entry in compiled.values():
            fn, p, s = entry[:3]
            start = time.perf_counter()
            for _ in range(steps):
                p, s = fn(p, s, given)
            jax.block_until_ready(p)
            entry[4].append((time.perf_counter() - start) / steps)
            entry[1], entry[2] = p, s
    return {name: (e[3], float(np.median(e[4]))) for name, e in compiled.items()}


def digits_task(l2: float):
    """(loss, init(seed), learning rate) of an MLP 64-64-10 (tanh) on sklearn's digits."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = jnp.asarray(data.data / 16.0, jnp.float32)
    y = jnp.asarray(data.target)

    def init(seed: int):
        k1, k2 = jax.random.split(jax.random.key(seed))
        return {
            "w1": jax.random.normal(k1, (64, 64)) / 8.0,
            "b1": jnp.zeros(64),
            "w2": jax.random.normal(k2, (64, 10)) / 8.0,
            "b2": jnp.zeros(10),
        }

    def loss(p):
        logits = jnp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return ce + l2 * (jnp.sum(p["w1"] ** 2) + jnp.sum(p["w2"] ** 2))

    return loss, init, 1e-2


def regression_task():
    """(loss, init(seed), learning rate) of a linear regression 32 -> 8 on 256 points."""
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(k1, (256, 32))
    y = x @ jax.random.normal(k2, (32, 8)) + 0.1 * jax.random.normal(k3, (256, 8))

    def init(seed: int):
        return {"w": 0.1 * jax.random.normal(jax.random.key(seed), (32, 8)), "b": jnp.zeros(8)}

    def loss(p):
        return jnp.mean((x @ p["w"] + p["b"] - y) ** 2)

    return loss, init, 3e-2


def trainer(tx, loss_fn, steps: int):
    """A function of the initial parameters: the training loss at each of ``steps``
    full-batch steps and after the last (compiled once, for every seed)."""

    @jax.jit
    def run(params):
        def body(carry, _):
            params, state = carry
            loss, grads = jax.value_and_grad(loss_fn)(params)
            updates, state = tx.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), loss

        carry = (params, tx.init(params))
        (params, _), losses = jax.lax.scan(body, carry, None, length=steps)
        return jnp.append(losses, loss_fn(params))

    return lambda params: np.asarray(run(params)).tolist()


def final_losses(steps: int, seeds: int) -> dict:
    """Per task and state format, the loss curve of each seed (one initialisation per
    seed, the same for every format)."""
    tasks = {
        "digits MLP": digits_task(0.0),
        "digits MLP + L2 1e-3": digits_task(1e-3),
        "regression": regression_task(),
    }
    curves = {}
    for task, (loss_fn, init, lr) in tasks.items():
        runs = {n: trainer(tx, loss_fn, steps) for n, tx in optimizers(lr).items()}
        curves[task] = {n: [run(init(seed)) for seed in range(seeds)] for n, run in runs.items()}
    return curves


def report_losses(curves: dict) -> None:
    """Mean final loss over the seeds, and each format's difference from float32 Adam
    from the same initialisation: mean and range over the seeds. The float32 runs'
    own spread over seeds (max - min over mean) says how much the task moves anyway."""
    for task, runs in curves.items():
        ref = np.array([c[-1] for c in runs["float32"]])
        spread = (ref.max() - ref.min()) / ref.mean()
        parts = [f"float32 {ref.mean():.5g} (seeds spread {spread:.1%})"]
        for name, per_seed in runs.items():
            if name == "float32":
                continue
            final = np.array([c[-1] for c in per_seed])
            diff = (final - ref) / ref
            parts.append(
                f"{name} {final.mean():.5g} ({diff.mean():+.2%}; {diff.min():+.2%} .. "
                f"{diff.max():+.2%})"
            )
        print(f"  {task:22s} " + "  ".join(parts))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16_000_000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=5, help="initialisations per task")
    parser.add_argument("--plot", default="quantized_loss.png")
    args = parser.parse_args(argv)
    print(f"jax {jax.__version__}, {jax.devices()[0].device_kind}")

    print("\nstate bytes per parameter (Adam, 1024x1024 + 1024 parameters, default settings)")
    params = {"w": jnp.zeros((1024, 1024)), "b": jnp.zeros(1024)}
    defaults = {
        "float32": jaxsched.adam(1e-3),
        "8-bit": jaxsched.quantized_state(jaxsched.adam(1e-3)),
        "bf16-sr": jaxsched.quantized_state(jaxsched.adam(1e-3), bits=16),
    }
    for name, tx in defaults.items():
        print(f"  {name:8s} {state_bytes(tx, params):6.3f}")

    for with_gradient, what in ((True, "training step"), (False, "update alone")):
        print(
            f"\n{what} time, {args.size:,} parameters"
            f" (median of {args.repeats} x {args.steps} steps)"
        )
        times = step_times(args.size, args.steps, args.repeats, with_gradient)
        base = times["float32"][1]
        for name, (compile_s, step_s) in times.items():
            print(
                f"  {name:8s} step {step_s * 1e3:8.1f} ms  x{step_s / base:5.2f}  "
                f"compile {compile_s:5.2f} s"
            )

    print(
        f"\nfinal loss after {args.train_steps} full-batch steps, {args.seeds} seeds: mean, "
        "and the difference from float32 Adam from the same start (mean; min .. max)"
    )
    curves = final_losses(args.train_steps, args.seeds)
    report_losses(curves)

    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.6))
        for ax, (task, runs) in zip(axes, curves.items()):
            for name, per_seed in runs.items():
                ax.semilogy(per_seed[0], label=f"Adam {name}", lw=1.2)
            ax.set(title=f"{task} (seed 0)", xlabel="step", ylabel="training loss")
            ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print(f"\nloss curves: {args.plot}")


if __name__ == "__main__":
    main()
