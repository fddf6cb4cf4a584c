"""Every keras.optimizers optimizer against the real Keras 3 (JAX backend).

Each optimizer runs the plans of :func:`parity.keras_plans`: no option, each of its own
options alone, one of Keras's common arguments alone (``weight_decay``, ``clipnorm``,
``clipvalue``, ``global_clipnorm``, the legacy ``decay``; they rotate over the
optimizers and runs) and everything together with one clip argument. Hyperparameters
are drawn afresh every run (``JAXSCHED_SEED`` replays a run), eps large in two plans
out of three. Keras runs as ``model.fit`` runs it, ``stateless_apply`` under ``jit``.
The legacy ``decay``, which Keras 3 ignores, is compared with Keras running
``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)``, the same rate.
"""

import keras
import numpy as np
import pytest
from parity import (
    KERAS_CLIPS,
    Flavor,
    Problem,
    check_keras_flavor,
    eps_draw,
    keras_common_options,
    keras_plans,
    rng,
    uniform,
)

import jaxsched


def _betas(r):
    return {"beta_1": uniform(r, 0.5, 0.95), "beta_2": uniform(r, 0.9, 0.999)}


def _adam_base(r, i):
    return dict(learning_rate=uniform(r, 2e-3, 3e-2), epsilon=eps_draw(r, i, low=1e-7)) | _betas(r)


COMMON = keras_common_options()
AMSGRAD = {"amsgrad": lambda r: {"amsgrad": True}}
MOMENTUM = {"momentum": lambda r: {"momentum": uniform(r, 0.3, 0.9)}}

FLAVORS = {
    "SGD": Flavor(
        lambda r, i: dict(learning_rate=uniform(r, 1e-2, 0.1)),
        MOMENTUM | {"nesterov": lambda r: {"nesterov": True}} | COMMON,
        requires={"nesterov": ("momentum",)},
    ),
    "Adam": Flavor(_adam_base, AMSGRAD | COMMON),
    "AdamW": Flavor(
        lambda r, i: _adam_base(r, i) | {"weight_decay": uniform(r, 0.01, 0.2)}, AMSGRAD | COMMON
    ),
    "RMSprop": Flavor(
        lambda r, i: dict(
            learning_rate=uniform(r, 1e-3, 2e-2), rho=uniform(r, 0.8, 0.99), epsilon=eps_draw(r, i)
        ),
        MOMENTUM | {"centered": lambda r: {"centered": True}} | COMMON,
    ),
    "Adadelta": Flavor(
        # Up to 1.0, torch's default rate (Keras's default, 0.001, barely moves).
        lambda r, i: dict(
            learning_rate=uniform(r, 0.1, 1.0), rho=uniform(r, 0.8, 0.99), epsilon=eps_draw(r, i)
        ),
        COMMON,
    ),
    "Adagrad": Flavor(
        lambda r, i: dict(
            learning_rate=uniform(r, 1e-2, 0.1),
            initial_accumulator_value=uniform(r, 0.0, 1.0),
            epsilon=eps_draw(r, i),
        ),
        COMMON,
    ),
    "Adamax": Flavor(_adam_base, COMMON),
    "Nadam": Flavor(_adam_base, COMMON),
    "Ftrl": Flavor(
        lambda r, i: dict(
            learning_rate=uniform(r, 0.05, 0.5), initial_accumulator_value=uniform(r, 0.05, 1.0)
        ),
        {
            "l1": lambda r: {"l1_regularization_strength": uniform(r, 0.01, 0.2)},
            "l2": lambda r: {"l2_regularization_strength": uniform(r, 0.01, 0.2)},
            "l2_shrinkage": lambda r: {
                "l2_shrinkage_regularization_strength": uniform(r, 0.01, 0.2)
            },
            "beta": lambda r: {"beta": uniform(r, 0.1, 1.0)},
            "learning_rate_power": lambda r: {"learning_rate_power": uniform(r, -1.0, -0.1)},
        }
        | COMMON,
    ),
    "Lion": Flavor(lambda r, i: dict(learning_rate=uniform(r, 1e-3, 1e-2)) | _betas(r), COMMON),
}


