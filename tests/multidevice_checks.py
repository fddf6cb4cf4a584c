"""Multi-device checks on 8 simulated CPU devices, run by tests/test_multidevice.py.

They run in their own processes because the device count is fixed when JAX starts
(``XLA_FLAGS=--xla_force_host_platform_device_count=8``; the test suite keeps one device).
Every public transformation, optimizer and flavor of ``jaxsched``, ``jaxsched.transforms``,
``jaxsched.torch`` and ``jaxsched.keras`` is found by enumeration and built with minimal
arguments (``REQUIRED`` gives those that need some), plus the compositions in ``EXTRAS``.
For an Explicit and an Auto mesh, with parameters that hold a matrix split ``P("x",
None)``, a replicated matrix and a scalar (both cases in one state):

* ``init/...``: every state array with a parameter's shape has that parameter's sharding
  after ``tx.init(params)``, eagerly and under ``jit``; scalars are replicated.
* ``step/...``: a jitted update + ``apply_updates`` keeps every sharding. Under the
  Explicit mesh the shardings are part of the types, so tracing the step gives them;
  under the Auto mesh XLA chooses them, so the step is compiled and run.
* ``hlo/auto``: that compiled step has no collective on an array of a parameter's size
  or of a parameter shard's (a gathered state or parameter, an all-reduced gradient);
  scalar reductions (global norms), means over a split axis (gradient centralization)
  and Gram matrices (orthogonalization) are other sizes. A gather planted on purpose
  must be found.

All transformations are checked together in one program (each under a named scope, so
a collective names its transformation), which keeps the compile time down. Then
``zero/...`` (ZeRO-1 state: same numbers as unsharded, per-device state bytes / 8) and
``sweep/...`` (a sweep of 8 learning rates split over 8 devices equals 8 separate runs).

The work is split in two parts, run side by side (``main``); each prints one line
``RESULT {json}``: ``problems`` (check -> list of failures) and ``figures`` (measured
numbers). By hand: ``XLA_FLAGS=--xla_force_host_platform_device_count=8 python
tests/multidevice_checks.py 0`` (and ``1``).
"""

import json
import math
import re
import sys
import time
import types
import typing

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxsched
from jaxsched.sharding import zero_sharding
from jaxsched.sweep import sweep_init

NAMESPACES = {
    "jaxsched": jaxsched,
    "jaxsched.transforms": jaxsched.transforms,
    "jaxsched.torch": jaxsched.torch,
    "jaxsched.keras": jaxsched.keras,
}
LABELS = {"w": "a", "r": "b", "s": "b"}
MASK = {"w": True, "r": False, "s": True}
MATRICES = {"w": True, "r": True, "s": False}

