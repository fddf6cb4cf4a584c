"""The input contract, table-driven: every public constructor refuses bad arguments clearly.

Every public function of jaxsched's namespaces is enumerated. For each argument that
declares a spec, bad values of every kind the spec refuses are tried, one at a time, with
the other arguments valid. Each must raise TypeError or ValueError at construction with
the argument's name (as the user writes it) in the message. A bad value that is accepted,
an error without the name, or any other exception fails the test. The figures are
printed in the pytest summary.
"""

from __future__ import annotations

import importlib
import inspect
import math
import types

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from jaxsched._hyper import Variant
from jaxsched._validate import (
    CallableSpec,
    Choice,
    DtypeSpec,
    Either,
    FlagSpec,
    Integer,
    Items,
    MaskSpec,
    Real,
    TransformationSpec,
    signature_specs,
)

NAMESPACES = (
    "jaxsched",
    "jaxsched.transforms",
    "jaxsched.optimizers",
    "jaxsched.schedules",
    "jaxsched.torch",
    "jaxsched.torch.lr_scheduler",
    "jaxsched.keras",
    "jaxsched.keras.schedules",
    "jaxsched.hf",
    "jaxsched.timm",
    "jaxsched.pytorch_optimizer",
)

# Functions that read or combine states and trees rather than build something; they have
# no arguments to check at construction.
NOT_CONSTRUCTORS = {
    "apply_updates",
    "chain",
    "check_finite_state",
    "hyperparams",
    "set_hyperparams",
    "switch_step",
    "with_hyperparams",
    "averaged_params",
    "global_norm",
    "schedule_free_eval_params",
    "estimated_step_size",
    "get_adafactor_schedule",
    "ema_params",
    "scale_loss",
    "adopt_clip",
    "descent",
    "zero_sharding",
    "sweep_init",
    "create_optimizer",
    "scale_factor",
    "loss_scale",
}

# Valid values for required arguments, by name.
REQUIRED = {
    "learning_rate": 0.1,
    "lr": 0.1,
    "base_lr": 0.1,
    "init_value": 0.1,
    "initial_learning_rate": 0.1,
    "value": 0.1,
    "factor": 0.5,
    "l1": 0.01,
    "weight_decay": 0.01,
    "momentum": 0.9,
    "max_norm": 1.0,
    "max_delta": 1.0,
    "every": 2,
    "decay_steps": 10,
    "first_decay_steps": 10,
    "transition_steps": 10,
    "decay_rate": 0.5,
    "step_size": 3,
    "step_size_up": 4,
    "gamma": 0.5,
    "milestones": [3, 6],
    "boundaries": [3, 6],
    "values": [0.1, 0.01, 0.001],
    "T_max": 10,
    "T_0": 10,
    "total_iters": 10,
    "total_steps": 20,
    "max_lr": 0.5,
    "max_value": 0.5,
    "base_value": 0.1,
    "peak_value": 0.5,
    "end_value": 0.0,
    "warmup_steps": 2,
    "period": 4,
    "cycle_steps": 10,
    "num_warmup_steps": 2,
    "num_training_steps": 20,
    "num_decay_steps": 5,
    "num_stable_steps": 5,
    "t_initial": 10,
    "decay_t": 3,
    "lr_lambda": lambda step: 0.5,
    "key": None,
    "inner": None,  # filled in below (needs jaxsched)
    "first": None,
    "second": None,
    "optimizer": None,
    "params": {"w": jnp.ones((2, 2)), "b": jnp.ones(2)},
    "transforms": None,
    "labels": None,
    "rules": {"b": "head"},
    "schedules": None,
    "optimizer_map": None,
    "learning_rates": None,
    "sync_period": 5,
}


# Functions that pass their arguments on to another public function, which checks them
# under the same names (e.g. hf.get_scheduler("linear", lr=-1) names lr).
RELAYS = {
    "jaxsched.hf.get_scheduler",
    "jaxsched.hf.get_greedy_schedule",
    "jaxsched.hf.get_reduce_on_plateau_schedule",
}


def test_relays_check_through_their_callees():
    import jaxsched.hf as hf

    cases = [
        (lambda: hf.get_scheduler("linear", "x", 2, 20), "lr"),
        (lambda: hf.get_scheduler("linear", 0.1, 2.5, 20), "num_warmup_steps"),
        (lambda: hf.get_greedy_schedule(float("nan")), "lr"),
        (lambda: hf.get_reduce_on_plateau_schedule(-1.0), "lr"),
    ]
    for make, name in cases:
        with pytest.raises((TypeError, ValueError), match=name):
            make()


