"""Adam and AdamW."""

from __future__ import annotations

import optax

from .._hyper import block, variant
from .._validate import Decay, Flag, FloatDtype, Mask, NonNegative, OptionalNonNegative
from ..transforms._adam import scale_by_adam
from ..transforms._basic import descent


@block
def adam(
    learning_rate: NonNegative = 1e-3,
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    eps_root: OptionalNonNegative = None,
    weight_decay: OptionalNonNegative = None,
    *,
    decoupled: Flag = False,
    mask: Mask = None,
    maximize: Flag = False,
    epsilon_hat: Flag = False,
    amsgrad: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Adam (Kingma & Ba 2015): ``p <- p - learning_rate * m_hat / (sqrt(v_hat) + eps)``.

    :func:`~jaxsched.transforms.scale_by_adam` followed by the learning rate; see it
    for ``epsilon_hat`` (Keras's eps placement) and ``amsgrad`` (torch's and Keras's
    AMSGrad). With ``weight_decay``: coupled L2 (``g <- g + weight_decay * p``, torch's
    ``Adam``) or, with ``decoupled=True``, decoupled (:func:`adamw`).

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, eps, eps_root, epsilon_hat, amsgrad, mu_dtype, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_adam`.
      weight_decay: >= 0, or None for none (then ``update`` needs no ``params``).
      decoupled: decoupled weight decay (Loshchilov & Hutter 2019).
      mask: which leaves get weight decay (pytree of bools or function of params).
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.adam(0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(jaxsched.apply_updates(params, u))
      [ 0.9 -0.9]
      >>> sorted(jaxsched.hyperparams(state))
      ['b1', 'b2', 'eps', 'learning_rate']

    References:
      Kingma & Ba 2015; ``torch.optim.Adam``; ``optax.adam``.
    """
    rule = scale_by_adam(
        b1,
        b2,
        eps,
        eps_root,
        epsilon_hat=epsilon_hat,
        amsgrad=amsgrad,
        mu_dtype=mu_dtype,
        nu_dtype=nu_dtype,
    )
    return descent(
        rule, learning_rate, weight_decay, decoupled=decoupled, mask=mask, maximize=maximize
    )


adamw = variant(
    adam,
    "adamw",
    """AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay.

    ``p <- p - learning_rate * (m_hat / (sqrt(v_hat) + eps) + weight_decay * p)``, the
    rule of ``torch.optim.AdamW`` and ``optax.adamw``: :func:`adam` with
    ``weight_decay=1e-4`` (optax's default; torch's is 1e-2, see
    :func:`jaxsched.torch.AdamW`) and ``decoupled=True``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.adamw(0.1, weight_decay=0.5)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, _ = tx.update(jnp.zeros(2), tx.init(params), params)
      >>> print(u)
      [-0.05  0.05]

    References:
      Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization";
      ``torch.optim.AdamW``; ``optax.adamw``.
    """,
    weight_decay=1e-4,
    decoupled=True,
)
