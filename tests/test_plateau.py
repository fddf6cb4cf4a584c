"""Reduce-on-plateau: differential tests against torch's and Keras's real schedulers."""

import functools
import math
import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest
import torch
from keras.src.trainers import compile_utils

import jaxsched
from jaxsched.keras._callbacks import ReduceLROnPlateau as KerasReduceLROnPlateau
from jaxsched.torch._plateau import ReduceLROnPlateau as TorchReduceLROnPlateau

# Keras's numpy conversion warns once per callback call on numpy 2.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

T = 300
PARAMS = {"w": jnp.zeros(2)}
GRADS = {"w": jnp.ones(2)}


def metric_sequences(seed):
    """Noisy, falling, rising, negative, plateau and random-walk metrics, float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    seqs = [
        1 / (1 + 0.05 * t) + 0.05 * rng.normal(size=T),
        np.exp(-t / 80) + 1e-3 * rng.normal(size=T),
        0.01 * t + 0.3 * rng.normal(size=T),
        -5 - 0.01 * t + 0.2 * rng.normal(size=T),
        np.round(np.repeat(np.cumsum(rng.choice([0, -1, 0, 1, 0], T // 15)), 15) * 0.5, 1),
        np.cumsum(rng.normal(size=T)),
    ]
    return np.stack(seqs).astype(np.float32)


def random_configs(rng, n, threshold_scale):
    lr0 = rng.uniform(0.01, 1.0, n).astype(np.float32)
    return {
        "lr0": lr0,
        "factor": rng.uniform(0.05, 0.95, n).astype(np.float32),
        "patience": rng.integers(0, 9, n).astype(np.int32),
        "cooldown": rng.integers(0, 5, n).astype(np.int32),
        "threshold": (rng.uniform(0, threshold_scale, n) * (rng.random(n) < 0.8)).astype(
            np.float32
        ),
        "min_lr": (lr0 * 10.0 ** -rng.uniform(1, 4, n) * (rng.random(n) < 0.5)).astype(np.float32),
    }


@functools.cache
def lr_runner(make_schedule):
    """jit(vmap(...)): the learning rates that SGD reports after each update."""

    def run(cfg, metrics):
        tx = jaxsched.torch.SGD(lr=make_schedule(cfg))
        state = tx.init(PARAMS)

        def body(state, metric):
            _, state = tx.update(GRADS, state, PARAMS, value=metric)
            return state, jaxsched.hyperparams(state)["learning_rate"]

        return jax.lax.scan(body, state, metrics)[1]

    return jax.jit(jax.vmap(run))


@functools.cache
def torch_schedule(mode, threshold_mode, every=1):
    def make(cfg):
        return TorchReduceLROnPlateau(
            cfg["lr0"],
            mode=mode,
            factor=cfg["factor"],
            patience=cfg["patience"],
            threshold=cfg["threshold"],
            threshold_mode=threshold_mode,
            cooldown=cfg["cooldown"],
            min_lr=cfg["min_lr"],
            every=every,
        )

    return make


def torch_lrs(metrics, cfg, i, mode, threshold_mode):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=float(cfg["lr0"][i]))
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt,
        mode=mode,
        factor=float(cfg["factor"][i]),
        patience=int(cfg["patience"][i]),
        threshold=float(cfg["threshold"][i]),
        threshold_mode=threshold_mode,
        cooldown=int(cfg["cooldown"][i]),
        min_lr=float(cfg["min_lr"][i]),
    )
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in metrics:
            sched.step(float(m))
            out.append(opt.param_groups[0]["lr"])
    return np.array(out)


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
def test_torch_flavor_matches_torch(mode, threshold_mode, record_parity):
    seed = {"min": 0, "max": 1}[mode] * 2 + {"rel": 0, "abs": 1}[threshold_mode]
    rng = np.random.default_rng(100 + seed)
    seqs = np.concatenate([metric_sequences(seed), metric_sequences(seed + 10)])
    cfg = random_configs(rng, len(seqs), 0.05 if threshold_mode == "rel" else 0.3)
    got = np.asarray(lr_runner(torch_schedule(mode, threshold_mode))(cfg, seqs))
    want = np.stack([torch_lrs(s, cfg, i, mode, threshold_mode) for i, s in enumerate(seqs)])
    diff = np.abs(got - want)
    print(f"max |lr - torch lr| ({mode}, {threshold_mode}): {diff.max():.3g}")
    record_parity("torch ReduceLROnPlateau lr", float((diff / np.maximum(want, 1e-30)).max()))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-12)
    changed = [len(np.unique(w)) > 1 for w in want]
    assert sum(changed) >= len(seqs) // 2, "too few runs cut the learning rate to test anything"


def test_every_averages_an_epoch_of_metrics():
    rng = np.random.default_rng(7)
    every = 4
    # Quarter-integers keep the window means exact in float32, as in torch's float64.
    seqs = (np.cumsum(rng.integers(-3, 4, size=(6, T)), axis=1) / 4).astype(np.float32)
    cfg = random_configs(rng, 6, 0.05)
    got = np.asarray(lr_runner(torch_schedule("min", "rel", every))(cfg, seqs))
    for i, s in enumerate(seqs):
        means = s.reshape(-1, every).mean(axis=1)
        epoch_lrs = torch_lrs(means, cfg, i, "min", "rel")
        before = np.concatenate([[cfg["lr0"][i]], epoch_lrs[:-1]])
        # Update k*every + j (j < every - 1) still uses the previous epoch's rate.
        want = np.repeat(before, every)
        want[every - 1 :: every] = epoch_lrs
        np.testing.assert_allclose(got[i], want, rtol=2e-6)
    assert any(len(np.unique(g)) > 2 for g in got)


def reference_rel_magnitude(metrics, lr, mode, factor, patience, threshold, cooldown, min_lr):
    """torch's loop with the sign-aware test ``a < best - |best| * threshold``."""
    best = math.inf if mode == "min" else -math.inf
    bad = counter = 0
    out = []
    for a in map(float, metrics):
        if math.isinf(best):
            better = a < best if mode == "min" else a > best
        elif mode == "min":
            better = a < best - abs(best) * threshold
        else:
            better = a > best + abs(best) * threshold
        if better:
            best, bad = a, 0
        else:
            bad += 1
        if counter > 0:
            counter -= 1
            bad = 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > 1e-8:
                lr = new
            counter, bad = cooldown, 0
        out.append(lr)
    return np.array(out)


