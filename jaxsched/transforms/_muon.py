"""Muon's building blocks (Jordan et al. 2024): Newton-Schulz orthogonalization and the
momentum average it orthogonalizes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import PartitionSpec as P

from .._base import (
    Array,
    PyTree,
    cast_like,
    check_same_tree,
    path_str,
    split_spec,
    zeros_like_tree,
)
from .._hyper import block
from .._math import update_moment
from .._validate import (
    Choice,
    Count,
    Either,
    Flag,
    FloatDtype,
    Items,
    NonNegative,
    Real,
    UnitInterval,
)

NS_COEFFICIENTS: dict[str, tuple[tuple[float, float, float], ...]] = {
    # Keller Jordan's quintic: the slope at zero maximised, 5 steps.
    "original": ((3.4445, -4.7750, 2.0315),),
    # The per-step schedule of modded-nanogpt.
    "quintic": (
        (4.0848, -6.8946, 2.9270),
        (3.9505, -6.3029, 2.6377),
        (3.7418, -5.5913, 2.3037),
        (2.8769, -3.1427, 1.2046),
        (2.8366, -3.0525, 1.2012),
    ),
    # Polar Express (Amsel et al. 2025), safety factor 1e-2 and 2e-2.
    "polar_express": (
        (8.237312490495555, -23.157747414558198, 16.680568411445915),
        (4.082441999064835, -2.893047735332586, 0.5252849256975648),
        (3.9263479922546582, -2.8547468034765298, 0.5318022422894988),
        (3.2982187133085143, -2.424541981026706, 0.48632008358844075),
        (2.2970369434552573, -1.63662558125903, 0.4002628455953627),
        (1.8763805351440397, -1.2347896577722228, 0.35891887501668385),
        (1.8564423485617974, -1.2132449880935525, 0.3568003487825883),
        (1.8749994008682747, -1.2499988017229169, 0.3749994008546422),
    ),
    "polar_express_safer": (
        (8.156554524902461, -22.48329292557795, 15.878769915207462),
        (4.0429299351667245, -2.808917465908704, 0.5000178451051299),
        (3.8916678022926563, -2.7724841532176825, 0.5060648178503389),
        (3.285753657755658, -2.3681294933425394, 0.46449024233003117),
        (2.3005307116270983, -1.6111665557258408, 0.3833374427545273),
        (1.8631210546382593, -1.2042160621002727, 0.3421879560523383),
        (1.8382572152247512, -1.1779263289537742, 0.3396513038637379),
        (1.8749999923301852, -1.2499999836060613, 0.374999991275876),
    ),
}
"""Newton-Schulz coefficient schedules by name (those of ``pytorch_optimizer``)."""

_COEFF = Real(schedule=False)
NsCoeffs = Annotated[
    Any,
    Either(
        (
            Items(Items(_COEFF, length=3), min_length=1),
            Items(_COEFF, length=3),
            Choice(tuple(NS_COEFFICIENTS)),
        )
    ),
]
Reshape = Annotated[str | None, Choice((None, "flatten_trailing", "batch"))]
AdjustLr = Annotated[str | None, Choice(("original", "match_rms_adamw", None))]


def ns_schedule(ns_coeffs: Any, ns_steps: int) -> list[tuple[float, float, float]]:
    """The ``(a, b, c)`` of each of ``ns_steps`` iterations: a name of
    :data:`NS_COEFFICIENTS`, one triple, or a schedule whose last triple repeats."""
    if isinstance(ns_coeffs, str):
        table = NS_COEFFICIENTS[ns_coeffs]
    elif all(isinstance(c, (tuple, list)) for c in ns_coeffs):
        table = tuple(tuple(c) for c in ns_coeffs)
    else:
        table = (tuple(ns_coeffs),)
    return [tuple(float(v) for v in table[min(i, len(table) - 1)]) for i in range(ns_steps)]


def matrix_shape(shape: Sequence[int], reshape: str | None) -> tuple[int, int] | None:
    """The (rows, cols) of the matrices a leaf of ``shape`` is viewed as, or None.

    ``reshape=None``: 2-D leaves only. ``"flatten_trailing"``: a leaf of 2 or more dims
    as ``(shape[0], prod(shape[1:]))`` (a convolution kernel ``(out, in, kh, kw)`` as
    ``(out, in * kh * kw)``). ``"batch"``: a leaf of 2 or more dims as a stack of
    ``shape[-2:]`` matrices (the leading dims a batch, e.g. stacked layers).
    """
    if len(shape) < 2 or (reshape is None and len(shape) != 2):
        return None
    if reshape == "flatten_trailing":
        return shape[0], math.prod(shape[1:])
    return shape[-2], shape[-1]


def adjust_lr_ratio(rows: int, cols: int, adjust_lr: str | None) -> float:
    """Muon's shape factor: ``max(1, rows / cols) ** 0.5`` (``"original"``, Jordan et
    al.), ``0.2 * max(rows, cols) ** 0.5`` (``"match_rms_adamw"``, Liu et al. 2025: the
    update's RMS matches AdamW's), or 1 (None)."""
    if adjust_lr == "original":
        return max(1.0, rows / cols) ** 0.5
    if adjust_lr == "match_rms_adamw":
        return 0.2 * max(rows, cols) ** 0.5
    return 1.0


def newton_schulz(x: Array, coeffs: Sequence[tuple[float, float, float]], eps: Any, dtype: Any):
    """The quintic Newton-Schulz iteration on the matrices ``x[..., :, :]``.

    ``X <- G / (|G|_F + eps)`` (transposed when tall), then per step
    ``A = X X^T``, ``B = b A + c A^2``, ``X <- a X + B X``. In ``dtype`` (bfloat16 in
    the references): every matrix product accumulates in float32 and each of the three
    results is rounded to ``dtype`` once, as torch's fused ``addmm`` does, so the
    numbers are bit-equal to ``torch.optim.Muon``'s on equal inputs.
    """
    dtype = jnp.dtype(dtype or x.dtype)
    acc = jnp.promote_types(dtype, jnp.float32)
    tall = x.shape[-2] > x.shape[-1]
    x = x.astype(dtype)
    if tall:
        x = jnp.swapaxes(x, -1, -2)

    # Under Explicit mesh axes a product that contracts a split dim must be told its
    # output's sharding. The Gram matrices (rows x rows, the short side) are replicated:
    # with the long side split, each device's part is a partial sum all-reduced at the
    # Gram's small size. X keeps its own sharding through the loop. Elsewhere (no mesh,
    # Auto axes) the types carry no split dim and nothing is imposed.
    gram_sharding = x_sharding = None
    spec = split_spec(x)
    if spec is not None:
        spec = (*spec, *(None,) * (x.ndim - len(spec)))
        gram_sharding, x_sharding = P(*spec[:-2], None, None), P(*spec)

    def mm(p, q, out_sharding=None):
        return jnp.matmul(p, q, preferred_element_type=acc, out_sharding=out_sharding)

    def wide(v):
        return v.astype(acc)

    norm = jnp.sqrt(jnp.sum(jnp.square(wide(x)), axis=(-2, -1), keepdims=True)).astype(dtype)
    denom = (wide(norm) + eps).astype(dtype)
    x = (wide(x) / wide(denom)).astype(dtype)
    table = jnp.asarray(coeffs, acc).reshape(-1, 3)

    def iteration(i, x):
        # A loop rather than unrolled steps: a fifth of the compile time, same numbers.
        a, b, c = table[i, 0], table[i, 1], table[i, 2]
        gram = mm(x, jnp.swapaxes(x, -1, -2), gram_sharding).astype(dtype)
        poly = (b * wide(gram) + c * mm(gram, gram)).astype(dtype)
        return (a * wide(x) + mm(poly, x, x_sharding)).astype(dtype)

    x = jax.lax.fori_loop(0, len(coeffs), iteration, x)
    return jnp.swapaxes(x, -1, -2) if tall else x


@block
def orthogonalize(
    eps: NonNegative = 1e-7,
    *,
    ns_steps: Count = 5,
    ns_coeffs: NsCoeffs = "original",
    adjust_lr: AdjustLr = None,
    reshape: Reshape = None,
    ns_dtype: FloatDtype = jnp.bfloat16,
) -> optax.GradientTransformationExtraArgs:
    """Replaces each matrix update by an approximation of its orthogonal polar factor.

    For ``G = U S V^T``, ``ns_steps`` quintic Newton-Schulz iterations on
    ``X_0 = G / (|G|_F + eps)`` give ``U S' V^T`` with ``S'`` roughly in [0.7, 1.2]
    (not exactly ``U V^T``: the coefficients trade convergence for speed). Tall
    matrices are transposed for the iteration. The output is then multiplied by the
    shape factor of ``adjust_lr`` (see below).

    Args:
      eps: >= 0, added to the Frobenius norm (``"eps"`` in the state). The authors add
        it; torch and ``pytorch_optimizer`` clamp the norm at eps instead, which differs
        only for norms below about ``1e5 * eps``.
      ns_steps: number of iterations, >= 0 (0 gives ``G / (|G|_F + eps)``).
      ns_coeffs: ``(a, b, c)``; a sequence of triples, one per iteration (the last
        repeats); or a name in :data:`NS_COEFFICIENTS` (``"original"``: Jordan's
        ``(3.4445, -4.7750, 2.0315)``, ``"quintic"``, ``"polar_express"``,
        ``"polar_express_safer"``).
      adjust_lr: shape factor of the output for a ``rows x cols`` matrix:
        ``"original"``, ``max(1, rows / cols) ** 0.5`` (Jordan et al.);
        ``"match_rms_adamw"``, ``0.2 * max(rows, cols) ** 0.5`` (Liu et al. 2025); None, 1.
      reshape: how a leaf becomes matrices: None (2-D leaves only), ``"flatten_trailing"``
        (``(out, in, kh, kw)`` as ``(out, in * kh * kw)``), ``"batch"`` (leading dims a
        batch of ``shape[-2:]`` matrices). A leaf that is no matrix is an error.
      ns_dtype: dtype of the iteration (bfloat16 as the references; None: the update's).

    Returns:
      A stateless transformation with ``eps`` in its state.

    Raises:
      ValueError: at ``update``, for a leaf that ``reshape`` does not make matrices of.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.orthogonalize(ns_steps=10, ns_dtype=jnp.float32)
      >>> g = jnp.array([[3.0, 0.0], [0.0, 0.5]])
      >>> u, _ = tx.update(g, tx.init(g))
      >>> print(jnp.diag(u).round(2))  # singular values 3 and 0.5 both brought into [0.7, 1.2]
      [1.1  0.68]

    References:
      Jordan et al. 2024, "Muon: An optimizer for hidden layers in neural networks";
      Liu et al. 2025, "Muon is Scalable for LLM Training"; ``torch.optim.Muon``;
      ``optax.contrib.muon``.
    """
    coeffs = ns_schedule(ns_coeffs, ns_steps)

    def one(path, g):
        shape = matrix_shape(g.shape, reshape)
        if shape is None:
            raise ValueError(
                f"orthogonalize: the leaf at {path_str(path)!r} has shape {g.shape}, which "
                f"is no matrix with reshape={reshape!r}; use reshape='flatten_trailing' or "
                "'batch' for leaves of more than 2 dims, and another transformation for "
                "the others (jaxsched.partition)"
            )
        ratio = adjust_lr_ratio(*shape, adjust_lr)
        x = g.reshape(g.shape[0], -1) if reshape == "flatten_trailing" else g
        out = newton_schulz(x, coeffs, eps, ns_dtype).reshape(g.shape)
        return out.astype(jnp.promote_types(g.dtype, jnp.float32)) * ratio

    def update(updates, state, params=None, **extra):
        del params, extra
        out = jax.tree_util.tree_map_with_path(one, updates)
        return cast_like(out, updates), state

    return optax.GradientTransformationExtraArgs(lambda params: optax.EmptyState(), update)


class EmaMomentumState(NamedTuple):
    mu: PyTree


@block
def ema_momentum(
    momentum: UnitInterval = 0.95,
    *,
    nesterov: Flag = False,
    dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Muon's momentum: ``m <- momentum * m + (1 - momentum) * g`` from ``m = 0``.

    Output ``m``, or with ``nesterov=True`` the look-ahead
    ``(1 - momentum) * g + momentum * m`` (torch's ``g.lerp(m, momentum)``).

    Args:
      momentum: in [0, 1] (``"momentum"`` in the state).
      nesterov: output the look-ahead average.
      dtype: dtype of ``m``; default the update's promoted to float32.

    Returns:
      A transformation with ``momentum`` in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.ema_momentum(0.75)
      >>> u, _ = tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
      >>> print(u)
      [0.25 0.25]

    References:
      Jordan et al. 2024 (``muon_update``); ``torch.optim.Muon``; ``optax.ema``.
    """

    def init(params):
        return EmaMomentumState(zeros_like_tree(params, dtype))

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        mu = update_moment(updates, state.mu, momentum, 1)
        if nesterov:
            out = jax.tree.map(lambda g, m: (1 - momentum) * g + momentum * m, updates, mu)
        else:
            out = mu
        return cast_like(out, updates), EmaMomentumState(mu)

    return optax.GradientTransformationExtraArgs(init, update)
