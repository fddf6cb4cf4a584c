"""The ``jaxsched`` command line: plot or print schedules, list them, run the comparison.

``jaxsched plot EXPR... [--steps N] [-o out.png | --csv]`` evaluates schedule calls such as
``"torch.OneCycleLR(max_lr=0.1, total_steps=1000)"``. An expression is parsed with
:mod:`ast`, never evaluated: it must be one call of a schedule name with literal
arguments, where ``torch.X`` is ``jaxsched.torch.lr_scheduler.X``, ``keras.X`` is
``jaxsched.keras.schedules.X`` and a bare name is ``jaxsched.schedules.X``.
``jaxsched list`` lists every optimizer and schedule with its library equivalents;
``jaxsched compare`` runs the optimizer comparison of ``examples/compare_optimizers.py``.
"""

from __future__ import annotations

import argparse as _argparse
import ast as _ast
import difflib as _difflib
import importlib as _importlib
import importlib.util as _importlib_util
import inspect as _inspect
import re as _re
import sys as _sys
from pathlib import Path as _Path

__all__ = ["main"]

_NAMESPACES = {
    "torch": "jaxsched.torch.lr_scheduler",
    "keras": "jaxsched.keras.schedules",
    "": "jaxsched.schedules",
}
_ALLOWED = (
    "allowed: one call of a schedule with literal arguments (numbers, strings, True/False/None, "
    "lists/tuples of them): NAME(...) from jaxsched.schedules, torch.NAME(...) from "
    "jaxsched.torch.lr_scheduler or keras.NAME(...) from jaxsched.keras.schedules "
    "(`jaxsched list` shows the names)"
)

# Optimizers: the native alias -> (torch flavor, Keras flavor) where the name alone does
# not say it (the others pair by case-insensitive name).
_OPTIMIZER_FLAVORS = {
    "momentum": ("SGD(momentum=...)", "SGD(momentum=...)"),
    "nesterov": ("SGD(nesterov=True)", "SGD(nesterov=True)"),
    "amsgrad": ("Adam(amsgrad=True)", "Adam(amsgrad=True)"),
}

# Native schedule -> (TF1 tf.compat.v1.train, Keras, torch, Hugging Face / timm).
_SCHEDULE_EQUIVALENTS = {
    "exponential_decay": (
        "exponential_decay",
        "ExponentialDecay",
        "ExponentialLR (decay_steps=1)",
        "",
    ),
    "natural_exp_decay": ("natural_exp_decay", "", "", ""),
    "inverse_time_decay": ("inverse_time_decay", "InverseTimeDecay; Keras 2 decay=", "", ""),
    "piecewise_constant": ("piecewise_constant", "PiecewiseConstantDecay", "", ""),
    "polynomial_decay": (
        "polynomial_decay",
        "PolynomialDecay",
        "PolynomialLR, LinearLR",
        "HF linear / polynomial decay (after warmup)",
    ),
    "cosine_decay": ("cosine_decay", "CosineDecay (no warmup)", "", ""),
    "cosine_decay_restarts": ("cosine_decay_restarts", "CosineDecayRestarts", "", ""),
    "linear_cosine_decay": ("linear_cosine_decay", "", "", ""),
    "noisy_linear_cosine_decay": ("noisy_linear_cosine_decay", "", "", ""),
    "constant": ("", "", "LambdaLR(lambda k: 1)", "HF get_constant_schedule"),
    "linear_warmup": (
        "",
        "CosineDecay(warmup_target=...) warmup",
        "",
        "HF get_constant_schedule_with_warmup; the warmup of get_*_with_warmup",
    ),
    "join": ("", "", "SequentialLR", "optax.join_schedules"),
    "warmup_cosine": (
        "",
        "",
        "CosineAnnealingLR (warmup_steps=0)",
        "HF get_cosine_schedule_with_warmup, get_cosine_with_min_lr_schedule_with_warmup",
    ),
    "inverse_sqrt": ("", "", "", "HF get_inverse_sqrt_schedule"),
    "warmup_stable_decay": ("", "", "", "HF get_wsd_schedule"),
    "cosine": (
        "",
        "",
        "CosineAnnealingWarmRestarts (cycle_limit=None)",
        "timm CosineLRScheduler; HF get_cosine_with_hard_restarts_schedule_with_warmup",
    ),
    "step_decay": (
        "exponential_decay(staircase=True)",
        "ExponentialDecay(staircase=True)",
        "StepLR, ExponentialLR",
        "timm StepLRScheduler",
    ),
    "multistep_decay": ("", "", "MultiStepLR", "timm MultiStepLRScheduler (milestones - 1)"),
    "multiplicative": ("", "", "MultiplicativeLR", ""),
    "cyclic": ("", "", "CyclicLR", ""),
    "one_cycle": ("", "", "OneCycleLR", ""),
}

