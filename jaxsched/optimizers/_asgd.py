"""Averaged SGD."""

from __future__ import annotations

from typing import Any

import optax

from .._base import ScalarOrSchedule, check_hyperparam
from .._hyper import with_hyperparams
from ..transforms._asgd import asgd_average_rule, asgd_step_rule
from ..transforms._basic import MaskOrFn, decayed_weights_rule
from ._descent import check_lr_and_decay


def asgd(
    learning_rate: ScalarOrSchedule = 1e-2,
    lambd: ScalarOrSchedule = 1e-4,
    alpha: ScalarOrSchedule = 0.75,
    t0: ScalarOrSchedule = 1e6,
    weight_decay: ScalarOrSchedule = 0.0,
    *,
    mask: MaskOrFn = None,
    dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Averaged SGD as ``torch.optim.ASGD``.

    Coupled L2 ``weight_decay`` (``g <- g + weight_decay * p``), then the step
    ``p <- p (1 - lambd eta_k) - eta_k g`` with
    ``eta_k = learning_rate / (1 + lambd learning_rate k)^alpha``
    (:func:`jaxsched.transforms.asgd_step`), while the state keeps the running
    average of the iterates from update ``t0`` on
    (:func:`jaxsched.transforms.asgd_average`; read it with
    :func:`jaxsched.transforms.averaged_params`). As in torch, the parameters follow
    the plain iterates; the average is for evaluation.

    Args:
      learning_rate, lambd, alpha: >= 0.
      t0: the update after which averaging starts.
      weight_decay: coupled L2 coefficient, >= 0.
      mask: which leaves get weight decay.
      dtype: dtype of the average; default the parameter dtype promoted to float32.

    Returns:
      A transformation with every numeric argument in its state under its name.
    """
    check_lr_and_decay(learning_rate, weight_decay)
    check_hyperparam("lambd", lambd, low=0.0)
    check_hyperparam("alpha", alpha, low=0.0)
    check_hyperparam("t0", t0)

    def build(learning_rate, lambd, alpha, t0, weight_decay):
        return optax.chain(
            decayed_weights_rule(weight_decay, mask),
            asgd_step_rule(learning_rate, lambd, alpha),
            asgd_average_rule(t0, dtype=dtype),
        )

    return with_hyperparams(
        build,
        learning_rate=learning_rate,
        lambd=lambd,
        alpha=alpha,
        t0=t0,
        weight_decay=weight_decay,
    )
