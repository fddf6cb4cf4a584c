"""Sharded optimizer states, ZeRO-1 state sharding and hyperparameter sweeps.

The checks that need several devices run in one subprocess with 8 simulated CPU devices
(tests/multidevice_checks.py; the device count is fixed when JAX starts, and this process
keeps one). The others run here on one device.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import PartitionSpec as P

import jaxsched
from jaxsched.sharding import zero_sharding
from jaxsched.sweep import sweep_init

ROOT = Path(__file__).parents[1]
KINDS = ("explicit", "auto")
CHECKS = [
    "catalogue",
    "hlo/auto",
    *(f"init/{k}/{how}" for k in KINDS for how in ("eager", "jit")),
    *(f"{what}/{k}" for k in KINDS for what in ("step", "zero", "sweep")),
]


@pytest.fixture(scope="module")
def report():
    """Runs the two parts of the checks side by side (one process each) and merges them."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=8"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    script = str(ROOT / "tests" / "multidevice_checks.py")
    procs = [
        subprocess.Popen(
            [sys.executable, script, str(part)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for part in (0, 1)
    ]
    merged = {"problems": {}, "figures": {}}
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        if proc.returncode or not lines:
            pytest.fail(f"the multi-device checks crashed:\n{err[-3000:]}")
        result = json.loads(lines[-1].removeprefix("RESULT "))
        for check, problems in result["problems"].items():
            merged["problems"].setdefault(check, []).extend(problems)
        merged["figures"].update(result["figures"])
    return merged


@pytest.mark.parametrize("check", CHECKS)
def test_on_8_devices(report, check):
    problems = report["problems"][check]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


def test_every_check_ran(report):
    assert sorted(report["problems"]) == sorted(CHECKS)


# One device from here on.

PARAMS = {"w": jnp.linspace(-1.0, 1.0, 12).reshape(4, 3), "b": jnp.linspace(0.0, 1.0, 3)}


def grad(params):
    """Gradient of ``sum(c * (p - 0.25)^2) / 2``: elementwise, so vmap cannot reorder a sum."""
    return jax.tree.map(lambda p: (1.0 + jnp.abs(jnp.sin(7.0 * p))) * (p - 0.25), params)


def train(tx, params, state, steps, batched=False):
    def step(params, state):
        updates, state = tx.update(grad(params), state, params)
        return optax.apply_updates(params, updates), state

    step = jax.jit(jax.vmap(step) if batched else step)
    for _ in range(steps):
        params, state = step(params, state)
    return params, state


def test_zero_sharding_splits_parameter_shaped_arrays_only():
    mesh = jax.make_mesh((1,), ("data",))
    state = jaxsched.adam(1e-3).init({"w": jnp.zeros((8, 3)), "s": jnp.zeros(())})
    shardings = zero_sharding(state, mesh)
    adam_state = shardings.inner_state[0]
    assert adam_state.mu["w"].spec == P("data", None)
    assert adam_state.nu["w"].spec == P("data", None)
    assert adam_state.mu["s"].spec == P()
    assert all(s.spec == P() for s in jax.tree.leaves(shardings.hyperparams))
    assert adam_state.count.spec == P()
    assert jax.tree.structure(shardings) == jax.tree.structure(state)


def test_zero_sharding_adds_the_data_axis_to_model_parallel_arrays():
    mesh = jax.make_mesh((1, 1), ("data", "model"))
    params = {
        "kernel": jax.device_put(jnp.zeros((8, 2)), jax.NamedSharding(mesh, P(None, "model"))),
        "done": jax.device_put(jnp.zeros((4,)), jax.NamedSharding(mesh, P("data"))),
    }
    shardings = zero_sharding(jaxsched.sgd(0.1, momentum=0.9).init(params), mesh, "data")
    trace = jax.tree.leaves(shardings, is_leaf=lambda x: isinstance(x, jax.NamedSharding))
    specs = {tuple(s.spec) for s in trace if len(s.spec)}
    assert specs == {("data", "model"), ("data",)}


def test_zero_sharding_errors_name_the_argument():
    state = jaxsched.adam(1e-3).init(PARAMS)
    with pytest.raises(ValueError, match=r"axis='batch' is not an axis of the mesh"):
        zero_sharding(state, jax.make_mesh((1,), ("data",)), "batch")
    with pytest.raises(TypeError, match=r"mesh must be a jax\.sharding\.Mesh"):
        zero_sharding(state, jax.devices(), "data")
    with pytest.raises(TypeError, match="axis must be the name of a mesh axis"):
        zero_sharding(state, jax.make_mesh((1,), ("data",)), 0)


def test_sweep_of_learning_rates_equals_separate_runs():
    rates = [1e-3 * 2**i for i in range(8)]
    tx = jaxsched.adam(1.0, weight_decay=1e-2)
    params_n, state_n = sweep_init(tx, PARAMS, learning_rate=rates)
    assert params_n["w"].shape == (8, 4, 3)
    np.testing.assert_allclose(jaxsched.hyperparams(state_n)["learning_rate"], rates, rtol=1e-7)
    params_n, _ = train(tx, params_n, state_n, 5, batched=True)
    for i, rate in enumerate(rates):
        single = jaxsched.adam(rate, weight_decay=1e-2)
        want, _ = train(single, PARAMS, single.init(PARAMS), 5)
        for got, ref in zip(jax.tree.leaves(params_n), jax.tree.leaves(want)):
            np.testing.assert_allclose(got[i], ref, rtol=1e-6, atol=1e-7)


def test_grid_enumerates_the_first_key_slowest():
    _, state_n = sweep_init(
        jaxsched.adam(1e-3), PARAMS, grid=True, learning_rate=[0.1, 0.2], b1=[0.5, 0.6, 0.7]
    )
    got = jaxsched.hyperparams(state_n)
    np.testing.assert_allclose(got["learning_rate"], [0.1, 0.1, 0.1, 0.2, 0.2, 0.2])
    np.testing.assert_allclose(got["b1"], [0.5, 0.6, 0.7, 0.5, 0.6, 0.7])
    np.testing.assert_allclose(got["b2"], [0.999] * 6)


def test_keys_with_a_slash_go_in_values():
    tx = jaxsched.partition({"a": jaxsched.sgd(0.1), "b": jaxsched.sgd(0.2)}, {"w": "a", "b": "b"})
    _, state_n = sweep_init(tx, PARAMS, values={"a/learning_rate": [1.0, 2.0]})
    got = jaxsched.hyperparams(state_n)
    np.testing.assert_allclose(got["a/learning_rate"], [1.0, 2.0])
    np.testing.assert_allclose(got["b/learning_rate"], [0.2, 0.2])


def test_sweeping_a_schedule_by_a_factor_equals_separate_schedules():
    peaks = [0.01, 0.05, 0.2]
    tx = jaxsched.chain(
        jaxsched.adam(jaxsched.cosine_decay(1.0, 10)), jaxsched.transforms.scale(1.0)
    )
    params_n, state_n = sweep_init(tx, PARAMS, factor=peaks)
    params_n, _ = train(tx, params_n, state_n, 6, batched=True)
    for i, peak in enumerate(peaks):
        single = jaxsched.adam(jaxsched.cosine_decay(peak, 10))
        want, _ = train(single, PARAMS, single.init(PARAMS), 6)
        for got, ref in zip(jax.tree.leaves(params_n), jax.tree.leaves(want)):
            np.testing.assert_allclose(got[i], ref, rtol=1e-5, atol=1e-7)


def test_init_only_values_follow_the_recipe_of_the_error():
    rates = [0.01, 0.1]
    with pytest.raises(ValueError, match="learning_rate: read only when the state is initialised"):
        sweep_init(jaxsched.rprop(0.01), PARAMS, learning_rate=rates)
    # The recipe the error gives: one state per value, stepped by any one optimizer.
    states = jax.vmap(lambda v: jaxsched.rprop(v).init(PARAMS))(jnp.asarray(rates))
    params_n = jax.tree.map(lambda p: jnp.stack([p, p]), PARAMS)
    params_n, _ = train(jaxsched.rprop(0.01), params_n, states, 3, batched=True)
    for i, rate in enumerate(rates):
        single = jaxsched.rprop(rate)
        want, _ = train(single, PARAMS, single.init(PARAMS), 3)
        for got, ref in zip(jax.tree.leaves(params_n), jax.tree.leaves(want)):
            np.testing.assert_allclose(got[i], ref, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"foo": [1.0]}, ValueError, r"foo: unknown hyperparameter 'foo'"),
        ({"learning_rate": []}, ValueError, "learning_rate is empty"),
        ({"learning_rate": [0.1, 0.2], "b1": [0.9]}, ValueError, "same number of values"),
        ({"learning_rate": 0.1}, TypeError, "learning_rate must be a sequence of numbers"),
        ({"learning_rate": "0.1"}, TypeError, "learning_rate must be a sequence of numbers"),
        ({"learning_rate": [0.1, "a"]}, TypeError, r"learning_rate\[1\] must be a real number"),
        ({"learning_rate": [True]}, TypeError, r"learning_rate\[0\] must be a real number"),
        ({"learning_rate": [0.1, None]}, TypeError, r"learning_rate\[1\] must be a real"),
        ({"learning_rate": [float("nan")]}, ValueError, r"learning_rate\[0\] is NaN"),
        ({"learning_rate": np.ones((2, 2))}, ValueError, "must be one-dimensional"),
        ({"values": {"eps": [1.0]}, "eps": [2.0]}, ValueError, "given both"),
        ({"values": [1.0]}, TypeError, "values must be a dict"),
        ({}, ValueError, "at least one hyperparameter"),
        ({"b1": [0.9], "grid": 1}, TypeError, "grid must be True or False"),
        ({"b1": [0.9], "mesh": "cpu"}, TypeError, r"mesh must be a jax\.sharding\.Mesh"),
    ],
)
def test_sweep_errors_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        sweep_init(jaxsched.adam(1e-3), PARAMS, **kwargs)