# Flavor schedule -> the native schedule it is built on.
_FLAVOR_NATIVE = {
    "StepLR": "step_decay",
    "MultiStepLR": "multistep_decay",
    "ExponentialLR": "step_decay(step_size=1)",
    "CosineAnnealingLR": "warmup_cosine(warmup_steps=0), not clamped",
    "CosineAnnealingWarmRestarts": "cosine(cycle_limit=None)",
    "CyclicLR": "cyclic",
    "CyclicMomentum": "cyclic (momentum bounds)",
    "OneCycleLR": "one_cycle",
    "OneCycleMomentum": "one_cycle (momentum bounds)",
    "LinearLR": "polynomial_decay(power=1)",
    "ConstantLR": "piecewise_constant",
    "PolynomialLR": "polynomial_decay(end_learning_rate=0)",
    "LambdaLR": "any step -> factor function",
    "MultiplicativeLR": "multiplicative",
    "SequentialLR": "join",
    "ChainedScheduler": "product of schedules",
    "ReduceLROnPlateau": "reduce_on_plateau (metric-driven: value=)",
    "ExponentialDecay": "exponential_decay",
    "InverseTimeDecay": "inverse_time_decay",
    "PiecewiseConstantDecay": "piecewise_constant",
    "PolynomialDecay": "polynomial_decay",
    "CosineDecay": "cosine_decay, linear_warmup",
    "CosineDecayRestarts": "cosine_decay_restarts",
}


class _ExpressionError(ValueError):
    """A schedule expression the command line refuses (the message is one line)."""


def _public(module) -> list[str]:
    names = getattr(module, "__all__", None) or dir(module)
    return sorted(n for n in names if not n.startswith("_") and callable(getattr(module, n)))


def _schedule_names() -> dict[str, object]:
    """Every expression name (``torch.X``, ``keras.X``, bare) -> its callable."""
    found = {}
    for prefix, module_name in _NAMESPACES.items():
        module = _importlib.import_module(module_name)
        for name in _public(module):
            obj = getattr(module, name)
            if not _inspect.isclass(obj):
                found[f"{prefix}.{name}" if prefix else name] = obj
    return found


def _literal(node: _ast.AST, what: str, text: str):
    try:
        return _ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        snippet = _ast.get_source_segment(text, node) or _ast.dump(node)
        raise _ExpressionError(f"{what} is not a literal: {snippet!r}; {_ALLOWED}") from None


