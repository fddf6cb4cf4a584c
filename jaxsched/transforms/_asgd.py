"""Averaged SGD (Polyak & Juditsky 1992) as torch computes it: a decaying step and an average."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    Array,
    PyTree,
    cast_like,
    check_same_tree,
    params_needed,
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._hyper import block
from .._validate import AnyReal, FloatDtype, NonNegative


class AsgdStepState(NamedTuple):
    count: Array


class AsgdAverageState(NamedTuple):
    count: Array
    average: PyTree


@block
def asgd_step(
    learning_rate: NonNegative = 1e-2,
    lambd: NonNegative = 1e-4,
    alpha: NonNegative = 0.75,
) -> optax.GradientTransformationExtraArgs:
    """ASGD's descent step ``p <- p (1 - lambd eta_k) - eta_k g``.

    The returned update is ``-eta_k (g + lambd p)`` with the step size
    ``eta_k = learning_rate / (1 + lambd learning_rate k)^alpha`` for the k-th update
    (0-based), as ``torch.optim.ASGD``.

    Args:
      learning_rate: >= 0 (state key ``"learning_rate"``).
      lambd: decay term, >= 0 (``"lambd"``).
      alpha: power of the step-size decay, >= 0 (``"alpha"``).

    Returns:
      A transformation with the three arguments in its state; its ``update`` needs
      ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.asgd_step(0.1, lambd=0.5)
      >>> p = jnp.array([2.0])
      >>> print(tx.update(jnp.array([1.0]), tx.init(p), p)[0])
      [-0.2]

    References:
      Xu 2011, "Towards Optimal One Pass Large Scale Learning with Averaged Stochastic
      Gradient Descent"; ``torch.optim.ASGD``.
    """

    def init(params):
        del params
        return AsgdStepState(zero_count())

    def update(updates, state, params=None, **extra):
        del extra
        params_needed(params, "asgd_step")
        check_same_tree(updates, params, "params")
        count = safe_increment(state.count)
        k = (count - 1).astype(jnp.float32)  # updates made before this one
        eta = learning_rate / (1 + lambd * learning_rate * k) ** alpha
        out = jax.tree.map(lambda g, p: -eta * (g + lambd * p), updates, params)
        return cast_like(out, updates), AsgdStepState(count)

    return optax.GradientTransformationExtraArgs(init, update)


@block
def asgd_average(
    t0: AnyReal = 1e6, *, dtype: FloatDtype = None
) -> optax.GradientTransformationExtraArgs:
    """Keeps ASGD's running average of the iterates; passes the updates through unchanged.

    Placed last in a chain, it sees the new parameters ``x = p + u`` and updates
    ``ax <- x`` while ``mu_k == 1``, else ``ax <- ax + mu_k (x - ax)``, with
    ``mu_0 = 1`` and ``mu_k = 1 / max(1, k - t0)`` for the k-th update (0-based), as
    ``torch.optim.ASGD``: averaging starts after ``t0`` updates. Read the average with
    :func:`averaged_params`.

    Args:
      t0: the update after which averaging starts, a finite number (state key ``"t0"``).
      dtype: dtype of the average; default the parameter dtype promoted to float32.

    Returns:
      A transformation with ``t0`` in its state and an :class:`AsgdAverageState`
      inside; its ``update`` needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.chain(jaxsched.sgd(1.0), jaxsched.transforms.asgd_average(t0=0))
      >>> p = jnp.array([0.0])
      >>> state = tx.init(p)
      >>> for g in (-1.0, -1.0, -2.0):  # iterates 1, 2, 4; averaging from the third
      ...     u, state = tx.update(jnp.array([g]), state, p)
      ...     p = p + u
      >>> print(p, jaxsched.transforms.averaged_params(state))
      [4.] [3.]

    References:
      Polyak & Juditsky 1992, "Acceleration of Stochastic Approximation by Averaging";
      ``torch.optim.ASGD`` (its ``ax``).
    """

    def init(params):
        return AsgdAverageState(zero_count(), zeros_like_tree(params, dtype))

    def update(updates, state, params=None, **extra):
        del extra
        params_needed(params, "asgd_average")
        check_same_tree(state.average, updates)
        count = safe_increment(state.count)
        k = (count - 1).astype(jnp.float32)  # updates made before this one
        mu = jnp.where(count == 1, 1.0, 1 / jnp.maximum(1.0, k - t0))

        def average(ax, p, u):
            new = p.astype(ax.dtype) + u.astype(ax.dtype)
            return jnp.where(mu == 1, new, ax + mu * (new - ax)).astype(ax.dtype)

        ax = jax.tree.map(average, state.average, params, updates)
        return updates, AsgdAverageState(count, ax)

    return optax.GradientTransformationExtraArgs(init, update)


def averaged_params(state: PyTree) -> PyTree:
    """The ASGD average of the iterates held in an optimizer state (from :func:`asgd_average`).

    Args:
      state: an optimizer state containing exactly one :class:`AsgdAverageState`
        (the state of :func:`jaxsched.asgd`, :func:`jaxsched.torch.ASGD`, or a chain
        ending in :func:`asgd_average`).

    Returns:
      The average, a pytree like the parameters.

    Raises:
      ValueError: if the state holds no :class:`AsgdAverageState` or more than one.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.asgd(0.1, lambd=0.0, t0=0)
      >>> p = jnp.array([1.0])
      >>> u, state = tx.update(jnp.array([1.0]), tx.init(p), p)
      >>> print(p + u, jaxsched.transforms.averaged_params(state))
      [0.9] [0.9]

    References:
      ``torch.optim.ASGD``'s ``state["ax"]``.
    """
    found = [
        leaf.average
        for leaf in jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, AsgdAverageState))
        if isinstance(leaf, AsgdAverageState)
    ]
    if len(found) != 1:
        raise ValueError(f"expected one ASGD average in the state, found {len(found)}")
    return found[0]
