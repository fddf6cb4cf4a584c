"""Test-wide setup: Keras runs on its JAX backend; parity errors are summarised at the end;
the seed of the run's random draws is shown, and with a failure, what the test drew."""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import parity
import pytest

_PARITY: dict[str, float] = {}


@pytest.fixture
def record_parity():
    """``record_parity(name, error)`` keeps the largest error seen for ``name``."""

    def record(name: str, error: float) -> None:
        _PARITY[name] = max(error, _PARITY.get(name, 0.0))

    return record


def _replay_line(nodeid: str = "") -> str:
    return f"JAXSCHED_SEED={parity.SEED} pytest {nodeid}".rstrip()


def pytest_report_header(config):
    return f"random draws: {_replay_line()}"


def pytest_runtest_setup(item):
    parity.DRAWN.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when == "call" and parity.DRAWN:
        lines = [f"replay: {_replay_line(repr(item.nodeid))}", *parity.DRAWN]
        report.sections.append(("random draws", "\n".join(lines)))


def pytest_terminal_summary(terminalreporter):
    contract = sys.modules.get("test_contract")
    if contract is not None and contract.FIGURES["callables"]:
        figures = ", ".join(f"{k}: {v}" for k, v in contract.FIGURES.items())
        terminalreporter.section("input contract")
        terminalreporter.write_line(figures)
    if _PARITY:
        terminalreporter.section("largest relative error against the reference")
        for name in sorted(_PARITY):
            terminalreporter.write_line(f"{name:40s} {_PARITY[name]:.2e}")
    if parity.DRAWN or _PARITY or terminalreporter.stats.get("failed"):
        terminalreporter.write_line(f"random draws of this run: {_replay_line()}")