def _parse_expression(text: str, base_lr: float = 0.1):
    """``(name, schedule)`` for one expression such as ``"torch.StepLR(0.1, 30)"``.

    torch schedulers take the optimizer's learning rate first (``lr``); when an expression
    leaves it out, ``base_lr`` is used, and ``base_lr=`` is accepted as another name for it.
    Raises ``_ExpressionError`` with a one-line message for anything not allowed.
    """
    try:
        tree = _ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise _ExpressionError(f"cannot parse {text!r} ({error.msg}); {_ALLOWED}") from None
    call = tree.body
    if not isinstance(call, _ast.Call):
        raise _ExpressionError(f"{text!r} is not a call; {_ALLOWED}")
    func = call.func
    if isinstance(func, _ast.Name):
        name = func.id
    elif (
        isinstance(func, _ast.Attribute)
        and isinstance(func.value, _ast.Name)
        and func.value.id in ("torch", "keras")
    ):
        name = f"{func.value.id}.{func.attr}"
    else:
        callee = _ast.get_source_segment(text.strip(), func)
        raise _ExpressionError(f"{callee!r} is not a schedule name; {_ALLOWED}")
    known = _schedule_names()
    if name not in known:
        close = _difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise _ExpressionError(f"unknown schedule {name!r}{hint}; {_ALLOWED}")
    factory = known[name]
    source = text.strip()
    args = []
    for i, arg in enumerate(call.args):
        if isinstance(arg, _ast.Starred):
            raise _ExpressionError(f"*arguments are not allowed in {name}; {_ALLOWED}")
        args.append(_literal(arg, f"argument {i + 1} of {name}", source))
    kwargs = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise _ExpressionError(f"**arguments are not allowed in {name}; {_ALLOWED}")
        kwargs[keyword.arg] = _literal(keyword.value, f"argument {keyword.arg}= of {name}", source)
    parameters = list(_inspect.signature(factory).parameters)
    if name.startswith("torch.") and parameters[:1] == ["lr"] and "base_lr" not in parameters:
        if "base_lr" in kwargs:
            if "lr" in kwargs or args:
                raise _ExpressionError(f"{name}: give lr or base_lr, not both")
            kwargs["lr"] = kwargs.pop("base_lr")
        elif not args and "lr" not in kwargs:
            kwargs["lr"] = base_lr
    try:
        schedule = factory(*args, **kwargs)
    except (TypeError, ValueError) as error:
        raise _ExpressionError(f"{name}: {error}") from None
    if not callable(schedule):
        raise _ExpressionError(
            f"{name} is driven by a metric (update(..., value=)), not by the step: "
            "it cannot be evaluated over steps"
        )
    return source, schedule


def _values(schedules, steps: int):
    import jax
    import jax.numpy as jnp
    import numpy as np

    # One program per schedule: the values are those of jax.jit(jax.vmap(schedule)).
    return [np.asarray(jax.jit(jax.vmap(f))(jnp.arange(steps)), np.float32) for f in schedules]


def _plot(args) -> int:
    import numpy as np

    try:
        parsed = [_parse_expression(text, args.lr) for text in args.expressions]
    except _ExpressionError as error:
        return _fail(str(error))
    curves = _values([schedule for _, schedule in parsed], args.steps)
    names = [name for name, _ in parsed]
    if args.csv:
        print(",".join(["step", *(f'"{n}"' for n in names)]))
        for step in range(args.steps):
            print(",".join([str(step), *(str(np.float32(c[step])) for c in curves)]))
    if args.output:
        try:
            import matplotlib
        except ImportError:
            return _fail(
                "plotting needs matplotlib: pip install matplotlib (or the examples extra)"
            )
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4.5))
        for name, curve in zip(names, curves):
            ax.plot(np.arange(args.steps), curve, label=name)
        ax.set(xlabel="step", ylabel="value", yscale="log" if args.log else "linear")
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(args.output, dpi=100)
        plt.close(fig)
        print(f"saved {args.output}", file=_sys.stderr if args.csv else _sys.stdout)
    if not args.csv and not args.output:
        for name, curve in zip(names, curves):
            peak = int(np.argmax(curve))
            print(
                f"{name}: step 0 {curve[0]:.6g}, max {curve[peak]:.6g} at step {peak}, "
                f"min {curve.min():.6g}, step {args.steps - 1} {curve[-1]:.6g}"
            )
    return 0


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _optax_name(name: str) -> str:
    """The optax function of the same name, if there is one (``optax.contrib`` included)."""
    import optax
    import optax.contrib

    if callable(getattr(optax, name, None)):
        return f"optax.{name}"
    return f"optax.contrib.{name}" if callable(getattr(optax.contrib, name, None)) else ""


