"""The main example runs end to end and its optimizers learn."""

import importlib.util
from pathlib import Path


def _load(name):
    path = Path(__file__).parents[1] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_optimizers_runs_and_learns(capsys):
    curves = _load("compare_optimizers").main(["--epochs", "30"])
    out = capsys.readouterr().out
    for name, history in curves.items():
        assert name in out
        assert history.shape == (30, 3)
        assert history[-1, 0] < 0.5 * history[0, 0], name
    assert curves["Adam"][-1, 2] >= 0.9
