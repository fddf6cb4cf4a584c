"""A pytest fork server for tools/mutate.py: heavy imports once, one fork per test run.

Every mutant runs pytest a few times, and each fresh interpreter spends ~10 s importing
jax, torch, Keras and the references before the first test. The server imports those
once (never jaxsched, so each run sees the mutated module) and forks a child per
request; the child runs ``pytest.main`` in the workdir. Forking is safe here because
nothing is initialised yet: no XLA backend and no threads in the parent (checked at
start).

Protocol (JSON lines): the client writes ``{"args": [...], "timeout": seconds}`` to
stdin; the server answers ``{"rc": code, "stdout": text}`` (rc None on timeout) on
stdout. Run with the job's environment and the workdir as the current directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import tempfile
import threading
import time

PRELOAD = ("numpy", "scipy", "jax", "optax", "torch", "keras", "pytest", "hypothesis")
OPTIONAL = ("transformers", "pytorch_optimizer", "schedulefree", "prodigyopt", "flax")


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    for name in OPTIONAL:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    from jax._src import xla_bridge

    if xla_bridge._backends or threading.active_count() != 1:
        sys.exit("forkserver: an import started XLA or a thread; forking would be unsafe")


def _run(args: list[str], timeout: float) -> dict:
    with tempfile.TemporaryFile(mode="w+") as out:
        pid = os.fork()
        if pid == 0:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
            code = 3
            try:
                import pytest

                code = int(pytest.main(args))
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        deadline = time.monotonic() + timeout
        rc = None
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                rc = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)
        out.seek(0)
        return {"rc": rc, "stdout": out.read()}


def main() -> None:
    _preload()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps(_run(request["args"], request["timeout"])), flush=True)


if __name__ == "__main__":
    main()