def _list(_args) -> int:
    import jaxsched

    natives = [n for n in _public(jaxsched.optimizers) if n.islower()]
    flavors = {}
    for lib in ("torch", "keras"):
        module = getattr(jaxsched, lib)
        # Flavors are functions named after the library's classes (state types are classes).
        names = [n for n in _public(module) if n[0].isupper()]
        flavors[lib] = {n.lower(): n for n in names if not _inspect.isclass(getattr(module, n))}
    rows = []
    for name in natives:
        torch, keras = _OPTIMIZER_FLAVORS.get(
            name, tuple(flavors[lib].get(name.replace("_", ""), "") for lib in ("torch", "keras"))
        )
        rows.append(
            (
                f"jaxsched.{name}",
                torch and f"torch.{torch}",
                keras and f"keras.{keras}",
                _optax_name(name),
            )
        )
    paired = {r[1].split("(")[0][6:] for r in rows} | {r[2].split("(")[0][6:] for r in rows}
    for lib in ("torch", "keras"):
        for flavor in sorted(set(flavors[lib].values()) - paired - {"ReduceLROnPlateau"}):
            row = ["", "", "", ""]
            row[1 if lib == "torch" else 2] = f"{lib}.{flavor}"
            rows.append(tuple(row))
    print("Optimizers (torch.X = jaxsched.torch.X, keras.X = jaxsched.keras.X)\n")
    print(_table(rows, ("native", "torch flavor", "Keras flavor", "optax (same name)")))

    rows = []
    for name in _public(jaxsched.schedules):
        rows.append((name, *_SCHEDULE_EQUIVALENTS.get(name, ("", "", "", ""))))
    rows.append(
        ("reduce_on_plateau (jaxsched.)", "", "ReduceLROnPlateau callback", "ReduceLROnPlateau", "")
    )
    print("\nSchedules (jaxsched.schedules.X; a bare X in `jaxsched plot`)\n")
    print(_table(rows, ("native", "TF1 (tf.compat.v1.train)", "Keras", "torch", "HF / timm")))

    rows = [
        (name, _FLAVOR_NATIVE.get(name.split(".", 1)[1], ""))
        for name in _schedule_names()
        if "." in name
    ]
    rows.append(("keras.ReduceLROnPlateau (jaxsched.keras.)", _FLAVOR_NATIVE["ReduceLROnPlateau"]))
    print(
        "\nLibrary-named schedules (torch.X = jaxsched.torch.lr_scheduler.X, "
        "keras.X = jaxsched.keras.schedules.X)\n"
    )
    print(_table(rows, ("name", "native equivalent")))

    rows = []
    for lib in ("hf", "timm", "pytorch_optimizer"):
        module = getattr(jaxsched, lib)
        for name in _public(module):
            obj = getattr(module, name)
            if callable(obj) and not _inspect.isclass(obj):
                doc = (obj.__doc__ or "").strip().split("\n")[0]
                # Plain text for the terminal: ``x`` and :func:`x` as x.
                doc = _re.sub(r":\w+:`~?([^`]*)`", r"\1", doc).replace("``", "")
                rows.append((f"{lib}.{name}", doc[:90]))
    print("\nHugging Face, timm and pytorch-optimizer names (hf.X = jaxsched.hf.X, ...)\n")
    print(_table(rows, ("name", "what it is")))
    return 0


def _compare(args) -> int:
    script = _Path(__file__).resolve().parents[1] / "examples" / "compare_optimizers.py"
    if not script.is_file():
        return _fail(
            "the comparison is examples/compare_optimizers.py of the source repository; "
            "run it from a checkout (pip install -e .)"
        )
    spec = _importlib_util.spec_from_file_location("compare_optimizers", script)
    module = _importlib_util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(args.rest)
    return 0


