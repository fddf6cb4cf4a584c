"""Optimizers that step by gradient signs: Rprop and Lion."""

from __future__ import annotations

from typing import Any

import optax

from .._base import ScalarOrSchedule
from .._hyper import with_hyperparams
from ..transforms._basic import MaskOrFn, negate_rule
from ..transforms._lion import check_lion_args, lion_rule
from ..transforms._rprop import check_rprop_args, rprop_rule
from ._descent import check_lr_and_decay, descent


def rprop(
    learning_rate: ScalarOrSchedule = 1e-2,
    eta_minus: ScalarOrSchedule = 0.5,
    eta_plus: ScalarOrSchedule = 1.2,
    min_step_size: ScalarOrSchedule = 1e-6,
    max_step_size: ScalarOrSchedule = 50.0,
    *,
    dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Rprop (Riedmiller & Braun 1993): ``p <- p - sign(g) * step_size``, as ``torch.optim.Rprop``.

    :func:`jaxsched.transforms.scale_by_rprop` followed by a negation.

    Args:
      learning_rate: the initial step size, >= 0.
      eta_minus, eta_plus, min_step_size, max_step_size, dtype: see
        :func:`jaxsched.transforms.scale_by_rprop`.

    Returns:
      A transformation with every numeric argument in its state under its name.
    """
    check_rprop_args(learning_rate, eta_minus, eta_plus, min_step_size, max_step_size)

    def build(**values):
        return optax.chain(rprop_rule(**values, dtype=dtype), negate_rule())

    return with_hyperparams(
        build,
        learning_rate=learning_rate,
        eta_minus=eta_minus,
        eta_plus=eta_plus,
        min_step_size=min_step_size,
        max_step_size=max_step_size,
    )


def lion(
    learning_rate: ScalarOrSchedule = 1e-4,
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.99,
    weight_decay: ScalarOrSchedule = 1e-3,
    *,
    mask: MaskOrFn = None,
    mu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Lion (Chen et al. 2023): ``p <- p - lr * (sign(b1 m + (1 - b1) g) + weight_decay * p)``.

    :func:`jaxsched.transforms.scale_by_lion`, decoupled weight decay, then the
    learning rate (``optax.lion``'s composition and default ``weight_decay``). The
    paper advises a learning rate 3-10x smaller than AdamW's.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, mu_dtype: see :func:`jaxsched.transforms.scale_by_lion`.
      weight_decay: decoupled weight decay, >= 0.
      mask: which leaves get weight decay.

    Returns:
      A transformation with every numeric argument in its state under its name.
    """
    check_lr_and_decay(learning_rate, weight_decay)
    check_lion_args(b1, b2)

    def build(learning_rate, b1, b2, weight_decay):
        rule = lion_rule(b1, b2, mu_dtype=mu_dtype)
        return descent(rule, learning_rate, weight_decay, decoupled=True, mask=mask)

    return with_hyperparams(
        build, learning_rate=learning_rate, b1=b1, b2=b2, weight_decay=weight_decay
    )