REQUIRED = {
    "jaxsched.cautious": lambda: jaxsched.cautious(jaxsched.adam(1e-2)),
    "jaxsched.lars": lambda: jaxsched.lars(1e-2),
    "jaxsched.accumulate": lambda: jaxsched.accumulate(jaxsched.adam(1e-2), 2),
    "jaxsched.add_l1": lambda: jaxsched.add_l1(1e-3),
    "jaxsched.chain": lambda: jaxsched.chain(
        jaxsched.transforms.clip_by_global_norm(1.0), jaxsched.adam(1e-2)
    ),
    "jaxsched.lookahead": lambda: jaxsched.lookahead(jaxsched.sgd(0.1)),
    "jaxsched.masked": lambda: jaxsched.masked(jaxsched.adam(1e-2), MASK),
    "jaxsched.momentum": lambda: jaxsched.momentum(0.1),
    "jaxsched.nesterov": lambda: jaxsched.nesterov(0.1),
    "jaxsched.partition": lambda: jaxsched.partition(
        {"a": jaxsched.adam(1e-2), "b": jaxsched.sgd(0.1)}, LABELS
    ),
    "jaxsched.sgd": lambda: jaxsched.sgd(0.1),
    "jaxsched.skip_nonfinite": lambda: jaxsched.skip_nonfinite(jaxsched.adam(1e-2)),
    "jaxsched.switch": lambda: jaxsched.switch(jaxsched.adam(1e-2), jaxsched.sgd(0.1), 1),
    "jaxsched.with_hyperparams": lambda: jaxsched.with_hyperparams(
        lambda learning_rate: optax.sgd(learning_rate), learning_rate=0.1
    ),
    "jaxsched.transforms.add_decayed_weights": lambda: jaxsched.transforms.add_decayed_weights(
        1e-2
    ),
    "jaxsched.transforms.add_l1": lambda: jaxsched.transforms.add_l1(1e-3),
    "jaxsched.transforms.clip": lambda: jaxsched.transforms.clip(1.0),
    "jaxsched.transforms.clip_by_global_norm": lambda: jaxsched.transforms.clip_by_global_norm(1.0),
    "jaxsched.transforms.clip_by_norm": lambda: jaxsched.transforms.clip_by_norm(1.0),
    "jaxsched.transforms.cautious": lambda: jaxsched.transforms.cautious(jaxsched.adam(1e-2)),
    "jaxsched.transforms.descent": lambda: jaxsched.transforms.descent(
        jaxsched.transforms.scale_by_adam(), 1e-2
    ),
    "jaxsched.transforms.lookahead": lambda: jaxsched.transforms.lookahead(jaxsched.sgd(0.1)),
    "jaxsched.transforms.orthogonalize": lambda: jaxsched.masked(
        jaxsched.transforms.orthogonalize(), MATRICES
    ),
    "jaxsched.muon": lambda: jaxsched.muon(fallback=jaxsched.adam(1e-2)),
    "jaxsched.torch.Muon": lambda: jaxsched.masked(jaxsched.torch.Muon(), MATRICES),
    "jaxsched.keras.LossScaleOptimizer": lambda: jaxsched.keras.LossScaleOptimizer(
        jaxsched.keras.Adam()
    ),
    "jaxsched.keras.MultiOptimizer": lambda: jaxsched.keras.MultiOptimizer(
        jaxsched.keras.OptimizerMap(jaxsched.keras.SGD(), {"w": jaxsched.keras.Adam()})
    ),
    "jaxsched.flat": lambda: jaxsched.flat(jaxsched.adam(1e-2)),
    "jaxsched.quantized_state": lambda: jaxsched.quantized_state(jaxsched.adam(1e-2)),
    "jaxsched.transforms.scale": lambda: jaxsched.transforms.scale(0.5),
    "jaxsched.transforms.schedule_free": lambda: jaxsched.transforms.schedule_free(1e-2),
    "jaxsched.transforms.scale_by_learning_rate": lambda: (
        jaxsched.transforms.scale_by_learning_rate(0.1)
    ),
    "jaxsched.transforms.trace": lambda: jaxsched.transforms.trace(0.9),
}
# Public callables that do not build a transformation (schedules are recognised by
# being exported from the schedule modules).
NOT_TRANSFORMATIONS = {
    "jaxsched.ema_params",
    "jaxsched.estimated_step_size",
    "jaxsched.schedule_free_eval_params",
    "jaxsched.apply_updates",
    "jaxsched.check_finite_state",
    "jaxsched.decay_mask",
    "jaxsched.hyperparams",
    "jaxsched.path_labels",
    "jaxsched.reduce_on_plateau",
    "jaxsched.set_hyperparams",
    "jaxsched.sweep_init",
    "jaxsched.switch_step",
    "jaxsched.zero_sharding",
    "jaxsched.keras.ReduceLROnPlateau",
    "jaxsched.keras.scale_loss",
    "jaxsched.transforms.adopt_clip",
    "jaxsched.transforms.averaged_params",
    "jaxsched.transforms.estimated_step_size",
    "jaxsched.transforms.schedule_free_eval_params",
    "jaxsched.transforms.decay_mask",
    "jaxsched.transforms.global_norm",
}
# Compositions and options whose state or step differ from the defaults'.
EXTRAS = {
    "adam(reduce_on_plateau)": lambda: jaxsched.adam(jaxsched.reduce_on_plateau(1e-2)),
    "adamw(amsgrad)": lambda: jaxsched.adamw(1e-2, amsgrad=True),
    # w has 96 entries over 8 devices: blocks of 12 keep each shard's blocks whole.
    "quantized_state(adam, 8-bit)": lambda: jaxsched.quantized_state(
        jaxsched.adam(1e-2), block_size=12, min_size=0
    ),
    # Blocks of 10 do not divide w's shards: w is gathered, coded, and split again.
    "quantized_state(adam, 8-bit, short last block)": lambda: jaxsched.quantized_state(
        jaxsched.adam(1e-2), block_size=10, min_size=0
    ),
    "quantized_state(adam, bf16)": lambda: jaxsched.quantized_state(
        jaxsched.adam(1e-2), bits=16, min_size=0
    ),
    "switch(on_plateau)": lambda: jaxsched.switch(
        jaxsched.adam(1e-2), jaxsched.sgd(0.1), on_plateau={"patience": 0}
    ),
    "partition(swats, freeze)": lambda: jaxsched.partition(
        {"a": jaxsched.swats(1e-2), "b": jaxsched.freeze()}, LABELS
    ),
    "lookahead(ranger)": lambda: jaxsched.lookahead(jaxsched.ranger(1e-2)),
    "accumulate(skip_nonfinite(lion))": lambda: jaxsched.accumulate(
        jaxsched.skip_nonfinite(jaxsched.lion(1e-3)), 2
    ),
    "masked(rmsprop)": lambda: jaxsched.masked(jaxsched.rmsprop(1e-2), MASK),
    "torch.SGD(momentum, weight_decay)": lambda: jaxsched.torch.SGD(
        lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2
    ),
    "keras.AdamW(global_clipnorm)": lambda: jaxsched.keras.AdamW(global_clipnorm=1.0),
}