def _fail(message: str) -> int:
    print(f"jaxsched: error: {message}", file=_sys.stderr)
    return 2


def _parser() -> _argparse.ArgumentParser:
    parser = _argparse.ArgumentParser(
        prog="jaxsched",
        description="jaxsched's command line: plot or print schedules, list the optimizers and "
        "schedules with their library equivalents, run the optimizer comparison. "
        "jaxsched COMMAND --help describes each command.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plot = commands.add_parser(
        "plot",
        help="plot schedules or print their values",
        description="Evaluate schedules over steps 0..N-1 and plot them (-o), print them "
        "(--csv) or summarise them. " + _ALLOWED[0].upper() + _ALLOWED[1:] + ".",
        epilog='example: jaxsched plot "torch.OneCycleLR(max_lr=0.1, total_steps=1000)" '
        '"keras.CosineDecay(1e-3, 1000, warmup_target=1e-2, warmup_steps=100)" '
        "--steps 1200 -o lr.png",
    )
    plot.add_argument("expressions", nargs="+", metavar="EXPR", help="a schedule call")
    plot.add_argument("--steps", type=int, default=1000, help="number of steps (default 1000)")
    plot.add_argument("-o", "--output", type=_Path, help="save a PNG plot here")
    plot.add_argument("--csv", action="store_true", help="print step,value rows on stdout")
    plot.add_argument("--log", action="store_true", help="logarithmic value axis")
    plot.add_argument(
        "--lr",
        type=float,
        default=0.1,
        help="base learning rate of torch schedulers whose expression leaves lr out "
        "(torch takes it from the optimizer; default 0.1)",
    )
    plot.set_defaults(run=_plot)
    listing = commands.add_parser(
        "list",
        help="list every optimizer and schedule with its library equivalents",
        description="List every jaxsched optimizer and schedule with its torch, Keras, "
        "TensorFlow 1 and Hugging Face / timm equivalents.",
    )
    listing.set_defaults(run=_list)
    compare = commands.add_parser(
        "compare",
        help="run the optimizer comparison on the iris data",
        description="Run examples/compare_optimizers.py (from a source checkout); the "
        "arguments are passed on (jaxsched compare --epochs 100 --plot curves.png); "
        "jaxsched compare -- --help lists them.",
    )
    compare.set_defaults(run=_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the ``jaxsched`` command line (console script and ``python -m jaxsched``).

    Commands: ``plot EXPR... [--steps N] [-o PNG] [--csv] [--log] [--lr LR]``, ``list``,
    ``compare [the comparison's options]``; ``--help`` on each. A schedule expression is
    one call of a schedule name with literal arguments (``torch.X``:
    ``jaxsched.torch.lr_scheduler.X``, ``keras.X``: ``jaxsched.keras.schedules.X``, a bare
    name: ``jaxsched.schedules.X``); it is parsed, never evaluated.

    Args:
      argv: the arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
      The exit status: 0, or 2 after a one-line ``jaxsched: error: ...`` on stderr.

    Example:
      >>> from jaxsched.cli import main
      >>> main(["plot", "torch.StepLR(0.1, 2)", "--steps", "4", "--csv"])
      step,"torch.StepLR(0.1, 2)"
      0,0.1
      1,0.1
      2,0.01
      3,0.01
      0

    References:
      The names are those of ``torch.optim.lr_scheduler`` and
      ``keras.optimizers.schedules``; ``jaxsched list`` maps them to jaxsched's.
    """
    parser = _parser()
    # The comparison's own options pass through unparsed; any other command takes none.
    args, rest = parser.parse_known_args(argv)
    if args.command != "compare" and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = [arg for arg in rest if arg != "--"]
    if args.command == "plot" and args.steps < 1:
        return _fail("--steps must be >= 1")
    return args.run(args)
