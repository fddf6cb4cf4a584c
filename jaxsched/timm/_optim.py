"""timm's optimizer factory (``timm.optim.create_optimizer_v2``) for the names jaxsched matches.

timm builds ``torch.optim`` (or its own) optimizers by name, with two parameter groups:
one with weight decay and one without (biases, every parameter of at most one dimension
and the model's ``no_weight_decay()`` names), or with ``layer_decay`` one group per
(layer, decay) with a learning-rate scale per layer. :func:`create_optimizer` does the
same with jaxsched's parity flavors and :func:`jaxsched.partition`.
"""

from __future__ import annotations

import fnmatch
import inspect
import numbers
import re
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Annotated, Any

import jax
import numpy as np
import optax

from .._base import PyTree, StatefulSchedule, none_if_zero, path_str
from .._combine import freeze, masked, partition
from .._validate import Flag, NonNegative, Real, Spec, UnitInterval, validated
from ..optimizers._adaptive import rmsprop
from ..optimizers._large_batch import lamb
from ..optimizers._signs import lion
from ..torch._adaptive import Adadelta, Adagrad, Adamax, NAdam, RAdam, RMSprop
from ..torch._optim import SGD, Adam, AdamW
from ..transforms._clip import clip_by_global_norm

OptionalRate = Annotated[Any, Real(low=0.0, optional=True)]
# Layer-decay numbers shape the groups (which group a leaf joins, which are frozen), so
# they must be Python numbers, not schedules or tracers.
LayerDecay = Annotated[Any, Real(low=0.0, schedule=False, optional=True, concrete=True)]
MinScale = Annotated[Any, Real(low=0.0, schedule=False, concrete=True)]
NoOptScale = Annotated[Any, Real(low=0.0, schedule=False, optional=True, concrete=True)]


def _lion(lr=1e-4, weight_decay=0.0, betas=(0.9, 0.99), foreach=None, **options):
    """timm's ``Lion``: decoupled decay ``p <- p (1 - lr wd)``, then the sign step."""
    del foreach  # timm's implementation switch
    _refuse(options, "lion", ("caution", "corrected_weight_decay", "maximize"))
    b1, b2 = betas
    return lion(lr, b1, b2, none_if_zero(weight_decay))


def _lamb(
    lr=1e-3,
    bias_correction=True,
    betas=(0.9, 0.999),
    eps=1e-6,
    weight_decay=0.01,
    grad_averaging=True,
    max_grad_norm=1.0,
    always_adapt=False,
    decoupled_decay=False,
    foreach=None,
    **options,
):
    """timm's ``Lamb`` for one parameter group (the global clipping is added by the caller).

    timm applies the trust ratio only in a group with weight decay (or ``always_adapt``).
    """
    del foreach, max_grad_norm
    _refuse(options, "lamb", ("trust_clip", "caution", "corrected_weight_decay"))
    b1, b2 = betas
    decay = none_if_zero(weight_decay)
    adapt = decay is not None or always_adapt
    return lamb(
        lr,
        b1,
        b2,
        eps,
        decay,
        decoupled=decoupled_decay,
        bias_correction=bias_correction,
        grad_averaging=grad_averaging,
        trust_ratio_mask=lambda tree: jax.tree.map(lambda _: adapt, tree),
    )


def _rmsprop_tf(
    lr=1e-2,
    alpha=0.9,
    eps=1e-10,
    weight_decay=0.0,
    momentum=0.0,
    centered=False,
    foreach=None,
    **options,
):
    """timm's ``RMSpropTF``: TensorFlow's RMSprop (the square average starts at 1, eps
    inside the square root, the learning rate inside the momentum buffer)."""
    del foreach
    _refuse(
        options,
        "rmsproptf",
        ("decoupled_decay", "corrected_weight_decay", "caution", "lr_in_momentum"),
        allowed={"lr_in_momentum": True},
    )
    return rmsprop(
        lr,
        alpha,
        eps,
        1.0,
        none_if_zero(momentum),
        none_if_zero(weight_decay),
        eps_in_sqrt=True,
        centered=centered,
    )