def test_sweep_refuses_scheduled_keys_and_explains_the_recipe():
    tx = jaxsched.adam(jaxsched.cosine_decay(1e-3, 100))
    with pytest.raises(ValueError, match=r"follows a schedule.*scale\(1.0\).*factor="):
        sweep_init(tx, PARAMS, learning_rate=[1e-3, 1e-2])


def test_sweep_mesh_errors():
    mesh = jax.make_mesh((1,), ("data",))
    with pytest.raises(ValueError, match=r"axis='sweep' is not an axis of the mesh"):
        sweep_init(jaxsched.adam(1e-3), PARAMS, mesh=mesh, b1=[0.9])
    params_n, _ = sweep_init(jaxsched.adam(1e-3), PARAMS, mesh=mesh, axis="data", b1=[0.8, 0.9])
    assert params_n["w"].sharding.spec == P("data", None, None)


def test_sweep_example_runs_and_ranks():
    path = ROOT / "examples" / "sweep.py"
    spec = importlib.util.spec_from_file_location("sweep_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(["--steps", "20", "--lrs", "2", "--wds", "2", "--top", "2"])
    accuracy = result["accuracy"]
    assert accuracy.shape == (2, 2)
    # Rows are learning rates 1e-4 and 1e-1: 20 steps of the larger one learn far more.
    assert accuracy[1].min() > 0.8 > accuracy[0].max()