# Functions whose valid call needs arguments that go together.
OVERRIDES = {
    "jaxsched.join": lambda: {"boundaries": [5]},
    "jaxsched.linear_warmup": lambda: {"schedule_or_value": 0.1},
    "jaxsched.masked": lambda: {"mask": {"w": True, "b": False}},
    "jaxsched.multiplicative": lambda: {"factor_fn": lambda step: 0.9},
    "jaxsched.switch": lambda: {"at_step": 5},
    "jaxsched.warmup_stable_decay": lambda: {"total_steps": 20},
    "jaxsched.torch.lr_scheduler.ChainedScheduler": lambda: {
        "schedulers": [jaxsched.torch.lr_scheduler.StepLR(0.1, 3)] * 2
    },
    "jaxsched.torch.lr_scheduler.SequentialLR": lambda: {
        "schedulers": [jaxsched.torch.lr_scheduler.StepLR(0.1, 3)] * 2,
        "milestones": [5],
    },
    "jaxsched.torch.lr_scheduler.OneCycleLR": lambda: {"total_steps": 20},
    "jaxsched.torch.lr_scheduler.OneCycleMomentum": lambda: {"total_steps": 20},
    "jaxsched.keras.LossScaleOptimizer": lambda: {"inner_optimizer": jaxsched.keras.SGD()},
    "jaxsched.keras.MultiOptimizer": lambda: {"optimizer_map": lambda path: jaxsched.keras.SGD()},
    "jaxsched.hf.get_cosine_with_min_lr_schedule_with_warmup": lambda: {"min_lr": 0.0},
    "jaxsched.hf.get_cosine_with_min_lr_schedule_with_warmup_lr_rate": lambda: {"min_lr_rate": 0.1},
    "jaxsched.hf.get_wsd_schedule": lambda: {"num_stable_steps": 5},
    "jaxsched.timm.MultiStepLRScheduler": lambda: {"decay_t": [3, 6]},
    "jaxsched.hf.get_scheduler": lambda: {
        "name": "linear",
        "num_warmup_steps": 2,
        "num_training_steps": 20,
    },
}


def _fill_required() -> None:
    import jax

    REQUIRED["inner"] = jaxsched.adam(1e-3)
    REQUIRED["first"] = jaxsched.adam(1e-3)
    REQUIRED["second"] = jaxsched.sgd(1e-2)
    REQUIRED["optimizer"] = jaxsched.adam(1e-3)
    REQUIRED["transforms"] = {"a": jaxsched.adam(1e-3), "b": jaxsched.sgd(1e-2)}
    REQUIRED["labels"] = {"w": "a", "b": "b"}
    REQUIRED["schedules"] = [jaxsched.constant(0.1), jaxsched.constant(0.01)]
    REQUIRED["key"] = jax.random.key(0)


def _public_functions() -> dict[str, object]:
    found: dict[str, object] = {}
    seen: set[int] = set()
    for name in NAMESPACES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for attr in dir(module):
            obj = getattr(module, attr)
            if attr.startswith("_") or attr in NOT_CONSTRUCTORS:
                continue
            if not (inspect.isfunction(obj) or isinstance(obj, Variant)):
                continue
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            found[f"{name}.{attr}"] = obj
    return found