@pytest.mark.parametrize("mode", ["min", "max"])
def test_rel_magnitude_mode(mode):
    rng = np.random.default_rng(11)
    seqs = metric_sequences(21)
    cfg = random_configs(rng, len(seqs), 0.05)

    def make(c):
        return jaxsched.reduce_on_plateau(
            c["lr0"],
            factor=c["factor"],
            patience=c["patience"],
            mode=mode,
            threshold=c["threshold"],
            threshold_mode="rel_magnitude",
            cooldown=c["cooldown"],
            min_value=c["min_lr"],
        )

    got = np.asarray(lr_runner(make)(cfg, seqs))
    for i, s in enumerate(seqs):
        args = [float(cfg[k][i]) for k in ("factor", "patience", "threshold", "cooldown")]
        want = reference_rel_magnitude(
            s, float(cfg["lr0"][i]), mode, *args, float(cfg["min_lr"][i])
        )
        np.testing.assert_allclose(got[i], want, rtol=2e-6)


def test_rel_magnitude_cuts_on_a_worsening_negative_metric_where_torch_rel_does_not():
    metrics = np.float32(-10.0 + 1e-4 * np.arange(40))  # slowly getting worse
    cfg = {"lr0": [1.0], "factor": [0.5], "patience": [3], "threshold": [1e-3]}
    cfg.update(cooldown=[0], min_lr=[0.0])
    torch_rel = torch_lrs(metrics, cfg, 0, "min", "rel")
    assert torch_rel[-1] == 1.0  # torch's rel test takes each worse value as better

    def make(c):
        return jaxsched.reduce_on_plateau(
            c["lr0"], factor=0.5, patience=3, threshold=1e-3, threshold_mode="rel_magnitude"
        )

    cfg = {"lr0": np.ones(1, np.float32)}
    got = np.asarray(lr_runner(make)(cfg, metrics[None]))[0]
    assert got[3] == 1.0 and got[4] == 0.5  # the 4th bad metric after the first cuts


