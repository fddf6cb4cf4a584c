"""``keras.optimizers.MultiOptimizer`` and ``OptimizerMap`` (Keras 3), on ``jaxsched.partition``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import jax
import optax

from .._base import PyTree, path_str
from .._combine import partition
from .._validate import TransformationSpec, check_value, validated
from ._common import LossScaleFactor, unscale_loss
from ._loss_scale import LossScaleState, refuse_loss_scale_factor


class OptimizerMap(MutableMapping):
    """``keras.optimizers.OptimizerMap``: variable paths to optimizers, with a default.

    A key is a variable's path or a regular expression matched against whole paths
    (``re.fullmatch``: ``"encoder/.*"`` for everything under ``encoder``). Looking a path
    up returns the optimizer of the key equal to it, else that of the one key that
    matches it, else the default optimizer. Paths are pytree paths, keys joined by
    ``/`` (``"params/Dense_0/kernel"``), in place of Keras's ``variable.path``.

    Args:
      default_optimizer: the transformation of the paths no key matches.
      optimizer_map: a dict of keys to transformations, or None.

    Raises:
      TypeError: for a default that is no transformation, a map that is no dict, a key
        that is no string or a value that is no transformation.
      ValueError: on lookup, when several keys match a path; when a key is set twice.

    Example:
      >>> import jaxsched
      >>> head = jaxsched.keras.SGD(0.1)
      >>> m = jaxsched.keras.OptimizerMap(jaxsched.keras.Adam(), {"head/.*": head})
      >>> m["head/kernel"] is head, m["body/kernel"] is m.default_optimizer
      (True, True)

    References:
      ``keras.optimizers.OptimizerMap``.
    """

    def __init__(self, default_optimizer: Any, optimizer_map: dict | None = None):
        check_value("default_optimizer", default_optimizer, TransformationSpec())
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(
                f"optimizer_map must be a dict or None, got {type(optimizer_map).__name__}"
            )
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Any] = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self) -> Any:
        """The optimizer of the paths that no key matches."""
        return self._default_optimizer

    def __getitem__(self, key: str) -> Any:
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matching) > 1:
            raise ValueError(f"several optimizers are assigned to {key!r}: keys {matching}")
        return self._optimizer_map[matching[0]] if matching else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"OptimizerMap keys must be strings, got {key!r}")
        if key in self._optimizer_map:
            raise ValueError(f"{key!r} is already in the OptimizerMap; keys must not repeat")
        check_value(f"optimizer_map[{key!r}]", optimizer, TransformationSpec())
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._optimizer_map)

    def __call__(self, path: str) -> Any:
        return self[path]


def _is_loss_scale(node: Any) -> bool:
    return isinstance(node, LossScaleState)


def _label_names(optimizers: list, optimizer_map: OptimizerMap | None) -> list[str]:
    """One distinct label per optimizer: its first key in the map (``"default"`` for the
    default optimizer), else its position."""
    names = []
    for i, tx in enumerate(optimizers):
        name = str(i)
        if optimizer_map is not None:
            keys = [k for k, v in optimizer_map.items() if v is tx]
            name = keys[0] if keys else "default"
        while name in names:  # a key spelled like another optimizer's label
            name += "'"
        names.append(name)
    return names


@validated
def MultiOptimizer(
    optimizer_map: OptimizerMap | Callable[[str], Any],
    loss_scale_factor: LossScaleFactor = None,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.MultiOptimizer``: each variable updated by the optimizer mapped to it.

    Each leaf's path is looked up in ``optimizer_map``; the leaves that get the same
    optimizer (the same object) form one group, updated by it alone with one state
    (:func:`jaxsched.partition`), as Keras builds each optimizer once on its variables.
    A callable map may return new optimizers at each call: leaves are then grouped by
    the object returned for each path at ``init`` and at each ``update`` alike.
    :func:`jaxsched.hyperparams` reports each group's hyperparameters under its label
    where names clash: its first key in the map, ``"default"``, or its position for a
    callable map (``"head/.*/learning_rate"``).

    Args:
      optimizer_map: an :class:`OptimizerMap` (copied: changing it afterwards changes
        nothing), or a function path -> transformation.
      loss_scale_factor: > 0 or None: the gradients are divided by it first (state key
        ``loss_scale_factor``). As in Keras it replaces the optimizers' own, so an
        optimizer with a ``loss_scale_factor`` of its own is refused at ``init``.

    Returns:
      A transformation; ``update`` passes ``params`` (None included) and extra arguments
      to every optimizer.

    Raises:
      TypeError: for a map that is neither; at ``init``/``update``, for a path mapped to
        no transformation.
      ValueError: at ``init``, for an optimizer with its own ``loss_scale_factor`` or a
        :func:`LossScaleOptimizer` inside, as Keras.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> keras = jaxsched.keras
      >>> tx = keras.MultiOptimizer(keras.OptimizerMap(keras.SGD(1.0), {"head": keras.SGD(0.1)}))
      >>> params = {"body": jnp.ones(1), "head": jnp.ones(1)}
      >>> u, state = tx.update(params, tx.init(params))
      >>> print(u["body"], u["head"], sorted(jaxsched.hyperparams(state)))
      [-1.] [-0.1] ['default/learning_rate', 'head/learning_rate']

    References:
      ``keras.optimizers.MultiOptimizer``.
    """
    if isinstance(optimizer_map, OptimizerMap):
        select = OptimizerMap(optimizer_map.default_optimizer, dict(optimizer_map))
        by_key: OptimizerMap | None = select
    elif callable(optimizer_map):
        select, by_key = optimizer_map, None
    else:
        raise TypeError(
            "optimizer_map must be an OptimizerMap or a function path -> transformation, "
            f"got {type(optimizer_map).__name__}"
        )

    def grouped(tree: PyTree) -> optax.GradientTransformationExtraArgs:
        leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
        optimizers: list = []
        groups = []
        for path, _ in leaves:
            name = path_str(path)
            tx = check_value(f"the optimizer of {name!r}", select(name), TransformationSpec())
            index = next((i for i, known in enumerate(optimizers) if known is tx), None)
            if index is None:
                optimizers.append(tx)
                index = len(optimizers) - 1
            groups.append(index)
        names = _label_names(optimizers, by_key)
        labels = jax.tree_util.tree_unflatten(treedef, [names[i] for i in groups])
        return partition(dict(zip(names, optimizers)), labels)

    def init(params):
        state = grouped(params).init(params)
        refuse_loss_scale_factor(
            state, "MultiOptimizer", "set loss_scale_factor on the MultiOptimizer instead"
        )
        if any(map(_is_loss_scale, jax.tree.leaves(state, is_leaf=_is_loss_scale))):
            raise ValueError("LossScaleOptimizer cannot be used inside a MultiOptimizer")
        return state

    def update(updates, state, params=None, **extra):
        return grouped(updates).update(updates, state, params, **extra)

    multi = optax.GradientTransformationExtraArgs(init, update)
    if loss_scale_factor is None:
        return multi
    return optax.chain(unscale_loss(loss_scale_factor), multi)
