"""D-Adaptation for Adam (Defazio & Mishchenko 2023), as pytorch-optimizer's ``DAdaptAdam``."""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    Array,
    PyTree,
    ScalarOrSchedule,
    cast_like,
    check_same_tree,
    params_needed,
    resolve_mask,
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._hyper import block
from .._math import bias_corrections, is_positive, update_moment
from .._validate import Decay, Flag, FloatDtype, Mask, NonNegative, OptionalNonNegative, Real

GrowthRate = Annotated[ScalarOrSchedule | None, Real(low=1.0, optional=True)]
InitialDistance = Annotated[float, Real(low=0.0, low_open=True, schedule=False)]


def tree_dot(a: PyTree, b: PyTree) -> Array:
    """``sum_leaves <a, b>``, accumulated in float32 (or wider).

    A product and a sum rather than ``jnp.vdot``: a dot product contracting a sharded
    dim fails under Explicit mesh axes (its output sharding is ambiguous), while a sum
    reduces each shard and all-reduces a scalar.
    """

    def dot(x, y):
        acc = jnp.promote_types(jnp.result_type(x, y), jnp.float32)
        return jnp.sum(x.astype(acc) * y.astype(acc))

    pairs = zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    return sum((dot(x, y) for x, y in pairs), jnp.zeros([], jnp.float32))


class ScaleByDadaptAdamState(NamedTuple):
    """State of :func:`scale_by_dadapt_adam`.

    Attributes:
      count: int32 number of updates done (saturating).
      d: float32, the distance estimate D (the step is ``d * learning_rate``); read it
        with :func:`estimated_step_size`.
      numerator_weighted: float32, the running numerator of the estimate.
      mu: the first moment, which carries the step size ``d * learning_rate``.
      nu: the second moment.
      s: the weighted sum of past steps, whose l1 norm is the estimate's denominator.
    """

    count: Array
    d: Array
    numerator_weighted: Array
    mu: PyTree
    nu: PyTree
    s: PyTree


