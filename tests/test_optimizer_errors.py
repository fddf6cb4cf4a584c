"""Invalid hyperparameters of the optimizers raise ValueError at construction, naming them."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
import jaxsched.transforms as jt

CASES = [
    # native aliases and building blocks
    (lambda: jaxsched.adagrad(-0.1), "learning_rate must be a number in \\[0, inf\\)"),
    (lambda: jaxsched.adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (lambda: jaxsched.adagrad(lr_decay=-0.1), "lr_decay must be a number in \\[0, inf\\)"),
    (lambda: jaxsched.adagrad(eps=-1e-7), "eps must be a number in"),
    (lambda: jaxsched.rmsprop(decay=1.5), "decay must be a number in \\[0, 1\\]"),
    (lambda: jaxsched.rmsprop(momentum=-0.5), "momentum must be a number in \\[0, 1\\]"),
    (lambda: jaxsched.rmsprop(nesterov=True), "nesterov=True needs a momentum"),
    (lambda: jaxsched.rmsprop(initial_scale=-1.0), "initial_scale"),
    (lambda: jaxsched.adadelta(rho=1.1), "rho must be a number in \\[0, 1\\]"),
    (lambda: jaxsched.adadelta(weight_decay=-0.1), "weight_decay must be a number in"),
    (lambda: jaxsched.adamax(b1=1.0), "b1 must be a number in \\[0, 1\\)"),
    (lambda: jaxsched.nadam(momentum_decay=-4e-3), "momentum_decay must be a number in \\[0,"),
    (lambda: jaxsched.nadam(b2=1.0), "b2 must be a number in \\[0, 1\\)"),
    (lambda: jaxsched.radam(threshold=3.0), "threshold must be a number in \\[4, inf\\)"),
    (lambda: jaxsched.radam(eps=float("nan")), "eps must be a number in"),
    (lambda: jaxsched.amsgrad(b2=-0.5), "b2 must be a number in"),
    (lambda: jaxsched.asgd(lambd=-1e-4), "lambd must be a number in"),
    (lambda: jaxsched.asgd(alpha=-0.75), "alpha must be a number in"),
    (lambda: jaxsched.rprop(eta_minus=1.0), "eta_minus must be a number in \\(0, 1\\)"),
    (lambda: jaxsched.rprop(eta_plus=1.0), "eta_plus must be a number in \\(1, inf\\)"),
    (lambda: jaxsched.rprop(min_step_size=-1e-6), "min_step_size must be a number in"),
    (lambda: jaxsched.rprop(min_step_size=1.0, max_step_size=0.5), "must not exceed"),
    (lambda: jaxsched.lion(b1=0.0), "b1 must be a number in \\(0, 1\\]"),
    (lambda: jaxsched.lion(b2=1.5), "b2 must be a number in \\[0, 1\\]"),
    (lambda: jaxsched.ftrl(0.0), "learning_rate must be a number in \\(0, inf\\)"),
    (lambda: jaxsched.ftrl(learning_rate_power=0.5), "learning_rate_power must be a number in"),
    (lambda: jaxsched.ftrl(l1=-0.1), "l1 must be a number in"),
    (lambda: jaxsched.ftrl(l2_shrinkage=-0.1), "l2_shrinkage must be a number in"),
    (lambda: jaxsched.ftrl(beta=-1.0), "beta must be a number in"),
    (lambda: jaxsched.lookahead(jaxsched.sgd(0.1), 0), "sync_period must be an integer >= 1"),
    (lambda: jaxsched.lookahead(jaxsched.sgd(0.1), 5, 1.5), "slow_step_size must be a number in"),
    (lambda: jaxsched.ranger(b1=1.0), "b1 must be a number in"),
    (lambda: jaxsched.ranger(sync_period=0), "sync_period"),
    (lambda: jaxsched.ranger(slow_step_size=-0.5), "slow_step_size"),
    (lambda: jaxsched.ranger(centralize_layout="tf"), "layout must be one of"),
    (lambda: jt.centralize(min_ndim=0), "min_ndim must be an integer >= 1"),
    (lambda: jt.clip(0.0), "max_delta must be a number in \\(0, inf\\)"),
    (lambda: jt.clip_by_norm(-1.0), "max_norm must be a number in \\(0, inf\\)"),
    (lambda: jt.clip_by_global_norm(0.0), "max_norm must be a number in"),
    (lambda: jt.scale_by_rms(decay=-0.1), "decay must be a number in"),
    (lambda: jt.scale_by_adagrad(eps=-1.0), "eps must be a number in"),
    (lambda: jt.scale_by_adadelta(rho=2.0), "rho must be a number in"),
    (lambda: jt.scale_by_adamax(b2=1.0), "b2 must be a number in"),
    (lambda: jt.scale_by_nadam(momentum_decay=-1.0), "momentum_decay must be a number in"),
    (lambda: jt.scale_by_radam(b1=-0.1), "b1 must be a number in"),
    (lambda: jt.scale_by_rprop(eta_plus=0.5), "eta_plus must be a number in"),
    (lambda: jt.scale_by_lion(b1=2.0), "b1 must be a number in"),
    (lambda: jt.asgd_step(lambd=-1.0), "lambd must be a number in"),
    (lambda: jt.asgd_average(float("nan")), "t0 must be a number in"),
    # torch flavors: errors name torch's arguments
    (lambda: jaxsched.torch.ASGD(lr=-0.01), "lr must be a number in \\[0, inf\\)"),
    (lambda: jaxsched.torch.ASGD(weight_decay=-0.01), "weight_decay must be a number in"),
    (lambda: jaxsched.torch.Rprop(etas=(1.2, 0.5)), "etas\\[0\\] must be a number in \\(0, 1\\)"),
    (lambda: jaxsched.torch.Rprop(etas=(0.5, 0.9)), "etas\\[1\\] must be a number in \\(1, inf"),
    (lambda: jaxsched.torch.Rprop(etas=(0.5,)), "etas must have 2 items, got 1"),
    (lambda: jaxsched.torch.Rprop(step_sizes=(1e-6,)), "step_sizes must have 2 items"),
    (lambda: jaxsched.torch.Rprop(step_sizes=(1.0, 1e-6)), "step_sizes\\[0\\] must not exceed"),
    (lambda: jaxsched.torch.Rprop(step_sizes=(-1.0, 1.0)), "step_sizes\\[0\\] must be a number"),
    (lambda: jaxsched.torch.Rprop(lr=-1.0), "lr must be a number in"),
    (lambda: jaxsched.torch.Adadelta(rho=1.5), "rho must be a number in \\[0, 1\\]"),
    (lambda: jaxsched.torch.Adadelta(eps=-1e-6), "eps must be a number in"),
    (lambda: jaxsched.torch.Adagrad(lr_decay=-0.1), "lr_decay must be a number in"),
    (lambda: jaxsched.torch.Adagrad(initial_accumulator_value=-0.1), "initial_accumulator_value"),
    (
        lambda: jaxsched.torch.Adamax(betas=(0.9, 1.0)),
        "betas\\[1\\] must be a number in \\[0, 1\\)",
    ),
    (lambda: jaxsched.torch.NAdam(momentum_decay=-1.0), "momentum_decay must be a number in"),
    (lambda: jaxsched.torch.NAdam(betas=(1.0, 0.999)), "betas\\[0\\] must be a number in"),
    (lambda: jaxsched.torch.RAdam(lr=-1e-3), "lr must be a number in"),
    (lambda: jaxsched.torch.RMSprop(alpha=-0.1), "alpha must be a number in \\[0, 1\\]"),
    (lambda: jaxsched.torch.RMSprop(momentum=-0.1), "momentum must be a number in"),
    (lambda: jaxsched.torch.RMSprop(eps=-1.0), "eps must be a number in"),
    (lambda: jaxsched.torch.SGD(nesterov=True), "nesterov=True requires a momentum"),
    # keras flavors: errors name Keras's arguments
    (lambda: jaxsched.keras.RMSprop(rho=1.5), "rho must be a number in \\[0, 1\\]"),
    (lambda: jaxsched.keras.RMSprop(momentum=1.5), "momentum must be a number in"),
    (lambda: jaxsched.keras.Adadelta(epsilon=-1.0), "epsilon must be a number in"),
    (lambda: jaxsched.keras.Adagrad(initial_accumulator_value=-0.1), "initial_accumulator_value"),
    (lambda: jaxsched.keras.Adamax(beta_1=1.0), "beta_1 must be a number in \\[0, 1\\)"),
    (lambda: jaxsched.keras.Nadam(beta_2=1.5), "beta_2 must be a number in"),
    (lambda: jaxsched.keras.Ftrl(learning_rate_power=0.1), "learning_rate_power must be a number"),
    (lambda: jaxsched.keras.Ftrl(l1_regularization_strength=-1.0), "l1_regularization_strength"),
    (lambda: jaxsched.keras.Ftrl(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (lambda: jaxsched.keras.Ftrl(learning_rate=0.0), "learning_rate must be a number in \\(0, inf"),
    (lambda: jaxsched.keras.Lion(beta_1=0.0), "beta_1 must be a number in \\(0, 1\\]"),
    (lambda: jaxsched.keras.Lion(learning_rate=-1.0), "learning_rate must be a number in"),
    (lambda: jaxsched.keras.Lion(lambda: -1.0), "learning_rate\\(\\) must be a number in"),
    (lambda: jaxsched.keras.SGD(clipnorm=1.0, global_clipnorm=1.0), "only one of"),
    (lambda: jaxsched.keras.Adam(clipvalue=-1.0), "clipvalue must be a number in"),
    (lambda: jaxsched.keras.Adagrad(decay=-0.1), "decay must be a number in"),
    (lambda: jaxsched.keras.Nadam(weight_decay=-0.1), "weight_decay must be a number in"),
]


@pytest.mark.parametrize(("make", "match"), CASES)
def test_invalid_hyperparameters_raise_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: jaxsched.torch.RAdam(betas=0.9), "betas must be a sequence of 2 items"),
        (lambda: jaxsched.torch.Adam(amsgrad=1), "amsgrad must be True or False"),
        (lambda: jaxsched.torch.SGD(foreach="yes"), "foreach must be True, False or None"),
        (lambda: jaxsched.torch.SGD(lr="0.1"), "lr must be a number"),
        (lambda: jaxsched.keras.AdamW(weight_decay=None), "weight_decay must be a number"),
        (lambda: jaxsched.keras.Adam(decay=lambda step: 0.1), "decay must be a number"),
        (lambda: jaxsched.keras.SGD(nesterov="no"), "nesterov must be True or False"),
    ],
)
def test_flavor_arguments_of_the_wrong_kind_are_type_errors(make, match):
    with pytest.raises(TypeError, match=match):
        make()


PARAMS = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}
BAD_GRADS = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2), "extra": jnp.zeros(1)}


@pytest.mark.parametrize(
    "make",
    [
        jaxsched.adagrad,
        jaxsched.rmsprop,
        jaxsched.adadelta,
        jaxsched.adamax,
        jaxsched.nadam,
        jaxsched.radam,
        jaxsched.asgd,
        jaxsched.rprop,
        jaxsched.lion,
        jaxsched.ftrl,
        jaxsched.ranger,
        jaxsched.keras.Ftrl,
    ],
)
def test_mismatched_gradient_tree_names_the_path(make):
    tx = make()
    with pytest.raises(ValueError, match="'extra'"):
        tx.update(BAD_GRADS, tx.init(PARAMS), PARAMS)


@pytest.mark.parametrize(
    "make",
    [jaxsched.ftrl, jaxsched.ranger, jaxsched.asgd, lambda: jaxsched.keras.Lion(weight_decay=0.1)],
)
def test_optimizers_that_read_the_parameters_ask_for_them(make):
    tx = make()
    with pytest.raises(ValueError, match="params"):
        tx.update(PARAMS, tx.init(PARAMS))


@pytest.mark.parametrize(
    "make",
    [
        jaxsched.torch.SGD,
        lambda: jaxsched.torch.SGD(momentum=0.9, weight_decay=0),
        jaxsched.torch.Adam,
        lambda: jaxsched.torch.AdamW(weight_decay=0.0),
        jaxsched.torch.RMSprop,
        jaxsched.torch.NAdam,
        jaxsched.keras.SGD,
        jaxsched.keras.Lion,
        lambda: jaxsched.keras.Adam(weight_decay=0.0, clipnorm=1.0),
    ],
)
def test_flavors_without_weight_decay_need_no_params(make):
    """torch's weight_decay=0 and Keras's None mean no decay: update(g, state) works."""
    tx = make()
    updates, _ = tx.update(PARAMS, tx.init(PARAMS))
    assert jax.tree.structure(updates) == jax.tree.structure(PARAMS)


ADAPTIVE = ["adagrad", "rmsprop", "adadelta", "adamax", "nadam", "radam", "amsgrad"]


@pytest.mark.parametrize("name", [*ADAPTIVE, "swats"])
def test_without_weight_decay_update_needs_no_params(name):
    tx = getattr(jaxsched, name)()
    updates, _ = tx.update(PARAMS, tx.init(PARAMS))
    assert jnp.all(jnp.isfinite(updates["w"]))


@pytest.mark.parametrize("name", ADAPTIVE)
def test_weight_decay_asks_for_the_params_by_name(name):
    tx = getattr(jaxsched, name)(weight_decay=0.1)
    with pytest.raises(ValueError, match="weight_decay reads the parameters"):
        tx.update(PARAMS, tx.init(PARAMS))


def test_rprop_accepts_equal_step_size_bounds_as_torch_does():
    """``step_sizes[0] must not exceed step_sizes[1]``: equal bounds (a fixed step size)
    are allowed, as torch allows them, and every step then has that size (gradients of
    one sign here: a sign change skips a step)."""
    import torch

    torch.optim.Rprop([torch.zeros(1, requires_grad=True)], step_sizes=(0.5, 0.5))
    tx = jaxsched.torch.Rprop(lr=0.5, step_sizes=(0.5, 0.5))
    state = tx.init(PARAMS)
    for g in (PARAMS, PARAMS, PARAMS):
        updates, state = tx.update(g, state, PARAMS)
        for u, p in zip(jax.tree.leaves(updates), jax.tree.leaves(g)):
            np.testing.assert_allclose(u, -0.5 * jnp.sign(p))
