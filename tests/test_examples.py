"""The examples run on a reduced budget (--quick), learn, and draw their figures."""

import importlib.util
from pathlib import Path

import numpy as np
from figures import check_png

EXAMPLES = Path(__file__).parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plateau_fires(metrics, patience, threshold):
    """Indices of the metrics on which torch's ReduceLROnPlateau ("min", "rel") cuts."""
    best, bad, fired = np.inf, 0, []
    for i, metric in enumerate(metrics):
        if metric < best * (1 - threshold):
            best, bad = metric, 0
        else:
            bad += 1
        if bad > patience:
            fired.append(i)
            bad = 0
    return fired


def test_compare_optimizers(tmp_path, capsys):
    png = tmp_path / "curves.png"
    results = _load("compare_optimizers").main(["--quick", "--plot", str(png)])
    out = capsys.readouterr().out
    runs = results["optimizers"]
    assert list(runs) == ["SGD", "Adam"]
    for name, run in runs.items():
        assert name in out
        assert run["history"].shape == (40, 3)
        assert run["history"][-1, 0] < 0.7 * run["history"][0, 0], name
        assert run["compile_s"] > 0 and run["train_s"] > 0
    # The seeds' ranking: Adam reaches the target within the budget, plain SGD is slower.
    assert runs["Adam"]["test_acc"] >= 0.9
    assert runs["Adam"]["history"][-1, 0] < runs["SGD"]["history"][-1, 0]
    check_png(png, (1100, 400))


def test_compare_optimizers_batch_forms(capsys):
    module = _load("compare_optimizers")
    args = module.parse_args(["--epochs", "8", "--batch-size", "30"])
    results = module.compare_batch_sizes("SGD", module.load_iris(0), args)
    out = capsys.readouterr().out
    assert "full batch (120)" in out and "one sample (1)" in out and "mini-batch (30)" in out
    final = {form: run["history"][-1, 0] for form, run in results.items()}
    # Per epoch, one sample at a time makes 120 updates, mini-batches 4, the full batch 1:
    # the more updates, the further the loss falls in 8 epochs.
    assert final["one sample (1)"] < final["mini-batch (30)"] < final["full batch (120)"]


def test_adam_contour(tmp_path, capsys):
    png = tmp_path / "contour.png"
    result = _load("adam_contour").main(["--quick", "--plot", str(png)])
    np.testing.assert_allclose(result["best"], [4.0, 3.0], atol=0.15)  # y = 4 + 3x + noise
    for name, run in result["runs"].items():
        assert run["path"].shape == (301, 2), name
        np.testing.assert_array_equal(run["path"][0], [1.0, 8.0])  # the same start
        # Every optimizer ends within 1% of the least loss, near the least-squares fit.
        assert run["losses"][-1] < 1.01 * result["best_loss"], name
        assert np.linalg.norm(run["path"][-1] - result["best"]) < 0.1, name
    assert "least squares" in capsys.readouterr().out
    check_png(png, (1200, 500))


def test_schedule_gallery(tmp_path, capsys):
    results = _load("schedule_gallery").main(["--quick", "--out", str(tmp_path)])
    sizes = {"tf1": 3, "keras": 3, "torch": 4, "warmup": 3}
    for key, rows in sizes.items():
        check_png(tmp_path / f"schedule_gallery_{key}.png", (1134, 270 * rows))
    check_png(tmp_path / "schedule_gallery_plateau.png", (900, 630))
    # Staircase against continuous exponential decay: equal at multiples of the period,
    # the staircase above in between.
    panel = results["tf1"][0]
    continuous, staircase = panel.curves["continuous"], panel.curves["staircase=True"]
    period = 20  # --quick: 200 steps, ten periods
    np.testing.assert_allclose(continuous[::period], staircase[::period], rtol=1e-6)
    np.testing.assert_allclose(staircase[::period], 0.1 * 0.7 ** np.arange(10), rtol=1e-6)
    assert np.all(staircase[1:period] > continuous[1:period])
    # The seeds' worked example: 0.2, 0.198, 0.19602, ...
    np.testing.assert_allclose(results["tf1"][1].curves[""][:3], [0.2, 0.198, 0.19602], rtol=1e-6)
    # Native and torch plateau rules agree; Keras's absolute min_delta cuts at least as often.
    runs = list(results["plateau"].values())
    np.testing.assert_array_equal(runs[0]["lr"], runs[1]["lr"])
    assert runs[0]["lr"][-1] < runs[0]["lr"][0]
    assert "cuts at epochs" in capsys.readouterr().out


