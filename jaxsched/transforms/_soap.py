"""SOAP (Vyas et al. 2024): Adam run in the eigenbasis of Shampoo's preconditioner."""

from __future__ import annotations

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
    moment_dtype,
    safe_increment,
    split_spec,
    zero_count,
    zeros_like_tree,
)
from .._hyper import block
from .._math import bias_corrections, update_moment
from .._validate import Choice, Decay, Flag, NonNegative, Real, Steps

OptionalDecay = Annotated[Any, Real(0.0, 1.0, high_open=True, optional=True)]
DataFormat = Annotated[str, Choice(("channels_first", "channels_last"))]


class ScaleBySoapState(NamedTuple):
    """State of :func:`scale_by_soap`.

    Attributes:
      count: int32 number of updates done.
      mu: first moment, in the parameters' own basis (shaped like them).
      nu: second moment, in the eigenbasis (shaped like the parameters).
      stats: per leaf, a tuple with one entry per dim of its (merged) shape: Shampoo's
        statistic ``EMA(G_k G_k^T)`` of that dim (``L`` and ``R`` of the paper), or None
        for a dim left unpreconditioned.
      bases: per leaf, the eigenbases of ``stats`` (same layout; identity before the
        first update).
    """

    count: Array
    mu: PyTree
    nu: PyTree
    stats: PyTree
    bases: PyTree


def merge_dims(shape: Sequence[int], max_dim: int) -> tuple[int, ...]:
    """The authors' ``merge_dims``: consecutive dims merged while their product stays
    <= ``max_dim`` (a dim larger than ``max_dim`` stays alone)."""
    merged, current = [], 1
    for size in shape:
        if current * size > max_dim:
            if current > 1:
                merged.append(current)
                current = size
            else:
                merged.append(size)
                current = 1
        else:
            current *= size
    if current > 1 or not merged:
        merged.append(current)
    return tuple(merged)


class _Layout(NamedTuple):
    """How a leaf is preconditioned: its (permuted, merged) view and which dims of the
    view have a preconditioner."""

    shape: tuple[int, ...]
    channels_last: bool
    view: tuple[int, ...]
    preconditioned: tuple[bool, ...]

    def to_view(self, x: Array) -> Array:
        if self.channels_last:
            x = jnp.transpose(x, (0, 3, 1, 2))
        return x.reshape(self.view)

    def from_view(self, x: Array) -> Array:
        if self.channels_last:
            s = self.shape
            return jnp.transpose(x.reshape(s[0], s[3], s[1], s[2]), (0, 2, 3, 1))
        return x.reshape(self.shape)


def _layout(shape, merge: bool, max_dim: int, precondition_1d: bool, data_format: str):
    shape = tuple(shape)
    if len(shape) < 2:
        pre = tuple(precondition_1d and n <= max_dim for n in shape)
        return _Layout(shape, False, shape, pre)
    channels_last = merge and data_format == "channels_last" and len(shape) == 4
    view = (shape[0], shape[3], shape[1], shape[2]) if channels_last else shape
    if merge:
        view = merge_dims(view, max_dim)
    return _Layout(shape, channels_last, view, tuple(n <= max_dim for n in view))


def _project(x: Array, bases: Sequence[Array | None], layout: _Layout, back: bool) -> Array:
    """``x`` in the eigenbasis (``Q^T`` along each dim) or, with ``back``, out of it."""
    x = layout.to_view(x)
    for q in bases:
        # tensordot contracts dim 0 and appends the result last, so after every dim has
        # been visited (an unpreconditioned one just moved to the end) the order is back.
        x = jnp.moveaxis(x, 0, -1) if q is None else jnp.tensordot(x, q, ((0,), (int(back),)))
    return layout.from_view(x)


def _replicated(x: Array) -> Array:
    """``x`` replicated over the devices of the mesh in context (unchanged without one).

    The statistics and bases are placed so: they are not shaped like the parameters, and
    ``eigh`` and ``qr`` need them whole. ``reshard`` places ``x`` over Explicit axes
    (where a sharding is part of the type) but leaves Auto axes to XLA, which would split
    a statistic like the gradient it is computed from, so that the state changed sharding
    between steps: the constraint pins those axes.
    """
    if jax.sharding.get_abstract_mesh().empty:
        return x
    return jax.lax.with_sharding_constraint(jax.sharding.reshard(x, P()), P())


def _outer(view: Array, dim: int) -> Array:
    """``G_dim G_dim^T``: the contraction of the view with itself over every other dim."""
    others = [d for d in range(view.ndim) if d != dim]
    return jnp.tensordot(view, view, (others, others))