def test_plateau_on_top_of_a_schedule():
    def cosine(step):
        return 0.5 * (1 + jnp.cos(jnp.pi * jnp.minimum(step, T) / T))

    rng = np.random.default_rng(3)
    seqs = metric_sequences(5)[:2]
    cfg = random_configs(rng, 2, 0.05)
    cfg["min_lr"] = np.zeros(2, np.float32)

    def make(c):
        return jaxsched.reduce_on_plateau(
            1.0,
            factor=c["factor"],
            patience=c["patience"],
            cooldown=c["cooldown"],
            threshold=c["threshold"],
            schedule=cosine,
        )

    got = np.asarray(lr_runner(make)(cfg, seqs))
    steps = np.arange(T)
    shape = 0.5 * (1 + np.cos(np.pi * steps / T))
    for i, s in enumerate(seqs):
        levels = torch_lrs(s, {**cfg, "lr0": np.ones(2)}, i, "min", "rel")
        np.testing.assert_allclose(got[i], levels * shape, rtol=1e-5, atol=1e-7)
        assert len(np.unique(levels)) > 1


def test_scale_by_plateau_scales_the_updates():
    seq = metric_sequences(8)[0][:60]
    tx = jaxsched.chain(jaxsched.sgd(1.0), jaxsched.scale_by_plateau(factor=0.5, patience=2))
    state = tx.init(PARAMS)
    step = jax.jit(lambda s, v: tx.update(GRADS, s, PARAMS, value=v))
    cfg = {"lr0": [1.0], "factor": [0.5], "patience": [2], "threshold": [1e-4]}
    cfg.update(cooldown=[0], min_lr=[0.0])
    want = torch_lrs(seq, cfg, 0, "min", "rel")
    for m, w in zip(seq, want, strict=True):
        updates, state = step(state, m)
        np.testing.assert_allclose(updates["w"], -w * np.ones(2), rtol=1e-6)
        assert jaxsched.hyperparams(state)["plateau_scale"] == pytest.approx(w, rel=1e-6)
    assert want[-1] < 1.0


def keras_lrs(metrics, lr0, monitor="val_loss", **kw):
    class Model:
        pass

    model = Model()
    model.optimizer = keras.optimizers.SGD(lr0)
    model.metrics = [compile_utils.MetricsList([keras.metrics.Accuracy()])]
    cb = keras.callbacks.ReduceLROnPlateau(monitor=monitor, **kw)
    cb.set_model(model)
    cb.on_train_begin()
    out = []
    for epoch, m in enumerate(metrics):
        cb.on_epoch_end(epoch, {monitor: float(m)})
        out.append(float(model.optimizer.learning_rate))
    return np.array(out)


@pytest.mark.parametrize("mode", ["min", "max", "auto"])
def test_keras_flavor_matches_keras(mode, record_parity):
    rng = np.random.default_rng({"min": 30, "max": 31, "auto": 32}[mode])
    seqs = metric_sequences({"min": 40, "max": 41, "auto": 42}[mode])
    cfg = random_configs(rng, len(seqs), 0.3)
    cfg["threshold"] *= np.where(rng.random(len(seqs)) < 0.3, -1, 1).astype(np.float32)

    def make(c):
        return KerasReduceLROnPlateau(
            c["lr0"], c["factor"], c["patience"], mode, c["threshold"], c["cooldown"], c["min_lr"]
        )

    got = np.asarray(lr_runner(make)(cfg, seqs))
    want = np.stack(
        [
            keras_lrs(
                s,
                float(cfg["lr0"][i]),
                factor=float(cfg["factor"][i]),
                patience=int(cfg["patience"][i]),
                mode=mode,
                min_delta=float(cfg["threshold"][i]),
                cooldown=int(cfg["cooldown"][i]),
                min_lr=float(cfg["min_lr"][i]),
            )
            for i, s in enumerate(seqs)
        ]
    )
    diff = np.abs(got - want)
    print(f"max |lr - keras lr| ({mode}): {diff.max():.3g}")
    record_parity("keras ReduceLROnPlateau lr", float((diff / np.maximum(want, 1e-30)).max()))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-12)
    assert sum(len(np.unique(w)) > 1 for w in want) >= len(seqs) // 2


