"""SWATS: Adam that switches to SGD with an estimated learning rate (Keskar & Socher 2017)."""

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
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._hyper import block
from .._math import bias_corrections, update_moment
from .._validate import Decay, NonNegative, OptionalNonNegative


class SwatsState(NamedTuple):
    """State of :func:`swats` (inside ``HyperparamsState.inner_state``).

    Attributes:
      count: int32 number of updates done (``k`` of the paper after the update).
      sgd_phase: bool, True once switched to SGD.
      switch_step: int32 0-based index of the first SGD update; -1 while in the Adam phase.
      mu: Adam's first moment ``m``; after the switch, SGD's momentum buffer ``v`` (the
        paper's ``v`` starts at zero then, and ``m`` is no longer needed).
      nu: Adam's second moment ``a``.
      lam: float32 ``lambda_k``, the running average of the projected learning rates.
      sgd_learning_rate: float32 ``Lambda``, the SGD learning rate (0 before the switch).
    """

    count: Array
    sgd_phase: Array
    switch_step: Array
    mu: PyTree
    nu: PyTree
    lam: Array
    sgd_learning_rate: Array


def _dot(a: PyTree, b: PyTree) -> Array:
    pairs = zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    # A product and a sum rather than jnp.vdot, which fails on sharded operands under
    # Explicit mesh axes.
    return sum(
        (jnp.sum(x.astype(jnp.float32) * y.astype(jnp.float32)) for x, y in pairs),
        start=jnp.zeros([], jnp.float32),
    )


@block
def swats(
    learning_rate: NonNegative = 1e-3,
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-9,
    switch_threshold: OptionalNonNegative = None,
) -> optax.GradientTransformationExtraArgs:
    """SWATS (Keskar & Socher 2017, "Improving Generalization Performance by Switching
    from Adam to SGD", Algorithm 1): Adam until a projected SGD learning rate settles,
    then SGD with momentum at that rate.

    Adam phase, ``k`` the 1-based step, ``g`` the gradient::

        m = b1 m + (1 - b1) g;  a = b2 a + (1 - b2) g^2
        p = -learning_rate * sqrt(1 - b2^k) / (1 - b1^k) * m / (sqrt(a) + eps)
        if p.g != 0:
            gamma = (p.p) / (-p.g)                 # SGD rate whose step projects onto p
            lam = b2 lam + (1 - b2) gamma
            if k > 1 and |lam / (1 - b2^k) - gamma| < switch_threshold:
                switch to SGD from the next update, Lambda = lam / (1 - b2^k), v = 0

    SGD phase: ``v = b1 v + g``, step ``-(1 - b1) * Lambda * v``. As in the paper's
    Algorithm 1 the dot products run over all parameters as one vector (one global
    switch and rate; some implementations estimate a rate per tensor), and the
    learning rate (and its schedule) is used in the Adam phase only.

    Args:
      learning_rate: Adam's step size, >= 0, number or schedule.
      b1, b2: in [0, 1); b1 also drives SGD's momentum, b2 the average of gamma.
      eps: Adam's epsilon (added to ``sqrt(a)``), >= 0; the paper uses 1e-9.
      switch_threshold: the switching tolerance, >= 0; None (the default) uses ``eps``
        as the paper does, and then follows ``eps`` rather than being a state entry of
        its own (practitioners often use 1e-5 for an earlier switch).

    Returns:
      A transformation whose state keeps ``learning_rate``, ``b1``, ``b2``, ``eps`` and,
      when given, ``switch_threshold``; its :class:`SwatsState` says the phase, the
      switch step (:func:`jaxsched.switch_step`) and the estimated SGD rate
      ``sgd_learning_rate``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.swats(0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params), params)
      >>> print(jaxsched.apply_updates(params, u))  # an Adam step
      [ 0.9 -0.9]
      >>> int(jaxsched.switch_step(state))  # still in the Adam phase
      -1

    References:
      Keskar & Socher 2017, "Improving Generalization Performance by Switching from Adam
      to SGD", Algorithm 1.
    """
    if switch_threshold is None:
        switch_threshold = eps

    def init(params):
        return SwatsState(
            zero_count(),
            jnp.zeros([], bool),
            jnp.full([], -1, jnp.int32),
            zeros_like_tree(params),
            zeros_like_tree(params),
            jnp.zeros([], jnp.float32),
            jnp.zeros([], jnp.float32),
        )

    def sgd_step(g, state):
        # Not an average: the paper's SGD buffer sums the gradients undamped.
        v = jax.tree.map(lambda v, g: (b1 * v + g).astype(v.dtype), state.mu, g)
        out = jax.tree.map(lambda v: -(1 - b1) * state.sgd_learning_rate * v, v)
        return out, state._replace(mu=v)

    def adam_step(g, state):
        mu = update_moment(g, state.mu, b1, 1)
        nu = update_moment(g, state.nu, b2, 2)
        bc1, bc2 = bias_corrections(b1, b2, safe_increment(state.count))
        step_size = learning_rate * jnp.sqrt(bc2) / bc1
        p = jax.tree.map(lambda m, a: -step_size * m / (jnp.sqrt(a) + eps), mu, nu)
        pg = _dot(p, g)
        projected = pg != 0
        gamma = _dot(p, p) / jnp.where(projected, -pg, 1.0)
        lam = jnp.where(projected, update_moment(gamma, state.lam, b2, 1), state.lam)
        corrected = lam / bc2
        switch = projected & (state.count > 0) & (jnp.abs(corrected - gamma) < switch_threshold)
        new_state = SwatsState(
            state.count,
            switch,
            jnp.where(switch, state.count + 1, -1).astype(jnp.int32),
            jax.tree.map(lambda m: jnp.where(switch, jnp.zeros_like(m), m), mu),
            nu,
            lam.astype(jnp.float32),
            jnp.where(switch, corrected, 0.0).astype(jnp.float32),
        )
        return p, new_state

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        out, new_state = jax.lax.cond(state.sgd_phase, sgd_step, adam_step, updates, state)
        out = cast_like(out, updates)
        return out, new_state._replace(count=safe_increment(state.count))

    return optax.GradientTransformationExtraArgs(init, update)
