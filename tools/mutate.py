"""Mutation testing for jaxsched's update rules and schedules (stdlib only).

Each mutant is one small change to one module: an arithmetic operator swapped, a
comparison flipped, a constant nudged, a call's arguments or function swapped, a
negation removed, eps moved into or out of a square root, an exact division turned
into XLA's ``x * (1 / c)``. For each mutant the module's tests run (``pytest -x -q``
with a timeout); a mutant is *killed* if they fail and *survives* if they pass. The
mutants are applied to a copy of the repository (``--workdir``), never to the source
tree, and the copy's file is restored after every mutant, whatever happens.

Usage (from the repository root)::

    .venv/bin/python tools/mutate.py --module jaxsched/transforms/_adam.py --limit 20
    .venv/bin/python tools/mutate.py --list --module jaxsched/schedules/_tf.py
    .venv/bin/python tools/mutate.py            # every mapped module, every mutant

See tools/README.md.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import copy
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = ".mutate-workdir"

S = "tests/test_parity_sgd_adam.py"
T = "tests/test_parity_torch_optim.py::test_torch_optimizer_trajectories"
K = "tests/test_parity_keras_optim.py::test_keras_optimizer_trajectories"
LIVE = "tests/test_live_hf_timm.py"
SIGNATURES = "tests/test_reference_signatures.py"
# The natives named like optax's: their defaults and decayed steps against optax's.
INTEROP = "tests/test_interop.py -k 'defaults or weight_decay_step'"
# The schedules' argument checks (which a mutant can loosen without changing a value).
SCHEDULE_ERRORS = "tests/test_schedule_errors.py"


def _ids(test: str, *names: str) -> str:
    return " ".join(f"{test}[{n}]" for n in names)


# Module -> pytest invocations that test it, fastest first; each runs with -x and the
# run stops at the first that fails. Node ids pick the optimizer's own parity tests.
TESTS: dict[str, list[str]] = {
    "jaxsched/_math.py": [_ids(f"{S}::test_torch_optimizer_trajectories", "Adam"), T],
    "jaxsched/transforms/_basic.py": [S, "tests/test_core.py"],
    "jaxsched/transforms/_adam.py": [
        f"{_ids(f'{S}::test_torch_optimizer_trajectories', 'Adam', 'AdamW')} "
        f"{S}::test_native_adam_eps_root_against_optax",
        _ids(K, "Adam", "AdamW"),
    ],
    "jaxsched/transforms/_adadelta.py": [_ids(T, "Adadelta"), _ids(K, "Adadelta")],
    "jaxsched/transforms/_adagrad.py": [_ids(T, "Adagrad"), _ids(K, "Adagrad")],
    "jaxsched/transforms/_adamax.py": [_ids(T, "Adamax"), _ids(K, "Adamax")],
    "jaxsched/transforms/_asgd.py": [_ids(T, "ASGD")],
    "jaxsched/transforms/_centralize.py": ["tests/test_ranger.py"],
    "jaxsched/transforms/_clip.py": [_ids(K, "SGD", "Adam", "RMSprop", "Lion")],
    "jaxsched/transforms/_ftrl.py": [_ids(K, "Ftrl")],
    "jaxsched/transforms/_lion.py": [_ids(K, "Lion")],
    "jaxsched/transforms/_lookahead.py": ["tests/test_ranger.py"],
    "jaxsched/transforms/_momentum.py": [
        _ids(f"{S}::test_torch_optimizer_trajectories", "SGD"),
        _ids(K, "SGD", "RMSprop"),
        _ids(T, "RMSprop"),
    ],
    "jaxsched/transforms/_nadam.py": [_ids(T, "NAdam"), _ids(K, "Nadam")],
    "jaxsched/transforms/_radam.py": [_ids(T, "RAdam"), "tests/test_ranger.py"],
    "jaxsched/transforms/_regularize.py": ["tests/test_regularize.py"],
    "jaxsched/transforms/_rms.py": [_ids(T, "RMSprop"), _ids(K, "RMSprop")],
    "jaxsched/transforms/_rprop.py": [_ids(T, "Rprop"), "tests/test_optimizer_errors.py -k rprop"],
    "jaxsched/optimizers/_adam.py": [
        _ids(f"{S}::test_torch_optimizer_trajectories", "Adam"),
        INTEROP,
    ],
    "jaxsched/optimizers/_adaptive.py": [T, "tests/test_optimizer_errors.py"],
    "jaxsched/optimizers/_asgd.py": [_ids(T, "ASGD")],
    "jaxsched/optimizers/_ranger.py": ["tests/test_ranger.py", f"{LIVE} -k ranger"],
    "jaxsched/optimizers/_sgd.py": [
        _ids(f"{S}::test_torch_optimizer_trajectories", "SGD"),
        INTEROP,
    ],
    "jaxsched/optimizers/_signs.py": [_ids(T, "Rprop"), _ids(K, "Lion"), INTEROP],
    "jaxsched/optimizers/_swats.py": ["tests/test_switch.py"],
    "jaxsched/schedules/_combine.py": [
        SCHEDULE_ERRORS,
        "tests/test_schedules_native.py",
        f"{LIVE} -k hugging",
    ],
    "jaxsched/schedules/_common.py": [
        SCHEDULE_ERRORS,
        "tests/test_schedules_native.py",
        "tests/test_schedules_tf.py",
        "tests/test_schedules_torch.py",
        "tests/test_timm.py",
    ],
    "jaxsched/schedules/_hf.py": [
        SCHEDULE_ERRORS,
        "tests/test_schedules_native.py",
        f"{LIVE} -k 'hugging or timm'",
    ],
    "jaxsched/schedules/_tf.py": [
        SCHEDULE_ERRORS,
        "tests/test_schedules_tf.py",
        f"{LIVE} -k keras",
        "tests/test_schedules_keras.py",
    ],
    "jaxsched/schedules/_torch_like.py": [
        SCHEDULE_ERRORS,
        "tests/test_schedules_torch.py",
        f"{LIVE} -k timm",
    ],
    "jaxsched/torch/_optim.py": [SIGNATURES, S, T, "tests/test_optimizer_errors.py"],
    "jaxsched/torch/_adaptive.py": [SIGNATURES, S, T, "tests/test_optimizer_errors.py"],
    "jaxsched/keras/_common.py": [K, "tests/test_keras_extra.py"],
    "jaxsched/keras/_basic.py": [SIGNATURES, K],
    "jaxsched/keras/_adaptive.py": [SIGNATURES, K],
    "jaxsched/timm/_common.py": ["tests/test_timm.py"],
    "jaxsched/timm/_schedulers.py": ["tests/test_timm.py"],
    "jaxsched/transforms/_adafactor.py": ["tests/test_torch_adafactor.py"],
    "jaxsched/transforms/_adopt.py": ["tests/test_frontier_adam_variants.py"],
    "jaxsched/transforms/_mars.py": ["tests/test_frontier_adam_variants.py"],
    "jaxsched/transforms/_adan.py": ["tests/test_frontier_adam_variants.py"],
    "jaxsched/transforms/_ademamix.py": ["tests/test_frontier_adam_variants.py"],
    "jaxsched/transforms/_schedule_free.py": ["tests/test_frontier_lr_free.py"],
    "jaxsched/transforms/_prodigy.py": ["tests/test_frontier_lr_free.py"],
    "jaxsched/transforms/_muon.py": ["tests/test_frontier_matrix.py"],
}

SWAP_OPS = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
}
FLIP_COMPARE = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
SWAP_NAMES = {
    "maximum": "minimum",
    "minimum": "maximum",
    "max": "min",
    "min": "max",
    "floor": "ceil",
    "ceil": "floor",
}
# Two-argument calls whose arguments do not commute.
SWAP_ARGS = {
    "div",
    "divide",
    "true_divide",
    "subtract",
    "power",
    "pow",
    "arctan2",
    "mod",
    "remainder",
    "floor_divide",
    "update_moment",
}
# Annotated aliases and validation specs describe arguments, not numbers.
SPEC_CALLS = {"Annotated", "Real", "Integer", "Items", "Choice", "Either", "FlagSpec"}
SCHEDULE_MODULES = "jaxsched/schedules/"


# Subtle bugs the tests must catch, as (name, module, exact source text, replacement):
# `--known` runs these. Text that is no longer in the module is reported as such (the
# code changed: update the entry), not silently skipped.
KNOWN = [
    (
        "SGD weight decay with the wrong sign",
        "jaxsched/transforms/_basic.py",
        "u + weight_decay * p if m else u",
        "u - weight_decay * p if m else u",
    ),
    (
        "SGD momentum damps its first step (torch copies the gradient undamped)",
        "jaxsched/transforms/_momentum.py",
        "jnp.where(first, 1.0, 1 - dampening)",
        "jnp.where(first, 1 - dampening, 1 - dampening)",
    ),
    (
        "Adam (Keras, epsilon hat) eps inside the square root",
        "jaxsched/transforms/_adam.py",
        "jnp.sqrt(v) + eps",
        "jnp.sqrt(v + eps)",
    ),
    (
        "Adam (torch) eps inside the square root",
        "jaxsched/transforms/_adam.py",
        "jnp.sqrt(v + shift) / root_bc2 + eps",
        "jnp.sqrt((v + shift) / bc2 + eps)",
    ),
    (
        "Adam (torch) eps added before the bias correction of v (Keras's epsilon hat)",
        "jaxsched/transforms/_adam.py",
        "jnp.sqrt(v + shift) / root_bc2 + eps",
        "(jnp.sqrt(v + shift) + eps) / root_bc2",
    ),
    (
        "Adam eps outside the square root where it belongs inside (eps_root)",
        "jaxsched/transforms/_adam.py",
        "jnp.sqrt(v + shift)",
        "(jnp.sqrt(v) + shift)",
    ),
    (
        "staircase decays one step early",
        "jaxsched/schedules/_tf.py",
        "p = div(as_step(step), decay_steps)",
        "p = div(as_step(step) + 1, decay_steps)",
    ),
    (
        "staircase divides as XLA does, x * (1 / c): some boundaries one step late",
        "jaxsched/schedules/_tf.py",
        "p = div(as_step(step), decay_steps)",
        "p = as_step(step) * (1.0 / decay_steps)",
    ),
    (
        "piecewise constant switches at the boundary instead of after it",
        "jaxsched/schedules/_tf.py",
        "as_step(step)[..., None] > bounds_arr",
        "as_step(step)[..., None] >= bounds_arr",
    ),
    (
        "step decay divides as XLA does, x * (1 / c)",
        "jaxsched/schedules/_torch_like.py",
        "jnp.floor(div(as_step(step), step_size))",
        "jnp.floor(as_step(step) * (1.0 / step_size))",
    ),
]


@dataclass
class Mutant:
    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    kind: str
    before: str
    after: str
    status: str = "pending"
    seconds: float = 0.0
    detail: str = ""

    def where(self) -> str:
        return f"{self.path}:{self.line}:{self.col + 1}"


def _name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes not to mutate: annotations, defaults, specs, docstrings, raises, asserts."""
    skip: set[int] = set()

    def drop(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            drop(node.returns)
            for dec in node.decorator_list:
                drop(dec)
            args = node.args
            for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if a is not None:
                    drop(a.annotation)
            # Defaults are documented choices, checked by the tests of defaults and the
            # doctests, not by the update rules' tests; leaving them out keeps the sample
            # on the numbers.
            for default in [*args.defaults, *args.kw_defaults]:
                drop(default)
        elif isinstance(node, ast.AnnAssign):
            drop(node.annotation)
        elif _is_skipped_whole(node):
            drop(node)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                drop(body[0])
    return skip


def _is_skipped_whole(node: ast.AST) -> bool:
    if isinstance(node, (ast.Raise, ast.Assert, ast.JoinedStr, ast.Import, ast.ImportFrom)):
        return True
    if isinstance(node, ast.Subscript):
        return _name(node.value) == "Annotated"
    if isinstance(node, ast.Call):
        return _name(node.func) in SPEC_CALLS
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    return False


def _variants(node: ast.AST, in_schedules: bool) -> list[tuple[str, ast.AST]]:
    """(kind, mutated copy of ``node``) for every mutation of this node."""
    out: list[tuple[str, ast.AST]] = []

    def variant(kind: str, change) -> None:
        new = copy.deepcopy(node)
        change(new)
        out.append((kind, new))

    if isinstance(node, ast.BinOp) and type(node.op) in SWAP_OPS:
        op = SWAP_OPS[type(node.op)]
        variant(f"operator {_op(node.op)} -> {_op(op())}", lambda n: setattr(n, "op", op()))
        # eps outside the square root -> inside: sqrt(a) + b -> sqrt(a + b)
        if isinstance(node.op, ast.Add) and _is_sqrt(node.left):
            out.append(("eps into sqrt", _sqrt_of_sum(node.left, node.right)))
        if (
            in_schedules
            and isinstance(node.op, ast.Div)
            and not isinstance(node.right, ast.Constant)
        ):
            out.append(("x / c -> x * (1 / c)", _reciprocal_product(node.left, node.right)))
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in FLIP_COMPARE:
        op = FLIP_COMPARE[type(node.ops[0])]
        variant(
            f"comparison {_op(node.ops[0])} -> {_op(op())}", lambda n: setattr(n, "ops", [op()])
        )
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = node.value
        if value in (0, 1):
            new_value = type(value)(1 - value)
        elif isinstance(value, float):
            new_value = value * 1.01
        else:
            new_value = value + 1
        variant(f"constant {value!r} -> {new_value!r}", lambda n: setattr(n, "value", new_value))
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        variant(
            f"constant {node.value} -> {not node.value}", lambda n: setattr(n, "value", not n.value)
        )
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        out.append((f"removed {_op(node.op).strip()}", copy.deepcopy(node.operand)))
    elif isinstance(node, ast.BoolOp):
        op = ast.Or if isinstance(node.op, ast.And) else ast.And
        variant(f"{_op(node.op)} -> {_op(op())}", lambda n: setattr(n, "op", op()))
    elif isinstance(node, ast.Call):
        name = _name(node.func)
        positional = len(node.args) == 2 and not node.keywords
        if name in SWAP_NAMES:

            def rename(n, new=SWAP_NAMES[name]):
                if isinstance(n.func, ast.Name):
                    n.func.id = new
                else:
                    n.func.attr = new

            variant(f"call {name} -> {SWAP_NAMES[name]}", rename)
        if (
            name in SWAP_ARGS
            and positional
            and not any(isinstance(a, ast.Starred) for a in node.args)
        ):
            variant(f"swapped arguments of {name}", lambda n: n.args.reverse())
        if name == "where" and len(node.args) == 3:
            variant("swapped branches of where", _swap12)
        if (
            _is_sqrt(node)
            and isinstance(node.args[0], ast.BinOp)
            and isinstance(node.args[0].op, ast.Add)
        ):
            inner = node.args[0]
            sqrt = copy.deepcopy(node)
            sqrt.args = [copy.deepcopy(inner.left)]
            out.append(("eps out of sqrt", ast.BinOp(sqrt, ast.Add(), copy.deepcopy(inner.right))))
        if in_schedules and name == "div" and positional:
            out.append(("x / c -> x * (1 / c)", _reciprocal_product(node.args[0], node.args[1])))
    return out


def _swap12(call: ast.Call) -> None:
    call.args[1], call.args[2] = call.args[2], call.args[1]


def _is_sqrt(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) == "sqrt" and len(node.args) == 1


def _sqrt_of_sum(sqrt: ast.Call, addend: ast.AST) -> ast.Call:
    new = copy.deepcopy(sqrt)
    new.args = [ast.BinOp(copy.deepcopy(sqrt.args[0]), ast.Add(), copy.deepcopy(addend))]
    return new


def _reciprocal_product(a: ast.AST, b: ast.AST) -> ast.AST:
    recip = ast.BinOp(ast.Constant(1.0), ast.Div(), copy.deepcopy(b))
    return ast.BinOp(copy.deepcopy(a), ast.Mult(), recip)


def _op(op: ast.AST) -> str:
    return {
        ast.Add: "+",
        ast.Sub: "-",
        ast.Mult: "*",
        ast.Div: "/",
        ast.Pow: "**",
        ast.Lt: "<",
        ast.LtE: "<=",
        ast.Gt: ">",
        ast.GtE: ">=",
        ast.Eq: "==",
        ast.NotEq: "!=",
        ast.Is: "is",
        ast.IsNot: "is not",
        ast.USub: "-",
        ast.Not: "not ",
        ast.And: "and",
        ast.Or: "or",
    }[type(op)]


def find_mutants(path: str, root: Path = ROOT) -> list[Mutant]:
    source = (root / path).read_text()
    tree = ast.parse(source)
    skip = _skipped_nodes(tree)
    lines = source.encode().splitlines(keepends=True)
    mutants = []
    in_schedules = path.startswith(SCHEDULE_MODULES)
    for node in ast.walk(tree):
        if id(node) in skip or not hasattr(node, "lineno") or node.end_lineno is None:
            continue
        for kind, new in _variants(node, in_schedules):
            before = _segment(lines, node)
            after = f"({ast.unparse(ast.fix_missing_locations(new))})"
            if "\n" in before:
                before = " ".join(before.split())
            mutants.append(
                Mutant(
                    path,
                    node.lineno,
                    node.col_offset,
                    node.end_lineno,
                    node.end_col_offset,
                    kind,
                    before,
                    after,
                )
            )
    mutants.sort(key=lambda m: (m.line, m.col, m.kind))
    return mutants


def known_mutants(root: Path = ROOT) -> tuple[list[Mutant], list[str]]:
    """The :data:`KNOWN` mutants found in the sources, and the names of those not found."""
    found, missing = [], []
    for name, path, before, after in KNOWN:
        source = (root / path).read_text().encode()
        at = source.find(before.encode())
        if at < 0:
            missing.append(f"{name} ({path}: {before!r} not found)")
            continue
        line = source.count(b"\n", 0, at) + 1
        col = at - (source.rfind(b"\n", 0, at) + 1)
        end_col = col + len(before.encode())
        found.append(Mutant(path, line, col, line, end_col, f"known: {name}", before, after))
    return found, missing


def _segment(lines: list[bytes], node: ast.AST) -> str:
    first, last = node.lineno - 1, node.end_lineno - 1
    if first == last:
        return lines[first][node.col_offset : node.end_col_offset].decode()
    parts = [
        lines[first][node.col_offset :],
        *lines[first + 1 : last],
        lines[last][: node.end_col_offset],
    ]
    return b"".join(parts).decode()


def apply(source: str, m: Mutant) -> str:
    """``source`` with the mutant's node replaced (columns are UTF-8 byte offsets)."""
    lines = source.encode().splitlines(keepends=True)
    head = b"".join(lines[: m.line - 1]) + lines[m.line - 1][: m.col]
    tail = lines[m.end_line - 1][m.end_col :] + b"".join(lines[m.end_line :])
    mutated = (head + m.after.encode() + tail).decode()
    ast.parse(mutated)  # a mutant must still be valid Python
    return mutated


def make_workdir(path: Path) -> Path:
    """A fresh copy of the repository's sources and tests at ``path``."""
    if path.exists():
        if not (path / MARKER).exists():
            sys.exit(f"{path} exists and is not a mutate.py workdir; choose another --workdir")
        shutil.rmtree(path)
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache", "*.egg-info"
    )
    shutil.copytree(ROOT, path, ignore=ignore)
    (path / MARKER).write_text("created by tools/mutate.py; deleted and recreated by it\n")
    return path


