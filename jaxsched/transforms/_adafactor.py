"""Adafactor's factored second moment (Shazeer & Stern 2018) with update clipping.

A matrix's squared gradients are summarised by their row means and column means, whose
outer product over the mean of the rows estimates every entry: memory ``m + n`` instead
of ``m n``. Leaves of more than one dimension are factored over their last two axes (the
leading ones are a batch of matrices, as in torch and Hugging Face); scalars and vectors
keep a full moving average, and so do leaves with no elements (their update is empty).
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._base import (
    Array,
    PyTree,
    ScalarOrSchedule,
    cast_like,
    check_same_tree,
    moment_dtype,
    safe_increment,
    zero_count,
)
from .._hyper import block
from .._math import update_moment
from .._validate import Choice, Flag, FloatDtype, OptionalNonNegative, Real

# The exponent c of beta2_t = 1 - t^c: 0 or negative, so that beta2_t rises towards 1.
DecayRate = Annotated[ScalarOrSchedule, Real(high=0.0)]
OptionalPositive = Annotated[
    ScalarOrSchedule | None, Real(low=0.0, low_open=True, inf=True, optional=True)
]
# Where eps enters: added to the squared gradients, or as floors (torch).
EpsMode = Annotated[str, Choice(("add", "clamp"))]


class ScaleByFactoredRmsState(NamedTuple):
    """State of :func:`scale_by_factored_rms`.

    Attributes:
      count: int32 number of updates done.
      row: per leaf, the moving average of the squared gradients' means over the last
        axis (shape ``p.shape[:-1]``) for a factored leaf; an empty array otherwise.
      col: per leaf, the same over the second-to-last axis (shape ``p.shape[:-2] +
        p.shape[-1:]``) for a factored leaf; an empty array otherwise.
      nu: per leaf, the moving average of the squared gradients for a leaf that is not
        factored; an empty array otherwise.
    """

    count: Array
    row: PyTree
    col: PyTree
    nu: PyTree


def _empty(like: Array) -> Array:
    # A stand-in for the factors a leaf does not use: nothing to store or shard.
    return jnp.zeros((0,), like.dtype)


def _rms(x: Array) -> Array:
    return jnp.sqrt(jnp.mean(jnp.square(x)))


@block
def scale_by_factored_rms(
    decay_rate: DecayRate = -0.8,
    eps: OptionalNonNegative = 1e-30,
    clip_threshold: OptionalPositive = 1.0,
    *,
    eps_mode: EpsMode = "add",
    factored: Flag = True,
    dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Divides updates by the root of Adafactor's (factored) second moment, then clips.

    At the 1-based step ``t``, ``beta2_t = 1 - t^decay_rate`` (0 at ``t = 1``, so the
    first estimate is the first squared gradient). With ``s = g^2`` (``g^2 + eps`` when
    ``eps_mode="add"``):

    * a leaf of two or more dimensions (``factored=True``): ``R <- beta2_t R + (1 -
      beta2_t) mean(s, -1)``, ``C <- beta2_t C + (1 - beta2_t) mean(s, -2)`` and
      ``V = (R / mean(R)) outer C`` over the last two axes;
    * any other leaf: ``V <- beta2_t V + (1 - beta2_t) s``.

    Then ``u = g / sqrt(V)`` (with ``"add"``, as the product of the factors' roots,
    as HF and optax compute it: a zero row crossing a zero column gives 0, not NaN)
    and, with a ``clip_threshold`` ``d``, ``u <- u / max(1, RMS(u) / d)`` (RMS over the
    leaf). With ``eps_mode="clamp"`` (torch's placement) eps is a floor instead:
    ``mean(R)`` is at least ``eps`` and ``V`` at least ``eps^2``.

    Args:
      decay_rate: the exponent of ``beta2_t``, <= 0 (``"decay_rate"``); HF's
        ``decay_rate``, torch's ``beta2_decay``.
      eps: >= 0 (``"eps"``), or None for the machine epsilon of each leaf's dtype
        (torch's default).
      clip_threshold: > 0 (``"clip_threshold"``), or None for no clipping.
      eps_mode: ``"add"`` (paper, Hugging Face, optax) or ``"clamp"`` (torch).
      factored: factor leaves of two or more dimensions; False keeps a full moment
        for every leaf.
      dtype: dtype of the moments; default the parameter dtype promoted to float32.

    Returns:
      A transformation with ``decay_rate``, ``eps`` and ``clip_threshold`` in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_factored_rms()
      >>> g = jnp.array([[1.0, 2.0], [2.0, 4.0]])  # rank one: the factors are exact
      >>> u, state = tx.update(g, tx.init(g))
      >>> print(u)
      [[1. 1.]
       [1. 1.]]
      >>> print(state.inner_state.row, state.inner_state.col)
      [ 2.5 10. ] [ 2.5 10. ]

    References:
      Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory
      Cost"; ``torch.optim.Adafactor``; ``transformers.optimization.Adafactor``;
      ``optax.scale_by_factored_rms``.
    """

    def is_factored(p) -> bool:
        # A zero-size matrix keeps a full (empty) moment: its factors would be means over
        # an empty axis (NaN), and a (0, 0) leaf would have two empty factors, which the
        # state could not tell from an unfactored leaf's.
        return factored and jnp.ndim(p) >= 2 and jnp.size(p) > 0

    def init(params):
        def zeros(p):
            return jnp.zeros_like(p, moment_dtype(jnp.result_type(p), dtype))

        def row(p):
            return zeros(p).sum(-1) if is_factored(p) else _empty(zeros(p))

        def col(p):
            return zeros(p).sum(-2) if is_factored(p) else _empty(zeros(p))

        def nu(p):
            return _empty(zeros(p)) if is_factored(p) else zeros(p)

        return ScaleByFactoredRmsState(
            zero_count(),
            jax.tree.map(row, params),
            jax.tree.map(col, params),
            jax.tree.map(nu, params),
        )

    def update(updates, state, params=None, **extra):
        del params, extra

        def shape(r, c, v):
            # A factored leaf has an empty nu and factors that are not both empty (an
            # empty leaf keeps its own empty nu), rebuilt without allocating anything.
            was_factored = factored and v.size == 0 and (r.size or c.size)
            return np.broadcast_to(False, r.shape + c.shape[-1:] if was_factored else v.shape)

        check_same_tree(jax.tree.map(shape, state.row, state.col, state.nu), updates)
        count = safe_increment(state.count)
        t = count.astype(jnp.float32)
        beta2 = 1 - t**decay_rate

        def leaf(g, row, col, nu):
            dt = (row if is_factored(g) else nu).dtype
            e = jnp.finfo(g.dtype).eps if eps is None else eps
            g = g.astype(dt)
            s = jnp.square(g) + e if eps_mode == "add" else jnp.square(g)
            if is_factored(g):
                row = update_moment(s.mean(-1), row, beta2, 1)
                col = update_moment(s.mean(-2), col, beta2, 1)
                mean_row = row.mean(-1, keepdims=True)
                if eps_mode == "clamp":
                    # torch's order: the estimate R C / max(mean(R), eps), floored at eps^2.
                    v = (row / jnp.maximum(mean_row, e))[..., :, None] * col[..., None, :]
                    scale = jax.lax.rsqrt(jnp.maximum(v, e * e))
                else:
                    # HF's and optax's order: the root of each factor, then their product.
                    # Where a zero row crosses a zero column both factors are about eps,
                    # whose product would underflow to 0 and give 0 / sqrt(0) = NaN.
                    r = jax.lax.rsqrt(row / mean_row)
                    scale = r[..., :, None] * jax.lax.rsqrt(col)[..., None, :]
            else:
                nu = update_moment(s, nu, beta2, 1)
                scale = jax.lax.rsqrt(jnp.maximum(nu, e * e) if eps_mode == "clamp" else nu)
            u = g * scale
            if clip_threshold is not None:
                u = u / jnp.maximum(1.0, _rms(u) / clip_threshold)
            return u, row, col, nu

        out = jax.tree.map(leaf, updates, state.row, state.col, state.nu)

        def part(i):
            return jax.tree.map(lambda _, o: o[i], updates, out)

        new_state = ScaleByFactoredRmsState(count, part(1), part(2), part(3))
        return cast_like(part(0), updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)