def _refuse(
    options: dict, name: str, unsupported: tuple[str, ...], allowed: dict | None = None
) -> None:
    """Options of timm's class that jaxsched does not reproduce: refused when they differ
    from ``allowed`` (default: off)."""
    allowed = allowed or {}
    on = sorted(k for k, v in options.items() if k in unsupported and v != allowed.get(k, False))
    unknown = sorted(k for k in options if k not in unsupported)
    if on or unknown:
        raise ValueError(
            f"create_optimizer(opt={name!r}): {on + unknown} not supported here; jaxsched "
            f"matches timm's {name} without {list(unsupported)}"
        )


# name -> (builder taking timm's class arguments, has_momentum, has_eps, has_betas,
# timm's registry defaults): timm's OptimInfo for the names jaxsched reproduces.
_OPTIMIZERS: dict[str, tuple[Callable[..., Any], bool, bool, bool, dict]] = {
    "sgd": (SGD, True, False, False, {"nesterov": True}),
    "nesterov": (SGD, True, False, False, {"nesterov": True}),
    "momentum": (SGD, True, False, False, {"nesterov": False}),
    "adam": (Adam, False, True, True, {}),
    "adamw": (AdamW, False, True, True, {}),
    "nadam": (NAdam, False, True, True, {}),
    "radam": (RAdam, False, True, True, {}),
    "radamw": (RAdam, False, True, True, {"decoupled_weight_decay": True}),
    "adamax": (Adamax, False, True, True, {}),
    "adagrad": (Adagrad, False, True, False, {"eps": 1e-8}),
    "adadelta": (Adadelta, False, True, False, {}),
    "rmsprop": (RMSprop, True, True, False, {"alpha": 0.9}),
    "rmsproptf": (_rmsprop_tf, True, True, False, {"alpha": 0.9}),
    "lion": (_lion, False, False, True, {}),
    "lamb": (_lamb, False, True, True, {}),
}
NAMES = tuple(sorted(_OPTIMIZERS))


# timm's MATCH_PREV_GROUP suffix: a group matcher entry ending in it joins the layer
# before it (ViT's final ``norm`` joins the last block).
MATCH_PREV_GROUP = 99999.0


def param_name(path: tuple[Any, ...]) -> str:
    """A leaf's name as timm sees a parameter's: its pytree path joined by ``.``, like
    torch's ``named_parameters`` (``{"blocks": [{"attn": {"kernel": w}}]}`` ->
    ``"blocks.0.attn.kernel"``).

    Example:
      >>> import jax
      >>> from jaxsched.timm._optim import param_name
      >>> tree = {"blocks": [{"kernel": 1.0}]}
      >>> [param_name(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]
      ['blocks.0.kernel']
    """
    return ".".join(path_str((key,)) for key in path)


def _excluded(name: str, patterns: tuple[str, ...]) -> bool:
    # timm's _matches_pattern: fnmatch wildcards, so a plain name matches exactly. Case
    # sensitive everywhere (fnmatch.fnmatch folds case on Windows only).
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def decay_labels(
    tree: PyTree, no_weight_decay: tuple[str, ...] = (), exclude_1d: bool = True
) -> PyTree:
    """timm's ``param_groups_weight_decay``: ``"no_decay"`` for every leaf of at most one
    dimension and every leaf whose name ends in ``.bias`` (with ``exclude_1d``, timm's
    ``filter_bias_and_bn``) and every leaf whose name (:func:`param_name`) matches a
    pattern of ``no_weight_decay``; ``"decay"`` for the rest.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxsched.timm._optim import decay_labels
      >>> tree = {"fc": {"kernel": jnp.ones((2, 3)), "bias": jnp.ones(3)}, "pos": jnp.ones((2, 3))}
      >>> print(decay_labels(tree, no_weight_decay=("pos",)))
      {'fc': {'bias': 'no_decay', 'kernel': 'decay'}, 'pos': 'no_decay'}
    """

    def label(path, leaf):
        name = param_name(path)
        one_d = exclude_1d and (np.ndim(leaf) <= 1 or name.endswith(".bias"))
        return "no_decay" if one_d or _excluded(name, no_weight_decay) else "decay"

    return jax.tree_util.tree_map_with_path(label, tree)


