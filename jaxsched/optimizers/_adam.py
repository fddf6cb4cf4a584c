"""Adam and AdamW."""

from __future__ import annotations

from typing import Any

import optax

from .._base import ScalarOrSchedule, check_hyperparam
from .._hyper import with_hyperparams
from ..transforms._adam import adam_rule, check_adam_args
from ..transforms._basic import MaskOrFn
from ._descent import descent


def adam_with_decay(
    learning_rate: ScalarOrSchedule,
    b1: ScalarOrSchedule,
    b2: ScalarOrSchedule,
    eps: ScalarOrSchedule,
    eps_root: ScalarOrSchedule = 0.0,
    weight_decay: ScalarOrSchedule | None = None,
    *,
    decoupled: bool = True,
    mask: MaskOrFn = None,
    epsilon_hat: bool = False,
    amsgrad: bool = False,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Adam with optional weight decay, coupled (``g += wd p``) or decoupled.

    The one place Adam is assembled; :func:`adam`, :func:`adamw` and the torch and
    Keras flavors choose the options. ``weight_decay=None`` leaves it out of the state.
    """
    check_hyperparam("learning_rate", learning_rate, low=0.0)
    check_adam_args(b1, b2, eps, eps_root)
    hyper = dict(learning_rate=learning_rate, b1=b1, b2=b2, eps=eps, eps_root=eps_root)
    if weight_decay is not None:
        check_hyperparam("weight_decay", weight_decay, low=0.0)
        hyper["weight_decay"] = weight_decay

    def build(learning_rate, b1, b2, eps, eps_root, weight_decay=None):
        rule = adam_rule(
            b1,
            b2,
            eps,
            eps_root,
            epsilon_hat=epsilon_hat,
            amsgrad=amsgrad,
            mu_dtype=mu_dtype,
            nu_dtype=nu_dtype,
        )
        return descent(rule, learning_rate, weight_decay, decoupled=decoupled, mask=mask)

    return with_hyperparams(build, **hyper)


def adam(
    learning_rate: ScalarOrSchedule = 1e-3,
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
    """Adam (Kingma & Ba 2015): ``p <- p - learning_rate * m_hat / (sqrt(v_hat) + eps)``.

    ``scale_by_adam`` followed by ``scale_by_learning_rate``; see
    :func:`jaxsched.transforms.scale_by_adam` for the options (``epsilon_hat`` gives
    Keras's eps placement, ``amsgrad`` torch's and Keras's AMSGrad). Every numeric
    argument is kept in the state under its name.
    """
    return adam_with_decay(
        learning_rate,
        b1,
        b2,
        eps,
        eps_root,
        epsilon_hat=epsilon_hat,
        amsgrad=amsgrad,
        mu_dtype=mu_dtype,
        nu_dtype=nu_dtype,
    )


def adamw(
    learning_rate: ScalarOrSchedule = 1e-3,
    b1: ScalarOrSchedule = 0.9,
    b2: ScalarOrSchedule = 0.999,
    eps: ScalarOrSchedule = 1e-8,
    eps_root: ScalarOrSchedule = 0.0,
    weight_decay: ScalarOrSchedule = 1e-4,
    *,
    mask: MaskOrFn = None,
    epsilon_hat: bool = False,
    amsgrad: bool = False,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay.

    ``p <- p - learning_rate * (m_hat / (sqrt(v_hat) + eps) + weight_decay * p)``, the
    rule of ``torch.optim.AdamW`` and ``optax.adamw``. The default ``weight_decay`` is
    optax's 1e-4 (torch's is 1e-2: use :func:`jaxsched.torch.AdamW` for torch defaults).

    Args:
      mask: which leaves are decayed (pytree of bools or function of params).
      Others: as :func:`adam`; ``weight_decay`` >= 0.
    """
    return adam_with_decay(
        learning_rate,
        b1,
        b2,
        eps,
        eps_root,
        weight_decay,
        decoupled=True,
        mask=mask,
        epsilon_hat=epsilon_hat,
        amsgrad=amsgrad,
        mu_dtype=mu_dtype,
        nu_dtype=nu_dtype,
    )
