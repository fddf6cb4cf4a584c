"""Every schedule refuses bad arguments at construction, naming the argument as the user
wrote it (native, Keras and torch names), and the parity namespaces export only schedules.
"""

from __future__ import annotations

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from jaxsched import schedules as js
from jaxsched.keras import schedules as ks
from jaxsched.torch import lr_scheduler as ls

NAN, INF = math.nan, math.inf

CASES = [
    # Numbers: NaN/inf, bools, strings, schedules, arrays, out of range.
    (lambda: js.exponential_decay(NAN, 10, 0.5), ValueError, "learning_rate"),
    (lambda: js.exponential_decay(0.1, 10, INF), ValueError, "decay_rate"),
    (lambda: js.exponential_decay(True, 10, 0.5), TypeError, "learning_rate"),
    (lambda: js.exponential_decay("0.1", 10, 0.5), TypeError, "learning_rate"),
    (lambda: js.exponential_decay(jnp.ones(2), 10, 0.5), TypeError, "learning_rate"),
    (
        lambda: js.polynomial_decay(0.1, 10, end_learning_rate=-1e-3),
        ValueError,
        "end_learning_rate",
    ),
    (lambda: js.cosine_decay(0.1, 10, alpha=NAN), ValueError, "alpha"),
    (lambda: js.cosine_decay_restarts(0.1, 10, m_mul=-0.5), ValueError, "m_mul"),
    (lambda: js.linear_cosine_decay(0.1, 10, beta=-1.0), ValueError, "beta"),
    (lambda: js.constant(INF), ValueError, "value"),
    (lambda: js.constant(lambda s: s), TypeError, "value"),
    (lambda: js.linear_warmup(0.1, 10, init_value=NAN), ValueError, "init_value"),
    (lambda: js.linear_warmup("fast", 10), TypeError, "schedule_or_value"),
    (lambda: js.step_decay(0.1, 10, gamma=-0.1), ValueError, "gamma"),
    (lambda: js.one_cycle(0.1, 100, div_factor=0.0), ValueError, "div_factor"),
    (lambda: js.cosine(0.1, 10, k_decay=0.0), ValueError, "k_decay"),
    # Cyclic bounds: negative values make no sense, in either order.
    (lambda: js.cyclic(-0.1, -0.5, 10), ValueError, "base_value"),
    (lambda: js.cyclic(0.1, -0.5, 10), ValueError, "max_value"),
    (lambda: ls.CyclicLR(-0.1, 0.5), ValueError, "base_lr"),
    (lambda: ls.CyclicLR(0.5, 0.1), ValueError, "max_lr"),
    (
        lambda: ls.CyclicMomentum(0.1, 0.5, base_momentum=0.9, max_momentum=0.8),
        ValueError,
        "max_momentum",
    ),
    (
        lambda: ls.OneCycleLR(0.1, 100, base_momentum=0.95, max_momentum=0.85),
        ValueError,
        "max_momentum",
    ),
    (lambda: ls.OneCycleMomentum(0.1, 100, base_momentum=1.5), ValueError, "base_momentum"),
    # Step counts: integers only.
    (lambda: js.exponential_decay(0.1, 2.5, 0.5), ValueError, "decay_steps"),
    (lambda: js.cosine_decay_restarts(0.1, 0), ValueError, "first_decay_steps"),
    (lambda: js.linear_warmup(0.1, 2.5), ValueError, "warmup_steps"),
    (lambda: js.warmup_cosine(0.1, 10, "100"), TypeError, "total_steps"),
    (lambda: js.warmup_stable_decay(0.1, 10, 20, total_steps=25), ValueError, "total_steps"),
    (lambda: js.warmup_stable_decay(0.1, 10, 20, stable_steps=-1), ValueError, "stable_steps"),
    (lambda: js.cosine(0.1, 10, cycle_limit=0), ValueError, "cycle_limit"),
    (lambda: js.one_cycle(0.1, True), TypeError, "total_steps"),
    (lambda: js.multiplicative(0.1, lambda i: 0.9, horizon=1.5), ValueError, "horizon"),
    (lambda: js.cyclic(0.1, 0.5, step_size_up=0), ValueError, "step_size_up"),
    (lambda: ks.ExponentialDecay(0.1, 2.5, 0.5), ValueError, "decay_steps"),
    (
        lambda: ks.CosineDecay(0.1, 100, warmup_target=1.0, warmup_steps=1.5),
        ValueError,
        "warmup_steps",
    ),
    (lambda: ls.CosineAnnealingLR(0.1, T_max=2.5), ValueError, "T_max"),
    (lambda: ls.CosineAnnealingWarmRestarts(0.1, T_0=0), ValueError, "T_0"),
    (lambda: ls.ConstantLR(0.1, total_iters=0), ValueError, "total_iters"),
    (lambda: ls.PolynomialLR(0.1, total_iters=-1), ValueError, "total_iters"),
    (lambda: ls.OneCycleLR(0.1, epochs=2, steps_per_epoch=0), ValueError, "steps_per_epoch"),
    (lambda: ls.OneCycleLR(0.1, epochs=2.5, steps_per_epoch=10), ValueError, "epochs"),
    # Flags and choices.
    (lambda: js.exponential_decay(0.1, 10, 0.5, staircase="yes"), TypeError, "staircase"),
    (lambda: js.polynomial_decay(0.1, 10, cycle=1), TypeError, "cycle"),
    (lambda: js.one_cycle(0.1, 100, three_phase="no"), TypeError, "three_phase"),
    (lambda: js.cosine(0.1, 10, warmup_prefix=0), TypeError, "warmup_prefix"),
    (lambda: ks.PolynomialDecay(0.1, 10, cycle="true"), TypeError, "cycle"),
    (lambda: ls.CyclicLR(0.1, 0.5, cycle_momentum="yes"), TypeError, "cycle_momentum"),
    (
        lambda: js.warmup_stable_decay(0.1, 1, 1, stable_steps=1, warmup_type="exp"),
        ValueError,
        "warmup_type",
    ),
    (lambda: js.cyclic(0.1, 0.5, mode="sawtooth"), ValueError, "mode"),
    # Sequences: sorted, lengths, items.
    (lambda: js.piecewise_constant([20, 10], [1.0, 0.5, 0.1]), ValueError, "boundaries"),
    (lambda: js.piecewise_constant([10, 20], [1.0, 0.5]), ValueError, "values"),
    (lambda: js.piecewise_constant([10], [1.0, NAN]), ValueError, "values[1]"),
    (lambda: js.piecewise_constant([-1], [1.0, 0.5]), ValueError, "boundaries[0]"),
    (lambda: js.piecewise_constant(10, [1.0, 0.5]), TypeError, "boundaries"),
    (lambda: js.join([0.1, 0.2], [5, 10]), ValueError, "boundaries"),
    (lambda: js.join([0.1, "x"], [5]), TypeError, "schedules[1]"),
    (lambda: js.multistep_decay(0.1, [10, 2.5]), ValueError, "milestones[1]"),
    (lambda: ks.PiecewiseConstantDecay([10, 10], [1.0, 0.5, 0.1]), ValueError, "boundaries"),
    (lambda: ks.PiecewiseConstantDecay([10, 20], [1.0, 0.5]), ValueError, "values"),
    (lambda: ls.MultiStepLR(0.1, [5, -1]), ValueError, "milestones[1]"),
    (lambda: ls.SequentialLR([ls.StepLR(0.1, 3)] * 2, [5, 8]), ValueError, "milestones"),
    (lambda: ls.SequentialLR([ls.StepLR(0.1, 3), 0.1], [5]), TypeError, "schedulers[1]"),
    (lambda: ls.ChainedScheduler([], lr=0.1), ValueError, "schedulers"),
    # Callables.
    (lambda: js.multiplicative(0.1, 0.9), TypeError, "factor_fn"),
    (lambda: js.cyclic(0.1, 0.5, scale_fn=2.0), TypeError, "scale_fn"),
    (lambda: ls.LambdaLR(0.1, 0.5), TypeError, "lr_lambda"),
    (lambda: ls.MultiplicativeLR(0.1, None), TypeError, "lr_lambda"),
    # Flavour names, not the native ones they call.
    (lambda: ks.ExponentialDecay(-0.1, 10, 0.5), ValueError, "initial_learning_rate"),
    (lambda: ks.CosineDecay(0.1, 100, warmup_target=-1.0), ValueError, "warmup_target"),
    (lambda: ks.CosineDecayRestarts(0.1, 10, t_mul=0.5), ValueError, "t_mul"),
    (lambda: ls.StepLR(-0.1, 10), ValueError, "lr"),
    (lambda: ls.CosineAnnealingLR(0.1, 10, eta_min=-1.0), ValueError, "eta_min"),
    (lambda: ls.LinearLR(0.1, end_factor=1.5), ValueError, "end_factor"),
    (lambda: ls.ExponentialLR(0.1, gamma=NAN), ValueError, "gamma"),
    (
        lambda: ls.OneCycleLR(0.1, total_steps=100, final_div_factor=-1.0),
        ValueError,
        "final_div_factor",
    ),
]


