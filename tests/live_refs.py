"""The live reference libraries of test_live_hf_timm.py: transformers, timm, pytorch-optimizer.

They are test extras (see pyproject's ``test`` extra); each test module skips what is
not installed. Values are read the way a torch training loop sees them: value ``k`` is
the learning rate the ``k``-th update uses (0-based), i.e. the rate after ``k`` calls
of ``scheduler.step()``, which is what a jaxsched schedule returns at step ``k``.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Callable

import numpy as np


def _optimizer(lr: float):
    import torch

    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


def hf_values(name: str, lr: float, steps: int, **kwargs) -> np.ndarray:
    """``transformers.<name>(optimizer, **kwargs)`` (a torch ``LambdaLR``) over ``steps``."""
    import transformers

    opt = _optimizer(lr)
    sched = getattr(transformers, name)(opt, **kwargs)
    values = []
    for _ in range(steps):
        values.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.asarray(values)


def import_timm_scheduler() -> types.ModuleType:
    """``timm.scheduler`` without running ``timm/__init__.py``.

    timm's package ``__init__`` imports its models, which import torchvision; the
    torchvision wheel on the index is a CUDA build that fails to load beside the CPU
    torch these tests use (and timm does not need it for schedulers). The schedulers
    themselves only need torch, so ``timm`` is registered as a bare namespace module
    pointing at the installed package directory, and ``timm.scheduler`` is imported
    from it. This imports timm's real scheduler code unchanged; only the top-level
    ``timm/__init__.py`` is skipped. If timm is missing this raises ImportError.
    """
    if "timm.scheduler" in sys.modules:
        return sys.modules["timm.scheduler"]
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("timm is not installed")
    if "timm" not in sys.modules:
        package = types.ModuleType("timm")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["timm"] = package
    import timm.scheduler

    return timm.scheduler


def timm_values(make: Callable, lr: float, steps: int, per_update: bool = False) -> np.ndarray:
    """Learning rates of the timm scheduler ``make(optimizer)`` for epochs (or, with
    ``per_update`` and ``t_in_epochs=False``, updates) ``0..steps-1``: the rate timm sets
    with ``scheduler.step(k)`` (``step_update(k)``), what a timm training loop uses for
    epoch (update) ``k``."""
    opt = _optimizer(lr)
    sched = make(opt)
    values = []
    for k in range(steps):
        (sched.step_update if per_update else sched.step)(k)
        values.append(opt.param_groups[0]["lr"])
    return np.asarray(values)


_KERAS_NUMPY = """
import json, sys
import numpy as np
import keras

out = []
for name, kwargs, steps in json.loads(sys.stdin.read()):
    schedule = getattr(keras.optimizers.schedules, name)(**kwargs)
    try:
        values = np.asarray(schedule(np.arange(steps)), np.float32)
    except (ValueError, TypeError):  # schedules that branch with ops.cond take one step
        values = np.asarray([schedule(k) for k in range(steps)], np.float32)
    out.append([float(v) for v in values])
print(json.dumps(out))
"""


def keras_exact_values(specs: list[tuple[str, dict, int]]) -> list[np.ndarray]:
    """Values of ``keras.optimizers.schedules.<name>(**kwargs)`` at steps ``0..steps-1``,
    computed by Keras on its numpy backend, for each ``(name, kwargs, steps)``.

    numpy's float32 division is correctly rounded, as TensorFlow's is, while XLA (Keras's
    JAX backend, under jit, vmap and even eagerly on arrays) turns ``step / decay_steps``
    into ``step * (1 / decay_steps)``, which switches some staircases a step late. A
    process has one Keras backend, so this runs in a subprocess.
    """
    import json
    import os
    import subprocess

    env = dict(os.environ, KERAS_BACKEND="numpy")
    done = subprocess.run(
        [sys.executable, "-c", _KERAS_NUMPY],
        input=json.dumps(specs),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"Keras (numpy backend) failed:\n{done.stderr[-3000:]}")
    return [np.asarray(v, np.float32) for v in json.loads(done.stdout.strip().splitlines()[-1])]


def xla_inexact_divisors(steps: int, high: int = 200, ceil: bool = False) -> list[int]:
    """Divisors ``d <= high`` for which ``k * d * float32(1 / d) < k`` at some multiple
    ``k * d < steps``: the staircases XLA's rewrite switches one step late. With
    ``ceil``, those for which it is ``> k``: ``ceil`` counts one cycle too many there."""
    out = []
    for d in range(2, high + 1):
        k = np.arange(1, max(2, (steps - 1) // d + 1), dtype=np.float32)
        q = k * np.float32(d) * (np.float32(1) / np.float32(d))
        if np.any(np.ceil(q) > k) if ceil else np.any(np.floor(q) < k):
            out.append(d)
    return out
