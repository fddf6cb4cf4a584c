"""One process of the two-process data-parallel run of tests/test_multihost.py.

``python tests/multihost_worker.py PORT PROCESS_ID`` with
``XLA_FLAGS=--xla_force_host_platform_device_count=2``: joins the coordinator at
``127.0.0.1:PORT`` (process 0 hosts it), builds a mesh over the 4 devices of the two
processes, and trains the regression of ``problem()`` with jaxsched's Adam for ``STEPS``
data-parallel steps: each process feeds its half of the batch, the parameters are
replicated and the optimizer state is split over the data axis (ZeRO-1,
:func:`jaxsched.zero_sharding`). Prints ``RESULT {json}`` with the final parameters and
where the state lives.
"""

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import jaxsched
from jaxsched.sharding import zero_sharding

STEPS = 4


def problem():
    """Parameters and a batch of 16 examples, the same in every process."""
    rng = np.random.default_rng(0)
    params = {
        "w": rng.normal(size=(8, 4)).astype(np.float32),
        "b": np.zeros(4, np.float32),
    }
    x = rng.normal(size=(16, 8)).astype(np.float32)
    y = rng.normal(size=(16, 4)).astype(np.float32)
    return params, x, y


def loss(params, x, y):
    return jnp.mean((x @ params["w"] + params["b"] - y) ** 2)


def make_step(tx):
    def step(params, state, x, y):
        grads = jax.grad(loss)(params, x, y)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    return step


def make_tx():
    # Built after jax.distributed.initialize: building runs JAX code, which would start
    # the backend first.
    return jaxsched.adam(0.05)


def main(port: int, process_id: int) -> None:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=process_id
    )
    tx = make_tx()
    mesh = jax.make_mesh((jax.device_count(),), ("data",))
    params, x, y = problem()

    def global_array(value, spec):
        # Every process holds the whole value; each device takes its block.
        sharding = NamedSharding(mesh, spec)
        return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])

    with jax.set_mesh(mesh):
        params = jax.tree.map(lambda v: global_array(v, P()), params)
        x, y = global_array(x, P("data", None)), global_array(y, P("data", None))
        state_shardings = zero_sharding(jax.eval_shape(tx.init, params), mesh, "data")
        state = jax.jit(tx.init, out_shardings=state_shardings)(params)
        param_shardings = jax.tree.map(lambda p: p.sharding, params)
        train = jax.jit(make_step(tx), out_shardings=(param_shardings, state_shardings))
        for _ in range(STEPS):
            params, state = train(params, state, x, y)
        mu = state.inner_state[0].mu["w"]
        result = {
            "process": jax.process_index(),
            "devices": jax.device_count(),
            "local_devices": jax.local_device_count(),
            "params": {k: np.asarray(v.addressable_data(0)).tolist() for k, v in params.items()},
            "mu_spec": str(mu.sharding.spec),
            "mu_local_rows": [s.data.shape[0] for s in mu.addressable_shards],
        }
    print("RESULT " + json.dumps(result), flush=True)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
