"""The ``jaxsched`` command line, through its entry point ``jaxsched.cli.main``."""

import inspect
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from figures import check_png

import jaxsched
from jaxsched.cli import main
from jaxsched.keras import schedules as keras_schedules
from jaxsched.torch import lr_scheduler


def _csv(text):
    lines = text.strip().splitlines()
    header, rows = lines[0], [line.split(",") for line in lines[1:]]
    return header, np.array([[float(v) for v in row] for row in rows])


def _curve(schedule, steps):
    """The values the command line prints: one jitted vmap of the schedule over the steps."""
    values = np.asarray(jax.jit(jax.vmap(schedule))(jnp.arange(steps)))
    # and, to float32 rounding, the schedule called step by step
    for step in (0, 1, steps // 2, steps - 1):
        np.testing.assert_allclose(values[step], schedule(step), rtol=2e-6, atol=1e-12)
    return values


def test_plot_the_readme_example_to_png(tmp_path, capsys):
    out = tmp_path / "lr.png"
    code = main(
        [
            "plot",
            "torch.OneCycleLR(max_lr=0.1, total_steps=1000)",
            "keras.CosineDecay(1e-3, 1000, warmup_target=1e-2, warmup_steps=100)",
            "--steps",
            "1200",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert str(out) in capsys.readouterr().out
    check_png(out, (800, 450))


def test_csv_equals_the_schedules_values(capsys):
    expressions = [
        "torch.OneCycleLR(max_lr=0.1, total_steps=100)",
        "keras.CosineDecay(1e-3, 80, warmup_target=1e-2, warmup_steps=10)",
        "exponential_decay(0.01, 10, 0.9, staircase=True)",
        "warmup_cosine(peak_value=1.0, warmup_steps=5, total_steps=100)",
    ]
    assert main(["plot", *expressions, "--steps", "120", "--csv"]) == 0
    header, values = _csv(capsys.readouterr().out)
    assert header.split(",")[0] == "step"
    expected = [
        lr_scheduler.OneCycleLR(0.1, total_steps=100),
        keras_schedules.CosineDecay(1e-3, 80, warmup_target=1e-2, warmup_steps=10),
        jaxsched.exponential_decay(0.01, 10, 0.9, staircase=True),
        jaxsched.warmup_cosine(1.0, 5, 100),
    ]
    np.testing.assert_array_equal(values[:, 0], np.arange(120))
    for column, schedule in enumerate(expected, start=1):
        # Printed as float32's shortest repr: reading it back gives the same float32.
        np.testing.assert_array_equal(values[:, column].astype(np.float32), _curve(schedule, 120))


def test_torch_lr_defaults_to_base_lr_and_accepts_base_lr(capsys):
    expressions = [
        "torch.StepLR(step_size=3)",
        "torch.StepLR(base_lr=2.0, step_size=3)",
        "torch.StepLR(0.5, 3, gamma=0.5)",
        "torch.CyclicLR(0.01, 0.1, step_size_up=4)",
    ]
    assert main(["plot", *expressions, "--steps", "8", "--csv", "--lr", "0.3"]) == 0
    _, values = _csv(capsys.readouterr().out)
    expected = [
        lr_scheduler.StepLR(0.3, 3),
        lr_scheduler.StepLR(2.0, 3),
        lr_scheduler.StepLR(0.5, 3, gamma=0.5),
        lr_scheduler.CyclicLR(0.01, 0.1, step_size_up=4),
    ]
    for column, schedule in enumerate(expected, start=1):
        np.testing.assert_array_equal(values[:, column].astype(np.float32), _curve(schedule, 8))


def test_summary_without_output(capsys):
    assert main(["plot", "torch.StepLR(0.1, 10)", "--steps", "30"]) == 0
    assert "torch.StepLR(0.1, 10): step 0 0.1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("foo(1)", "unknown schedule 'foo'"),
        ("torch.StepLr(0.1, 3)", "did you mean torch.StepLR?"),
        ("os.system('ls')", "'os.system' is not a schedule name"),
        ("__import__('os').system('ls')", "is not a schedule name"),
        ("torch.StepLR(0.1, x)", "argument 2 of torch.StepLR is not a literal: 'x'"),
        ("torch.LambdaLR(0.1, lambda k: k)", "is not a literal"),
        ("torch.StepLR(0.1, step_size=1 + 1)", "argument step_size= of torch.StepLR"),
        ("torch.StepLR(0.1, 0)", "torch.StepLR: step_size must be an integer >= 1, got 0"),
        ("torch.StepLR(0.1, 3, bogus=1)", "bogus"),
        ("torch.StepLR(0.1", "cannot parse"),
        ("0.1 * torch.StepLR(0.1, 3)", "is not a call"),
        ("torch.StepLR(*[0.1, 3])", "*arguments are not allowed"),
        ("torch.StepLR(**{'lr': 0.1})", "**arguments are not allowed"),
        ("torch.StepLR(0.1, 3)(5)", "is not a schedule name"),
        ("torch.StepLR(0.1, 3, base_lr=0.2)", "give lr or base_lr, not both"),
        ("torch.ReduceLROnPlateau(0.1)", "driven by a metric"),
        ("jaxsched.sgd(0.1)", "is not a schedule name"),
    ],
)
def test_bad_expressions_get_one_line_errors(expression, message, capsys):
    assert main(["plot", expression, "--csv"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("jaxsched: error: ")
    assert message in lines[0]


def test_expressions_are_never_evaluated(tmp_path, capsys):
    marker = tmp_path / "pwned"
    expression = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    assert main(["plot", expression]) == 2
    assert "allowed: one call of a schedule" in capsys.readouterr().err
    assert not marker.exists()


def test_list_names_every_optimizer_and_schedule(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for module, prefix in [
        (jaxsched.schedules, ""),
        (lr_scheduler, "torch."),
        (keras_schedules, "keras."),
    ]:
        for name in module.__all__:
            assert f"{prefix}{name}" in out, name
    for name in dir(jaxsched.optimizers):
        if name.islower() and not name.startswith("_"):
            assert f"jaxsched.{name}" in out, name
    for library in ("hf", "timm", "pytorch_optimizer"):
        module = getattr(jaxsched, library)
        for name in dir(module):
            obj = getattr(module, name)
            if not name.startswith("_") and callable(obj) and not inspect.isclass(obj):
                assert f"{library}.{name} " in out, name
    for library in ("torch", "keras"):
        module = getattr(jaxsched, library)
        for name in dir(module):
            flavor = getattr(module, name)
            if name[0].isupper() and callable(flavor) and not inspect.isclass(flavor):
                assert f"{library}.{name}" in out, name
    assert "torch.SGD(momentum=...)" in out
    assert "get_cosine_schedule_with_warmup" in out


@pytest.mark.parametrize("command", [[], ["plot"], ["list"], ["compare"]])
def test_help_of_each_command(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: jaxsched" in capsys.readouterr().out


def test_compare_passes_its_arguments_to_the_example(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["compare", "--", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--batch-optimizer" in out and "--quick" in out


def test_unknown_arguments_are_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["list", "--bogus"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_python_dash_m_jaxsched():
    done = subprocess.run(
        [sys.executable, "-m", "jaxsched", "plot", "torch.StepLR(0.1, 2)", "--steps", "4", "--csv"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == ["0,0.1", "1,0.1", "2,0.01", "3,0.01"]


def test_console_script():
    # Installed by `pip install -e .` from [project.scripts], next to this interpreter.
    script = Path(sys.executable).parent / "jaxsched"
    assert script.is_file(), "reinstall the package (pip install -e .) to get the script"
    done = subprocess.run([str(script), "plot", "nope()"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith("jaxsched: error: unknown schedule 'nope'")
    assert len(done.stderr.strip().splitlines()) == 1