def _env(workdir: Path, draws_seed: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(workdir), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    env["JAXSCHED_SEED"] = draws_seed  # the same draws for the baseline and every mutant
    env.setdefault("KERAS_BACKEND", "jax")
    # XLA's persistent cache halves a mutant's run: only the programs the mutant
    # changes are compiled again (the cache is keyed on the program itself).
    env["JAX_COMPILATION_CACHE_DIR"] = str(workdir.parent / f"{workdir.name}-xla-cache")
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "-1"
    return env


def check_import(workdir: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import jaxsched; print(jaxsched.__file__)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    where = done.stdout.strip()
    if done.returncode or not where.startswith(str(workdir)):
        sys.exit(
            f"jaxsched does not import from the workdir {workdir}: {where}\n{done.stderr[-2000:]}"
        )


class Runner:
    """Runs pytest in one workdir through a fork server (tools/forkserver.py)."""

    def __init__(self, workdir: Path, env: dict[str, str]):
        self.workdir, self.env, self.server = workdir, env, None

    def _start(self) -> subprocess.Popen:
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "tools" / "forkserver.py")],
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if not json.loads(server.stdout.readline() or "{}").get("ready"):
            sys.exit("the fork server did not start (see its error above)")
        return server

    def pytest(self, args: list[str], timeout: float) -> tuple[int | None, str]:
        """(exit code, or None on timeout; output) of ``pytest args`` in the workdir."""
        if self.server is None or self.server.poll() is not None:
            self.server = self._start()
        self.server.stdin.write(json.dumps({"args": args, "timeout": timeout}) + "\n")
        self.server.stdin.flush()
        reply = json.loads(self.server.stdout.readline())
        return reply["rc"], reply["stdout"]

    def close(self) -> None:
        if self.server is not None:
            self.server.stdin.close()
            self.server.wait()


