"""Ranger: RAdam inside Lookahead, with gradient centralization."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optax

from .._base import ScalarOrSchedule
from ..transforms._centralize import centralize as centralize_gradients
from ..transforms._lookahead import lookahead
from ._adaptive import radam


def ranger(
    learning_rate: ScalarOrSchedule = 1e-3,
    b1: ScalarOrSchedule = 0.95,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-5,
    weight_decay: ScalarOrSchedule = 0.0,
    sync_period: int = 6,
    slow_step_size: ScalarOrSchedule = 0.5,
    centralize: bool = True,
    *,
    threshold: ScalarOrSchedule = 5.0,
    centralize_axes: Sequence[int] | None = None,
    centralize_layout: str = "flax",
    centralize_min_ndim: int = 2,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Ranger (Wright 2019): ``lookahead(chain(centralize(), radam(...)))``.

    The original algorithm (lessw2020/Ranger-Deep-Learning-Optimizer, 2019), per step:
    gradient centralization ``g <- g - mean(g over the input axes)`` for leaves with at
    least ``centralize_min_ndim`` dimensions; RAdam's moments and rectified step (a
    momentum step while ``rho_t <= threshold``, eps on the raw ``sqrt(v)``); decoupled
    weight decay ``p <- p - learning_rate * weight_decay * p``; and every
    ``sync_period`` steps Lookahead's ``slow <- slow + slow_step_size * (p - slow);
    p <- slow``, with the slow weights starting at the initial parameters.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2: RAdam's decay rates in [0, 1).
      eps: >= 0.
      weight_decay: decoupled weight decay, >= 0.
      sync_period: Lookahead's k >= 1.
      slow_step_size: Lookahead's alpha in [0, 1].
      centralize: apply gradient centralization.
      threshold: RAdam's rectification threshold (the original's ``N_sma_threshhold``).
      centralize_axes, centralize_layout, centralize_min_ndim: which axes are averaged
        (see :func:`jaxsched.transforms.centralize`): by default all but the last, for
        Flax's (in, out) kernels; ``centralize_layout="torch"`` averages over all but
        the first, as the original does for torch's (out, in) weights;
        ``centralize_min_ndim=4`` is the original's ``gc_conv_only``.
      mu_dtype, nu_dtype: RAdam's moment dtypes.

    Returns:
      A transformation whose state holds ``learning_rate``, ``b1``, ``b2``, ``eps``,
      ``weight_decay``, ``threshold`` and ``slow_step_size``.
    """
    fast = radam(
        learning_rate,
        b1,
        b2,
        eps,
        weight_decay,
        threshold,
        decoupled_weight_decay=True,
        mu_dtype=mu_dtype,
        nu_dtype=nu_dtype,
    )
    if centralize:
        gc = centralize_gradients(
            centralize_axes, layout=centralize_layout, min_ndim=centralize_min_ndim
        )
        fast = optax.chain(gc, fast)
    return lookahead(fast, sync_period, slow_step_size)
