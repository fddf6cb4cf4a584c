"""timm's optimizer factory (``timm.optim.create_optimizer_v2``) for the names jaxsched matches.

timm builds ``torch.optim`` (or its own) optimizers by name, with two parameter groups:
one with weight decay and one without (biases and every parameter of at most one
dimension). :func:`create_optimizer` does the same with jaxsched's parity flavors and
:func:`jaxsched.partition`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import jax
import numpy as np
import optax

from .._base import PyTree, none_if_zero
from .._combine import partition
from .._validate import Flag, NonNegative, Real, UnitInterval, validated
from ..optimizers._adaptive import rmsprop
from ..optimizers._large_batch import lamb
from ..optimizers._signs import lion
from ..torch._adaptive import Adadelta, Adagrad, Adamax, NAdam, RAdam, RMSprop
from ..torch._optim import SGD, Adam, AdamW
from ..transforms._clip import clip_by_global_norm

OptionalRate = Annotated[Any, Real(low=0.0, optional=True)]


def _lion(lr=None, weight_decay=0.0, betas=(0.9, 0.99), foreach=None, **options):
    """timm's ``Lion``: decoupled decay ``p <- p (1 - lr wd)``, then the sign step."""
    del foreach  # timm's implementation switch
    _refuse(options, "lion", ("caution", "corrected_weight_decay", "maximize"))
    b1, b2 = betas
    return lion(1e-4 if lr is None else lr, b1, b2, none_if_zero(weight_decay))


def _lamb(
    lr=None,
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
        1e-3 if lr is None else lr,
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


def _key_name(key: Any) -> Any:
    return getattr(key, "key", getattr(key, "name", None))


def decay_labels(tree: PyTree) -> PyTree:
    """timm's ``weight_decay_exclude_1d``: ``"no_decay"`` for every leaf of at most one
    dimension and every leaf named ``bias``, ``"decay"`` for the rest.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxsched.timm._optim import decay_labels
      >>> print(decay_labels({"kernel": jnp.ones((2, 3)), "bias": jnp.ones(3)}))
      {'bias': 'no_decay', 'kernel': 'decay'}
    """

    def label(path, leaf):
        one_d = np.ndim(leaf) <= 1
        bias = bool(path) and _key_name(path[-1]) == "bias"
        return "no_decay" if one_d or bias else "decay"

    return jax.tree_util.tree_map_with_path(label, tree)


@validated
def create_optimizer(
    params: Any = None,
    opt: str = "sgd",
    lr: OptionalRate = None,
    weight_decay: NonNegative = 0.0,
    momentum: UnitInterval = 0.9,
    filter_bias_and_bn: Flag = True,
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

    With ``weight_decay > 0`` and ``filter_bias_and_bn`` the parameters fall in timm's two
    groups, as labels of :func:`jaxsched.partition`: ``"no_decay"`` (every leaf of at
    most one dimension, and every leaf named ``bias``) gets ``weight_decay=0``,
    ``"decay"`` the rest. Otherwise one optimizer decays every leaf. LAMB's gradient
    clipping (``max_grad_norm=1.0``) spans both groups, as in timm.

    Not here: the ``lookahead_`` prefix, ``layer_decay``, ``param_group_fn``, fallback
    lists, a model's ``no_weight_decay()`` list, and (refused) LAMB's ``trust_clip``,
    ``caution`` and ``corrected_weight_decay``, Lion's ``caution``,
    ``corrected_weight_decay`` and ``maximize``, RMSpropTF's ``decoupled_decay``,
    ``corrected_weight_decay``, ``caution`` and ``lr_in_momentum=False``. Other timm
    names (``adafactor``: timm factors only dimensions above ``min_dim_size_to_factor``;
    ...) raise ValueError.

    Args:
      params: the parameter pytree (timm's ``model_or_params``), whose paths and shapes
        give the groups; None to take them from the tree given to ``init``.
      opt: the optimizer's name, one of those above (any case).
      lr: learning rate, >= 0 (number, jax scalar or schedule), or None for the
        optimizer's default.
      weight_decay: >= 0.
      momentum: in [0, 1], for the optimizers that take a momentum.
      filter_bias_and_bn: no weight decay for biases and leaves of at most one dimension.
      **kwargs: the optimizer's other arguments (``betas``, ``eps``, ``amsgrad``, ...).

    Returns:
      The transformation; with two groups, a :func:`jaxsched.partition` over
      ``"decay"`` and ``"no_decay"``.

    Raises:
      ValueError: for a name not listed (the message lists them), or an option not
        reproduced.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxsched.timm import create_optimizer
      >>> params = {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}
      >>> tx = create_optimizer(params, "sgd", lr=0.1, weight_decay=0.5)
      >>> grads = jax.tree.map(jnp.ones_like, params)
      >>> u, _ = tx.update(grads, tx.init(params), params)
      >>> # Nesterov (timm's "sgd"): the first step is lr * 1.9 * g, with g + 0.5 * p
      >>> # for the kernel only.
      >>> print(u["kernel"][0], u["bias"])
      [-0.285 -0.285] [-0.19 -0.19]

    References:
      ``timm.optim.create_optimizer_v2``; ``timm.optim.param_groups_weight_decay``.
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
    grouped = filter_bias_and_bn and none_if_zero(weight_decay) is not None
    if grouped:
        labels = decay_labels if params is None else decay_labels(params)
        tx = partition(
            {"decay": build(**args), "no_decay": build(**(args | {"weight_decay": 0.0}))},
            labels,
        )
    else:
        tx = build(**args)
    clip = args.get("max_grad_norm", 1.0) if name == "lamb" else None
    return tx if clip is None else optax.chain(clip_by_global_norm(clip), tx)