def test_regularization(tmp_path, capsys):
    png = tmp_path / "boundaries.png"
    results = _load("regularization").main(["--quick", "--plot", str(png)])
    plain, l2, l1 = (
        results[name] for name in ("no regularisation", "L2 (weights)", "L1 (weights)")
    )
    for run in (plain, l2, l1):
        assert run["losses"][-1] < 0.6 * run["losses"][0]
        assert run["train_acc"] >= 0.85 and run["test_acc"] >= 0.8
    assert l2["l2_norm"] < 0.6 * plain["l2_norm"]
    assert l1["l1_norm"] < 0.6 * plain["l1_norm"]
    assert "L1 (weights)" in capsys.readouterr().out
    check_png(png, (1350, 414))


def test_finetune(tmp_path, capsys):
    png = tmp_path / "finetune.png"
    result = _load("finetune").main(["--quick", "--quiet", "--plot", str(png)])
    pre, fine = result["pretrain"], result["finetune"]
    assert pre["test_acc"][-1] >= 0.9
    assert fine["test_acc"][-1] >= 0.85 > result["before"]
    assert fine["epoch_loss"][-1] < 0.3 * fine["epoch_loss"][0]
    assert result["conv1_frozen"]
    # The switch and the plateau cuts happen where torch's plateau rule puts them, given
    # the losses the run fed the optimizer (epoch means; SGD's windows start at the switch).
    per_epoch, losses = fine["per_epoch"], fine["loss"]
    epochs = losses[: len(losses) // per_epoch * per_epoch].reshape(-1, per_epoch).mean(1)
    fired = _plateau_fires(epochs, **result["plateau"])
    assert fired, "no switch in the reduced run"
    switch = fine["switch_step"]
    assert switch == (fired[0] + 1) * per_epoch - 1
    after = losses[switch:]
    windows = after[: len(after) // per_epoch * per_epoch].reshape(-1, per_epoch).mean(1)
    fires = _plateau_fires(windows, **result["plateau"])
    cuts = [switch + (k + 1) * per_epoch - 1 for k in fires]
    assert fine["cut_steps"] == cuts
    assert len(cuts) >= 1
    out = capsys.readouterr().out
    assert "head on SGD from epoch" in out and "rate halved in epochs" in out
    check_png(png, (900, 630))


def test_frontier(tmp_path, capsys):
    png = tmp_path / "frontier.png"
    results = _load("frontier").main(["--quick", "--quiet", "--plot", str(png)])
    out = capsys.readouterr().out
    assert list(results) == ["AdamW", "Muon", "SF-AdamW"]
    for name, run in results.items():
        assert name in out
        history = run["history"]
        assert history.shape == (4, 3), name
        assert history[-1, 0] < 0.3 * history[0, 0], name
        assert history[-1, 2] >= 0.88, name  # test accuracy, at the averaged point for SF
        assert run["compile_s"] > 0 and run["train_s"] > 0
    # Adam keeps two float32 moments per weight; Muon one momentum on its matrices (most
    # of the weights) and AdamW's two moments on the head and the biases.
    assert 8 <= results["AdamW"]["state_bytes"] < 8.1
    assert 4 < results["Muon"]["state_bytes"] < 5
    check_png(png, (1200, 450))