def _eigenbasis(stat: Array) -> Array:
    """Eigenvectors of the statistic, by decreasing eigenvalue (the references' ``eigh``
    of ``stat + 1e-30 I``, flipped)."""
    stat = stat + 1e-30 * jnp.eye(stat.shape[0], dtype=stat.dtype)
    return jnp.flip(jnp.linalg.eigh(stat, UPLO="L", symmetrize_input=False)[1], axis=1)


def _power_step(stats, bases, nu: Array, layout: _Layout):
    """One power iteration and a QR per dim (the references' ``get_orthogonal_matrix_QR``).

    The columns are first sorted by the estimated eigenvalues ``diag(Q^T S Q)``, largest
    first, and ``nu`` is permuted along with them, so each entry keeps its direction.
    """
    nu = layout.to_view(nu)
    new = []
    for dim, (s, q) in enumerate(zip(stats, bases)):
        if s is None:
            new.append(None)
            continue
        product = s @ q
        order = jnp.argsort(jnp.sum(q * product, axis=0), descending=True)
        nu = jnp.take(nu, order, axis=dim)
        new.append(jnp.linalg.qr(product[:, order])[0])
    return tuple(new), layout.from_view(nu)


@block
def scale_by_soap(
    b1: Decay = 0.95,
    b2: Decay = 0.95,
    shampoo_beta: OptionalDecay = None,
    eps: NonNegative = 1e-8,
    *,
    precondition_frequency: Steps = 10,
    max_precond_dim: Steps = 10000,
    merge_dims: Flag = False,
    precondition_1d: Flag = False,
    normalize_grads: Flag = False,
    correct_bias: Flag = True,
    data_format: DataFormat = "channels_first",
) -> optax.GradientTransformationExtraArgs:
    """Adam in the eigenbasis of Shampoo's preconditioner, the direction of SOAP.

    For each dim ``k`` of a leaf (of its merged view with ``merge_dims``) of size at
    most ``max_precond_dim``, Shampoo's statistic ``S_k <- s S_k + (1 - s) G_k G_k^T``
    (``G_k`` the gradient with dim ``k`` first and the others flattened, ``s`` the
    ``shampoo_beta``) and an orthogonal basis ``Q_k`` of its eigenvectors. With
    ``P(X) = X x_k Q_k^T`` (every dim projected) and ``t`` the 1-based step:

    * ``m <- b1 m + (1 - b1) g`` and ``v <- b2 v + (1 - b2) P(g)^2``;
    * output ``P^-1(P(m) / (sqrt(v) + eps))``, divided by its RMS (plus 1e-30) with
      ``normalize_grads``, times ``sqrt(1 - b2^t) / (1 - b1^t)`` with ``correct_bias``.

    The first update only measures: it sets ``S_k`` from the first gradient and ``Q_k``
    to the eigenvectors of ``S_k`` (``eigh``, largest eigenvalue first), and outputs
    zeros. Every ``precondition_frequency`` updates after it, ``Q_k`` is refreshed by
    one power iteration and a QR decomposition, ``Q_k <- qr(S_k Q_k)``, its columns
    sorted by the estimated eigenvalues ``diag(Q_k^T S_k Q_k)`` with ``v`` permuted
    alike. The refresh is a ``lax.switch`` on the step, so a jitted step never
    recompiles. The statistics and bases are ``(n, n)`` arrays, not shaped like the
    parameters: on a mesh they are replicated. ``m``, ``v`` and the output keep each
    parameter's sharding; under Explicit mesh axes a split leaf is gathered for the
    rotations (docs/multidevice.md).

    Args:
      b1, b2: Adam's decay rates in [0, 1) (``"b1"``, ``"b2"`` in the state).
      shampoo_beta: decay of the statistics in [0, 1) (``"shampoo_beta"``); None: ``b2``.
      eps: >= 0, added to ``sqrt(v)`` (``"eps"``).
      precondition_frequency: updates between refreshes of the bases, >= 1.
      max_precond_dim: larger dims are not preconditioned (identity basis).
      merge_dims: precondition the view in which consecutive dims are merged while
        their product stays <= ``max_precond_dim`` (the authors' ``merge_dims``).
      precondition_1d: precondition 1-D leaves too (one ``n x n`` statistic).
      normalize_grads: divide the direction by its RMS, per leaf.
      correct_bias: Adam's bias correction.
      data_format: ``"channels_last"``: 4-D leaves are NHWC kernels, put in NCHW order
        before their dims are merged (only with ``merge_dims``, as the references).

    Returns:
      A transformation with ``b1``, ``b2``, ``eps`` (and ``shampoo_beta``) in its state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_soap()  # a 1-D leaf: Adam (no basis)
      >>> g = jnp.array([0.5, -2.0])
      >>> state = tx.init(g)
      >>> u, state = tx.update(g, state)
      >>> print(u)  # the first update only sets the preconditioner
      [0. 0.]
      >>> u, state = tx.update(g, state)
      >>> print(u.round(4))  # then Adam's first step, sign(g)
      [ 1. -1.]

    References:
      Vyas et al. 2024, "SOAP: Improving and Stabilizing Shampoo using Adam";
      nikhilvyas/SOAP (``SOAP``); ``pytorch_optimizer.SOAP``.
    """
    statistic_decay = b2 if shampoo_beta is None else shampoo_beta

    def layouts(tree):
        return [
            _layout(jnp.shape(x), merge_dims, max_precond_dim, precondition_1d, data_format)
            for x in jax.tree.leaves(tree)
        ]

    def init(params):
        leaves, treedef = jax.tree.flatten(params)
        stats, bases = [], []
        for p, lay in zip(leaves, layouts(params)):
            dtype = moment_dtype(jnp.result_type(p))
            pre = zip(lay.view, lay.preconditioned)
            stats.append(tuple(jnp.zeros((n, n), dtype) if on else None for n, on in pre))
            pre = zip(lay.view, lay.preconditioned)
            bases.append(tuple(jnp.eye(n, dtype=dtype) if on else None for n, on in pre))
        return ScaleBySoapState(
            zero_count(),
            zeros_like_tree(params),
            zeros_like_tree(params),
            treedef.unflatten(stats),
            treedef.unflatten(bases),
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.mu, updates)
        grads, treedef = jax.tree.flatten(updates)
        lays = layouts(updates)
        mus, nus = treedef.flatten_up_to(state.mu), treedef.flatten_up_to(state.nu)
        stats = treedef.flatten_up_to(state.stats)
        bases = treedef.flatten_up_to(state.bases)
        first = state.count == 0
        # 1-based number of this update among those that move the parameters.
        bc1, bc2 = bias_corrections(b1, b2, jnp.maximum(state.count, 1))

        # Under Explicit mesh axes a leaf split over devices is gathered whole: its view's
        # reshapes, the rotations by the bases and the permutations of the refresh all
        # mix entries across the split. The state and the output are split back like the
        # leaf after the refresh (a local slice), so they keep the parameter's sharding
        # and the numbers are those of one device.
        specs = [split_spec(g) for g in grads]

        def gather(x, spec):
            return x if spec is None else jax.sharding.reshard(x, P())

        def split(x, spec):
            return x if spec is None else jax.sharding.reshard(x, spec)

        outs, new_mus, new_nus, new_stats = [], [], [], []
        for g, mu, nu, stat, basis, lay, spec in zip(grads, mus, nus, stats, bases, lays, specs):
            g, mu, nu = gather(g.astype(mu.dtype), spec), gather(mu, spec), gather(nu, spec)
            projected = _project(g, basis, lay, back=False)
            mu_new = update_moment(g, mu, b1, 1)
            nu_new = update_moment(projected, nu, b2, 2)
            direction = _project(mu_new, basis, lay, back=False) / (jnp.sqrt(nu_new) + eps)
            direction = _project(direction, basis, lay, back=True)
            if normalize_grads:
                direction = direction / (1e-30 + jnp.sqrt(jnp.mean(jnp.square(direction))))
            if correct_bias:
                direction = direction * (jnp.sqrt(bc2) / bc1)
            outs.append(jnp.where(first, jnp.zeros_like(direction), direction))
            new_mus.append(jnp.where(first, mu, mu_new))
            new_nus.append(jnp.where(first, nu, nu_new))
            view = lay.to_view(g)
            new_stats.append(
                tuple(
                    None if s is None else update_moment(_outer(view, k), s, statistic_decay, 1)
                    for k, s in enumerate(stat)
                )
            )

        def keep(operands):
            return operands[1:]

        def eigh(operands):
            stats, _, nus = operands
            return [tuple(None if s is None else _eigenbasis(s) for s in st) for st in stats], nus

        def power(operands):
            refreshed = [_power_step(*args) for args in zip(*operands, lays)]
            return [b for b, _ in refreshed], [n for _, n in refreshed]

        branch = jnp.where(first, 1, jnp.where(state.count % precondition_frequency == 0, 2, 0))
        new_stats = jax.tree.map(_replicated, new_stats)
        bases, new_nus = jax.lax.switch(branch, (keep, eigh, power), (new_stats, bases, new_nus))
        bases = jax.tree.map(_replicated, bases)

        def unflatten_split(leaves):
            return treedef.unflatten([split(x, spec) for x, spec in zip(leaves, specs)])

        new_state = ScaleBySoapState(
            safe_increment(state.count),
            unflatten_split(new_mus),
            unflatten_split(new_nus),
            treedef.unflatten(new_stats),
            treedef.unflatten(bases),
        )
        return cast_like(unflatten_split(outs), updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)
