"""Every other keras.optimizers optimizer against the real Keras 3 (JAX backend).

Each draw takes random hyperparameters in ranges where every option changes the numbers,
and one of Keras's common arguments in turn: ``clipnorm``, ``clipvalue``,
``global_clipnorm`` (thresholds below the gradients' norms, so clipping is active) and
the legacy ``decay``, which Keras 3 ignores: it is compared with Keras running
``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)``, the same rate. SGD and Adam
are covered by test_parity_sgd_adam except for the clip arguments, tested here.
"""

import keras
import numpy as np
import pytest
from parity import Problem, assert_trajectories_close, jaxsched_trajectory, keras_trajectory

import jaxsched

DRAWS = range(4)


def _rng(name, draw):
    return np.random.default_rng([draw, *name.encode()])


def _log_uniform(rng, low, high):
    return float(10 ** rng.uniform(np.log10(low), np.log10(high)))


def _common(rng, draw):
    """Keras's common arguments for draw ``draw``; ``decay`` is jaxsched-only (see above)."""
    weight_decay = float(rng.uniform(0.01, 0.2)) if draw != 1 else None
    clip = [
        {"clipnorm": float(rng.uniform(0.3, 1.5))},
        {"clipvalue": float(rng.uniform(0.2, 0.8))},
        {"global_clipnorm": float(rng.uniform(0.5, 3.0))},
        {"decay": _log_uniform(rng, 1e-3, 5e-2)},
    ][draw]
    return {"weight_decay": weight_decay, **clip}


def _betas(rng):
    return {"beta_1": float(rng.uniform(0.5, 0.95)), "beta_2": float(rng.uniform(0.9, 0.999))}


def _rmsprop(rng, draw):
    return dict(
        learning_rate=float(rng.uniform(1e-3, 2e-2)),
        rho=float(rng.uniform(0.8, 0.99)),
        momentum=float(rng.uniform(0.3, 0.9)) if draw in (1, 2) else 0.0,
        epsilon=_log_uniform(rng, 1e-3, 1e-1),
        centered=draw in (2, 3),
    )


def _adadelta(rng, draw):
    return dict(
        learning_rate=float(rng.uniform(0.1, 1.0)),
        rho=float(rng.uniform(0.8, 0.99)),
        epsilon=_log_uniform(rng, 1e-6, 1e-2),
    )


def _adagrad(rng, draw):
    return dict(
        learning_rate=float(rng.uniform(1e-2, 0.1)),
        initial_accumulator_value=float(rng.uniform(0.0, 1.0)),
        epsilon=_log_uniform(rng, 1e-3, 1e-1),
    )


def _adamax(rng, draw):
    return dict(
        learning_rate=float(rng.uniform(2e-3, 3e-2)), epsilon=_log_uniform(rng, 1e-3, 1e-1)
    ) | _betas(rng)


def _nadam(rng, draw):
    return dict(
        learning_rate=float(rng.uniform(2e-3, 3e-2)), epsilon=_log_uniform(rng, 1e-4, 1e-1)
    ) | _betas(rng)


def _ftrl(rng, draw):
    return dict(
        learning_rate=float(rng.uniform(0.05, 0.5)),
        learning_rate_power=-0.5 if draw == 0 else float(rng.uniform(-1.0, -0.1)),
        initial_accumulator_value=float(rng.uniform(0.05, 1.0)),
        l1_regularization_strength=float(rng.uniform(0.0, 0.2)),
        l2_regularization_strength=float(rng.uniform(0.0, 0.2)),
        l2_shrinkage_regularization_strength=float(rng.uniform(0.0, 0.2)),
        beta=float(rng.uniform(0.0, 1.0)),
    )


def _lion(rng, draw):
    return dict(learning_rate=float(rng.uniform(1e-3, 1e-2))) | _betas(rng)


def _sgd(rng, draw):
    return dict(
        learning_rate=float(rng.uniform(1e-2, 0.1)),
        momentum=float(rng.uniform(0.3, 0.9)) if draw != 1 else 0.0,
        nesterov=draw == 2,
    )


def _adam(rng, draw):
    return dict(
        learning_rate=float(rng.uniform(2e-3, 3e-2)),
        epsilon=_log_uniform(rng, 1e-4, 1e-1),
        amsgrad=draw in (0, 2),
    ) | _betas(rng)


SAMPLERS = {
    "RMSprop": _rmsprop,
    "Adadelta": _adadelta,
    "Adagrad": _adagrad,
    "Adamax": _adamax,
    "Nadam": _nadam,
    "Ftrl": _ftrl,
    "Lion": _lion,
    "SGD": _sgd,
    "Adam": _adam,
}


def _keras_optimizer(name, kw):
    kw = dict(kw)
    decay = kw.pop("decay", None)
    if decay is not None:
        kw["learning_rate"] = keras.optimizers.schedules.InverseTimeDecay(
            kw["learning_rate"], decay_steps=1, decay_rate=decay
        )
    return getattr(keras.optimizers, name)(**kw)


@pytest.mark.parametrize("draw", DRAWS)
@pytest.mark.parametrize("name", SAMPLERS)
def test_keras_optimizer_trajectory(name, draw, record_parity):
    rng = _rng(name, draw)
    kw = SAMPLERS[name](rng, draw) | _common(rng, draw)
    problem = Problem(2000 + 10 * list(SAMPLERS).index(name) + draw)
    want = keras_trajectory(problem, _keras_optimizer(name, kw))
    got, _ = jaxsched_trajectory(problem, getattr(jaxsched.keras, name)(**kw))
    label = f"keras.{name}" + (" (clip, legacy decay)" if name in ("SGD", "Adam") else "")
    record_parity(label, assert_trajectories_close(got, want))


@pytest.mark.parametrize("clip", ["clipnorm", "clipvalue", "global_clipnorm"])
def test_clipping_is_active_in_the_draws(clip):
    """The clip thresholds drawn above cut the first gradients, so clipping is tested."""
    draw = ["clipnorm", "clipvalue", "global_clipnorm"].index(clip)
    problem = Problem(0)
    grads = problem.grad(np, problem.params, 0)
    for name in SAMPLERS:
        value = _common(_rng(name, draw), draw)[clip]
        sizes = {
            "clipnorm": max(np.linalg.norm(g) for g in grads),
            "clipvalue": max(np.abs(g).max() for g in grads),
            "global_clipnorm": np.sqrt(sum(np.sum(g**2) for g in grads)),
        }
        assert value < sizes[clip], (name, value, sizes[clip])


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
    assert sorted(hp) == ["decay", "eps", "learning_rate", "max_norm", "momentum", "weight_decay"]
    assert float(hp["max_norm"]) == 2.0
    hp = jaxsched.hyperparams(jaxsched.keras.Ftrl(clipvalue=0.5).init(params))
    assert float(hp["max_delta"]) == 0.5
    assert "l2_shrinkage" in hp