@pytest.mark.parametrize(
    "metric",
    [
        keras.metrics.Accuracy(),
        keras.metrics.SparseCategoricalAccuracy(),
        keras.metrics.AUC(),
        keras.metrics.Precision(),
        keras.metrics.R2Score(),
        keras.metrics.MeanSquaredError(),
        keras.metrics.MeanAbsoluteError(),
        keras.metrics.CategoricalCrossentropy(),
        keras.metrics.Hinge(),
    ],
    ids=lambda m: m.name,
)
def test_keras_auto_mode_resolves_like_keras(metric):
    class Model:
        pass

    model = Model()
    model.optimizer = keras.optimizers.SGD(0.1)
    model.metrics = [compile_utils.MetricsList([metric])]
    monitor = f"val_{metric.name}"
    cb = keras.callbacks.ReduceLROnPlateau(monitor=monitor)
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {monitor: 0.5})
    want = "max" if cb.monitor_op is keras.ops.greater else "min"
    sched = KerasReduceLROnPlateau(0.1, monitor=monitor, patience=0, min_delta=0.0)
    state = sched.init()
    _, state = sched.update(state, 0, {"value": 0.5})
    lr, _ = sched.update(state, 1, {"value": 0.75})  # better only if maximising
    assert (float(lr) == pytest.approx(0.1)) == (want == "max")


def test_missing_or_bad_value_raises():
    tx = jaxsched.sgd(jaxsched.reduce_on_plateau(0.1))
    state = tx.init(PARAMS)
    with pytest.raises(ValueError, match="value="):
        tx.update(GRADS, state, PARAMS)
    with pytest.raises(ValueError, match="scalar"):
        tx.update(GRADS, state, PARAMS, value=jnp.ones(3))
    with pytest.raises(ValueError, match="value="):
        jaxsched.scale_by_plateau().update(GRADS, jaxsched.scale_by_plateau().init(PARAMS))


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: jaxsched.reduce_on_plateau(0.1, factor=1.0), "factor"),
        (lambda: jaxsched.reduce_on_plateau(0.1, factor=-0.5), "factor"),
        (lambda: jaxsched.reduce_on_plateau(-0.1), "init_value"),
        (lambda: jaxsched.reduce_on_plateau(0.1, patience=-1), "patience"),
        (lambda: jaxsched.reduce_on_plateau(0.1, cooldown=-2), "cooldown"),
        (lambda: jaxsched.reduce_on_plateau(0.1, mode="up"), "mode"),
        (lambda: jaxsched.reduce_on_plateau(0.1, threshold_mode="x"), "threshold_mode"),
        (lambda: jaxsched.reduce_on_plateau(0.1, threshold=-1.0), "threshold"),
        (lambda: jaxsched.reduce_on_plateau(0.1, min_value=-1.0), "min_value"),
        (lambda: jaxsched.reduce_on_plateau(0.1, eps=-1.0), "eps"),
        (lambda: jaxsched.reduce_on_plateau(0.1, every=0), "every"),
        (lambda: jaxsched.scale_by_plateau(factor=2.0), "factor"),
        (lambda: TorchReduceLROnPlateau(0.1, factor=1.5), "factor"),
        (lambda: TorchReduceLROnPlateau(-0.1), "lr"),
        (lambda: TorchReduceLROnPlateau(0.1, min_lr=-1.0), "min_lr"),
        (lambda: TorchReduceLROnPlateau(0.1, threshold_mode="rel_magnitude"), "threshold_mode"),
        (lambda: KerasReduceLROnPlateau(0.1, factor=1.0), "factor"),
        (lambda: KerasReduceLROnPlateau(0.1, mode="best"), "mode"),
        (lambda: KerasReduceLROnPlateau(0.1, monitor="val_custom"), "mode"),
        (lambda: KerasReduceLROnPlateau(0.1, min_lr=-1.0), "min_lr"),
    ],
)
def test_invalid_arguments_raise_at_construction(build, name):
    with pytest.raises(ValueError, match=name):
        build()


def test_patience_must_be_an_integer():
    with pytest.raises(ValueError, match="patience"):
        jaxsched.reduce_on_plateau(0.1, patience=2.5)
    with pytest.raises(TypeError, match="patience"):
        jaxsched.reduce_on_plateau(0.1, patience=True)
    with pytest.raises(TypeError, match="every"):
        jaxsched.scale_by_plateau(every="2")
    with pytest.raises(TypeError, match="patience"):
        jax.vmap(lambda p: jaxsched.reduce_on_plateau(0.1, patience=p).init())(jnp.ones(2))
    with pytest.raises(TypeError, match="min_lr"):
        TorchReduceLROnPlateau(0.1, min_lr=[0.0, 0.1])


