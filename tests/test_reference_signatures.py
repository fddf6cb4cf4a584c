"""A flavor's signature is its reference's: every argument of the reference class, with
the reference's own default (read from the installed torch and Keras, so a changed
default there, or a mistyped one here, fails)."""

from __future__ import annotations

import inspect

import keras
import pytest
import torch

import jaxsched.keras
import jaxsched.keras.schedules
import jaxsched.torch
import jaxsched.torch.lr_scheduler

# Arguments of the references that a pure transformation has no use for.
NOT_MIRRORED = {"self", "params", "optimizer", "kwargs", "last_epoch", "name"}


def _pairs(ours, reference):
    names = [n for n in vars(ours) if n[:1].isupper() and not n.startswith("_")]
    return [
        pytest.param(getattr(ours, n), getattr(reference, n), id=f"{reference.__name__}.{n}")
        for n in names
        if isinstance(getattr(reference, n, None), type)
    ]


PAIRS = (
    _pairs(jaxsched.torch, torch.optim)
    + _pairs(jaxsched.torch.lr_scheduler, torch.optim.lr_scheduler)
    + _pairs(jaxsched.keras, keras.optimizers)
    + _pairs(jaxsched.keras.schedules, keras.optimizers.schedules)
)


def test_every_flavor_with_a_reference_class_is_compared():
    assert len(PAIRS) >= 13 + 15 + 16 + 6, len(PAIRS)


@pytest.mark.parametrize(("ours", "reference"), PAIRS)
def test_arguments_and_defaults_are_the_references(ours, reference):
    mine = inspect.signature(ours).parameters
    theirs = inspect.signature(reference).parameters
    missing = sorted(set(theirs) - set(mine) - NOT_MIRRORED)
    assert not missing, f"{reference.__qualname__} arguments not taken: {missing}"
    for name, parameter in theirs.items():
        if name in NOT_MIRRORED or parameter.default is inspect.Parameter.empty:
            continue
        assert mine[name].default == parameter.default, (name, mine[name].default)