def catalogue() -> tuple[dict, list[str]]:
    """Every public transformation, by qualified name, and the names that could not be
    classified (a new public name must be added to REQUIRED or NOT_TRANSFORMATIONS)."""
    schedules = set()
    for module in (jaxsched.schedules, jaxsched.keras.schedules, jaxsched.torch.lr_scheduler):
        schedules |= {id(v) for v in vars(module).values()}
    found, problems = {}, []
    for prefix, module in NAMESPACES.items():
        for name, obj in sorted(vars(module).items()):
            qualified = f"{prefix}.{name}"
            if (
                name.startswith("_")
                or isinstance(obj, (type, types.ModuleType))
                or typing.get_origin(obj) is not None
                or not callable(obj)
                or id(obj) in schedules
                or qualified in NOT_TRANSFORMATIONS
            ):
                continue
            try:
                tx = REQUIRED[qualified]() if qualified in REQUIRED else obj()
            except Exception as err:  # reported, and the other transformations go on
                hint = "; add it to REQUIRED" if isinstance(err, TypeError) else ""
                problems.append(f"{qualified}: cannot build it ({err}){hint}")
                continue
            if isinstance(tx, optax.GradientTransformation):
                found[qualified] = tx
            else:
                problems.append(f"{qualified}: not a transformation; add to NOT_TRANSFORMATIONS")
    for name, make in EXTRAS.items():
        try:
            found[name] = make()
        except Exception as err:  # reported, and the other transformations go on
            problems.append(f"{name}: cannot build it ({err})")
    return found, problems


def make_mesh(kind: str, name: str = "x") -> jax.sharding.Mesh:
    types_ = {"explicit": AxisType.Explicit, "auto": AxisType.Auto}
    return jax.make_mesh((8,), (name,), axis_types=(types_[kind],))


def make_params(mesh) -> dict:
    """A matrix split ``P("x", None)`` (2 rows per device), a replicated one, a scalar."""
    put = lambda x, s: jax.device_put(x, NamedSharding(mesh, s))  # noqa: E731
    return {
        "w": put(jnp.linspace(-1.0, 1.0, 96).reshape(16, 6), P("x", None)),
        "r": put(jnp.linspace(0.5, -0.5, 80).reshape(16, 5), P()),
        "s": put(jnp.asarray(0.3), P()),
    }


def path(p) -> str:
    return jax.tree_util.keystr(p)


def state_problems(where: str, state, params, mesh) -> list[str]:
    """Parameter-shaped arrays have their parameter's sharding; scalars are replicated."""
    by_shape = {p.shape: p.sharding for p in jax.tree.leaves(params) if p.ndim}
    replicated = NamedSharding(mesh, P())
    out = []
    for key, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        if not isinstance(leaf, jax.Array):
            out.append(f"{where}{path(key)}: a {type(leaf).__name__}, not an array")
            continue
        # Arrays of other shapes (factored second moments, preconditioner matrices) have
        # no parameter to follow; the step check still sees that they keep their sharding.
        want = replicated if leaf.ndim == 0 else by_shape.get(leaf.shape)
        if want is not None and not leaf.sharding.is_equivalent_to(want, leaf.ndim):
            out.append(f"{where}{path(key)}: {leaf.sharding.spec}, expected {want.spec}")
    return out


def spec_of(x) -> tuple:
    """The partition spec of an array or ShapeDtypeStruct, one entry per dimension."""
    spec = tuple(x.sharding.spec)
    return spec + (None,) * (len(x.shape) - len(spec))


