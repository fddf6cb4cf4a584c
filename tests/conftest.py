"""Test-wide setup: Keras runs on its JAX backend; parity errors are summarised at the end;
the seed of the run's random draws is shown, and with a failure, what the test drew.

The suite runs under pytest-xdist (``-n auto``): the workers inherit the run's seed through
``JAXSCHED_SEED``, and send their parity errors and contract figures to the controller,
which prints the summary.
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import parity
import pytest

# Set before the workers start, so that they draw what the controller's header shows.
os.environ.setdefault("JAXSCHED_SEED", str(parity.SEED))

_PARITY: dict[str, float] = {}
_FIGURES: dict[str, int] = {}


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
    if report.skipped and os.environ.get("CI"):
        # Under CI every reference is installed (the test extra): a skip is a failure.
        report.outcome = "failed"
        report.longrepr = f"skipped under CI: {report.longrepr}"
    if report.failed and report.when == "call" and parity.DRAWN:
        lines = [f"replay: {_replay_line(repr(item.nodeid))}", *parity.DRAWN]
        report.sections.append(("random draws", "\n".join(lines)))


def _merge(parity_errors: dict[str, float], figures: dict[str, int]) -> None:
    for name, error in parity_errors.items():
        _PARITY[name] = max(error, _PARITY.get(name, 0.0))
    for name, count in figures.items():
        _FIGURES[name] = _FIGURES.get(name, 0) + count


def _contract_figures() -> dict[str, int]:
    contract = sys.modules.get("test_contract")
    return dict(contract.FIGURES) if contract is not None else {}


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the figures to the controller
        workeroutput["jaxsched"] = json.dumps([_PARITY, _contract_figures()])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    output = getattr(node, "workeroutput", {}).get("jaxsched")
    if output:
        _merge(*json.loads(output))


def pytest_terminal_summary(terminalreporter):
    _merge({}, _contract_figures())
    if _FIGURES.get("callables"):
        figures = ", ".join(f"{k}: {v}" for k, v in _FIGURES.items())
        terminalreporter.section("input contract")
        terminalreporter.write_line(figures)
    if _PARITY:
        terminalreporter.section("largest relative error against the reference")
        for name in sorted(_PARITY):
            terminalreporter.write_line(f"{name:40s} {_PARITY[name]:.2e}")
    if parity.DRAWN or _PARITY or terminalreporter.stats.get("failed"):
        terminalreporter.write_line(f"random draws of this run: {_replay_line()}")
