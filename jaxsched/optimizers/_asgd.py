"""Averaged SGD."""

from __future__ import annotations

import optax

from .._hyper import block
from .._validate import AnyReal, FloatDtype, Mask, NonNegative, OptionalNonNegative
from ..transforms._asgd import asgd_average, asgd_step
from ..transforms._basic import add_decayed_weights


@block
def asgd(
    learning_rate: NonNegative = 1e-2,
    lambd: NonNegative = 1e-4,
    alpha: NonNegative = 0.75,
    t0: AnyReal = 1e6,
    weight_decay: OptionalNonNegative = None,
    *,
    mask: Mask = None,
    dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Averaged SGD as ``torch.optim.ASGD``.

    Coupled L2 ``weight_decay`` (``g <- g + weight_decay * p``), then the step
    ``p <- p (1 - lambd eta_k) - eta_k g`` with
    ``eta_k = learning_rate / (1 + lambd learning_rate k)^alpha``
    (:func:`jaxsched.transforms.asgd_step`), while the state keeps the running
    average of the iterates from update ``t0`` on
    (:func:`jaxsched.transforms.asgd_average`; read it with
    :func:`jaxsched.transforms.averaged_params`). As in torch, the parameters follow
    the plain iterates; the average is for evaluation. ``update`` needs ``params``.

    Args:
      learning_rate, lambd, alpha: >= 0; numbers, jax scalars or schedules.
      t0: the update after which averaging starts, a finite number.
      weight_decay: coupled L2 coefficient, >= 0, or None for none.
      mask: which leaves get weight decay (pytree of bools or function of params).
      dtype: dtype of the average; default the parameter dtype promoted to float32.

    Returns:
      A transformation with every numeric argument in its state under its name
      (``weight_decay`` only when given).

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.asgd(0.1, lambd=0.0)
      >>> p = jnp.array([1.0])
      >>> u, state = tx.update(jnp.array([2.0]), tx.init(p), p)
      >>> print(u, sorted(jaxsched.hyperparams(state)))
      [-0.2] ['alpha', 'lambd', 'learning_rate', 't0']

    References:
      Polyak & Juditsky 1992, "Acceleration of Stochastic Approximation by Averaging";
      Xu 2011; ``torch.optim.ASGD``.
    """
    decay = [] if weight_decay is None else [add_decayed_weights(weight_decay, mask)]
    return optax.chain(
        *decay,
        asgd_step(learning_rate, lambd, alpha),
        asgd_average(t0, dtype=dtype),
    )