def same_shardings(where: str, got, want) -> list[str]:
    out = []
    pairs = zip(jax.tree_util.tree_flatten_with_path(got)[0], jax.tree.leaves(want))
    for (key, g), w in pairs:
        if spec_of(g) != spec_of(w):
            out.append(
                f"{where}{path(key)}: {P(*spec_of(g))} after the step, was {w.sharding.spec}"
            )
    return out


# Gathers by design, which the collective check skips (the sharding checks do not): SOAP
# (the optimizer and its block) rotates whole gradients into the eigenbases of their
# statistics (docs/multidevice.md); 8-bit blocks that do not divide a leaf's shards are
# coded from the whole leaf (quantized_state's docstring).
GATHERED_BY_DESIGN = {
    "jaxsched.soap",
    "jaxsched.transforms.scale_by_soap",
    "quantized_state(adam, 8-bit, short last block)",
}
# The backend's optimisation level changes neither the partitioning nor its collectives,
# and lowering it takes a third off the compile time of the big step program.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
COLLECTIVE = re.compile(
    r"=\s*(?P<type>.*?)\s(?P<op>all-gather|all-reduce|reduce-scatter|all-to-all|"
    r"collective-permute)(-start)?\("
)


def state_sized_collectives(hlo: str, sizes: set[int]) -> list[str]:
    """Collectives on an array with as many elements as a parameter or a parameter's shard
    (a gathered state or parameter, a reduced full gradient), with their op names."""
    out = []
    for line in hlo.splitlines():
        match = COLLECTIVE.search(line)
        if not match:
            continue
        counts = {
            math.prod(int(d) for d in dims.split(",") if d)
            for dims in re.findall(r"[a-z]\w*\[([\d,]*)\]", match["type"])
        }
        if counts & sizes:
            name = re.search(r'op_name="([^"]*)"', line)
            out.append(f"{match['op']} {match['type']} in {name[1] if name else '?'}")
    return out


def shard_size(array) -> int:
    return array.addressable_shards[0].data.size


def scope(name: str) -> str:
    return re.sub(r"\W+", "_", name)


def step_program(txs: dict):
    """One jitted-step body for all ``txs``: gradients, update, ``apply_updates``."""

    def step_all(params, states, value):
        out = {}
        for name, tx in txs.items():
            with jax.named_scope(scope(name)):
                grads = jax.tree.map(lambda p: 0.1 * jnp.cos(p) + 0.05, params)
                tx = optax.with_extra_args_support(tx)
                updates, state = tx.update(grads, states[name], params, value=value)
                out[name] = (optax.apply_updates(params, updates), state)
        return out

    return step_all


def check_transformations(txs: dict, kind: str, problems: dict) -> None:
    mesh = make_mesh(kind)
    with jax.set_mesh(mesh):
        params = make_params(mesh)
        states, init_eager, init_jit, step = {}, [], [], []
        for name, tx in txs.items():
            try:
                states[name] = tx.init(params)
            except Exception as err:  # reported, and the other transformations go on
                init_eager.append(f"{name}: init failed: {type(err).__name__}: {err}")
                continue
            init_eager += state_problems(f"{name}: ", states[name], params, mesh)
            leaves = jax.tree.leaves(states[name])
            if len({id(x) for x in leaves}) < len(leaves):
                # XLA refuses to donate one buffer twice: the state could not be donated.
                init_eager.append(f"{name}: the state holds one array in several places")
        live = {n: t for n, t in txs.items() if n in states}
        jitted = jax.jit(lambda p: {n: t.init(p) for n, t in live.items()})(params)
        for name, state in jitted.items():
            init_jit += state_problems(f"{name}: ", state, params, mesh)
        problems[f"init/{kind}/eager"] = init_eager
        problems[f"init/{kind}/jit"] = init_jit

        value = jnp.asarray(1.0)

        def trace(txs):
            # Under the Explicit mesh the shardings are part of the types: tracing gives
            # those of the step's outputs. Under the Auto mesh XLA chooses them: lower, to
            # compile and run below.
            program = step_program(txs)
            if kind == "explicit":
                return jax.eval_shape(program, params, states, value)
            return jax.jit(program).lower(params, states, value)

        try:
            traced = trace(live)
        except Exception:
            # A sharding error of one transformation stops the trace of all: find the
            # culprits one by one (tracing only) and check the others together.
            for name, tx in list(live.items()):
                try:
                    jax.eval_shape(step_program({name: tx}), params, {name: states[name]}, value)
                except Exception as err:
                    step.append(f"{name}: the step fails: {type(err).__name__}: {err}")
                    del live[name], states[name]
            traced = trace(live)
        if kind == "explicit":
            stepped = traced
        else:
            compiled = traced.compile(FAST_COMPILE)
            stepped = compiled(params, states, value)
            problems["hlo/auto"] = hlo_problems(compiled.as_text(), params, mesh)
        for name, (new_params, new_state) in stepped.items():
            step += same_shardings(f"{name}: params", new_params, params)
            step += same_shardings(f"{name}: state", new_state, states[name])
        problems[f"step/{kind}"] = step


