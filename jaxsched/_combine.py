"""Per-layer optimizers: partition by label, labels from parameter paths, masking, freezing."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from ._base import PyTree, path_str, per_leaf, stateless
from ._validate import Mask, Transformation, TransformationSpec, check_value, validated

Labels = PyTree | Callable[[PyTree], PyTree]


class PartitionState(NamedTuple):
    """State of :func:`partition`: one inner state per label.

    ``inner_states[label]`` is the state of that label's transformation, so
    :func:`jaxsched.hyperparams` reports e.g. ``"head/learning_rate"`` when several labels
    hold a learning rate.
    """

    inner_states: dict[str, PyTree]


class MaskedState(NamedTuple):
    """State of :func:`masked`: the inner state, over the selected leaves only."""

    inner_state: PyTree


def _select(tree: PyTree, chosen: PyTree) -> PyTree:
    """Keeps the leaves where ``chosen`` is True; the others become ``optax.MaskedNode()``."""
    return jax.tree.map(lambda keep, x: x if keep else optax.MaskedNode(), chosen, tree)


def _mapping(name: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
    return value


@validated
def partition(
    transforms: Mapping[str, optax.GradientTransformation], labels: Labels
) -> optax.GradientTransformationExtraArgs:
    """Applies a different transformation to each group of parameters.

    Each leaf carries a label; the leaves of label ``k`` are updated by
    ``transforms[k]`` alone, which sees a tree where the other leaves are
    ``optax.MaskedNode()`` (so its state holds buffers for its own leaves only).
    Per-layer learning rates and schedules are per-label optimizers:
    ``partition({"body": sgd(1e-3), "head": sgd(cosine_decay(1e-2, 1000)),
    "embed": freeze()}, labels)``. The rule of ``optax.partition``; torch's
    parameter groups.

    Args:
      transforms: label (str) -> transformation.
      labels: a pytree of labels with the params' structure (or a prefix of it: a label
        for a whole subtree), or a function params -> such a tree (called with the params
        at ``init`` and with the updates, which have the same paths and shapes, at
        ``update``), e.g. :func:`path_labels`.

    Returns:
      A transformation whose state is a :class:`PartitionState`; ``update`` passes
      ``params`` (None included: only labels whose transformation reads them need them)
      and extra keyword arguments (``value=``) to every label.

    Raises:
      TypeError: if ``transforms`` is not a dict of transformations.
      ValueError: if a label is not a string; at ``init``/``update`` if the labels tree
        does not match the params or uses a label without a transformation (naming the
        path).

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> params = {"body": jnp.ones(2), "head": jnp.ones(1)}
      >>> tx = jaxsched.partition(
      ...     {"body": jaxsched.freeze(), "head": jaxsched.sgd(0.1)},
      ...     {"body": "body", "head": "head"},
      ... )
      >>> u, state = tx.update(params, tx.init(params))
      >>> print(u["body"], u["head"])
      [0. 0.] [-0.1]

    References:
      ``optax.partition``; torch's parameter groups.
    """
    for key, tx in _mapping("transforms", transforms).items():
        if not isinstance(key, str):
            raise ValueError(f"partition labels must be strings, got {key!r}")
        check_value(f"transforms[{key!r}]", tx, TransformationSpec())
    inner = {k: optax.with_extra_args_support(tx) for k, tx in transforms.items()}

    def label_tree(tree: PyTree) -> PyTree:
        found = per_leaf(labels, tree, "labels")
        for path, label in jax.tree_util.tree_flatten_with_path(found)[0]:
            if label not in inner:
                raise ValueError(
                    f"the parameter at path {path_str(path)!r} has label {label!r}, which "
                    f"has no transformation; labels given: {sorted(inner)}"
                )
        return found

    def group(tree: PyTree, found: PyTree, label: str) -> PyTree:
        return _select(tree, jax.tree.map(lambda lab: lab == label, found))

    def init(params):
        found = label_tree(params)
        return PartitionState({k: tx.init(group(params, found, k)) for k, tx in inner.items()})

    def update(updates, state, params=None, **extra):
        found = label_tree(updates)
        outputs = {}
        new_states = {}
        for k, tx in inner.items():
            sub_params = None if params is None else group(params, found, k)
            outputs[k], new_states[k] = tx.update(
                group(updates, found, k), state.inner_states[k], sub_params, **extra
            )
        keys = list(inner)
        merged = jax.tree.map(
            lambda lab, *outs: outs[keys.index(lab)], found, *[outputs[k] for k in keys]
        )
        return merged, PartitionState(new_states)

    return optax.GradientTransformationExtraArgs(init, update)


@validated
def masked(inner: Transformation, mask: Mask) -> optax.GradientTransformationExtraArgs:
    """Applies ``inner`` to the leaves where ``mask`` is True; the others pass unchanged.

    The rule of ``optax.masked``: ``inner`` sees the selected leaves only (the others are
    ``optax.MaskedNode()``), so its state holds buffers for them alone.

    Args:
      inner: the transformation.
      mask: a pytree of Python bools with the params' structure (or a prefix of it), a
        function params -> such a tree (called with the updates at ``update``), e.g.
        :func:`jaxsched.decay_mask`, or None for every leaf.

    Returns:
      A transformation whose state is a :class:`MaskedState`; ``update`` passes
      ``params`` (None included) to ``inner``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> grads = {"w": jnp.ones(2), "b": jnp.ones(1)}
      >>> tx = jaxsched.masked(jaxsched.sgd(0.1), {"w": True, "b": False})
      >>> u, _ = tx.update(grads, tx.init(grads))
      >>> print(u["w"], u["b"])
      [-0.1 -0.1] [1.]

    References:
      ``optax.masked``.
    """
    inner = optax.with_extra_args_support(inner)
    if mask is None:
        mask = True  # one True for the whole tree (a prefix of any structure)

    def init(params):
        return MaskedState(inner.init(_select(params, per_leaf(mask, params, "mask"))))

    def update(updates, state, params=None, **extra):
        chosen = per_leaf(mask, updates, "mask")
        sub_params = None if params is None else _select(params, chosen)
        new, inner_state = inner.update(
            _select(updates, chosen), state.inner_state, sub_params, **extra
        )
        merged = jax.tree.map(lambda keep, u, n: n if keep else u, chosen, updates, new)
        return merged, MaskedState(inner_state)

    return optax.GradientTransformationExtraArgs(init, update)


def freeze() -> optax.GradientTransformationExtraArgs:
    """Zero updates and no state: the parameters it gets do not move.

    Use it as a label's transformation in :func:`partition` to freeze layers. Its
    updates are zeros even for non-finite gradients, and it reads no ``params``.

    Returns:
      A transformation with an empty state.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.freeze()
      >>> print(tx.update(jnp.array([jnp.nan, 1.0]), tx.init(jnp.zeros(2)))[0])
      [0. 0.]

    References:
      ``optax.set_to_zero``; torch's ``requires_grad = False``.
    """
    return stateless(lambda u, p: jax.tree.map(jnp.zeros_like, u))


@validated
def path_labels(rules: Mapping[str, str], default: str | None = None) -> Callable[[PyTree], PyTree]:
    """Labels parameters by regular expressions on their paths, for :func:`partition`.

    A leaf's path is its keys joined by ``/`` (``"params/Dense_0/kernel"``; for
    ``flax.nnx`` states ``"head/kernel"``). The first pattern (in the order given) that
    ``re.search`` finds in the path gives the label; anchor with ``^``/``$`` for exact
    matches. Leaves that no pattern matches get ``default``.

    Args:
      rules: pattern -> label, e.g. ``{r"^head/": "head", r"bias$": "no_decay"}``.
      default: label of unmatched leaves; None makes an unmatched leaf an error.

    Returns:
      A function params -> pytree of labels.

    Raises:
      TypeError: if ``rules`` is not a dict of strings or ``default`` not a string.
      ValueError: for an invalid regular expression; when the function meets a path that
        no rule matches and ``default`` is None.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> labels = jaxsched.path_labels({r"^head/": "head"}, default="body")
      >>> print(labels({"head": {"w": jnp.ones(1)}, "body": {"w": jnp.ones(1)}}))
      {'body': {'w': 'body'}, 'head': {'w': 'head'}}

    References:
      ``optax.multi_transform`` with a labelling function; flax's ``path_aware_map``.
    """
    if default is not None and not isinstance(default, str):
        raise TypeError(f"default must be a string label or None, got {default!r}")
    compiled = []
    for pattern, label in _mapping("rules", rules).items():
        if not (isinstance(pattern, str) and isinstance(label, str)):
            raise TypeError(
                f"rules must map regular expressions to labels, both strings, got "
                f"{pattern!r}: {label!r}"
            )
        try:
            compiled.append((re.compile(pattern), label))
        except re.error as err:
            raise ValueError(f"rules has an invalid regular expression {pattern!r}: {err}") from err

    def label(path, _leaf):
        name = path_str(path)
        for regex, lab in compiled:
            if regex.search(name):
                return lab
        if default is None:
            raise ValueError(f"no rule matches the parameter at path {name!r} and default is None")
        return default

    return lambda params: jax.tree_util.tree_map_with_path(label, params)