def _ordinal_matcher(layer_of: Any) -> Callable[[str], tuple[float, ...]]:
    """timm's ``group_with_matcher._get_grouping``: a name -> its ordinal (a tuple)."""
    if callable(layer_of):

        def from_callable(name):
            ordinal = layer_of(name)
            items = tuple(ordinal) if isinstance(ordinal, (tuple, list)) else (ordinal,)
            if not items or not all(
                isinstance(x, numbers.Real) and not isinstance(x, bool) for x in items
            ):
                raise TypeError(
                    f"layer_of({name!r}) must return a number or a tuple of numbers, got "
                    f"{ordinal!r}"
                )
            return tuple(float(x) for x in items)

        return from_callable
    compiled = []
    for ordinal, spec in enumerate(layer_of.values()):
        if spec is None:
            continue
        if isinstance(spec, str):
            compiled.append((re.compile(spec), (ordinal,), None))
        else:
            compiled += [(re.compile(p), (ordinal,), suffix) for p, suffix in spec]

    def from_regexes(name):
        for pattern, prefix, suffix in compiled:
            found = pattern.match(name)
            if found:
                parts = (prefix, found.groups(), suffix)
                return tuple(float(x) for part in parts if part for x in part)
        return (float("inf"),)  # unmatched (neck, head): the last layer, as in timm

    return from_regexes


def layer_ids(tree: PyTree, layer_of: Any) -> PyTree:
    """Each leaf's layer id, as timm's ``group_parameters(model, model.group_matcher(),
    reverse=True)`` gives it.

    Every leaf's name (:func:`param_name`) gets an ordinal from ``layer_of``; the distinct
    ordinals, sorted, are numbered 0, 1, ...; an ordinal whose last entry is timm's
    ``MATCH_PREV_GROUP`` (99999) keeps the number of the one before it.

    Args:
      tree: the parameters.
      layer_of: timm's group matcher: a dict ``group name -> regex`` or ``-> [(regex,
        suffix), ...]`` (what a timm model's ``group_matcher(coarse=False)`` returns: the
        ordinal is the group's position, the regex's captured numbers, then the suffix;
        ``re.match`` on the name; unmatched names come last), or a callable name -> int
        or tuple of ints.

    Returns:
      A pytree of Python ints with the structure of ``tree``.

    Example:
      >>> from jaxsched.timm._optim import layer_ids
      >>> tree = {"embed": 0.0, "blocks": [0.0, 0.0], "norm": 0.0, "head": 0.0}
      >>> blocks = [(r"^blocks\\.(\\d+)", None), (r"^norm", (99999,))]
      >>> matcher = {"stem": r"^embed", "blocks": blocks}
      >>> print(layer_ids(tree, matcher))
      {'blocks': [1, 2], 'embed': 0, 'head': 3, 'norm': 2}
    """
    ordinal = _ordinal_matcher(layer_of)
    flat, treedef = jax.tree_util.tree_flatten_with_path(tree)
    ordinals = [ordinal(param_name(path)) for path, _ in flat]
    ids, lid = {}, -1
    for key in sorted(set(ordinals)):
        if lid < 0 or key[-1] != MATCH_PREV_GROUP:
            lid += 1
        ids[key] = lid
    return jax.tree.unflatten(treedef, [ids[k] for k in ordinals])


@dataclass(frozen=True)
class LayerGroup:
    """One of timm's layer-decay parameter groups: its learning-rate scale and weight
    decay; ``lr_scale`` None marks leaves left out of optimization (timm's
    ``no_opt_scale``)."""

    lr_scale: float | None
    weight_decay: Any