def hlo_problems(hlo: str, params, mesh) -> list[str]:
    """State-sized collectives in a compiled step; a planted gather must be found."""
    sizes = {n for p in jax.tree.leaves(params) if p.ndim for n in (p.size, shard_size(p))}
    exempt = {scope(name) for name in GATHERED_BY_DESIGN}
    out = [
        c
        for c in state_sized_collectives(hlo, sizes)
        if not any(f"/{name}/" in c for name in exempt)
    ]
    replicated = NamedSharding(mesh, P())
    gather = jax.jit(
        lambda p: jax.tree.map(lambda x: 2 * jax.lax.with_sharding_constraint(x, replicated), p)
    )
    if not state_sized_collectives(gather.lower(params).compile().as_text(), sizes):
        out.append("the check missed a planted all-gather")
    return out


def device_bytes(tree, device) -> int:
    """Bytes of ``tree`` held on ``device`` (sum of its shards there)."""
    return sum(
        s.data.nbytes
        for leaf in jax.tree.leaves(tree)
        for s in leaf.addressable_shards
        if s.device == device
    )


def mlp_loss(params, x, y):
    hidden = jnp.tanh(x @ params["w1"] + params["b1"])
    return jnp.mean((hidden @ params["w2"] + params["b2"] - y) ** 2)


def mlp_problem():
    keys = jax.random.split(jax.random.key(0), 4)
    params = {
        "w1": jax.random.normal(keys[0], (32, 64)) / 6,
        "b1": jnp.zeros(64),
        "w2": jax.random.normal(keys[1], (64, 8)) / 8,
        "b2": jnp.zeros(8),
    }
    x = jax.random.normal(keys[2], (64, 32))
    y = jax.random.normal(keys[3], (64, 8))
    return params, x, y


def check_zero(kind: str, problems: dict, figures: dict) -> None:
    """ZeRO-1 adam: the numbers of an unsharded run, 1/8 of the state bytes per device."""
    steps = 5
    tx = jaxsched.adam(1e-2)
    params, x, y = mlp_problem()

    def step(params, state, x, y):
        grads = jax.grad(mlp_loss)(params, x, y)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    ref_params, ref_state = params, tx.init(params)
    for _ in range(steps):
        ref_params, ref_state = jax.jit(step)(ref_params, ref_state, x, y)

    mesh = make_mesh(kind, "data")
    out = []
    with jax.set_mesh(mesh):
        replicated = NamedSharding(mesh, P())
        p = jax.device_put(params, replicated)
        batch = NamedSharding(mesh, P("data", None))
        xs, ys = jax.device_put(x, batch), jax.device_put(y, batch)
        full_state = tx.init(p)
        shardings = zero_sharding(full_state, mesh, "data")
        state = jax.device_put(full_state, shardings)
        param_shardings = jax.tree.map(lambda _: replicated, p)
        train = jax.jit(step, out_shardings=(param_shardings, shardings))
        for _ in range(steps):
            p, state = train(p, state, xs, ys)
        for key, got in jax.tree_util.tree_flatten_with_path(p)[0]:
            want = ref_params[key[0].key]
            if not np.allclose(got, want, rtol=1e-5, atol=1e-6):
                err = float(np.max(np.abs(np.asarray(got) - np.asarray(want))))
                out.append(f"params{path(key)} differ from the unsharded run by {err:.2e}")
        out += same_shardings("zero state", state, jax.device_put(full_state, shardings))
        device = jax.devices()[0]
        before, after = device_bytes(full_state, device), device_bytes(state, device)
        ratio = before / after
        figures[f"zero/{kind}/state_bytes_per_device"] = [before, after]
        figures[f"zero/{kind}/ratio"] = round(ratio, 3)
        if ratio < 7.5:
            out.append(f"per-device state bytes fell {ratio:.2f}x ({before} -> {after}), not ~8x")
    problems[f"zero/{kind}"] = out