@pytest.mark.parametrize("make, error, name", CASES, ids=[c[2] for c in CASES])
def test_bad_argument_is_refused_by_name(make, error, name):
    with pytest.raises(error, match=f"^{re.escape(name)} "):
        make()


def test_cross_argument_checks_skip_traced_values():
    # A sweep over the momentum bounds: the order of traced bounds cannot be checked.
    def momentum_at_10(m):
        return ls.OneCycleMomentum(1.0, 40, max_momentum=m, base_momentum=m / 2)(10)

    assert np.all(np.isfinite(jax.vmap(momentum_at_10)(jnp.asarray([0.5, 0.9]))))


def test_integer_valued_floats_and_numpy_scalars_are_accepted():
    want = float(js.step_decay(0.1, 10, 0.5)(25))
    assert float(js.step_decay(np.float32(0.1), 10.0, np.float64(0.5))(25)) == want
    assert float(ls.StepLR(0.1, np.int64(10), 0.5)(25)) == want


@pytest.mark.parametrize("module", [ks, ls, js])
def test_parity_namespaces_export_only_schedules(module):
    # "@py_builtins" and "@pytest_ar" appear when pytest rewrites the module's asserts
    # (a file named on pytest's command line, as under --doctest-modules).
    public = [n for n in dir(module) if not n.startswith(("_", "@"))]
    assert sorted(public) == sorted(module.__all__)
    for name in public:
        value = getattr(module, name)
        assert callable(value) and not isinstance(value, type(jaxsched)), name
        if name != "ReduceLROnPlateau":  # documented (and tested) with jaxsched's plateau
            assert "Example:" in value.__doc__ and "References:" in value.__doc__, name