def layer_decay_groups(
    tree: PyTree,
    layer_of: Any,
    layer_decay: float,
    weight_decay: Any = 0.05,
    no_weight_decay: tuple[str, ...] = (),
    exclude_1d: bool = True,
    min_scale: float = 0.0,
    no_opt_scale: float | None = None,
) -> tuple[PyTree, dict[str, LayerGroup]]:
    """timm's ``param_groups_layer_decay``: one group per (layer, decay).

    A leaf in layer ``i`` of ``n`` (:func:`layer_ids`) gets the learning-rate scale
    ``max(min_scale, layer_decay ** (n - 1 - i))``: 1 for the last layer (the head). It has
    no weight decay if it has at most one dimension (with ``exclude_1d``; unlike
    :func:`decay_labels`, timm does not look at the name ``bias`` here) or its name matches
    a pattern of ``no_weight_decay``. A leaf whose scale is below ``no_opt_scale`` (when
    that is set and not 0) is left out of optimization.

    Returns:
      ``(labels, groups)``: a pytree of labels ``"layer_<i>/decay"``,
      ``"layer_<i>/no_decay"`` (timm's ``layer_<i>_decay``...) or ``"frozen"``, and label
      -> :class:`LayerGroup`.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxsched.timm._optim import layer_decay_groups
      >>> body = {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}
      >>> tree = {"body": body, "head": jnp.ones((2, 1))}
      >>> labels, groups = layer_decay_groups(tree, {"body": r"^body"}, 0.5, 0.1)
      >>> print(labels)
      {'body': {'bias': 'layer_0/no_decay', 'kernel': 'layer_0/decay'}, 'head': 'layer_1/decay'}
      >>> print(groups["layer_0/decay"])
      LayerGroup(lr_scale=0.5, weight_decay=0.1)
    """
    ids = layer_ids(tree, layer_of)
    num_layers = max(jax.tree.leaves(ids)) + 1
    scales = [max(min_scale, layer_decay ** (num_layers - 1 - i)) for i in range(num_layers)]
    groups: dict[str, LayerGroup] = {}

    def label(path, leaf, layer):
        scale = scales[layer]
        if no_opt_scale and scale < no_opt_scale:
            groups["frozen"] = LayerGroup(None, 0.0)
            return "frozen"
        if (exclude_1d and np.ndim(leaf) <= 1) or _excluded(param_name(path), no_weight_decay):
            kind, decay = "no_decay", 0.0
        else:
            kind, decay = "decay", weight_decay
        name = f"layer_{layer}/{kind}"
        groups[name] = LayerGroup(scale, decay)
        return name

    labels = jax.tree_util.tree_map_with_path(label, tree, ids)
    return labels, groups


def _scaled(lr: Any, scale: float) -> Any:
    """The learning rate times a layer's scale: what timm's schedulers set in a group with
    an ``lr_scale`` (``Scheduler.update_groups``), for a number, a schedule or a stateful
    schedule."""
    if scale == 1.0:
        return lr
    if isinstance(lr, StatefulSchedule):
        return StatefulSchedule(
            lr.init,
            lambda state, step, extra: _times(lr.update(state, step, extra), scale),
            lambda state: lr.current(state) * scale,
        )
    if callable(lr):
        return lambda step: lr(step) * scale
    return lr * scale


def _times(value_and_state: tuple[Any, Any], scale: float) -> tuple[Any, Any]:
    value, state = value_and_state
    return value * scale, state


@dataclass(frozen=True)
class _Names(Spec):
    """Parameter names or fnmatch patterns: a tuple, list or set of strings."""

    def describe(self) -> str:
        return "a tuple, list or set of parameter names (str)"

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, str) or not isinstance(value, (tuple, list, Set)):
            shown = repr(value) if isinstance(value, str) else type(value).__name__
            raise TypeError(f"{name} must be {self.describe()}, got {shown}")
        for item in value:
            if not isinstance(item, str):
                raise TypeError(f"{name} must be {self.describe()}; it holds {item!r}")
        return tuple(sorted(value)) if isinstance(value, Set) else tuple(value)


