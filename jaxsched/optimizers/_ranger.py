"""Ranger: RAdam inside Lookahead, with gradient centralization."""

from __future__ import annotations

from typing import Annotated

import optax

from .._base import ScalarOrSchedule
from .._hyper import block
from .._validate import (
    Decay,
    Flag,
    FloatDtype,
    NonNegative,
    OptionalNonNegative,
    Real,
    Steps,
    UnitInterval,
)
from ..transforms._basic import descent
from ..transforms._centralize import Axes, Layout
from ..transforms._centralize import centralize as centralize_gradients
from ..transforms._lookahead import lookahead
from ..transforms._radam import scale_by_radam


@block
def ranger(
    learning_rate: NonNegative = 1e-3,
    b1: Decay = 0.95,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-5,
    weight_decay: OptionalNonNegative = None,
    sync_period: Steps = 6,
    slow_step_size: UnitInterval = 0.5,
    centralize: Flag = True,
    threshold: Annotated[ScalarOrSchedule, Real(low=4.0)] = 5.0,
    *,
    centralize_axes: Axes = None,
    centralize_layout: Layout = "flax",
    centralize_min_ndim: Steps = 2,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Ranger (Wright 2019): ``lookahead(chain(centralize(), radam(...)))``.

    The original algorithm (lessw2020/Ranger-Deep-Learning-Optimizer, 2019), per step:
    gradient centralization ``g <- g - mean(g over the input axes)`` for leaves with at
    least ``centralize_min_ndim`` dimensions; RAdam's moments and rectified step (a
    momentum step while ``rho_t <= threshold``, eps on the raw ``sqrt(v)``); decoupled
    weight decay ``p <- p - learning_rate * weight_decay * p``; and every
    ``sync_period`` steps Lookahead's ``slow <- slow + slow_step_size * (p - slow);
    p <- slow``, with the slow weights starting at the initial parameters. ``update``
    needs ``params`` (Lookahead reads them).

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2: RAdam's decay rates in [0, 1).
      eps: >= 0.
      weight_decay: decoupled weight decay, >= 0, or None for none (the original's 0).
      sync_period: Lookahead's k, an integer >= 1.
      slow_step_size: Lookahead's alpha in [0, 1].
      centralize: apply gradient centralization.
      threshold: RAdam's rectification threshold, >= 4 (the original's
        ``N_sma_threshhold``).
      centralize_axes, centralize_layout, centralize_min_ndim: which axes are averaged
        (see :func:`jaxsched.transforms.centralize`): by default all but the last, for
        Flax's (in, out) kernels; ``centralize_layout="torch"`` averages over all but
        the first, as the original does for torch's (out, in) weights;
        ``centralize_min_ndim=4`` is the original's ``gc_conv_only``.
      mu_dtype, nu_dtype: RAdam's moment dtypes.

    Returns:
      A transformation whose state holds ``learning_rate``, ``b1``, ``b2``, ``eps``,
      ``threshold``, ``slow_step_size`` (and ``weight_decay`` when given).

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.ranger(0.1)
      >>> p = {"w": jnp.zeros((2, 2)), "b": jnp.zeros(2)}
      >>> g = {"w": jnp.array([[1.0, 2.0], [3.0, 4.0]]), "b": jnp.ones(2)}
      >>> u, state = tx.update(g, tx.init(p), p)
      >>> print(u["w"])  # a momentum step on the centralized gradient [[-1, -1], [1, 1]]
      [[ 0.1  0.1]
       [-0.1 -0.1]]
      >>> sorted(jaxsched.hyperparams(state))
      ['b1', 'b2', 'eps', 'learning_rate', 'slow_step_size', 'threshold']

    References:
      Wright 2019, lessw2020/Ranger-Deep-Learning-Optimizer; Liu et al. 2020 (RAdam);
      Zhang et al. 2019 (Lookahead); Yong et al. 2020 (gradient centralization).
    """
    rule = scale_by_radam(b1, b2, eps, threshold, mu_dtype=mu_dtype, nu_dtype=nu_dtype)
    fast = descent(rule, learning_rate, weight_decay, decoupled=True)
    if centralize:
        gc = centralize_gradients(
            centralize_axes, layout=centralize_layout, min_ndim=centralize_min_ndim
        )
        fast = optax.chain(gc, fast)
    return lookahead(fast, sync_period, slow_step_size)