def run_tests(module: str, runner: Runner, timeout: float) -> tuple[str, str]:
    """("passed" | "failed" | "timeout", detail) for the module's tests in ``runner``'s
    workdir."""
    commands = [shlex.split(f"{module} --doctest-modules")] + [
        shlex.split(t) for t in TESTS[module]
    ]
    deadline = time.monotonic() + timeout
    for args in commands:
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout", " ".join(args)
        # -n 0: one process per mutant (the mutants run side by side with --jobs).
        rc, stdout = runner.pytest(["-x", "-q", "-n", "0", "-p", "no:cacheprovider", *args], left)
        if rc is None:
            return "timeout", " ".join(args)
        if rc == 5 and "--doctest-modules" in args:
            continue  # a module without doctests
        if rc:
            lines = [ln for ln in stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
            tail = stdout.strip().splitlines()[-1:] or [""]
            return "failed", (lines or tail)[0]
    return "passed", ""


def run_mutant(m: Mutant, runner: Runner, timeout: float) -> Mutant:
    target = runner.workdir / m.path
    original = target.read_text()
    start = time.monotonic()
    try:
        target.write_text(apply(original, m))
        outcome, detail = run_tests(m.path, runner, timeout)
    finally:
        target.write_text(original)
    m.seconds = round(time.monotonic() - start, 1)
    m.status = {"passed": "survived", "failed": "killed", "timeout": "killed (timeout)"}[outcome]
    m.detail = detail
    return m


def _pool_job(runners: list[Runner], timeout: float):
    """A function running one mutant in whichever workdir is free (one per thread)."""
    free = list(range(len(runners)))

    def job(m: Mutant) -> Mutant:
        j = free.pop()
        try:
            return run_mutant(m, runners[j], timeout)
        finally:
            free.append(j)

    return job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--module", action="append", help="module path (repeatable); default: all mapped"
    )
    parser.add_argument(
        "--limit", type=int, help="at most this many mutants per module (a seeded sample)"
    )
    parser.add_argument(
        "--fraction",
        type=float,
        help="this share of each module's mutants, at least one (a seeded sample whose "
        "plain score estimates the whole population's)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the --limit or --fraction sample"
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="mutants run at once (one workdir each)"
    )
    parser.add_argument(
        "--timeout", type=float, help="seconds per mutant (default 3x baseline + 60)"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/jaxsched-mutants"))
    parser.add_argument("--draws-seed", default="12345", help="JAXSCHED_SEED for every test run")
    parser.add_argument(
        "--kind", action="append", help="only mutants whose kind contains this text"
    )
    parser.add_argument("--line", type=int, action="append", help="only mutants on these lines")
    parser.add_argument("--known", action="store_true", help="run the KNOWN subtle mutants only")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    if args.fraction is not None and not 0 < args.fraction <= 1:
        parser.error(f"--fraction must lie in (0, 1], got {args.fraction}")

    modules = args.module or sorted(TESTS)
    for module in modules:
        if module not in TESTS:
            sys.exit(f"no tests mapped for {module}; add it to TESTS in tools/mutate.py")
    plan: dict[str, list[Mutant]] = {}
    population: dict[str, int] = {}  # mutants per module before sampling
    if args.known:
        known, missing = known_mutants()
        for text in missing:
            print(f"KNOWN MUTANT NOT FOUND: {text}")
        for m in known:
            if args.module is None or m.path in args.module:
                plan.setdefault(m.path, []).append(m)
        modules = []
    for module in modules:
        mutants = find_mutants(module)
        if args.kind:
            mutants = [m for m in mutants if any(k in m.kind for k in args.kind)]
        if args.line:
            mutants = [m for m in mutants if m.line in args.line]
        population[module] = len(mutants)
        size = len(mutants)
        if args.fraction is not None:
            size = max(1, round(args.fraction * len(mutants)))
        if args.limit is not None:
            size = min(size, args.limit)
        if size < len(mutants):
            mutants = sorted(random.Random(args.seed).sample(mutants, size), key=lambda m: m.line)
        plan[module] = mutants
    if args.list:
        for mutants in plan.values():
            for m in mutants:
                print(f"{m.where():50s} {m.kind:32s} {m.before}  ->  {m.after}")
        return 0

    workdirs = [make_workdir(args.workdir / str(j)) for j in range(max(1, args.jobs))]
    env = [_env(w, args.draws_seed) for w in workdirs]
    check_import(workdirs[0], env[0])
    runners = [Runner(w, e) for w, e in zip(workdirs, env)]
    results: list[Mutant] = []
    for module, mutants in plan.items():
        if not mutants:
            continue
        start = time.monotonic()
        outcome, detail = run_tests(module, runners[0], timeout=3600)
        baseline = time.monotonic() - start
        if outcome != "passed":
            print(f"SKIP {module}: its tests fail without any mutant ({detail})", flush=True)
            continue
        timeout = args.timeout or 3 * baseline + 60
        print(f"{module}: {len(mutants)} mutants, baseline {baseline:.0f}s", flush=True)
        job = _pool_job(runners, timeout)
        with concurrent.futures.ThreadPoolExecutor(len(runners)) as pool:
            for n, m in enumerate(pool.map(job, mutants), 1):
                results.append(m)
                print(
                    f"  [{n}/{len(mutants)}] {m.status:16s} {m.where()} {m.kind}: "
                    f"{m.before} -> {m.after} ({m.seconds}s) {m.detail}",
                    flush=True,
                )

    for runner in runners:
        runner.close()
    killed = [m for m in results if m.status.startswith("killed")]
    survived = [m for m in results if m.status == "survived"]
    if results:
        share = 100 * len(killed) / len(results)
        print(f"\nscore: {len(killed)}/{len(results)} killed ({share:.1f}%)")
        if (args.limit is not None or args.fraction is not None) and population:
            # Each module's sample share, weighted by the module's number of mutants.
            ran: dict[str, list[Mutant]] = {}
            for m in results:
                ran.setdefault(m.path, []).append(m)
            total = sum(population[p] for p in ran)
            weighted = sum(
                population[p] * sum(m.status.startswith("killed") for m in ms) / len(ms)
                for p, ms in ran.items()
            )
            print(f"weighted by module size ({total} mutants): {100 * weighted / total:.1f}%")
    for m in survived:
        print(f"SURVIVED {m.where()} {m.kind}: {m.before} -> {m.after}")
    if args.json:
        args.json.write_text(json.dumps([asdict(m) for m in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
