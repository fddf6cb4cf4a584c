"""Regularisation: the L1 penalty's (sub)gradient and the usual weight-decay mask."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import optax

from .._base import (
    PyTree,
    cast_like,
    check_same_tree,
    params_needed,
    path_str,
    resolve_mask,
    stateless,
)
from .._hyper import block
from .._validate import Count, Mask, NonNegative, validated

DECAY_EXCLUDE = r"bias|scale|norm"


@block
def add_l1(l1: NonNegative, mask: Mask = None) -> optax.GradientTransformationExtraArgs:
    """Adds the (sub)gradient of the L1 penalty ``l1 * sum|w|``: ``u <- u + l1 * sign(p)``.

    Placed before the optimizer's rule, as coupled L2 is
    (:func:`~jaxsched.transforms.add_decayed_weights`), it is L1 regularisation of the
    loss (``sign(0) = 0``); it pushes weights towards exactly zero (sparsity) where L2
    only shrinks them.

    Args:
      l1: coefficient, >= 0, number, jax scalar or schedule (``"l1"`` in the state).
      mask: a pytree of bools like the params, or a function params -> such a tree
        (e.g. :func:`decay_mask`); leaves with False get no penalty.

    Returns:
      A transformation with ``l1`` in its state; its ``update`` needs ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.add_l1(0.1)
      >>> p = jnp.array([2.0, 0.0, -3.0])
      >>> print(tx.update(jnp.zeros(3), tx.init(p), p)[0])
      [ 0.1  0.  -0.1]

    References:
      Tibshirani 1996, "Regression Shrinkage and Selection via the Lasso";
      ``optax.add_decayed_weights`` (its L2 counterpart).
    """

    def add(updates, params):
        params_needed(params, "add_l1")
        check_same_tree(updates, params, "params")
        chosen = resolve_mask(mask, params)
        out = jax.tree.map(
            lambda u, p, m: u + l1 * jnp.sign(p) if m else u, updates, params, chosen
        )
        return cast_like(out, updates)

    return stateless(add)


@validated
def decay_mask(params: PyTree, *, exclude: str = DECAY_EXCLUDE, min_ndim: Count = 2) -> PyTree:
    """Which parameters to regularise: weights yes, biases and normalisation scales no.

    A leaf gets False if it has fewer than ``min_ndim`` dimensions (biases, norm scales,
    scalars) or if its path (``"a/b/c"``, see :func:`jaxsched.path_labels`) contains a
    match of ``exclude`` (case-insensitive; default ``bias|scale|norm``, which also
    catches normalisation layers named ``LayerNorm_0`` or ``norm1``); True otherwise.
    This is the usual practice (e.g. BERT's and timm's "no weight decay" groups): the
    penalty goes on the weights, not on the biases.

    Use it as the mask of :func:`~jaxsched.transforms.add_decayed_weights`,
    :func:`add_l1`, or as ``labels`` logic for :func:`jaxsched.partition`:
    ``add_decayed_weights(1e-4, mask=decay_mask)``.

    Args:
      params: the parameter pytree.
      exclude: regular expression searched in each path.
      min_ndim: leaves with fewer dimensions are excluded.

    Returns:
      A pytree of Python bools with the structure of ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> params = {"dense": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}}
      >>> jaxsched.decay_mask(params)
      {'dense': {'bias': False, 'kernel': True}}

    References:
      Devlin et al. 2019 (BERT's ``exclude_from_weight_decay``); ``timm``'s
      ``param_groups_weight_decay``; the ``mask`` of ``optax.adamw``.
    """
    pattern = re.compile(exclude, re.IGNORECASE)

    def keep(path, leaf):
        return jnp.ndim(leaf) >= min_ndim and not pattern.search(path_str(path))

    return jax.tree_util.tree_map_with_path(keep, params)