@dataclass(frozen=True)
class _GroupMatcher(Spec):
    """None, a callable name -> ordinal, or timm's ``group_matcher`` dict."""

    def describe(self) -> str:
        return (
            "None, a callable name -> int, or a dict group -> regex or [(regex, suffix), "
            "...] (timm's group_matcher)"
        )

    def check(self, name: str, value: Any) -> Any:
        if value is None or callable(value):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be {self.describe()}, got {type(value).__name__}")
        for group, spec in value.items():
            where = f"{name}[{group!r}]"
            entries = [(spec, None)] if isinstance(spec, str) or spec is None else spec
            if not isinstance(entries, (tuple, list)):
                raise TypeError(f"{where} must be a regex, None or a list of (regex, suffix)")
            for entry in entries:
                if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
                    raise TypeError(f"{where} entries must be (regex, suffix) pairs, got {entry!r}")
                pattern, suffix = entry
                if pattern is None and spec is None:
                    continue
                if not isinstance(pattern, str):
                    raise TypeError(f"{where}: the regex must be a str, got {pattern!r}")
                try:
                    re.compile(pattern)
                except re.error as err:
                    raise ValueError(f"{where}: invalid regex {pattern!r}: {err}") from None
                if suffix is not None and not (
                    isinstance(suffix, tuple)
                    and all(isinstance(x, int) and not isinstance(x, bool) for x in suffix)
                ):
                    raise TypeError(f"{where}: a suffix must be None or a tuple of ints")
        return value


Names = Annotated[Any, _Names()]
GroupMatcher = Annotated[Any, _GroupMatcher()]


