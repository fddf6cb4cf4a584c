"""``torch.optim.Muon``: its arguments, defaults and numbers."""

from __future__ import annotations

from typing import Annotated

import jax
import jax.numpy as jnp
import optax

from .._base import none_if_zero, path_str
from .._validate import Choice, Flag, FloatDtype, Integer, Items, NonNegative, Real, validated
from ..optimizers._matrix import muon

NsCoefficients = Annotated[tuple, Items(Real(schedule=False), length=3)]


@validated
def Muon(
    lr: NonNegative = 1e-3,
    weight_decay: NonNegative = 0.1,
    momentum: NonNegative = 0.95,
    nesterov: Flag = True,
    ns_coefficients: NsCoefficients = (3.4445, -4.7750, 2.0315),
    eps: NonNegative = 1e-7,
    ns_steps: Annotated[int, Integer(0, 99)] = 5,
    adjust_lr_fn: Annotated[str | None, Choice((None, "original", "match_rms_adamw"))] = None,
    *,
    ns_dtype: FloatDtype = jnp.bfloat16,
) -> optax.GradientTransformationExtraArgs:
    """``torch.optim.Muon``: :func:`jaxsched.optimizers.muon` under torch's names.

    Nesterov momentum ``b <- b.lerp(g, 1 - momentum)``, ``u = g.lerp(b, momentum)``,
    ``ns_steps`` Newton-Schulz iterations in bfloat16, ``p <- p * (1 - lr * weight_decay)``
    and ``p <- p - lr * r * O`` with ``r`` the factor of ``adjust_lr_fn`` (None or
    ``"original"``: ``max(1, rows / cols) ** 0.5``; ``"match_rms_adamw"``:
    ``0.2 * max(rows, cols) ** 0.5``). The Newton-Schulz numbers are torch's bit for bit
    on equal inputs; eps is added to the norm where torch clamps the norm at eps, which
    differs only for gradients of norm below about ``1e5 * eps``.

    Like torch, every parameter must be 2-D: ``init`` raises for another leaf (torch
    raises at construction). Update the other leaves with another optimizer
    (:func:`jaxsched.partition`) or use :func:`jaxsched.optimizers.muon` with ``fallback``.

    Args:
      lr: >= 0 (state key ``learning_rate``).
      weight_decay: >= 0, decoupled (``weight_decay``, absent when 0).
      momentum: >= 0 as torch (``momentum``).
      nesterov: Nesterov momentum.
      ns_coefficients: the ``(a, b, c)`` of the quintic.
      eps: >= 0 (``eps``).
      ns_steps: iterations, in [0, 99] (torch refuses 100 or more at its first step).
      adjust_lr_fn: None, ``"original"`` or ``"match_rms_adamw"``.
      ns_dtype: a jaxsched addition: the dtype of the iteration (torch's bfloat16, or
        float32 for exact arithmetic).

    Returns:
      A transformation whose ``update`` gives torch's step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.torch.Muon(lr=0.02, weight_decay=0.0)
      >>> params = jnp.array([[2.0, 0.0], [0.0, 1.0]])
      >>> u, state = tx.update(params, tx.init(params))
      >>> print(u)
      [[-0.01382812 -0.        ]
       [-0.         -0.02234375]]
      >>> sorted(jaxsched.hyperparams(state))
      ['eps', 'learning_rate', 'momentum']

    References:
      Jordan et al. 2024; Liu et al. 2025; ``torch.optim.Muon``.
    """
    tx = muon(
        lr,
        momentum,
        none_if_zero(weight_decay),
        eps,
        nesterov=nesterov,
        ns_steps=ns_steps,
        ns_coeffs=ns_coefficients,
        adjust_lr=adjust_lr_fn or "original",
        ns_dtype=ns_dtype,
    )

    def init(params):
        for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
            if jnp.ndim(leaf) != 2:
                raise ValueError(
                    "Muon only supports 2D parameters whereas we found a parameter with "
                    f"size: {jnp.shape(leaf)} (at {path_str(path)!r}); update the other "
                    "leaves with another optimizer (jaxsched.partition), or use "
                    "jaxsched.optimizers.muon(..., fallback=...)"
                )
        return tx.init(params)

    return optax.GradientTransformationExtraArgs(init, tx.update)