SWEEP_PARAMS = {"w": jnp.linspace(-1.0, 1.0, 48).reshape(8, 6), "b": jnp.linspace(0.0, 1.0, 8)}
SWEPT = jaxsched.adam(1.0, weight_decay=1e-2)


def sweep_step(params, state):
    """A step on ``sum(c * (p - 0.25)^2) / 2``: elementwise, so vmap cannot reorder a sum."""
    grads = jax.tree.map(lambda p: (1.0 + jnp.abs(jnp.sin(7.0 * p))) * (p - 0.25), params)
    updates, state = SWEPT.update(grads, state, params)
    return optax.apply_updates(params, updates), state


def check_sweep(kind: str, problems: dict) -> None:
    """8 learning rates split over 8 devices: the numbers of 8 separate runs."""
    rates = [1e-3 * 2**i for i in range(8)]
    # One configuration at a time, unsharded (tests/test_multidevice.py also compares with
    # optimizers built with each rate).
    want = []
    for rate in rates:
        params = SWEEP_PARAMS
        state = jaxsched.set_hyperparams(SWEPT.init(params), learning_rate=rate)
        for _ in range(4):
            params, state = jax.jit(sweep_step)(params, state)
        want.append(params)
    mesh = make_mesh(kind, "sweep")
    out = []
    with jax.set_mesh(mesh):
        params_n, state_n = sweep_init(
            SWEPT, SWEEP_PARAMS, mesh=mesh, axis="sweep", learning_rate=rates
        )
        train = jax.jit(jax.vmap(sweep_step))
        for _ in range(4):
            params_n, state_n = train(params_n, state_n)
        for key, leaf in jax.tree_util.tree_flatten_with_path(params_n)[0]:
            if not leaf.sharding.is_equivalent_to(NamedSharding(mesh, P("sweep")), leaf.ndim):
                out.append(f"params{path(key)}: {leaf.sharding.spec}, expected P('sweep', ...)")
            if {s.data.shape[0] for s in leaf.addressable_shards} != {1}:
                out.append(f"params{path(key)}: not one configuration per device")
        for i, single in enumerate(want):
            got = jax.tree.map(lambda a, i=i: np.asarray(a)[i], params_n)
            for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(single)):
                if not np.allclose(a, b, rtol=1e-6, atol=1e-7):
                    err = float(np.max(np.abs(a - np.asarray(b))))
                    out.append(f"configuration {i} (learning_rate={rates[i]}) differs by {err:.1e}")
                    break
        lrs = np.asarray(jaxsched.hyperparams(state_n)["learning_rate"])
        if not np.allclose(lrs, rates):
            out.append(f"hyperparams(state_n) gives {lrs}, expected {rates}")
    problems[f"sweep/{kind}"] = out


def guarded(problems: dict, names: list[str], check, *args) -> None:
    """Runs ``check(*args)``; an exception becomes the problem of its unfinished checks."""
    try:
        check(*args)
    except Exception as err:
        for name in names:
            problems.setdefault(name, [f"raised {type(err).__name__}: {err}"])


def main(part: int) -> None:
    """Part 0 or 1 of the checks, run side by side: every other transformation under both
    meshes; the catalogue, ZeRO-1 and sweep under the Explicit mesh (part 0) or Auto (1)."""
    start = time.perf_counter()
    problems, figures = {}, {}
    txs, catalogue_problems = catalogue()
    mine = dict(list(txs.items())[part::2])
    figures[f"transformations/{part}"] = len(mine)
    for kind in ("explicit", "auto"):
        names = [f"init/{kind}/eager", f"init/{kind}/jit", f"step/{kind}"]
        names += ["hlo/auto"] * (kind == "auto")
        guarded(problems, names, check_transformations, mine, kind, problems)
    kind = ("explicit", "auto")[part]
    if part == 0:
        problems["catalogue"] = catalogue_problems
    guarded(problems, [f"zero/{kind}"], check_zero, kind, problems, figures)
    guarded(problems, [f"sweep/{kind}"], check_sweep, kind, problems)
    figures[f"cpu_seconds/{part}"] = round(time.process_time(), 1)
    figures[f"seconds/{part}"] = round(time.perf_counter() - start, 1)
    print("RESULT " + json.dumps({"problems": problems, "figures": figures}))


if __name__ == "__main__":
    if jax.device_count() != 8:
        sys.exit(f"expected 8 devices, got {jax.device_count()} (XLA_FLAGS set too late?)")
    main(int(sys.argv[1]))
