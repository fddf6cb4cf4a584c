"""Data-parallel training over two processes on this machine (JAX multi-controller).

Two processes of tests/multihost_worker.py, 2 simulated CPU devices each, join through
``jax.distributed`` (gloo collectives over localhost) and train with jaxsched's Adam and
ZeRO-1 state; both must end with the same parameters as a single-process run.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

ROOT = Path(__file__).parents[1]
WORKER = ROOT / "tests" / "multihost_worker.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def single_process_params():
    spec = importlib.util.spec_from_file_location("multihost_worker", WORKER)
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    params, x, y = worker.problem()
    tx = worker.make_tx()
    state = tx.init(params)
    train = jax.jit(worker.make_step(tx))
    for _ in range(worker.STEPS):
        params, state = train(params, state, x, y)
    return params


def test_two_processes_train_like_one():
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=2"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    port = free_port()
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(port), str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
            if proc.returncode or not lines:
                pytest.fail(f"a worker failed (exit {proc.returncode}):\n{err[-3000:]}")
            results.append(json.loads(lines[-1].removeprefix("RESULT ")))
    finally:
        for proc in procs:
            proc.kill()
    elapsed = time.perf_counter() - start

    assert [r["process"] for r in results] == [0, 1]
    for r in results:
        assert r["devices"] == 4 and r["local_devices"] == 2
        # ZeRO-1: the first moment of w (8 rows) is split 2 rows per device.
        assert r["mu_spec"] == "P('data', None)"
        assert r["mu_local_rows"] == [2, 2]
    first, second = (r["params"] for r in results)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    want = single_process_params()
    for key in first:
        np.testing.assert_allclose(first[key], want[key], rtol=1e-5, atol=1e-6)
    assert elapsed < 60, f"the two processes took {elapsed:.0f} s"
