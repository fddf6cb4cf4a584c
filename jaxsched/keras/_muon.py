"""``keras.optimizers.Muon`` (Keras 3): Newton-Schulz on 2-D variables, AdamW on the rest."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Annotated

import jax
import jax.numpy as jnp
import optax

from .._base import ScalarOrSchedule, cast_like, none_if_zero, path_str, stateless
from .._combine import partition
from .._validate import (
    Count,
    Decay,
    Flag,
    NonNegative,
    OptionalNonNegative,
    Real,
    UnitInterval,
)
from ..optimizers._adam import adam
from ..transforms._basic import scale_by_learning_rate
from ..transforms._momentum import trace
from ..transforms._muon import orthogonalize
from ._common import KerasRule, LearningRate, decay_then, keras_flavor

Coefficient = Annotated[float, Real(schedule=False)]
OptionalRmsRate = Annotated[ScalarOrSchedule | None, Real(low=0.0, optional=True)]


def _patterns(exclude_layers: Sequence[str] | None) -> list[re.Pattern]:
    if exclude_layers is None:
        return []
    if isinstance(exclude_layers, str) or not all(isinstance(k, str) for k in exclude_layers):
        raise TypeError(
            f"exclude_layers must be a list of regular expressions (strings) or None, got "
            f"{exclude_layers!r}"
        )
    try:
        return [re.compile(k) for k in exclude_layers]
    except re.error as err:
        raise ValueError(f"exclude_layers has an invalid regular expression: {err}") from err


def _match_rms(rms_rate) -> optax.GradientTransformation:
    """Moonlight's ``u <- u * sqrt(max(rows, cols)) * rms_rate`` (Keras's ``lr_adjust``)."""
    return stateless(
        lambda u, p: cast_like(jax.tree.map(lambda g: g * math.sqrt(max(g.shape)) * rms_rate, u), u)
    )


@keras_flavor
def Muon(
    learning_rate: LearningRate = 0.001,
    adam_beta_1: Decay = 0.9,
    adam_beta_2: Decay = 0.999,
    adam_weight_decay: OptionalNonNegative = 0.004,
    epsilon: NonNegative = 1e-7,
    weight_decay: OptionalNonNegative = 0.004,
    *,
    exclude_layers: Sequence[str] | None = None,
    exclude_embeddings: Flag = True,
    muon_a: Coefficient = 3.4445,
    muon_b: Coefficient = -4.7750,
    muon_c: Coefficient = 2.0315,
    adam_lr_ratio: NonNegative = 1.0,
    momentum: UnitInterval = 0.95,
    ns_steps: Count = 5,
    nesterov: Flag = True,
    rms_rate: OptionalRmsRate = 0.2,
) -> KerasRule:
    """``keras.optimizers.Muon``: orthogonalized momentum for matrices, AdamW for the rest.

    A variable takes the AdamW step when it is not 2-D, when ``exclude_embeddings`` is
    True and its path contains ``"embedding"`` (any case), or when one of
    ``exclude_layers`` is found in its path (``re.search``); every other takes the Muon
    step. The path is the pytree path of the leaf, keys joined by ``/``
    (``"params/Embed_0/embedding"``; for ``flax.nnx`` states ``"embed/embedding"``), in
    place of Keras's ``variable.path``.

    Muon step: ``m <- momentum m + g`` (no ``1 - momentum`` factor, from ``m = 0``);
    ``u = g + momentum m`` with Nesterov, else ``m``; ``O`` = ``ns_steps`` Newton-Schulz
    iterations with coefficients ``(muon_a, muon_b, muon_c)`` on
    ``u / (|u|_F + 1e-7)`` in the parameters' dtype
    (:func:`jaxsched.transforms.orthogonalize`); ``x <- x - lr * O * sqrt(max(rows,
    cols)) * rms_rate`` (without the factor when ``rms_rate`` is None).
    AdamW step: Keras's Adam (:func:`Adam`) with learning rate ``lr * adam_lr_ratio``.
    Weight decay, before either step: ``x <- x - lr * weight_decay * x`` on Muon's
    variables, ``x <- x - lr * adam_weight_decay * x`` on AdamW's (None: none).

    Args:
      learning_rate: >= 0; number, schedule or function of no arguments (``learning_rate``).
      adam_beta_1, adam_beta_2: in [0, 1) (state keys ``b1``, ``b2``).
      adam_weight_decay: >= 0 or None (``adam_weight_decay``).
      epsilon: >= 0, AdamW's (``eps``).
      weight_decay: >= 0 or None, Muon's variables' (``weight_decay``).
      exclude_layers: regular expressions of the paths that take AdamW, or None.
      exclude_embeddings: embeddings take AdamW.
      muon_a, muon_b, muon_c: the Newton-Schulz coefficients.
      adam_lr_ratio: >= 0 (``adam_lr_ratio``).
      momentum: in [0, 1] (``momentum``).
      ns_steps: int >= 0, Newton-Schulz iterations.
      nesterov: Nesterov's look-ahead.
      rms_rate: >= 0 or None (``rms_rate``), Liu et al. 2025's RMS matching.
      clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, decay:
        Keras's common arguments (:mod:`jaxsched.keras`). Muon's own arguments after
        ``gradient_accumulation_steps`` come after Keras's ``name`` and are
        keyword-only here.

    Returns:
      A transformation whose ``update`` gives Keras's step; it needs ``params`` when a
      weight decay is set.

    Raises:
      TypeError, ValueError: for ``exclude_layers`` that are not regular expressions.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> params = {"dense": jnp.ones((2, 3)), "bias": jnp.ones(3)}
      >>> tx = jaxsched.keras.Muon(0.1, epsilon=0.0, weight_decay=None, adam_weight_decay=None)
      >>> u, state = tx.update(params, tx.init(params), params)
      >>> print(u["bias"])  # AdamW's first step: lr * sign(g)
      [-0.1 -0.1 -0.1]
      >>> print(u["dense"][0])  # lr * 0.2 * sqrt(3) * O, O near 0.7 / sqrt(6) (rank one)
      [-0.0098491 -0.0098491 -0.0098491]
      >>> sorted(jaxsched.hyperparams(state))
      ['adam_lr_ratio', 'b1', 'b2', 'eps', 'learning_rate', 'momentum', 'rms_rate']

    References:
      Jordan et al. 2024, "Muon: An optimizer for hidden layers in neural networks";
      Liu et al. 2025, "Muon is Scalable for LLM Training"; ``keras.optimizers.Muon``.
    """
    patterns = _patterns(exclude_layers)

    def takes_adamw(path, leaf) -> bool:
        name = path_str(path)
        return (
            jnp.ndim(leaf) != 2
            or (exclude_embeddings and "embedding" in name.lower())
            or any(p.search(name) for p in patterns)
        )

    def labels(tree):
        return jax.tree_util.tree_map_with_path(
            lambda path, leaf: "adamw" if takes_adamw(path, leaf) else "muon", tree
        )

    def update_step(
        learning_rate,
        b1,
        b2,
        eps,
        momentum,
        adam_lr_ratio,
        weight_decay=None,
        adam_weight_decay=None,
        rms_rate=None,
    ):
        coefficients = (muon_a, muon_b, muon_c)
        blocks = [
            trace(momentum, nesterov=nesterov, zero_init=True),
            orthogonalize(1e-7, ns_steps=ns_steps, ns_coeffs=coefficients, ns_dtype=None),
        ]
        if rms_rate is not None:
            blocks.append(_match_rms(rms_rate))
        matrices = optax.chain(*blocks, scale_by_learning_rate(learning_rate))
        adamw = adam(learning_rate * adam_lr_ratio, b1, b2, eps, epsilon_hat=True)
        # Keras decays both kinds with the unscaled learning rate.
        if weight_decay is not None:
            matrices = decay_then(learning_rate * weight_decay, matrices)
        if adam_weight_decay is not None:
            adamw = decay_then(learning_rate * adam_weight_decay, adamw)
        return partition({"muon": matrices, "adamw": adamw}, labels)

    hyper = {
        "b1": adam_beta_1,
        "b2": adam_beta_2,
        "eps": epsilon,
        "momentum": momentum,
        "adam_lr_ratio": adam_lr_ratio,
    }
    # As in Keras a decay of 0 is none (and then update needs no params).
    optional = {
        "weight_decay": none_if_zero(weight_decay),
        "adam_weight_decay": none_if_zero(adam_weight_decay),
        "rms_rate": rms_rate,
    }
    hyper.update({k: v for k, v in optional.items() if v is not None})
    return KerasRule(update_step, hyper, decays=True)