@block
def scale_by_dadapt_adam(
    learning_rate: NonNegative = 1.0,
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    growth_rate: GrowthRate = None,
    weight_decay: OptionalNonNegative = None,
    *,
    d0: InitialDistance = 1e-6,
    fixed_decay: Flag = False,
    bias_correction: Flag = False,
    mask: Mask = None,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """D-Adapted Adam's step, to be subtracted from the parameters (learning rate included).

    With ``d`` the distance estimate, ``dlr = d * learning_rate`` (times
    ``sqrt(1 - b2^t) / (1 - b1^t)`` with ``bias_correction``), ``sb = sqrt(b2)``:

    * ``num <- num + (1 - sb) (dlr <g, s / (sqrt(v) + eps)> - num)`` (old ``s``, ``v``);
    * ``m <- b1 m + (1 - b1) dlr g``, ``v <- b2 v + (1 - b2) g^2``,
      ``s <- sb s + (1 - sb) dlr g``;
    * ``d <- max(d, min(num / ((1 - sb) |s|_1), growth_rate d))`` (for a learning rate > 0);
    * output ``m / (sqrt(v) + eps)``, plus ``weight_decay * dlr * p`` (decoupled decay; with
      ``fixed_decay``, ``weight_decay * p``).

    While ``|s|_1`` is 0 (only zero gradients so far) nothing is output and ``d`` and
    ``num`` stay, as in pytorch-optimizer.

    Args:
      learning_rate: a factor of the adapted step, >= 0; 1 unless training is unstable.
      b1, b2: decay rates in [0, 1).
      eps: >= 0.
      growth_rate: largest factor by which ``d`` may grow per update, >= 1, or None for
        no bound (the references' ``inf``).
      weight_decay: decoupled decay, >= 0, or None (coupled decay is added to the
        gradient before this block: see :func:`jaxsched.dadapt_adam`).
      d0: the initial estimate, > 0 (static: read at ``init`` only).
      fixed_decay: decoupled decay not scaled by the step size.
      bias_correction: Adam's bias corrections, folded into the step size.
      mask: which leaves get weight decay.
      mu_dtype, nu_dtype: moment dtypes; default the parameter dtype promoted to float32.

    Returns:
      A transformation with the numeric arguments in its state and a
      :class:`ScaleByDadaptAdamState` inside; ``update`` needs ``params`` with
      ``weight_decay``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_dadapt_adam(b2=0.99, d0=0.1)
      >>> g = jnp.array([0.5, -2.0])
      >>> u, state = tx.update(g, tx.init(jnp.zeros(2)))
      >>> bool(jnp.allclose(u, 0.1 * jnp.sign(g)))  # d0 (1 - b1) / sqrt(1 - b2) sign(g)
      True

    References:
      Defazio & Mishchenko 2023, "Learning-Rate-Free Learning by D-Adaptation";
      ``pytorch_optimizer.DAdaptAdam``; ``dadaptation.DAdaptAdam``.
    """

    def init(params):
        return ScaleByDadaptAdamState(
            zero_count(),
            jnp.asarray(d0, jnp.float32),
            jnp.zeros([], jnp.float32),
            zeros_like_tree(params, mu_dtype),
            zeros_like_tree(params, nu_dtype),
            zeros_like_tree(params, mu_dtype),
        )

    def update(updates, state, params=None, **extra):
        del extra
        check_same_tree(state.mu, updates)
        lr = jnp.asarray(learning_rate, jnp.float32)
        d = state.d
        dlr = d * lr
        count = safe_increment(state.count)
        if bias_correction:
            bc1, bc2 = bias_corrections(b1, b2, count)
            dlr = dlr * jnp.sqrt(bc2) / bc1
        b2_ = jnp.asarray(b2, jnp.float32)
        sqrt_b2 = jnp.sqrt(b2_)
        # 1 - sqrt(b2) without cancellation: d is proportional to its inverse.
        one_minus_sqrt_b2 = (1 - b2_) / (1 + sqrt_b2)

        preconditioned = jax.tree.map(lambda s, v: s / (jnp.sqrt(v) + eps), state.s, state.nu)
        numerator = dlr * tree_dot(updates, preconditioned)
        scaled = jax.tree.map(lambda g: dlr * g, updates)
        mu = update_moment(scaled, state.mu, b1, 1)
        nu = update_moment(updates, state.nu, b2, 2)
        s = jax.tree.map(
            lambda s, g: (sqrt_b2 * s + one_minus_sqrt_b2 * g).astype(s.dtype), state.s, scaled
        )
        s_l1 = sum((jnp.sum(jnp.abs(x)) for x in jax.tree.leaves(s)), jnp.zeros([], jnp.float32))
        stepped = is_positive(s_l1)
        weighted = state.numerator_weighted + one_minus_sqrt_b2 * (
            numerator - state.numerator_weighted
        )
        d_hat = weighted / (one_minus_sqrt_b2 * jnp.where(stepped, s_l1, 1.0))
        bounded = d_hat if growth_rate is None else jnp.minimum(d_hat, d * growth_rate)
        d_new = jnp.where(lr > 0, jnp.maximum(d, bounded), d)

        out = jax.tree.map(lambda m, v: m / (jnp.sqrt(v) + eps), mu, nu)
        if weight_decay is not None:
            params_needed(params, "weight_decay")
            rate = weight_decay if fixed_decay else weight_decay * dlr
            chosen = resolve_mask(mask, params)
            out = jax.tree.map(lambda u, p, m: u + rate * p if m else u, out, params, chosen)
        out = jax.tree.map(lambda u: jnp.where(stepped, u, 0), out)
        new_state = ScaleByDadaptAdamState(
            count,
            jnp.where(stepped, d_new, d),
            jnp.where(stepped, weighted, state.numerator_weighted),
            mu,
            nu,
            s,
        )
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)
