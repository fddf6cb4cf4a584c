"""Prodigy (Mishchenko & Defazio 2023), as the authors' ``prodigyopt.Prodigy``."""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import PartitionSpec as P

from .._base import (
    Array,
    PyTree,
    ScalarOrSchedule,
    cast_like,
    check_same_tree,
    moment_dtype,
    params_needed,
    resolve_mask,
    safe_increment,
    split_spec,
    zero_count,
    zeros_like_tree,
)
from .._hyper import block
from .._math import bias_corrections, is_positive, update_moment
from .._validate import (
    Decay,
    Flag,
    FloatDtype,
    Mask,
    NonNegative,
    OptionalNonNegative,
    OptionalUnitInterval,
    Positive,
    Real,
    Steps,
)
from ._dadapt import GrowthRate, ScaleByDadaptAdamState, tree_dot

OptionalEps = Annotated[ScalarOrSchedule | None, Real(low=0.0, optional=True)]


class ScaleByProdigyState(NamedTuple):
    """State of :func:`scale_by_prodigy`.

    Attributes:
      count: int32 number of steps taken (an update that takes no step, with a zero
        learning rate or while only zero gradients were seen, is not counted, as in
        ``prodigyopt``); the bias corrections' step.
      d: float32, the distance estimate D (the step is ``d * learning_rate``); read it
        with :func:`estimated_step_size`.
      d_max: float32, the largest estimate so far.
      d_numerator: float32, the running numerator of the estimate.
      mu: the first moment (of ``d g``).
      nu: the second moment (of ``d g``).
      s: the weighted sum of past gradients (flattened and strided with ``slice_p``).
      p0: the initial parameters (flattened and strided with ``slice_p``).
    """

    count: Array
    d: Array
    d_max: Array
    d_numerator: Array
    mu: PyTree
    nu: PyTree
    s: PyTree
    p0: PyTree


