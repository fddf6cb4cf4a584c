"""The composition cores on a device mesh, Explicit and Auto axes.

On a mesh with Explicit axes the sharding is part of an array's type, and
``jax.lax.cond`` needs both branches to return the same types. This module runs itself
in a subprocess with 8 host CPU devices (``XLA_FLAGS`` must be set before jax starts, and
the main pytest process keeps its one device), takes three jitted steps of each
wrapper, and of the rules that contract over the split dim (Muon, SOAP, Prodigy,
D-Adaptation), with parameters sharded ``P("x", None)``, and compares the updates with
the same steps without a mesh.
"""

import functools
import json
import os
import subprocess
import sys

import pytest

CASES = [
    "skip_nonfinite",
    "accumulate",
    "switch",
    "partition",
    "reduce_on_plateau",
    "shape_built_state",
    "muon",
    "soap",
    "prodigy",
    "dadapt_adam",
]
AXES = ["Explicit", "Auto"]
# Programs compiled for a mesh may round differently (an ulp); Newton-Schulz amplifies
# the rounding of the Gram matrices, whose sums the shards add in another order.
RTOL = {"muon": 1e-4}


def _build(name):
    import jax
    import jax.numpy as jnp
    import optax

    import jaxsched

    def shape_built_momentum():
        """A third-party rule that builds its state from shapes, without any sharding."""

        def init(params):
            return jax.tree.map(lambda p: jnp.zeros(p.shape, p.dtype), params)

        def update(updates, state, params=None):
            del params
            state = jax.tree.map(lambda b, g: 0.9 * b + g, state, updates)
            return state, state

        return optax.GradientTransformation(init, update)

    adam = jaxsched.adam(0.1)
    return {
        "skip_nonfinite": lambda: jaxsched.skip_nonfinite(adam),
        "accumulate": lambda: jaxsched.accumulate(adam, 2),
        "switch": lambda: jaxsched.switch(
            adam, jaxsched.sgd(0.1, momentum=0.9), on_plateau={"patience": 0}
        ),
        "partition": lambda: jaxsched.partition(
            {"w": adam, "b": jaxsched.sgd(0.1, momentum=0.9)}, {"w": "w", "b": "b"}
        ),
        "reduce_on_plateau": lambda: jaxsched.sgd(jaxsched.reduce_on_plateau(0.1, patience=0)),
        "shape_built_state": lambda: jaxsched.skip_nonfinite(shape_built_momentum()),
        # Rules that contract over the split dim (Gram products, dot products, whole-matrix
        # statistics). Muon in float32: a bfloat16 rounding may flip when the shards' sums
        # are added in another order. SOAP refreshes its bases at the third step; it
        # preconditions the 2-column side only, since the 16 x 16 statistic of a 16 x 2
        # gradient has rank 2 and the eigenvectors of its null space are arbitrary: an ulp
        # of difference in the sums XLA partitions under Auto axes gives another basis.
        "muon": lambda: jaxsched.muon(0.1, ns_dtype=jnp.float32, fallback=adam),
        "soap": lambda: jaxsched.soap(0.1, precondition_frequency=2, max_precond_dim=8),
        "prodigy": lambda: jaxsched.prodigy(weight_decay=0.1),
        "dadapt_adam": lambda: jaxsched.dadapt_adam(weight_decay=0.1),
    }[name]()


def _steps(name, params):
    """Three jitted steps (metrics 1, 2, 3: a plateau at the second; NaN grads at the second)."""
    import jax
    import jax.numpy as jnp

    tx = _build(name)
    state = tx.init(params)
    step = jax.jit(lambda g, s, v: tx.update(g, s, params, value=v))
    outs = []
    for i in range(3):
        grads = jax.tree.map(lambda p, i=i: 0.1 * p + i, params)
        if i == 1 and name in ("skip_nonfinite", "shape_built_state"):
            grads = jax.tree.map(lambda g: g * jnp.nan, grads)
        updates, state = step(grads, state, float(i + 1))
        outs.append(updates)
    return tx.init(params), state, outs


def _run_all():
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import AxisType, NamedSharding
    from jax.sharding import PartitionSpec as P

    w = jnp.arange(32.0).reshape(16, 2) / 32
    plain = {"w": w, "b": jnp.ones(2)}
    reference = {name: _steps(name, plain)[2] for name in CASES}  # no mesh
    results = {}
    for axis in AXES:
        mesh = jax.make_mesh((8,), ("x",), axis_types=(getattr(AxisType, axis),))
        with jax.set_mesh(mesh):
            params = {"w": jax.device_put(w, NamedSharding(mesh, P("x", None))), "b": plain["b"]}
            for name in CASES:
                try:
                    init_state, state, outs = _steps(name, params)
                    close = functools.partial(np.testing.assert_allclose, rtol=RTOL.get(name, 1e-6))
                    for got, ref in zip(outs, reference[name], strict=True):
                        jax.tree.map(close, got, ref)
                    if name != "shape_built_state":
                        for s in (init_state, state):
                            for leaf in jax.tree.leaves(s):
                                if leaf.shape == w.shape:
                                    sharded = leaf.sharding.is_equivalent_to(
                                        params["w"].sharding, leaf.ndim
                                    )
                                    assert sharded, f"state leaf sharded as {leaf.sharding}"
                    results[f"{axis}/{name}"] = "ok"
                except Exception as err:  # reported per case by the tests
                    results[f"{axis}/{name}"] = f"{type(err).__name__}: {err}"[:2000]
    print(json.dumps(results))


@pytest.fixture(scope="module")
def results():
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
        "JAX_PLATFORMS": "cpu",
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("case", CASES)
def test_jitted_steps_on_a_mesh_match_the_unsharded_ones(results, axis, case):
    assert results[f"{axis}/{case}"] == "ok"


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    _run_all()