@validated
def create_optimizer(
    params: Any = None,
    opt: str = "sgd",
    lr: OptionalRate = None,
    weight_decay: NonNegative = 0.0,
    momentum: UnitInterval = 0.9,
    filter_bias_and_bn: Flag = True,
    no_weight_decay: Names = (),
    layer_decay: LayerDecay = None,
    layer_of: GroupMatcher = None,
    layer_decay_min_scale: MinScale = 0.0,
    layer_decay_no_opt_scale: NoOptScale = None,
    **kwargs: Any,
) -> optax.GradientTransformationExtraArgs:
    """timm's ``create_optimizer_v2(model, opt, lr, weight_decay, momentum, ...)``.

    The name picks timm's optimizer (case-insensitive): ``"sgd"`` and ``"nesterov"``
    (SGD with Nesterov momentum), ``"momentum"`` (classical momentum), ``"adam"``,
    ``"adamw"``, ``"nadam"``, ``"radam"``, ``"radamw"``, ``"adamax"``, ``"adagrad"`` (eps
    1e-8), ``"adadelta"``, ``"rmsprop"`` (torch's, ``alpha=0.9``), all as
    :mod:`jaxsched.torch` (timm uses ``torch.optim``), and timm's own ``"rmsproptf"``
    (TensorFlow's RMSprop), ``"lion"`` and ``"lamb"``. As in timm, ``momentum`` (0.9) is
    given to the optimizers that take one (the SGDs, both RMSprops), ``eps`` and
    ``betas`` in ``kwargs`` are dropped where the optimizer has none, ``lr=None`` keeps
    the optimizer's default, and ``kwargs`` go to the optimizer under timm's (torch's)
    names.

    A leaf's name is timm's parameter name: its pytree path joined by ``.``, as torch's
    ``named_parameters`` writes it (``{"blocks": [{"attn": {"kernel": w}}]}`` ->
    ``"blocks.0.attn.kernel"``; flax's ``{"params": ...}`` root is part of the name).

    Weight decay (timm's ``param_groups_weight_decay``): with ``weight_decay > 0`` the
    leaves fall in two groups, as labels of :func:`jaxsched.partition`: ``"no_decay"``
    gets ``weight_decay=0``, ``"decay"`` the rest. ``"no_decay"`` holds, with
    ``filter_bias_and_bn``, every leaf of at most one dimension and every leaf whose name
    ends in ``.bias``, and every leaf whose name matches an entry of ``no_weight_decay``
    (timm's ``model.no_weight_decay()`` list, matched with fnmatch wildcards as timm does,
    so a plain name matches exactly; entries matching no leaf are ignored, as in timm).
    Otherwise one optimizer decays every leaf.

    Layer decay (timm's ``param_groups_layer_decay``): with ``layer_decay`` the groups
    are (layer, decay), labelled ``"layer_<i>/decay"`` and ``"layer_<i>/no_decay"``
    (timm's ``layer_<i>_decay``...), whatever ``weight_decay``. JAX has no module to ask
    for timm's ``group_matcher``, so ``layer_of`` gives it: the dict a timm model's
    ``group_matcher(coarse=False)`` returns (group -> regex, or -> ``[(regex, suffix),
    ...]``, ``re.match`` on the name: the ordinal is the group's position, the regex's
    captured numbers, then the suffix; unmatched names come last; suffix ``(99999,)``
    joins the layer before), or a callable name -> int (or tuple of ints). As in timm's
    ``group_parameters`` the distinct ordinals, sorted, become the layer ids ``0..n-1``.
    A leaf of layer ``i`` gets the learning rate ``lr * max(layer_decay_min_scale,
    layer_decay ** (n - 1 - i))``, which timm's schedulers set from the group's
    ``lr_scale`` (the head, layer ``n - 1``, keeps ``lr``); with
    ``layer_decay_no_opt_scale`` (not 0) a leaf whose scale is below it is frozen (label
    ``"frozen"``), as timm leaves it out of the optimizer. Here ``filter_bias_and_bn``
    exempts leaves of at most one dimension only (timm ignores the name ``bias`` in this
    mode). Each group's rate shows in :func:`jaxsched.hyperparams` under its label, e.g.
    ``"layer_3/decay/learning_rate"`` (shortened to the tail that tells the groups apart,
    as for every partition). LAMB's gradient clipping (``max_grad_norm=1.0``) spans every
    optimized leaf, as in timm.

    Not here: the ``lookahead_`` prefix, ``param_group_fn``, fallback lists (hybrid
    optimizers), timm's automatic layer grouping for a model without a
    ``group_matcher``, and (refused) LAMB's ``trust_clip``, ``caution`` and
    ``corrected_weight_decay``, Lion's ``caution``, ``corrected_weight_decay`` and
    ``maximize``, RMSpropTF's ``decoupled_decay``, ``corrected_weight_decay``,
    ``caution`` and ``lr_in_momentum=False``. Other timm names (``adafactor``: timm
    factors only dimensions above ``min_dim_size_to_factor``; ...) raise ValueError.

    Args:
      params: the parameter pytree (timm's ``model_or_params``), whose paths and shapes
        give the groups; None to take them from the tree given to ``init`` (not with
        ``layer_decay``, whose groups must be known here).
      opt: the optimizer's name, one of those above (any case).
      lr: learning rate, >= 0 (number, jax scalar or schedule), or None for the
        optimizer's default.
      weight_decay: >= 0.
      momentum: in [0, 1], for the optimizers that take a momentum.
      filter_bias_and_bn: no weight decay for biases and leaves of at most one dimension.
      no_weight_decay: leaf names (or fnmatch patterns) without weight decay: a tuple,
        list or set of str (timm's ``model.no_weight_decay()``).
      layer_decay: None, or >= 0: the learning-rate factor from one layer to the one
        below it.
      layer_of: with ``layer_decay`` (and only then): the layer matcher described above.
      layer_decay_min_scale: >= 0, the least learning-rate scale of a layer.
      layer_decay_no_opt_scale: None, or >= 0: layers of a smaller scale are frozen.
      **kwargs: the optimizer's other arguments (``betas``, ``eps``, ``amsgrad``, ...).

    Returns:
      The transformation; with groups, a :func:`jaxsched.partition` over their labels.

    Raises:
      ValueError: for a name not listed (the message lists them), an option not
        reproduced, ``layer_decay`` without ``layer_of`` or ``params``, or the other
        layer-decay arguments without ``layer_decay``.
      TypeError: for arguments of the wrong kind (named).

    Example:
      >>> import jax, jax.numpy as jnp, jaxsched
      >>> from jaxsched.timm import create_optimizer
      >>> params = {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}
      >>> tx = create_optimizer(params, "sgd", lr=0.1, weight_decay=0.5)
      >>> grads = jax.tree.map(jnp.ones_like, params)
      >>> u, _ = tx.update(grads, tx.init(params), params)
      >>> # Nesterov (timm's "sgd"): the first step is lr * 1.9 * g, with g + 0.5 * p
      >>> # for the kernel only.
      >>> print(u["kernel"][0], u["bias"])
      [-0.285 -0.285] [-0.19 -0.19]
      >>> # Layer decay: blocks 0 and 1, then the head (unmatched: the last layer).
      >>> params = {"blocks": [jnp.ones((2, 2)), jnp.ones((2, 2))], "head": jnp.ones((2, 1))}
      >>> tx = create_optimizer(
      ...     params, "adamw", lr=0.1, weight_decay=0.05, layer_decay=0.5,
      ...     layer_of={"blocks": [(r"^blocks\\.(\\d+)", None)]},
      ... )
      >>> rates = jaxsched.hyperparams(tx.init(params))
      >>> for key in sorted(rates):
      ...     if key.endswith("learning_rate"):
      ...         print(key, rates[key])
      layer_0/decay/learning_rate 0.025
      layer_1/decay/learning_rate 0.05
      layer_2/decay/learning_rate 0.1

    References:
      ``timm.optim.create_optimizer_v2``; ``timm.optim.param_groups_weight_decay``,
      ``timm.optim.param_groups_layer_decay``; ``timm.models.group_parameters``.
    """
    if not isinstance(opt, str):
        raise TypeError(f"opt must be an optimizer name (str), got {type(opt).__name__}")
    name = opt.lower()
    if name not in _OPTIMIZERS:
        raise ValueError(f"opt={opt!r} is not supported; allowed names: {list(NAMES)}")
    build, has_momentum, has_eps, has_betas, defaults = _OPTIMIZERS[name]
    args = {"weight_decay": weight_decay, **kwargs}
    if lr is not None:
        args["lr"] = lr
    for key, value in defaults.items():
        args.setdefault(key, value)
    if has_momentum:
        args.setdefault("momentum", momentum)
    if not has_eps:
        args.pop("eps", None)
    if not has_betas:
        args.pop("betas", None)
    frozen = None
    if layer_decay is None:
        ignored = [
            arg
            for arg, off in (
                ("layer_of", layer_of is None),
                ("layer_decay_min_scale", layer_decay_min_scale == 0),
                ("layer_decay_no_opt_scale", layer_decay_no_opt_scale is None),
            )
            if not off
        ]
        if ignored:  # timm ignores them silently; here a forgotten layer_decay shows
            raise ValueError(f"{ignored[0]} is used only with layer_decay, which is None")
        tx = _decay_groups(params, build, args, filter_bias_and_bn, no_weight_decay)
    else:
        if layer_of is None:
            raise ValueError(
                "layer_decay needs layer_of (timm's group_matcher: a dict of regexes or a "
                "callable name -> layer), to tell each leaf's layer"
            )
        if params is None:
            raise ValueError("layer_decay needs params, whose layers make the groups")
        labels, groups = layer_decay_groups(
            params,
            layer_of,
            layer_decay,
            weight_decay,
            no_weight_decay,
            filter_bias_and_bn,
            layer_decay_min_scale,
            layer_decay_no_opt_scale,
        )
        # lr=None: the optimizer's default is the base rate that timm's scheduler scales.
        base_lr = args.get("lr", inspect.signature(build).parameters["lr"].default)
        transforms = {}
        for label, group in sorted(groups.items()):
            if group.lr_scale is None:
                transforms[label] = freeze()
            else:
                lr_wd = {"lr": _scaled(base_lr, group.lr_scale), "weight_decay": group.weight_decay}
                transforms[label] = build(**(args | lr_wd))
        tx = partition(transforms, labels)
        frozen = jax.tree.map(lambda label: label == "frozen", labels)
    clip = args.get("max_grad_norm", 1.0) if name == "lamb" else None
    if clip is None:
        return tx
    # timm's Lamb takes the global norm over the parameters it optimizes only.
    clipper = clip_by_global_norm(clip)
    if frozen is not None:
        clipper = masked(clipper, jax.tree.map(lambda f: not f, frozen))
    return optax.chain(clipper, tx)


def _decay_groups(params, build, args, filter_bias_and_bn, no_weight_decay):
    """timm's two weight-decay groups, or one optimizer when no leaf is exempt."""
    grouped = none_if_zero(args["weight_decay"]) is not None and (
        filter_bias_and_bn or no_weight_decay
    )
    if not grouped:
        return build(**args)

    def labels(tree):
        return decay_labels(tree, no_weight_decay, filter_bias_and_bn)

    return partition(
        {"decay": build(**args), "no_decay": build(**(args | {"weight_decay": 0.0}))},
        labels if params is None else labels(params),
    )
