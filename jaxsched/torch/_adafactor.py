"""``torch.optim.Adafactor``: torch's arguments, defaults and numbers."""

from __future__ import annotations

from typing import Annotated

import optax

from .._base import none_if_zero
from .._validate import Flag, Items, NonNegative, Real, Switch, validated
from ..optimizers._adafactor import adafactor
from ..transforms._adafactor import DecayRate

# (eps1, eps2): eps1 may be None (the machine epsilon of the parameters' dtype).
Epsilons = Annotated[tuple, Items(Real(low=0.0, schedule=False, optional=True), length=2)]
ClipThreshold = Annotated[float, Real(low=1.0)]


@validated
def Adafactor(
    lr: NonNegative = 1e-2,
    beta2_decay: DecayRate = -0.8,
    eps: Epsilons = (None, 1e-3),
    d: ClipThreshold = 1.0,
    weight_decay: NonNegative = 0.0,
    *,
    foreach: Switch = None,
    maximize: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.Adafactor``: :func:`jaxsched.optimizers.adafactor` with torch's rule.

    At the 1-based step ``t``: ``rho_t = min(lr, 1 / sqrt(t))``, ``alpha_t = max(eps2,
    RMS(p)) * rho_t``; ``p <- p * (1 - lr * weight_decay)``; the second moment has
    ``beta2_t = 1 - t^beta2_decay``, factored over the last two axes of every parameter
    of two or more dimensions (row and column means of ``g^2``) and kept whole for
    scalars and vectors; ``V_hat = R C / max(mean(R), eps1)``,
    ``U = g / sqrt(max(V_hat, eps1^2))``; ``p <- p - alpha_t U / max(1, RMS(U) / d)``.

    State keys (native names): ``learning_rate`` (lr), ``decay_rate`` (beta2_decay),
    ``eps`` (eps1; absent when None), ``min_scale`` (eps2), ``clip_threshold`` (d),
    ``weight_decay`` (absent when 0).

    Args:
      lr: >= 0; the cap of the relative step and the weight decay's factor; number, jax
        scalar or schedule.
      beta2_decay: <= 0.
      eps: ``(eps1, eps2)``: eps1 >= 0 or None (the machine epsilon of each
        parameter's dtype), eps2 >= 0.
      d: the clipping threshold, >= 1.
      weight_decay: >= 0; 0 means none (``update`` then reads ``params`` only for the
        parameter scale).
      maximize: ascend instead of descend.
      foreach: torch's implementation switch, ignored.

    Returns:
      A transformation whose ``update`` gives torch's step; it needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.Adafactor(lr=0.01)
      >>> params = jnp.array([3.0, -4.0])
      >>> u, state = tx.update(params, tx.init(params), params)
      >>> print(jaxsched.apply_updates(params, u))  # alpha = RMS(p) * 0.01 = 0.0354
      [ 2.9646447 -3.9646447]

    References:
      Shazeer & Stern 2018; ``torch.optim.Adafactor``.
    """
    del foreach
    eps1, eps2 = eps
    return adafactor(
        lr,
        beta2_decay,
        eps1,
        d,
        eps2,
        weight_decay=none_if_zero(weight_decay),
        relative_step=True,
        eps_mode="clamp",
        decay_by="learning_rate",
        maximize=maximize,
    )