def test_state_contents_and_dtypes():
    sched = jaxsched.reduce_on_plateau(0.5, factor=0.5, patience=1, cooldown=2, every=2)
    tx = jaxsched.sgd(sched)
    state = tx.init(PARAMS)
    assert float(jaxsched.hyperparams(state)["learning_rate"]) == 0.5
    step = jax.jit(lambda s, v: tx.update(GRADS, s, PARAMS, value=v))
    for v in [4.0, 2.0, 3.0, 3.0, 5.0, 5.0, 6.0, 6.0]:
        _, state = step(state, v)
    plateau_state = state.schedule_states["learning_rate"]
    assert isinstance(plateau_state, jaxsched.ReduceOnPlateauState)
    for leaf in jax.tree.leaves(plateau_state):
        assert leaf.dtype in (jnp.int32, jnp.float32) and leaf.shape == ()
    # Window means 3, 3, 5, 6: best 3; the 2nd bad evaluation (5) exceeds patience 1 and
    # cuts, starting a cooldown of 2; the 4th evaluation (6) uses one cooldown step.
    assert float(plateau_state.plateau.best) == 3.0
    assert int(plateau_state.num_reductions) == 1
    assert float(plateau_state.level) == 0.25
    assert int(plateau_state.plateau.cooldown) == 1
    assert int(plateau_state.plateau.num_bad) == 0
    assert int(plateau_state.plateau.window_count) == 0


def test_vmap_over_a_batch_of_states():
    sched = jaxsched.reduce_on_plateau(1.0, factor=0.5, patience=0)
    tx = jaxsched.sgd(sched)
    states = jax.vmap(lambda _: tx.init(PARAMS))(jnp.arange(3))
    step = jax.jit(jax.vmap(lambda s, v: tx.update(GRADS, s, PARAMS, value=v)))
    metrics = jnp.array([[1.0, 1.0, 1.0], [1.0, 0.5, 0.25], [1.0, 2.0, 0.5]])
    for t in range(3):
        _, states = step(states, metrics[:, t])
    np.testing.assert_allclose(jaxsched.hyperparams(states)["learning_rate"], [0.25, 1.0, 0.5])


def lrs_for(metrics, **options):
    """The learning rates an SGD with reduce_on_plateau applies, one per metric."""
    tx = jaxsched.sgd(jaxsched.reduce_on_plateau(1.0, **options))
    state = tx.init(PARAMS)
    step = jax.jit(lambda s, v: tx.update(GRADS, s, value=v))
    out = []
    for m in metrics:
        _, state = step(state, m)
        out.append(float(jaxsched.hyperparams(state)["learning_rate"]))
    return out, state.schedule_states["learning_rate"].plateau


@pytest.mark.parametrize(("mode", "bad"), [("min", -np.inf), ("max", np.inf)])
def test_an_infinite_metric_never_becomes_the_best(mode, bad):
    # In torch a -inf loss becomes the best value and every later loss is worse; here it
    # is one bad evaluation, and the improvements after it still count.
    sign = 1.0 if mode == "min" else -1.0
    metrics = [sign * m for m in (1.0, 0.5, 0.4, 0.3, 0.2)]
    metrics.insert(1, bad)
    lrs, plateau = lrs_for(metrics, mode=mode, factor=0.5, patience=1)
    assert lrs == [1.0] * 6
    assert float(plateau.best) == pytest.approx(sign * 0.2)


def test_nan_metrics_count_as_bad_evaluations():
    lrs, plateau = lrs_for([np.nan, np.nan, 2.0, np.nan, np.nan], factor=0.5, patience=1)
    # Two NaNs exceed patience 1 (a cut); 2.0 is the first finite metric and so the best;
    # two more NaNs cut again.
    assert lrs == [1.0, 0.5, 0.5, 0.5, 0.25]
    assert float(plateau.best) == 2.0 and int(plateau.num_bad) == 0


def test_a_nan_in_an_epoch_makes_that_evaluation_bad():
    lrs, plateau = lrs_for([1.0, 1.0, 0.5, np.nan], factor=0.5, patience=0, every=2)
    assert lrs == [1.0, 1.0, 1.0, 0.5]
    assert float(plateau.best) == 1.0


def test_plateau_options_are_checked_once_for_every_user():
    from jaxsched._detect import plateau_options

    assert plateau_options({"patience": 3}, "x") == jaxsched.PlateauOptions(patience=3)
    with pytest.raises(ValueError, match=r"on_plateau\['threshold'\]"):
        plateau_options(jaxsched.PlateauOptions(threshold=-1.0), "on_plateau")
    with pytest.raises(TypeError, match="on_plateau must be"):
        plateau_options(3, "on_plateau")