@pytest.mark.parametrize("name", FLAVORS)
def test_keras_optimizer_trajectories(name, record_parity):
    check_keras_flavor(name, FLAVORS[name], list(FLAVORS).index(name), record_parity)


def test_every_common_argument_is_tested_alone_and_together():
    plans = [keras_plans(flavor, k) for k, flavor in enumerate(FLAVORS.values())]
    for option in keras_common_options():
        assert any((option,) in p for p in plans), option
    for option in ("weight_decay", "decay", *KERAS_CLIPS):
        assert any(option in p[-1] for p in plans), option
    for name, flavor, p in zip(FLAVORS, FLAVORS.values(), plans):
        own = [o for o in flavor.options if o not in COMMON]
        assert () in p and all(any(o in q for q in p[:-2]) for o in own), name
        assert set(own) <= set(p[-1]), name


def test_clipping_is_active_in_the_draws():
    """Every clip threshold drawn cuts the first gradient of its run, so clipping is tested."""
    seen = set()
    for k, (name, flavor) in enumerate(FLAVORS.items()):
        for i, plan in enumerate(keras_plans(flavor, k)):
            kw = flavor.draw(rng("keras", name, i), i, plan)
            problem = Problem(rng("keras", name, i, "p"))
            grads = problem.grad(np, problem.params, 0)
            sizes = {
                "clipnorm": max(np.linalg.norm(g) for g in grads),
                "clipvalue": max(np.abs(g).max() for g in grads),
                "global_clipnorm": np.sqrt(sum(np.sum(g**2) for g in grads)),
            }
            for clip in set(KERAS_CLIPS) & set(kw):
                seen.add(clip)
                assert kw[clip] < sizes[clip], (name, plan, kw[clip], sizes[clip])
    assert seen == set(KERAS_CLIPS)


def test_keras_rejects_two_clip_arguments_and_so_does_jaxsched():
    with pytest.raises(ValueError, match="clipnorm"):
        keras.optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        jaxsched.keras.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="only one of"):
        jaxsched.keras.Lion(global_clipnorm=1.0, clipnorm=0.0)


def test_keras_clip_state_keys():
    params = [np.zeros(3, np.float32)]
    hp = jaxsched.hyperparams(jaxsched.keras.RMSprop(clipnorm=2.0, momentum=0.5).init(params))
    # Keras's default weight_decay=None: no decay, so no key.
    assert sorted(hp) == ["decay", "eps", "learning_rate", "max_norm", "momentum"]
    assert float(hp["max_norm"]) == 2.0
    hp = jaxsched.hyperparams(jaxsched.keras.Ftrl(clipvalue=0.5, weight_decay=0.1).init(params))
    assert float(hp["max_delta"]) == 0.5
    assert float(hp["weight_decay"]) == np.float32(0.1)
    assert "l2_shrinkage" in hp


def test_zero_argument_learning_rate_is_called_once():
    """Keras accepts ``learning_rate=lambda: value``; in a pure program it is a constant."""
    calls = []

    def rate():
        calls.append(None)
        return 0.1

    tx = jaxsched.keras.SGD(rate)
    params = [np.ones(3, np.float32)]
    state = tx.init(params)
    for _ in range(3):
        updates, state = tx.update(params, state)
    assert len(calls) == 1
    np.testing.assert_allclose(updates[0], -0.1)
    assert state.schedule_states == {}  # a constant, which set_hyperparams can change
    state = jaxsched.set_hyperparams(state, learning_rate=0.2)
    np.testing.assert_allclose(tx.update(params, state)[0][0], -0.2)
    # A function of the step is a schedule, as everywhere in jaxsched.
    tx = jaxsched.keras.SGD(lambda step: 0.1 / (1 + step))
    state = tx.init(params)
    for _ in range(3):
        updates, state = tx.update(params, state)
    np.testing.assert_allclose(updates[0], -0.1 / 3)