@block
def scale_by_prodigy(
    learning_rate: NonNegative = 1.0,
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    b3: OptionalUnitInterval = None,
    eps: OptionalEps = 1e-8,
    d0: Positive = 1e-6,
    d_coef: Positive = 1.0,
    growth_rate: GrowthRate = None,
    weight_decay: OptionalNonNegative = None,
    *,
    fixed_decay: Flag = False,
    safeguard_warmup: Flag = False,
    bias_correction: Flag = False,
    slice_p: Steps = 1,
    mask: Mask = None,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Prodigy's step, to be subtracted from the parameters (learning rate included).

    With ``d`` the distance estimate, ``dlr = d * learning_rate`` (times
    ``sqrt(1 - b2^t) / (1 - b1^t)`` with ``bias_correction``), ``b3`` (default
    ``sqrt(b2)``) and ``p0`` the initial parameters:

    * ``num <- b3 num + (d / d0) dlr <g, p0 - p>``;
    * ``m <- b1 m + (1 - b1) d g``, ``v <- b2 v + (1 - b2) d^2 g^2``;
    * ``s <- b3 s + (d / d0) dlr g`` (``(d / d0) d g`` with ``safeguard_warmup``);
    * ``d_hat = d_coef num / |s|_1``; on the first growth ``d <- max(d, d_hat)``;
      ``d_max <- max(d_max, d_hat)``; ``d <- min(d_max, growth_rate d)``;
    * output ``dlr m / (sqrt(v) + d eps)`` with the new ``d`` (for ``b1 = 0``,
      ``dlr d g / (sqrt(v) + d eps)``), plus ``weight_decay * dlr * p`` (decoupled
      decay; with ``fixed_decay``, ``weight_decay * p``). ``eps=None`` replaces the
      division by ``atan2(m, sqrt(v))`` (pytorch-optimizer's Adam-atan2 option).

    With a zero learning rate, or while ``|s|_1`` is 0 (only zero gradients so far),
    nothing is output and the estimate does not move, as in ``prodigyopt``.

    ``slice_p > 1`` keeps ``s`` and ``p0`` for every ``slice_p``-th entry of each
    flattened leaf only and estimates ``d`` from those (``prodigyopt``'s memory saving,
    an approximation); these two buffers are then 1-D and not sharded like the parameters
    (replicated under Explicit mesh axes, where a split leaf is gathered to be sliced).

    Args:
      learning_rate: a factor of the adapted step, >= 0; 1 unless training is unstable.
      b1, b2: decay rates in [0, 1).
      b3: decay of the estimate's sums, in [0, 1], or None for ``sqrt(b2)``.
      eps: >= 0, or None for atan2.
      d0: the initial estimate, > 0.
      d_coef: factor of the estimate, > 0 (the preferred knob: 0.5 to 2).
      growth_rate: largest factor by which ``d`` may grow per step, >= 1, or None for no
        bound (the references' ``inf``).
      weight_decay: decoupled decay, >= 0, or None (coupled decay is added to the
        gradient before this block: see :func:`jaxsched.prodigy`).
      fixed_decay: decoupled decay not scaled by the step size (pytorch-optimizer's).
      safeguard_warmup: leave the learning rate out of ``s`` (for warmup schedules).
      bias_correction: Adam's bias corrections, folded into the step size.
      slice_p: estimate from every ``slice_p``-th entry only, an integer >= 1.
      mask: which leaves get weight decay.
      mu_dtype, nu_dtype: moment dtypes; default the parameter dtype promoted to float32.

    Returns:
      A transformation with the numeric arguments in its state and a
      :class:`ScaleByProdigyState` inside; ``update`` needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_prodigy()
      >>> p = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(jnp.array([0.5, -2.0]), tx.init(p), p)
      >>> print(jaxsched.transforms.estimated_step_size(state))
      1e-06

    References:
      Mishchenko & Defazio 2023, "Prodigy: An Expeditiously Adaptive Parameter-Free
      Learner"; ``prodigyopt.Prodigy``; ``pytorch_optimizer.Prodigy``.
    """

    def sliced(x):
        if slice_p == 1:
            return x
        # Under Explicit mesh axes flattening a split leaf and striding it are often not
        # expressible (a split minor dim; shards the stride leaves uneven): a split leaf
        # is flattened replicated. Elsewhere the types split nothing and XLA places it.
        replicated = P() if split_spec(x) is not None else None
        return jnp.reshape(x, -1, out_sharding=replicated)[::slice_p]

    def init(params):
        def copy(p):
            p = sliced(p)
            return jnp.zeros_like(p, moment_dtype(p.dtype, mu_dtype)) + p

        d = jnp.asarray(d0, jnp.float32)
        return ScaleByProdigyState(
            zero_count(),
            d,
            d,
            jnp.zeros([], jnp.float32),
            zeros_like_tree(params, mu_dtype),
            zeros_like_tree(params, nu_dtype),
            zeros_like_tree(jax.tree.map(sliced, params)),
            jax.tree.map(copy, params),
        )

    def update(updates, state, params=None, **extra):
        del extra
        params_needed(params, "prodigy")
        check_same_tree(state.mu, updates)
        lr = jnp.asarray(learning_rate, jnp.float32)
        beta3 = jnp.sqrt(jnp.asarray(b2, jnp.float32)) if b3 is None else b3
        d = state.d
        dlr = d * lr
        count = safe_increment(state.count)
        if bias_correction:
            bc1, bc2 = bias_corrections(b1, b2, count)
            dlr = dlr * jnp.sqrt(bc2) / bc1
        ratio = d / d0

        distance = jax.tree.map(lambda p0, p: p0 - sliced(p), state.p0, params)
        delta = ratio * dlr * tree_dot(jax.tree.map(sliced, updates), distance)
        # With lr = 0 the moments stay as they are (and nothing steps). Everything below
        # reads the kept moments: reading the old ones after the new ones are written
        # would make XLA copy each donated buffer first (a full-size copy per leaf).
        active = lr > 0

        def when(flag, new, old):
            return jax.tree.map(lambda a, b: jnp.where(flag, a, b), new, old)

        d_scaled = jax.tree.map(lambda g: d * g, updates)
        mu = when(active, update_moment(d_scaled, state.mu, b1, 1), state.mu)
        nu = when(active, update_moment(d_scaled, state.nu, b2, 2), state.nu)
        s_rate = ratio * (d if safeguard_warmup else dlr)
        s = jax.tree.map(
            lambda s, g: (beta3 * s + s_rate * sliced(g)).astype(s.dtype), state.s, updates
        )
        s = when(active, s, state.s)
        s_l1 = sum((jnp.sum(jnp.abs(x)) for x in jax.tree.leaves(s)), jnp.zeros([], jnp.float32))

        stepped = active & is_positive(s_l1)
        numerator = beta3 * state.d_numerator + delta
        d_hat = d_coef * numerator / jnp.where(stepped, s_l1, 1.0)
        d_grown = jnp.where(d == d0, jnp.maximum(d, d_hat), d)
        d_max = jnp.maximum(state.d_max, d_hat)
        d_new = d_max if growth_rate is None else jnp.minimum(d_max, d_grown * growth_rate)

        def direction(m, v, g):
            top = jnp.where(b1 > 0, m, d_new * g)
            if eps is None:
                return jnp.arctan2(top, jnp.sqrt(v))
            return top / (jnp.sqrt(v) + d_new * eps)

        rate, decayed = 0.0, jax.tree.map(lambda _: False, params)
        if weight_decay is not None:
            rate = weight_decay if fixed_decay else weight_decay * dlr
            decayed = resolve_mask(mask, params)

        def step(p, m, v, g, decays):
            # The new point as prodigyopt computes it (decay, then the step), returned as
            # p - new so that applying the update rounds to it exactly: the estimate reads
            # p0 - p, whose early values lie near float32's resolution.
            start = p - rate * p if decays else p
            return p - (start - dlr * direction(m, v, g))

        out = jax.tree.map(step, params, mu, nu, updates, decayed)
        out = jax.tree.map(lambda u: jnp.where(stepped, u, 0), out)
        new_state = ScaleByProdigyState(
            jnp.where(stepped, count, state.count),
            jnp.where(stepped, d_new, d),
            jnp.where(stepped, d_max, state.d_max),
            jnp.where(stepped, numerator, state.d_numerator),
            mu,
            nu,
            s,
            state.p0,
        )
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)


def _is_estimate(node) -> bool:
    return isinstance(node, (ScaleByProdigyState, ScaleByDadaptAdamState))


def estimated_step_size(state: PyTree) -> Array:
    """The distance estimate ``d`` of a Prodigy or D-Adaptation state.

    ``d`` is what these methods learn in place of a learning rate: the step applied is
    ``d * learning_rate`` (times the bias corrections when they are on). It is part of
    the optimizer's state, not a hyperparameter, so :func:`jaxsched.hyperparams` does
    not report it.

    Args:
      state: an optimizer state holding exactly one :class:`ScaleByProdigyState` or
        :class:`~jaxsched.transforms.ScaleByDadaptAdamState` (from
        :func:`jaxsched.prodigy`, :func:`jaxsched.dadapt_adam`, their flavors, or a
        chain, partition or wrapper around one).

    Returns:
      ``d``, a float32 scalar.

    Raises:
      ValueError: if the state holds no such estimate, or more than one.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.prodigy(d0=1e-3)
      >>> print(jaxsched.transforms.estimated_step_size(tx.init(jnp.zeros(2))))
      0.001

    References:
      Mishchenko & Defazio 2023; Defazio & Mishchenko 2023; ``prodigyopt.Prodigy``'s
      ``param_groups[0]["d"]``.
    """
    found = [node for node in jax.tree.leaves(state, is_leaf=_is_estimate) if _is_estimate(node)]
    if len(found) != 1:
        raise ValueError(
            "estimated_step_size: expected one Prodigy or D-Adaptation state "
            f"(ScaleByProdigyState, ScaleByDadaptAdamState) in the state, found {len(found)}"
        )
    return found[0].d
