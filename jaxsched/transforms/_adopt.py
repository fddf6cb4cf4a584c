"""ADOPT's rule (Taniguchi et al. 2024): normalise by the previous second moment, then average."""

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
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._hyper import block
from .._math import update_moment
from .._validate import Decay, FloatDtype, NonNegative, Real

Clip = Annotated[ScalarOrSchedule | None, Real(low=0.0, low_open=True, inf=True, optional=True)]


def adopt_clip(count: Array) -> Array:
    """ADOPT's default clipping schedule: ``count ** 0.25``.

    ``count`` is the number of updates made before this one (0-based), the ``step``
    given to ``clip_lambda`` in the authors' code: the clip is first used by the second
    update, at ``1 ** 0.25 = 1``.

    Args:
      count: int32 scalar, the 0-based update index.

    Returns:
      A float32 scalar.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> print(jaxsched.transforms.adopt_clip(jnp.asarray(16)))
      2.0

    References:
      Taniguchi et al. 2024, section 4 (the clipped ADOPT); ``adopt.ADOPT(clip_lambda=...)``.
    """
    return jnp.asarray(count, jnp.float32) ** 0.25


class ScaleByAdoptState(NamedTuple):
    count: Array
    mu: PyTree
    nu: PyTree


@block
def scale_by_adopt(
    b1: Decay = 0.9,
    b2: Decay = 0.9999,
    eps: NonNegative = 1e-6,
    clip: Clip = adopt_clip,
    *,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """ADOPT's direction: the gradient over the *previous* second moment, then momentum.

    The first update only records ``v <- g^2`` and returns zeros. From then on
    ``n = clip(g / max(sqrt(v), eps), -clip, clip)`` with ``v`` from the updates before
    this one, ``m <- b1 m + (1 - b1) n`` (``m`` starts at zero), the output is ``m``, and
    only then ``v <- b2 v + (1 - b2) g^2``. Normalising by a second moment that does not
    yet include ``g`` is what lets ADOPT converge for any ``b2``.

    Args:
      b1, b2: decay rates in [0, 1) (state keys ``"b1"``, ``"b2"``).
      eps: floor of ``sqrt(v)``, >= 0 (``"eps"``).
      clip: bound on ``|n|``, > 0, or a schedule of the 0-based update index (default
        :func:`adopt_clip`, ``count ** 0.25``), or None for none (``"clip"`` reports the
        value used by the most recent update).
      mu_dtype, nu_dtype: moment dtypes; default the parameter dtype promoted to float32.

    Returns:
      A transformation with ``b1``, ``b2``, ``eps`` and ``clip`` in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_adopt(b1=0.5, clip=None)
      >>> state = tx.init(jnp.zeros(2))
      >>> u, state = tx.update(jnp.array([2.0, -1.0]), state)
      >>> print(u)  # the first update only measures v
      [0. 0.]
      >>> u, state = tx.update(jnp.array([2.0, -1.0]), state)
      >>> print(u)
      [ 0.5 -0.5]

    References:
      Taniguchi et al. 2024, "ADOPT: Modified Adam Can Converge with Any beta_2 with
      the Optimal Rate" (Algorithm 2, clipped); ``adopt.ADOPT`` (the authors' code);
      ``pytorch_optimizer.ADOPT``.
    """

    def init(params):
        return ScaleByAdoptState(
            zero_count(), zeros_like_tree(params, mu_dtype), zeros_like_tree(params, nu_dtype)
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        count = safe_increment(state.count)
        first = count == 1

        def normalised(g, v):
            n = g.astype(v.dtype) / jnp.maximum(jnp.sqrt(v), eps)
            return n if clip is None else jnp.clip(n, -clip, clip)

        moved = update_moment(jax.tree.map(normalised, updates, state.nu), state.mu, b1, 1)
        mu = jax.tree.map(lambda new, old: jnp.where(first, old, new), moved, state.mu)
        averaged = update_moment(updates, state.nu, b2, 2)
        nu = jax.tree.map(
            lambda g, new: jnp.where(first, jnp.square(g.astype(new.dtype)), new),
            updates,
            averaged,
        )
        out = jax.tree.map(lambda m: jnp.where(first, jnp.zeros_like(m), m), mu)
        return cast_like(out, updates), ScaleByAdoptState(count, mu, nu)

    return optax.GradientTransformationExtraArgs(init, update)
