"""Adafactor: jaxsched.torch.Adafactor against the real torch.optim.Adafactor, and the
native block and optimizer's own options.

Each plan of :func:`parity.option_plans` (no option, each alone, all together) runs 100
steps on leaves of 0 to 3 dimensions, with arguments drawn afresh every run
(``JAXSCHED_SEED`` replays a run) and torch's for-loop and foreach paths in turn.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from parity import (
    SEED,
    Flavor,
    Problem,
    assert_trajectories_close,
    jaxsched_trajectories,
    log_uniform,
    note,
    rng,
    torch_trajectory,
    uniform,
)

import jaxsched
from jaxsched.optimizers._adafactor import adafactor
from jaxsched.transforms._adafactor import scale_by_factored_rms

torch = pytest.importorskip("torch")

SHAPES = ((5,), (3, 4), (2, 3, 2), (), (4, 1))

TORCH_ADAFACTOR = Flavor(
    # lr above 0.1 in every other plan, so min(lr, 1/sqrt(t)) switches within 100 steps;
    # eps2 above the parameters' RMS in every other plan, so its floor is used.
    lambda r, i: dict(
        lr=[log_uniform(r, 1e-3, 5e-2), uniform(r, 0.15, 0.5)][i % 2],
        beta2_decay=uniform(r, -1.0, -0.3),
        eps=(None, [log_uniform(r, 1e-4, 1e-2), uniform(r, 1.0, 3.0)][(i // 2) % 2]),
    ),
    {
        "weight_decay": lambda r: {"weight_decay": uniform(r, 0.05, 0.5)},
        # Ascent grows the parameters, and with them Adafactor's step (it scales with
        # RMS(p)): a small lr keeps that growth, and float32's compounding error, modest.
        "maximize": lambda r: {"maximize": True, "lr": log_uniform(r, 1e-3, 2e-2)},
        # eps1 large enough that torch's floors on mean(R) and V bind.
        "eps1": lambda r: {"eps": (log_uniform(r, 1e-3, 0.3), uniform(r, 1e-3, 1e-2))},
        "d": lambda r: {"d": uniform(r, 1.0, 1.5)},
    },
)


def test_torch_adafactor_matches_torch(record_parity):
    runs = []
    for i, plan in enumerate(TORCH_ADAFACTOR.plans()):
        kw = TORCH_ADAFACTOR.draw(rng("Adafactor", i), i, plan)
        flags = [{}, {"foreach": True}, {"foreach": False}][(i + SEED) % 3]
        note(f"plan {i}", (plan, kw, flags))
        runs.append(
            (
                plan,
                kw,
                flags,
                Problem(rng("Adafactor", i, "problem"), SHAPES, ascent=kw.get("maximize", False)),
            )
        )
    got = jaxsched_trajectories(
        [run[3] for run in runs], [jaxsched.torch.Adafactor(**run[1], **run[2]) for run in runs]
    )
    failures = []
    for (plan, kw, flags, problem), (traj, _, _) in zip(runs, got, strict=True):
        want = torch_trajectory(
            problem, lambda params, kw=kw, flags=flags: torch.optim.Adafactor(params, **kw, **flags)
        )
        try:
            error = assert_trajectories_close(traj, want, label=f"Adafactor {plan} {kw} {flags}")
        except AssertionError as e:
            failures.append(str(e))
        else:
            record_parity("torch.Adafactor", error)
    if failures:
        raise AssertionError("\n\n".join(failures))


def test_torch_adafactor_state_keys_and_errors():
    params = [jnp.ones((2, 3)), jnp.ones(3)]
    state = jaxsched.torch.Adafactor(weight_decay=0.1).init(params)
    assert sorted(jaxsched.hyperparams(state)) == [
        "clip_threshold",
        "decay_rate",
        "learning_rate",
        "min_scale",
        "weight_decay",
    ]
    assert "eps" in jaxsched.hyperparams(jaxsched.torch.Adafactor(eps=(1e-3, 1e-3)).init(params))
    for kw, match in [
        ({"d": 0.5}, r"d must be a number in \[1, inf\)"),
        ({"beta2_decay": 0.1}, "beta2_decay must be"),
        ({"eps": (-1.0, 1e-3)}, r"eps\[0\] must be"),
        ({"eps": (None, -1.0)}, r"eps\[1\] must be"),
        ({"lr": -1.0}, "lr must be"),
        ({"weight_decay": float("nan")}, "weight_decay must be"),
    ]:
        with pytest.raises(ValueError, match=match):
            jaxsched.torch.Adafactor(**kw)
    with pytest.raises(TypeError, match="maximize must be True or False"):
        jaxsched.torch.Adafactor(maximize=1)
    tx = jaxsched.torch.Adafactor()
    with pytest.raises(ValueError, match="min_scale"):
        tx.update(params, tx.init(params))


def test_factored_moments_have_row_and_column_shapes():
    params = {"m": jnp.zeros((2, 3, 4)), "v": jnp.zeros(4), "s": jnp.zeros(())}
    state = scale_by_factored_rms().init(params).inner_state
    assert state.row["m"].shape == (2, 3) and state.col["m"].shape == (2, 4)
    assert state.nu["m"].size == 0 and state.nu["v"].shape == (4,) and state.nu["s"].shape == ()
    full = scale_by_factored_rms(factored=False).init(params).inner_state
    assert full.nu["m"].shape == (2, 3, 4) and full.row["m"].size == 0
    with pytest.raises(ValueError, match="shape"):
        scale_by_factored_rms().update(
            {**params, "m": jnp.zeros((2, 4, 3))}, scale_by_factored_rms().init(params)
        )


def test_factored_estimate_is_exact_for_rank_one_squares():
    # g^2 = a b^T: the row and column means recover every entry, so u = sign(g).
    g = jnp.outer(jnp.array([1.0, -2.0, 3.0]), jnp.array([0.5, 4.0]))
    tx = scale_by_factored_rms(eps=0.0, clip_threshold=None)
    u, _ = tx.update(g, tx.init(g))
    np.testing.assert_allclose(u, jnp.sign(g), rtol=1e-6)


def test_added_eps_keeps_zero_gradient_rows_finite():
    """The paper's (and HF's) ``g^2 + eps``: a row and a column of exact zeros give
    positive factors, so their updates are exactly 0 and every other one is finite."""
    g = jnp.array([[1.0, 0.0, -2.0], [0.0, 0.0, 0.0], [0.5, 0.0, 3.0]])
    tx = scale_by_factored_rms(clip_threshold=None)
    state = tx.init(g)
    for _ in range(3):
        u, state = tx.update(g, state)
        assert np.all(np.isfinite(u))
        np.testing.assert_array_equal(u[1], 0.0)
        np.testing.assert_array_equal(u[:, 1], 0.0)
        np.testing.assert_array_equal(np.sign(u), np.sign(g))


def test_native_options():
    p = jnp.array([[3.0, -1.0], [0.5, 2.0]])
    g = jnp.array([[1.0, -2.0], [0.25, 4.0]])
    # decay_rate 0: beta2 = 0, V = g^2 (unfactored), so an unclipped, unscaled step is signSGD.
    tx = adafactor(0.1, 0.0, 0.0, None, None, relative_step=False, factored=False)
    u, _ = tx.update(g, tx.init(p))
    np.testing.assert_allclose(u, -0.1 * jnp.sign(g))
    tx = adafactor(0.1, 0.0, 0.0, None, None, relative_step=False, maximize=True, factored=False)
    np.testing.assert_allclose(tx.update(g, tx.init(p))[0], 0.1 * jnp.sign(g))
    # Decoupled weight decay: lr * wd * p (torch), or step size * wd * p (HF); masked.
    for decay_by in ("learning_rate", "step_size"):
        tx = adafactor(
            0.1, 0.0, 0.0, None, 2.0, None, 0.5, decay_by=decay_by, mask=[True], factored=False
        )
        u, _ = tx.update([g], tx.init([p]), [p])
        scale = 2.0  # the floor min_scale: RMS(p) is 1.89
        c = 0.1 if decay_by == "learning_rate" else 0.1 * scale
        np.testing.assert_allclose(u[0], -(0.1 * scale * jnp.sign(g) + 0.5 * c * p), rtol=1e-6)
    tx = adafactor(weight_decay=0.5, min_scale=None, mask=[False], factored=False)
    u, _ = tx.update([g], tx.init([p]), [p])
    np.testing.assert_allclose(u[0], -0.01 * g / jnp.sqrt(g**2 + 1e-30), rtol=1e-6)
    # Momentum of the scaled step, no bias correction.
    tx = adafactor(0.1, 0.0, 0.0, None, None, 0.9, relative_step=False, factored=False)
    u, _ = tx.update(g, tx.init(p))
    np.testing.assert_allclose(u, -0.1 * 0.1 * jnp.sign(g), rtol=1e-6)
    # Relative step: min(lr, 1/sqrt(t)); lr=0.7 is capped from t = 3 on.
    tx = adafactor(0.7, 0.0, 0.0, None, None, factored=False)
    state = tx.init(p)
    for t in range(1, 5):
        u, state = tx.update(g, state)
        np.testing.assert_allclose(u, -min(0.7, t**-0.5) * jnp.sign(g), rtol=1e-6)


def test_native_adafactor_jits_and_vmaps_over_settings():
    params = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}

    def run(lr):
        tx = adafactor(lr)
        state = tx.init(params)
        u, state = tx.update(jax.tree.map(jnp.ones_like, params), state, params)
        return u["w"][0, 0], jaxsched.hyperparams(state)["learning_rate"]

    steps, lrs = jax.jit(jax.vmap(run))(jnp.array([1e-3, 1e-2]))
    np.testing.assert_allclose(lrs, [1e-3, 1e-2])
    np.testing.assert_allclose(steps, [-1e-3, -1e-2], rtol=1e-6)


def test_bf16_parameters_keep_float32_moments():
    params = jnp.ones((4, 3), jnp.bfloat16)
    tx = jaxsched.torch.Adafactor()
    state = tx.init(params)
    u, state = tx.update(params, state, params)
    assert u.dtype == jnp.bfloat16
    inner = state.inner_state[0]
    assert inner.row.dtype == jnp.float32 and inner.col.dtype == jnp.float32


EMPTY_SHAPES = ((0, 4), (4, 0), (0, 0), (2, 0, 3), (0,))


@pytest.mark.parametrize(
    "make",
    [
        lambda: scale_by_factored_rms(),
        lambda: scale_by_factored_rms(eps_mode="clamp", eps=None),
        lambda: jaxsched.torch.Adafactor(lr=1e-2),
        lambda: jaxsched.hf.Adafactor(lr=1e-3, relative_step=False, scale_parameter=False),
    ],
    ids=["add", "clamp", "torch", "hf"],
)
def test_zero_size_leaves_get_empty_updates_and_leave_the_rest_unchanged(make):
    """Regression: a zero-size matrix went down the factored path, whose factors are
    means over an empty axis (NaN in the state), and a (0, 0) leaf was refused."""
    r = rng("adafactor empty")
    full = {"w": jnp.asarray(r.normal(size=(3, 4)), jnp.float32), "b": jnp.ones(3)}
    empty = {f"e{i}": jnp.zeros(s) for i, s in enumerate(EMPTY_SHAPES)}
    grads = [jnp.asarray(r.normal(size=(3, 4)), jnp.float32) for _ in range(4)]

    def run(params):
        tx = make()

        def body(state, g):
            tree = jax.tree.map(jnp.zeros_like, params) | {"w": g, "b": g[0, :3]}
            u, state = tx.update(tree, state, params)
            return state, u

        return jax.jit(lambda s: jax.lax.scan(body, s, jnp.stack(grads)))(tx.init(params))

    state, updates = run(full | empty)
    _, want = run(full)
    for name, shape in zip(empty, EMPTY_SHAPES):
        assert updates[name].shape == (len(grads), *shape)
    for name in full:  # equal up to XLA fusing a different program
        np.testing.assert_allclose(updates[name], want[name], rtol=1e-6, atol=1e-9)
    # The whole state stays finite, the per-leaf step sizes (RMS of no elements) too.
    floats = [x for x in jax.tree.leaves(state) if jnp.issubdtype(x.dtype, jnp.floating)]
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in floats), state
