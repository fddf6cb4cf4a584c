"""Adam's moment estimates (Kingma & Ba 2015) with torch's, optax's and Keras's eps placements."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    Array,
    PyTree,
    ScalarOrSchedule,
    cast_like,
    check_hyperparam,
    check_same_tree,
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._hyper import with_hyperparams


class ScaleByAdamState(NamedTuple):
    count: Array
    mu: PyTree
    nu: PyTree
    nu_max: PyTree | None


def update_moment(updates: PyTree, moments: PyTree, decay: Any, order: int) -> PyTree:
    """Exponential moving average of the ``order``-th power: ``m <- d m + (1 - d) g^order``.

    Computed and kept in the moments' dtype (float32 for bf16 gradients by default), so
    bf16 gradients are squared in float32.
    """

    def ema(m, g):
        return (decay * m + (1 - decay) * g.astype(m.dtype) ** order).astype(m.dtype)

    return jax.tree.map(ema, moments, updates)


def bias_corrections(b1: Any, b2: Any, count: Array) -> tuple[Array, Array]:
    """``(1 - b1^t, 1 - b2^t)`` in float32 for the 1-based step ``t = count + 1``."""
    t = count.astype(jnp.float32) + 1
    b1 = jnp.asarray(b1, jnp.float32)
    b2 = jnp.asarray(b2, jnp.float32)
    return 1 - b1**t, 1 - b2**t


def adam_rule(
    b1: Any,
    b2: Any,
    eps: Any,
    eps_root: Any = 0.0,
    *,
    epsilon_hat: bool = False,
    amsgrad: bool = False,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Adam rule with hyperparameter values given directly (see :func:`scale_by_adam`)."""

    def init(params):
        nu = zeros_like_tree(params, nu_dtype)
        return ScaleByAdamState(
            zero_count(), zeros_like_tree(params, mu_dtype), nu, nu if amsgrad else None
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        mu = update_moment(updates, state.mu, b1, 1)
        nu = update_moment(updates, state.nu, b2, 2)
        nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu) if amsgrad else None
        bc1, bc2 = bias_corrections(b1, b2, state.count)

        if epsilon_hat:
            step_size = jnp.sqrt(bc2) / bc1

            def direction(m, v):
                return step_size * m / (jnp.sqrt(v) + eps)
        else:

            def direction(m, v):
                return (m / bc1) / (jnp.sqrt(v + eps_root * bc2) / jnp.sqrt(bc2) + eps)

        out = jax.tree.map(direction, mu, nu_max if amsgrad else nu)
        new_state = ScaleByAdamState(safe_increment(state.count), mu, nu, nu_max)
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)


def check_adam_args(b1: Any, b2: Any, eps: Any, eps_root: Any = 0.0) -> None:
    check_hyperparam("b1", b1, 0.0, 1.0, high_open=True)
    check_hyperparam("b2", b2, 0.0, 1.0, high_open=True)
    check_hyperparam("eps", eps, low=0.0)
    check_hyperparam("eps_root", eps_root, low=0.0)


def scale_by_adam(
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-8,
    eps_root: ScalarOrSchedule = 0.0,
    *,
    epsilon_hat: bool = False,
    amsgrad: bool = False,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Rescales updates by Adam's bias-corrected moments.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``, ``t`` the 1-based step,
    ``bc1 = 1 - b1^t``, ``bc2 = 1 - b2^t``. Output:

    * default (torch ``Adam``, optax ``scale_by_adam``):
      ``(m / bc1) / (sqrt(v / bc2 + eps_root) + eps)``;
    * ``epsilon_hat=True`` (Keras ``Adam``; the "epsilon hat" of the paper's
      section 2): ``sqrt(bc2) / bc1 * m / (sqrt(v) + eps)``.

    With ``amsgrad=True`` (Reddi et al. 2018) ``v`` in the output is replaced by the
    running maximum of the raw ``v``, as torch and Keras do (optax takes the maximum of
    the bias-corrected ``v``).

    Args:
      b1, b2: decay rates in [0, 1) (state keys ``"b1"``, ``"b2"``).
      eps: added to the denominator, >= 0 (``"eps"``).
      eps_root: added inside the square root, >= 0 (``"eps_root"``).
      epsilon_hat: Keras's placement of eps (see above).
      amsgrad: use the running maximum of ``v``.
      mu_dtype, nu_dtype: moment dtypes; default the parameter dtype promoted to float32.
    """
    check_adam_args(b1, b2, eps, eps_root)
    return with_hyperparams(
        lambda b1, b2, eps, eps_root: adam_rule(
            b1,
            b2,
            eps,
            eps_root,
            epsilon_hat=epsilon_hat,
            amsgrad=amsgrad,
            mu_dtype=mu_dtype,
            nu_dtype=nu_dtype,
        ),
        b1=b1,
        b2=b2,
        eps=eps,
        eps_root=eps_root,
    )
