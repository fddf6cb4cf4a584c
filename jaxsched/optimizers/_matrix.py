"""Optimizers that precondition whole matrices: Muon and SOAP."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

import jax
import jax.numpy as jnp
import optax

from .._base import PyTree, path_str
from .._combine import partition
from .._hyper import block
from .._validate import (
    Count,
    Decay,
    Flag,
    FloatDtype,
    MaskSpec,
    NonNegative,
    OptionalNonNegative,
    Steps,
    TransformationSpec,
    UnitInterval,
    check_value,
)
from ..transforms._basic import (
    add_decayed_weights,
    descent,
    negate,
    scale,
    scale_by_learning_rate,
)
from ..transforms._muon import (
    AdjustLr,
    NsCoeffs,
    Reshape,
    ema_momentum,
    matrix_shape,
    orthogonalize,
)
from ..transforms._soap import DataFormat, OptionalDecay, scale_by_soap

OptionalTransformation = Annotated[Any, TransformationSpec(optional=True)]


def _fallback_selector(value: Any) -> Callable[[PyTree], PyTree] | None:
    """``fallback_leaves`` as a function tree -> pytree of bools (True: the fallback's)."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        try:
            patterns = [re.compile(v) for v in value]
        except re.error as err:
            raise ValueError(f"fallback_leaves has an invalid regular expression: {err}") from err

        def matched(tree):
            return jax.tree_util.tree_map_with_path(
                lambda path, _: any(p.search(path_str(path)) for p in patterns), tree
            )

        return matched
    value = check_value("fallback_leaves", value, MaskSpec())
    return value if callable(value) else (lambda tree: value)


def _no_matrix_error(path: str, shape: tuple, reshape: str | None) -> ValueError:
    fixes = "give fallback=jaxsched.adamw(3e-4, b2=0.95, eps=1e-10, weight_decay=None) (the "
    fixes += "Muon authors' AdamW) to update such leaves"
    if len(shape) > 2:
        fixes += (
            ", or reshape='flatten_trailing' (a convolution kernel (out, in, kh, kw) as an "
            "(out, in*kh*kw) matrix) or reshape='batch' (leading dims as a batch of matrices)"
        )
    return ValueError(
        f"muon cannot orthogonalize the leaf at {path!r} of shape {shape} with "
        f"reshape={reshape!r}: Newton-Schulz needs matrices; {fixes}"
    )


@block
def muon(
    learning_rate: NonNegative = 0.02,
    momentum: UnitInterval = 0.95,
    weight_decay: OptionalNonNegative = None,
    eps: NonNegative = 1e-7,
    *,
    nesterov: Flag = True,
    ns_steps: Count = 5,
    ns_coeffs: NsCoeffs = "original",
    adjust_lr: AdjustLr = "original",
    reshape: Reshape = None,
    fallback: OptionalTransformation = None,
    fallback_leaves: Any = None,
    decoupled: Flag = True,
    maximize: Flag = False,
    ns_dtype: FloatDtype = jnp.bfloat16,
    mu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Muon (Jordan et al. 2024): momentum orthogonalized by Newton-Schulz.

    For each matrix leaf: ``m <- momentum * m + (1 - momentum) * g``; ``u = m``, or with
    Nesterov ``u = (1 - momentum) * g + momentum * m``; ``O = NS(u)``, ``ns_steps`` quintic
    Newton-Schulz iterations (:func:`jaxsched.transforms.orthogonalize`); then
    ``p <- p - learning_rate * (r * O + weight_decay * p)`` with ``r`` the shape factor
    of ``adjust_lr`` for a ``rows x cols`` matrix.

    Muon is meant for the hidden weight matrices. Leaves that are no matrix (biases,
    gains: fewer than 2 dims; more than 2 without ``reshape``) and those selected by
    ``fallback_leaves`` (embeddings, output heads) go to ``fallback``, any transformation;
    the authors use AdamW,
    ``fallback=jaxsched.adamw(3e-4, b2=0.95, eps=1e-10, weight_decay=None)``. Its
    hyperparameters stay in its own state, reported by :func:`jaxsched.hyperparams` as
    ``"fallback/learning_rate"`` and so on where the names clash. Without a fallback,
    such a leaf is an error at ``init`` naming it.

    Args:
      learning_rate: >= 0 (``"learning_rate"`` in the state), in units of spectral norm.
      momentum: in [0, 1] (``"momentum"``).
      weight_decay: >= 0 (``"weight_decay"``), or None for none.
      eps: >= 0, added to the Frobenius norm before the iteration (``"eps"``).
      nesterov: Nesterov's look-ahead (the authors' default).
      ns_steps, ns_coeffs, ns_dtype: see :func:`jaxsched.transforms.orthogonalize`
        (bfloat16 by default, as the references; float32 for exact arithmetic).
      adjust_lr: ``"original"``: ``r = max(1, rows / cols) ** 0.5`` (Jordan et al.);
        ``"match_rms_adamw"``: ``r = 0.2 * max(rows, cols) ** 0.5`` (Liu et al. 2025,
        Moonlight: the update's RMS is AdamW's, so AdamW's rate and decay carry over);
        None: ``r = 1``.
      reshape: leaves of more than 2 dims as matrices: ``"flatten_trailing"`` (a kernel
        ``(out, in, kh, kw)`` as ``(out, in * kh * kw)``; ``rows, cols`` are those of that
        matrix, where the authors' code divides the kernel's ``kh`` by ``kw``) or
        ``"batch"`` (the leading dims a batch of ``shape[-2:]`` matrices, e.g. stacked
        layers); None: 2-D leaves only.
      fallback: the transformation of the leaves Muon does not take, or None.
      fallback_leaves: leaves for the fallback whatever their shape: a sequence of
        regular expressions searched in the leaf paths (``("embed", "head")``), a pytree
        of bools, or a function params -> pytree of bools; None: none.
      decoupled: decoupled weight decay (the references); False adds
        ``weight_decay * p`` to the gradient (``pytorch_optimizer``'s
        ``weight_decouple=False``).
      maximize: ascend instead of descend (on the Muon leaves; the fallback has its own).
      mu_dtype: dtype of the momentum; default the parameter's promoted to float32.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Raises:
      ValueError: at ``init``, for a leaf neither Muon nor a fallback can take.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
      >>> adamw = jaxsched.adamw(3e-4, b2=0.95, eps=1e-10, weight_decay=None)
      >>> tx = jaxsched.optimizers.muon(0.02, fallback=adamw)
      >>> u, state = tx.update(params, tx.init(params))
      >>> print(u["w"])  # the orthogonalized update of an all-ones (rank-one) matrix
      [[-0.00558594 -0.00558594 -0.00558594]
       [-0.00558594 -0.00558594 -0.00558594]]
      >>> print(*sorted(jaxsched.hyperparams(state)))
      b1 b2 eps fallback/eps fallback/learning_rate learning_rate momentum

    References:
      Jordan et al. 2024, "Muon: An optimizer for hidden layers in neural networks"
      (KellerJordan/Muon); Liu et al. 2025, "Muon is Scalable for LLM Training";
      ``torch.optim.Muon``; ``pytorch_optimizer.Muon``; ``optax.contrib.muon``.
    """
    if fallback is None and fallback_leaves is not None:
        raise ValueError("fallback_leaves needs fallback, the transformation of those leaves")
    to_fallback = _fallback_selector(fallback_leaves)
    rule = optax.chain(
        ema_momentum(momentum, nesterov=nesterov, dtype=mu_dtype),
        orthogonalize(
            eps,
            ns_steps=ns_steps,
            ns_coeffs=ns_coeffs,
            adjust_lr=adjust_lr,
            reshape=reshape,
            ns_dtype=ns_dtype,
        ),
    )
    matrices = descent(rule, learning_rate, weight_decay, decoupled=decoupled, maximize=maximize)

    def labels(tree):
        forced = to_fallback(tree) if to_fallback else jax.tree.map(lambda _: False, tree)

        def label(path, leaf, to_fb):
            shape = jnp.shape(leaf)
            if not to_fb and matrix_shape(shape, reshape) is not None:
                return "muon"
            if fallback is None:
                raise _no_matrix_error(path_str(path), shape, reshape)
            return "fallback"

        return jax.tree_util.tree_map_with_path(label, tree, forced)

    transforms = {"muon": matrices}
    if fallback is not None:
        transforms["fallback"] = fallback
    return partition(transforms, labels)


def _skip_first(
    tx: optax.GradientTransformation, count: Callable[[Any], Any]
) -> optax.GradientTransformationExtraArgs:
    """``tx`` whose first update is zero (weight decay included): SOAP's first step only
    measures. ``count(state)`` is the number of updates done so far."""
    tx = optax.with_extra_args_support(tx)

    def update(updates, state, params=None, **extra):
        first = count(state) == 0
        out, state = tx.update(updates, state, params, **extra)
        return jax.tree.map(lambda u: jnp.where(first, jnp.zeros_like(u), u), out), state

    return optax.GradientTransformationExtraArgs(tx.init, update)


@block
def soap(
    learning_rate: NonNegative = 3e-3,
    b1: Decay = 0.95,
    b2: Decay = 0.95,
    shampoo_beta: OptionalDecay = None,
    eps: NonNegative = 1e-8,
    weight_decay: OptionalNonNegative = 0.01,
    *,
    precondition_frequency: Steps = 10,
    max_precond_dim: Steps = 10000,
    merge_dims: Flag = False,
    precondition_1d: Flag = False,
    normalize_grads: Flag = False,
    correct_bias: Flag = True,
    data_format: DataFormat = "channels_first",
    maximize: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """SOAP (Vyas et al. 2024): Adam in the eigenbasis of Shampoo's preconditioner.

    ``p <- p - learning_rate * d`` with ``d`` the direction of
    :func:`jaxsched.transforms.scale_by_soap`, then, as the authors' code, the decoupled
    decay of the stepped weights: ``p <- p - learning_rate * weight_decay * p``. The
    first update only sets the preconditioner and leaves the parameters as they are
    (no decay either).

    Args:
      learning_rate: >= 0 (``"learning_rate"`` in the state).
      b1, b2, shampoo_beta, eps, precondition_frequency, max_precond_dim, merge_dims,
        precondition_1d, normalize_grads, correct_bias, data_format: see
        :func:`jaxsched.transforms.scale_by_soap`.
      weight_decay: >= 0 (``"weight_decay"``; the authors' 0.01), or None for none.
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.optimizers.soap(0.1, weight_decay=None)
      >>> params = jnp.array([1.0, -1.0])
      >>> state = tx.init(params)
      >>> for _ in range(2):  # the first update only sets the preconditioner
      ...     u, state = tx.update(params, state)
      ...     params = params + u
      >>> print(params)
      [ 0.9 -0.9]
      >>> sorted(jaxsched.hyperparams(state))
      ['b1', 'b2', 'eps', 'learning_rate']

    References:
      Vyas et al. 2024, "SOAP: Improving and Stabilizing Shampoo using Adam"
      (nikhilvyas/SOAP); ``pytorch_optimizer.SOAP``.
    """
    rule = scale_by_soap(
        b1,
        b2,
        shampoo_beta,
        eps,
        precondition_frequency=precondition_frequency,
        max_precond_dim=max_precond_dim,
        merge_dims=merge_dims,
        precondition_1d=precondition_1d,
        normalize_grads=normalize_grads,
        correct_bias=correct_bias,
        data_format=data_format,
    )
    blocks = [negate()] if maximize else []
    blocks.append(rule)
    if weight_decay is not None:
        # (p - lr d)(1 - lr wd) = p - lr ((1 - lr wd) d + wd p): the decay of the stepped
        # weights, as the authors apply it after the step.
        blocks += [scale(1 - learning_rate * weight_decay), add_decayed_weights(weight_decay)]
    blocks.append(scale_by_learning_rate(learning_rate))
    position = int(maximize)
    return _skip_first(optax.chain(*blocks), lambda state: state[position].count)