def _bad_values(spec) -> list[tuple[str, object]]:
    """(label, value) pairs that ``spec`` must refuse."""
    if isinstance(spec, Real):
        bad = [
            ("string", "0.1"),
            ("bool", True),
            ("vector", np.array([0.1, 0.2])),
            ("complex", 1j),
            ("nan", math.nan),
        ]
        if not spec.inf:
            bad.append(("inf", math.inf))
            bad.append(("-inf", -math.inf))
        if not spec.optional:
            bad.append(("None", None))
        if spec.low is not None:
            bad.append(("below", spec.low if spec.low_open else spec.low - 1.0))
        if spec.high is not None:
            bad.append(("above", spec.high if spec.high_open else spec.high + 1.0))
        if not spec.schedule:
            bad.append(("schedule", lambda step: 0.1))
        else:
            bad.append(("callable without the step", lambda step, extra: 0.1))
        return bad
    if isinstance(spec, Integer):
        bad = [("fraction", 2.5), ("bool", True), ("string", "3"), ("vector", np.array([1, 2]))]
        if not spec.optional:
            bad.append(("None", None))
        if spec.low is not None:
            bad.append(("below", spec.low - 1))
        if spec.high is not None:
            bad.append(("above", spec.high + 1))
        return bad
    if isinstance(spec, FlagSpec):
        return [("string", "False"), ("int", 1), ("None", None)]
    if isinstance(spec, Choice):
        return [("unknown", "__no_such_choice__"), ("bool", True)]
    if isinstance(spec, DtypeSpec):
        return [("integer dtype", jnp.int32), ("not a dtype", "no_dtype")]
    if isinstance(spec, TransformationSpec):
        return [("string", "adam"), ("number", 3)]
    if isinstance(spec, CallableSpec):
        return [("number", 3)]
    if isinstance(spec, MaskSpec):
        return [("string tree", {"w": "yes"})]
    if isinstance(spec, Items):
        bad = [("number", 3.0)]
        if spec.length is not None:
            bad.append(("short", [0.1] * (spec.length - 1) if spec.length > 1 else []))
        bad += [(f"item {label}", [v]) for label, v in _bad_values(spec.item)[:2]]
        return bad
    if isinstance(spec, Either):
        return [("object", object())]
    return []


def _specs(fn) -> dict:
    target = fn
    while isinstance(target, Variant):
        target = target.__wrapped__
    return signature_specs(target)


FIGURES = {"callables": 0, "bad inputs": 0, "clear errors": 0}
"""Counted by the tests below and printed in the pytest summary (see conftest.py)."""
FUNCTIONS = _public_functions()


def test_every_public_constructor_declares_its_arguments():
    """Every argument of a public constructor has a spec (or is a documented exception)."""
    undeclared = {}
    for name, fn in FUNCTIONS.items():
        specs = _specs(fn)
        params = inspect.signature(fn).parameters
        missing = [
            p
            for p, param in params.items()
            if p not in specs
            and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
            and p not in {"name", "key", "params", "exclude", "monitor", "fallback_leaves"}
            and p not in {"transforms", "labels", "rules", "default", "optimizer_map"}
            and p not in {"exclude_layers", "on_plateau", "param_groups"}
            and name not in RELAYS
        ]
        if missing:
            undeclared[name] = missing
    assert not undeclared, f"arguments without a spec: {undeclared}"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_bad_arguments_are_refused_with_their_name(name):
    _fill_required()
    fn = FUNCTIONS[name]
    sig = inspect.signature(fn)
    specs = _specs(fn)
    base = {}
    for pname, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is inspect.Parameter.empty:
            assert pname in REQUIRED or name in OVERRIDES, (
                f"{name}: add a valid value for {pname!r} to REQUIRED or OVERRIDES"
            )
            base[pname] = REQUIRED.get(pname)
    base.update(OVERRIDES.get(name, dict)())
    fn(**base)  # the valid call must work
    FIGURES["callables"] += 1
    problems = []
    for pname, spec in specs.items():
        for label, value in _bad_values(spec):
            FIGURES["bad inputs"] += 1
            kwargs = {**base, pname: value}
            try:
                fn(**kwargs)
            except (TypeError, ValueError) as err:
                if pname not in str(err):
                    problems.append(f"{pname}={label}: unclear message {err!s:.120}")
                else:
                    FIGURES["clear errors"] += 1
            except Exception as err:
                problems.append(f"{pname}={label}: {type(err).__name__}: {err!s:.120}")
            else:
                problems.append(f"{pname}={label}: accepted")
    assert not problems, f"{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "module",
    [
        "jaxsched.keras.schedules",
        "jaxsched.torch.lr_scheduler",
        "jaxsched.torch",
        "jaxsched.keras",
        "jaxsched.transforms",
        "jaxsched.optimizers",
        "jaxsched.schedules",
        "jaxsched.timm",
        "jaxsched.hf",
        "jaxsched.pytorch_optimizer",
    ],
)
def test_public_modules_export_only_public_names(module):
    mod = importlib.import_module(module)
    leaked = [
        n
        for n in dir(mod)
        if not n.startswith(("_", "@"))
        and not isinstance(getattr(mod, n), types.ModuleType)
        and getattr(getattr(mod, n), "__module__", "").split(".")[0] not in ("jaxsched",)
        and n not in ("chain", "apply_updates")
    ]
    assert not leaked, f"{module} exposes non-jaxsched names: {leaked}"
