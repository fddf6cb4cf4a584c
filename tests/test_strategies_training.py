"""Training strategies on a real loop: a flax.nnx MLP on the iris data (full batch)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from flax import nnx

import jaxsched
from jaxsched.torch._plateau import ReduceLROnPlateau

DATA = np.loadtxt("examples/data/iris.csv", delimiter=",", skiprows=1)
X = jnp.asarray((DATA[:, :4] - DATA[:, :4].mean(0)) / DATA[:, :4].std(0), jnp.float32)
Y = jnp.asarray(DATA[:, 4], jnp.int32)


class MLP(nnx.Module):
    def __init__(self, rngs):
        self.hidden = nnx.Linear(4, 16, rngs=rngs)
        self.head = nnx.Linear(16, 3, rngs=rngs)

    def __call__(self, x):
        return self.head(jax.nn.relu(self.hidden(x)))


GRAPHDEF, PARAMS = nnx.split(MLP(nnx.Rngs(0)), nnx.Param)
PLATEAU = {"patience": 3, "threshold": 0.02}


def loss_fn(params):
    logits = nnx.merge(GRAPHDEF, params)(X)
    return optax.softmax_cross_entropy_with_integer_labels(logits, Y).mean()


def accuracy(params):
    return float(jnp.mean(jnp.argmax(nnx.merge(GRAPHDEF, params)(X), -1) == Y))


def train(tx, steps):
    """Full-batch training passing the loss as value=; per step: loss, grads, updates, state."""

    def body(carry, _):
        params, state = carry
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = tx.update(grads, state, params, value=loss)
        return (optax.apply_updates(params, updates), state), (loss, grads, updates, state)

    run = jax.jit(lambda p: jax.lax.scan(body, (p, tx.init(p)), None, steps))
    (params, _), history = run(PARAMS)
    return params, history


def torch_lrs(losses, lr, **kw):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for loss in losses:
            sched.step(float(loss))
            out.append(opt.param_groups[0]["lr"])
    return np.array(out)


def test_plateau_cuts_the_learning_rate_where_torch_does():
    tx = jaxsched.torch.SGD(lr=ReduceLROnPlateau(0.5, **PLATEAU))
    params, (losses, _, _, states) = train(tx, 150)
    lrs = np.asarray(jaxsched.hyperparams(states)["learning_rate"])
    want = torch_lrs(np.asarray(losses), 0.5, **PLATEAU)
    np.testing.assert_allclose(lrs, want, rtol=1e-6)
    first_cut = int(np.argmax(want < 0.5))
    assert 50 < first_cut < 145  # the loss flattens out well into training
    assert lrs[first_cut - 1] == 0.5 and lrs[first_cut] == pytest.approx(0.05)
    assert accuracy(params) > 0.95


def adam_then_sgd(**switch_args):
    tx = jaxsched.switch(jaxsched.adam(0.02), jaxsched.sgd(0.1), **switch_args)
    return train(tx, 150)


def test_adam_to_sgd_switch_on_plateau():
    params, (losses, grads, updates, states) = adam_then_sgd(on_plateau=PLATEAU)
    k = int(np.argmax(torch_lrs(np.asarray(losses), 1.0, **PLATEAU) < 1.0))
    assert 20 < k < 140
    np.testing.assert_array_equal(states.switch_step[:k], -1)
    np.testing.assert_array_equal(states.switch_step[k:], k)
    for u, g in zip(jax.tree.leaves(updates), jax.tree.leaves(grads), strict=True):
        np.testing.assert_allclose(u[k:], -0.1 * g[k:], rtol=1e-6)
        assert not np.allclose(u[k - 1], -0.1 * g[k - 1], rtol=1e-3)
    assert accuracy(params) > 0.95


def test_adam_to_sgd_switch_at_a_step_continues_the_adam_run():
    k = 60
    _, (losses, grads, updates, states) = adam_then_sgd(at_step=k)
    _, (adam_losses, *_) = train(jaxsched.adam(0.02), k)
    np.testing.assert_allclose(losses[:k], adam_losses, rtol=1e-6)
    assert int(jaxsched.switch_step(jax.tree.map(lambda x: x[-1], states))) == k
    for u, g in zip(jax.tree.leaves(updates), jax.tree.leaves(grads), strict=True):
        np.testing.assert_allclose(u[k:], -0.1 * g[k:], rtol=1e-6)


def per_layer(head_tx, hidden_tx, steps):
    labels = jaxsched.path_labels({r"^head/": "head"}, default="hidden")
    return train(jaxsched.partition({"hidden": hidden_tx, "head": head_tx}, labels), steps)


def displacement(params):
    """Distance moved by each layer's kernel and bias: {"head": {"kernel": ...}, ...}."""
    out = {"hidden": {}, "head": {}}
    moved = jax.tree_util.tree_flatten_with_path(jax.tree.map(jnp.subtract, params, PARAMS))[0]
    for path, delta in moved:
        out[path[0].key][path[1].key] = float(jnp.linalg.norm(delta))
    return out


def test_frozen_layer_does_not_move_and_10x_layer_moves_10x():
    frozen, (_, _, _, states) = per_layer(jaxsched.sgd(0.1), jaxsched.freeze(), 30)
    moved = displacement(frozen)
    assert moved["hidden"]["kernel"] == 0.0 and moved["hidden"]["bias"] == 0.0
    assert moved["head"]["kernel"] > 0.1
    assert float(jaxsched.hyperparams(states)["learning_rate"][-1]) == pytest.approx(0.1)

    slow, _ = per_layer(jaxsched.sgd(0.01), jaxsched.sgd(0.01), 1)
    fast, _ = per_layer(jaxsched.sgd(0.1), jaxsched.sgd(0.01), 1)
    slow, fast = displacement(slow), displacement(fast)
    for name in ("kernel", "bias"):
        assert fast["head"][name] == pytest.approx(10 * slow["head"][name], rel=1e-5)
        assert fast["hidden"][name] == pytest.approx(slow["hidden"][name], rel=1e-6)


def test_per_layer_plateau_schedules_with_nnx_optimizer():
    model = MLP(nnx.Rngs(0))
    labels = jaxsched.path_labels({r"^head/": "head"}, default="hidden")
    tx = jaxsched.partition(
        {
            "hidden": jaxsched.torch.SGD(lr=0.05),
            "head": jaxsched.torch.SGD(lr=ReduceLROnPlateau(0.5, **PLATEAU)),
        },
        labels,
    )
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer):
        loss, grads = nnx.value_and_grad(
            lambda m: optax.softmax_cross_entropy_with_integer_labels(m(X), Y).mean()
        )(model)
        optimizer.update(model, grads, value=loss)
        return loss, jaxsched.hyperparams(nnx.as_pure(optimizer.opt_state))

    losses, head_lrs = [], []
    for _ in range(150):
        loss, hp = step(model, optimizer)
        losses.append(float(loss))
        head_lrs.append(float(hp["head/learning_rate"]))
        assert float(hp["hidden/learning_rate"]) == pytest.approx(0.05)
    np.testing.assert_allclose(head_lrs, torch_lrs(losses, 0.5, **PLATEAU), rtol=1e-6)
    assert min(head_lrs) < 0.5
