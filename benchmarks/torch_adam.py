"""Adam's step time in torch 2.13 (for-loop, foreach, fused) beside jaxsched and optax.

The three parameter shapes of ``run.py`` (1 leaf x 1M, 200 leaves x 20k, 1000 leaves x
4k float32). torch runs on CUDA when this torch has it and a GPU is present, else on
the CPU; JAX on its default device. Each torch implementation is timed over
``--steps`` calls of ``optimizer.step()`` (gradients set once, as a backward pass would
leave them), medians of ``--repeats``, the implementations interleaved; jaxsched's and
optax's Adam as in ``run.py`` (a jitted, buffer-donating ``update + apply_updates``), and
``jaxsched.flat(jaxsched.adam)``, the many-leaf path (one buffer, like torch's fused).
The JAX figures include the dispatch of one jitted call per step; torch's include its
Python ``step()``. Not part of the tests.

    python benchmarks/torch_adam.py [--steps 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import optax

import jaxsched

LR = 1e-3


def torch_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def torch_times(shape: tuple[int, int], steps: int, repeats: int) -> dict[str, float | None]:
    """Median seconds per ``step()`` of torch.optim.Adam's code paths (None: refused)."""
    import torch

    device = torch_device()
    leaves, per = shape
    gen = torch.Generator().manual_seed(0)
    paths = {"for-loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}
    runs = {}
    for name, flags in paths.items():
        params = [torch.randn(per, generator=gen).to(device) for _ in range(leaves)]
        for p in params:
            p.grad = torch.sin(p) + 0.1
        try:
            opt = torch.optim.Adam(params, lr=LR, **flags)
            opt.step()
        except (RuntimeError, ValueError):  # a path this device does not offer
            runs[name] = None
            continue
        runs[name] = (opt, [])

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(repeats):
        for run in runs.values():
            if run is None:
                continue
            opt, times = run
            sync()
            start = time.perf_counter()
            for _ in range(steps):
                opt.step()
            sync()
            times.append((time.perf_counter() - start) / steps)
    return {n: None if r is None else float(np.median(r[1])) for n, r in runs.items()}


def main(argv=None):
    import jax
    import torch
    from run import SHAPES, bench, make_params

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(
        f"torch {torch.__version__} on {torch_device()}; "
        f"jax {jax.__version__} on {jax.devices()[0]}"
    )
    print(
        f"{'shape':>10s} {'jaxsched':>9s} {'flat':>9s} {'optax':>9s} {'for-loop':>9s} "
        f"{'foreach':>9s} {'fused':>9s}   (ms per step)"
    )
    for leaves, per in SHAPES:
        params = make_params(leaves, per)
        makers = [
            lambda: jaxsched.adam(LR),
            lambda: optax.adam(LR),
            lambda: jaxsched.flat(jaxsched.adam(LR)),
        ]
        _, (ours, theirs, flat), _ = bench(makers, params, args.steps, args.repeats)
        torch_ms = torch_times((leaves, per), args.steps, args.repeats)
        cells = " ".join(
            f"{'n/a':>9s}" if t is None else f"{1e3 * t:9.3f}" for t in torch_ms.values()
        )
        jax_ms = " ".join(f"{1e3 * t:9.3f}" for t in (ours, flat, theirs))
        print(f"{leaves:>4d}x{per:<5d} {jax_ms} {cells}", flush=True)


if __name__ == "__main__":
    main()
