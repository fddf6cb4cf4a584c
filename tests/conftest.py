"""Test-wide setup: Keras runs on its JAX backend; parity errors are summarised at the end."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import pytest

_PARITY: dict[str, float] = {}


@pytest.fixture
def record_parity():
    """``record_parity(name, error)`` keeps the largest error seen for ``name``."""

    def record(name: str, error: float) -> None:
        _PARITY[name] = max(error, _PARITY.get(name, 0.0))

    return record


def pytest_terminal_summary(terminalreporter):
    if _PARITY:
        terminalreporter.section("largest relative error against the reference")
        for name in sorted(_PARITY):
            terminalreporter.write_line(f"{name:40s} {_PARITY[name]:.2e}")
