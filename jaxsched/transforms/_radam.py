"""Rectified Adam (Liu et al. 2020), as torch and the original implementation compute it."""

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
from .._math import accurate_bias_correction, bias_corrections, update_moment
from .._validate import Decay, FloatDtype, NonNegative, Real


class ScaleByRadamState(NamedTuple):
    count: Array
    mu: PyTree
    nu: PyTree


@block
def scale_by_radam(
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    # At least 4: for 2 < rho_t < 4 the rectification ratio would be negative.
    threshold: Annotated[ScalarOrSchedule, Real(low=4.0)] = 5.0,
    *,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Rescales updates by Adam's moments with RAdam's variance rectification.

    ``m``, ``v`` as Adam; ``t`` the 1-based step, ``bc1 = 1 - b1^t``, ``bc2 = 1 - b2^t``,
    ``rho_inf = 2 / (1 - b2) - 1``, ``rho_t = rho_inf - 2 t b2^t / bc2``. If
    ``rho_t > threshold``:
    ``r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``
    and the output is ``(m / bc1) r sqrt(bc2) / (sqrt(v) + eps)``; otherwise the
    momentum step ``m / bc1``. This is ``torch.optim.RAdam`` and the authors' code
    (eps on the raw ``sqrt(v)``, strict ``>``); optax's ``scale_by_radam`` differs
    (``>=``, eps on the corrected ``v``).

    Args:
      b1, b2: decay rates in [0, 1) (state keys ``"b1"``, ``"b2"``).
      eps: >= 0 (``"eps"``).
      threshold: rectify when ``rho_t`` exceeds it; >= 4 (``"threshold"``).
      mu_dtype, nu_dtype: moment dtypes; default the parameter dtype promoted to float32.

    Returns:
      A transformation with ``b1``, ``b2``, ``eps`` and ``threshold`` in its state, and
      a :class:`ScaleByRadamState` inside.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_radam()
      >>> u, _ = tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))
      >>> print(u)  # rho_1 = 1 <= 5: the momentum step m / bc1 = g
      [ 0.5 -2. ]

    References:
      Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond";
      ``torch.optim.RAdam``; ``optax.scale_by_radam``.
    """

    def init(params):
        return ScaleByRadamState(
            zero_count(), zeros_like_tree(params, mu_dtype), zeros_like_tree(params, nu_dtype)
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        mu = update_moment(updates, state.mu, b1, 1)
        nu = update_moment(updates, state.nu, b2, 2)
        count = safe_increment(state.count)
        t = count.astype(jnp.float32)
        bc1, bc2 = bias_corrections(b1, b2, count)
        # rho_t is the difference of two numbers near 2 / (1 - b2) (1738 for b2 = 0.99885):
        # a 1 - b2^t that lost digits to b2 ** t can put rho_t on the wrong side of the
        # threshold (1 - b2 itself is exact in float32).
        accurate_bc2 = accurate_bias_correction(b2, count)
        rho_inf = 2 / (1 - jnp.asarray(b2, jnp.float32)) - 1
        rho_t = rho_inf - 2 * t * (1 - accurate_bc2) / accurate_bc2
        rectified = rho_t > threshold
        # The ratio is negative for rho_t < 4; it is only read where rho_t > threshold.
        ratio = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        rect = jnp.sqrt(jnp.where(rectified, ratio, 1.0))

        # Scalars folded so that each element divides once: XLA computes both sides of
        # the select, and its CPU loops pay for each division.
        rectified_rate = rect * jnp.sqrt(bc2) / bc1
        plain_rate = 1 / bc1

        def direction(m, v):
            return jnp.where(rectified, rectified_rate * m / (jnp.sqrt(v) + eps), plain_rate * m)

        out = jax.tree.map(direction, mu, nu)
        return cast_like(out, updates), ScaleByRadamState(count, mu, nu)

    return optax.GradientTransformationExtraArgs(init, update)
