"""``pytorch_optimizer`` flavors of Adam's descendants and the large-batch optimizers.

Each flavor is a ``pytorch_optimizer`` 4.1 constructor without ``params``, checked under
its argument names (``lr``, ``betas[2]``, ``weight_decouple``), that builds a native
optimizer; the state reports the native names (``learning_rate``, ``b1``...). A 0 for
``weight_decay`` means none (no decay block, ``update`` needs no ``params``).
``foreach`` never changes the numbers and is ignored. Where ``pytorch_optimizer`` departs
from the authors' code, the flavor follows the authors; each docstring says where.
"""

from __future__ import annotations

from typing import Annotated, Any

import jax
import jax.numpy as jnp
import optax

from .._base import cast_like, none_if_zero, params_needed, stateless
from .._combine import partition
from .._hyper import block
from .._validate import (
    Betas,
    CallableSpec,
    Choice,
    Decay,
    Flag,
    Integer,
    Items,
    NonNegative,
    OptionalNonNegative,
    Real,
    Switch,
    UnitInterval,
    validated,
)
from ..optimizers._frontier_adam import adan, ademamix, adopt, mars
from ..optimizers._large_batch import lamb, lars
from ..transforms._adam import scale_by_adam
from ..transforms._ademamix import Warmup
from ..transforms._adopt import adopt_clip
from ..transforms._basic import descent
from ..transforms._cautious import cautious as cautious_mask
from ..transforms._clip import clip_by_global_norm

Betas3 = Annotated[tuple, Items(Real(0.0, 1.0, high_open=True), length=3)]
ClipLambda = Annotated[Any, CallableSpec(optional=True)]


@block
def _fixed_decay(weight_decay: NonNegative) -> optax.GradientTransformationExtraArgs:
    """``u <- u - weight_decay * p``: ``fixed_decay=True``, a decay the rate does not scale."""

    def decay(updates, params):
        params_needed(params, "fixed_decay")
        return cast_like(jax.tree.map(lambda u, p: u - weight_decay * p, updates, params), updates)

    return stateless(decay)


def _with_fixed_decay(
    tx: optax.GradientTransformation, weight_decay: Any
) -> optax.GradientTransformation:
    return tx if weight_decay is None else optax.chain(tx, _fixed_decay(weight_decay))


@validated
def ADOPT(
    lr: NonNegative = 1e-3,
    betas: Betas = (0.9, 0.9999),
    clip_lambda: ClipLambda = adopt_clip,
    weight_decay: NonNegative = 0.0,
    weight_decouple: Flag = False,
    fixed_decay: Flag = False,
    foreach: Switch = None,
    eps: NonNegative = 1e-6,
    maximize: Flag = False,
    *,
    cautious: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.ADOPT``: :func:`jaxsched.optimizers.adopt` under its names.

    Follows the authors' code where ``pytorch_optimizer`` 4.1 departs from it:
    ``clip_lambda`` is called with the number of updates made before this one (1 at the
    second update; ``pytorch_optimizer`` passes one more), and the decoupled decay
    starts at the second update (``pytorch_optimizer`` also decays at the first).

    Args:
      lr: >= 0 (state key ``learning_rate``).
      betas: ``(b1, b2)``, each in [0, 1) (``b1``, ``b2``).
      clip_lambda: schedule of the clip, a function of the update count above that jax
        can trace (``step ** 0.25``, not ``math.pow``), or None for no clipping
        (``clip``, the value used by the latest update).
      weight_decay: >= 0 (``weight_decay``, absent when 0).
      weight_decouple: decoupled decay, ``p <- p - lr * weight_decay * p``.
      fixed_decay: with ``weight_decouple``, ``p <- p - weight_decay * p`` instead.
      eps: >= 0 (``eps``).
      maximize: ascend instead of descend.
      cautious: the cautious mask (:func:`jaxsched.transforms.cautious`), which
        ``pytorch_optimizer`` takes among its keyword arguments.
      foreach: ignored.

    Returns:
      A transformation whose ``update`` gives the authors' ADOPT step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.ADOPT(lr=0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(jaxsched.apply_updates(params, u))  # the first update only measures v
      [ 1. -1.]

    References:
      Taniguchi et al. 2024; ``pytorch_optimizer.ADOPT``; ``adopt.ADOPT``.
    """
    del foreach
    b1, b2 = betas
    weight_decay = none_if_zero(weight_decay)
    fixed = weight_decouple and fixed_decay and weight_decay is not None
    tx = adopt(
        lr,
        b1,
        b2,
        eps,
        clip_lambda,
        None if fixed else weight_decay,
        decoupled=weight_decouple,
        cautious=cautious,
        maximize=maximize,
    )
    return _with_fixed_decay(tx, weight_decay if fixed else None)


@validated
def AdEMAMix(
    lr: NonNegative = 1e-3,
    betas: Betas3 = (0.9, 0.999, 0.9999),
    weight_decay: NonNegative = 0.0,
    weight_decouple: Flag = False,
    fixed_decay: Flag = False,
    alpha: NonNegative = 5.0,
    t_alpha_beta3: Warmup = None,
    eps: NonNegative = 1e-8,
    maximize: Flag = False,
    foreach: Switch = None,
    *,
    cautious: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.AdEMAMix``: :func:`jaxsched.optimizers.ademamix` under its names.

    ``t_alpha_beta3`` is both warmups (``alpha_warmup`` and ``b3_warmup``). With
    ``cautious`` the mask covers the whole direction, fast and slow averages, as the
    cautious paper's rule; ``pytorch_optimizer`` masks the fast average only.

    Args:
      lr: >= 0 (state key ``learning_rate``).
      betas: ``(b1, b2, b3)``, each in [0, 1) (``b1``, ``b2``, ``b3``).
      weight_decay: >= 0 (``weight_decay``, absent when 0); coupled unless
        ``weight_decouple``; ``fixed_decay`` (with ``weight_decouple``) does not scale it
        by ``lr``.
      alpha: >= 0 (``alpha``).
      t_alpha_beta3: warmup length of ``alpha`` and ``b3`` in steps, > 0, or None.
      eps: >= 0 (``eps``).
      maximize: ascend instead of descend.
      cautious: the cautious mask (:func:`jaxsched.transforms.cautious`).
      foreach: ignored.

    Returns:
      A transformation whose ``update`` gives ``pytorch_optimizer``'s step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.AdEMAMix(lr=0.1, betas=(0.9, 0.999, 0.5))
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(u.round(4))  # -0.1 * (1 + alpha * (1 - b3)) * sign(g)
      [-0.35  0.35]

    References:
      Pagliardini et al. 2024; ``pytorch_optimizer.AdEMAMix``; apple/ml-ademamix.
    """
    del foreach
    b1, b2, b3 = betas
    weight_decay = none_if_zero(weight_decay)
    fixed = weight_decouple and fixed_decay and weight_decay is not None
    tx = ademamix(
        lr,
        b1,
        b2,
        b3,
        alpha,
        eps,
        weight_decay=None if fixed else weight_decay,
        alpha_warmup=t_alpha_beta3,
        b3_warmup=t_alpha_beta3,
        decoupled=weight_decouple,
        cautious=cautious,
        maximize=maximize,
    )
    return _with_fixed_decay(tx, weight_decay if fixed else None)


@block
def _mars_adamw(
    learning_rate: NonNegative,
    b1: Decay,
    b2: Decay,
    eps: NonNegative,
    weight_decay: OptionalNonNegative,
    *,
    amsgrad: Flag,
    cautious: Flag,
    maximize: Flag,
) -> optax.GradientTransformationExtraArgs:
    """MARS's AdamW for the leaves that are not matrices (the authors' ``optimize_1d=False``)."""
    rule = scale_by_adam(b1, b2, eps, amsgrad=amsgrad)
    if cautious:
        rule = cautious_mask(rule, follows_gradient=True)
    return descent(rule, learning_rate, weight_decay, decoupled=True, maximize=maximize)


def _mars_labels(tree: Any) -> Any:
    # The authors give MARS to 2-D leaves only (pytorch_optimizer: 2 dims or more).
    return jax.tree.map(lambda x: "mars" if jnp.ndim(x) == 2 else "1d", tree)


@validated
def MARS(
    lr: NonNegative = 3e-3,
    betas: Betas = (0.95, 0.99),
    gamma: NonNegative = 0.025,
    mars_type: Annotated[str, Choice(("adamw",))] = "adamw",
    optimize_1d: Flag = False,
    lr_1d: NonNegative = 3e-3,
    betas_1d: Betas = (0.9, 0.95),
    weight_decay: NonNegative = 0.0,
    weight_decay_1d: NonNegative = 1e-1,
    weight_decouple: Flag = True,
    fixed_decay: Flag = False,
    ams_bound: Flag = False,
    cautious: Flag = False,
    eps: NonNegative = 1e-8,
    maximize: Flag = False,
    foreach: Switch = None,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.MARS``: :func:`jaxsched.optimizers.mars` under its names.

    With ``optimize_1d=False`` (the default) only the 2-D leaves take the MARS step; the
    others take AdamW with ``lr_1d``, ``betas_1d`` and ``weight_decay_1d``, through
    :func:`jaxsched.partition` (state keys under the labels ``"mars"`` and ``"1d"``, as
    ``mars/learning_rate`` and ``1d/learning_rate``). Follows the authors' code where
    ``pytorch_optimizer`` 4.1 departs from it: leaves of 3 or more dimensions take AdamW
    (``pytorch_optimizer`` gives them MARS), and eps is added after the bias correction
    of ``sqrt(v)`` (``pytorch_optimizer``: before), which differs when ``eps`` is not
    small against ``sqrt(v)``. ``lr_1d`` is a rate of its own: ``pytorch_optimizer``
    scales it with ``lr`` when a scheduler changes ``lr``, so with a schedule for ``lr``
    give ``lr_1d`` one too.

    Args:
      lr, lr_1d: >= 0 (``learning_rate``).
      betas, betas_1d: ``(b1, b2)``, each in [0, 1) (``b1``, ``b2``).
      gamma: >= 0 (``gamma``).
      mars_type: ``"adamw"``, the one form supported (``"lion"`` and ``"shampoo"`` are not).
      optimize_1d: give every leaf the MARS step.
      weight_decay, weight_decay_1d: decoupled, >= 0 (``weight_decay``, absent when 0);
        ``fixed_decay`` does not scale them by the rate. ``weight_decouple=False`` with
        a decay is refused: ``pytorch_optimizer`` then adds the decay to the stored
        previous gradient only, after the step, which the authors do not do.
      ams_bound: use the running maximum of ``v``.
      cautious: the cautious mask (:func:`jaxsched.transforms.cautious`).
      eps: >= 0 (``eps``).
      maximize: ascend instead of descend.
      foreach: ignored.

    Returns:
      A transformation whose ``update`` gives the authors' MARS step.

    Raises:
      ValueError: for ``weight_decouple=False`` with a non-zero decay.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.MARS(lr=1.0, lr_1d=0.5, weight_decay_1d=0.0)
      >>> params = {"w": jnp.array([[0.3, -0.4]]), "b": jnp.array([2.0])}
      >>> u, state = tx.update(params, tx.init(params))
      >>> print(u["w"].round(4), u["b"].round(4))  # first steps: -lr * sign(g)
      [[-1.  1.]] [-0.5]

    References:
      Yuan et al. 2024; ``pytorch_optimizer.MARS``; AGI-Arena/MARS.
    """
    del mars_type, foreach
    weight_decay = none_if_zero(weight_decay)
    weight_decay_1d = None if optimize_1d else none_if_zero(weight_decay_1d)
    if not weight_decouple and (weight_decay is not None or weight_decay_1d is not None):
        raise ValueError(
            "weight_decouple=False is not supported with a non-zero weight decay: "
            "pytorch_optimizer then decays only the stored previous gradient"
        )
    b1, b2 = betas
    fixed = fixed_decay
    main = mars(
        lr,
        b1,
        b2,
        gamma,
        eps,
        None if fixed else weight_decay,
        amsgrad=ams_bound,
        cautious=cautious,
        maximize=maximize,
    )
    main = _with_fixed_decay(main, weight_decay if fixed else None)
    if optimize_1d:
        return main
    side = _mars_adamw(
        lr_1d,
        *betas_1d,
        eps,
        None if fixed else weight_decay_1d,
        amsgrad=ams_bound,
        cautious=cautious,
        maximize=maximize,
    )
    side = _with_fixed_decay(side, weight_decay_1d if fixed else None)
    return partition({"mars": main, "1d": side}, _mars_labels)


@validated
def Adan(
    lr: NonNegative = 1e-3,
    betas: Betas3 = (0.98, 0.92, 0.99),
    weight_decay: NonNegative = 0.0,
    weight_decouple: Flag = False,
    max_grad_norm: NonNegative = 0.0,
    foreach: Switch = None,
    eps: NonNegative = 1e-8,
    maximize: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.Adan``: :func:`jaxsched.optimizers.adan` under its names.

    ``pytorch_optimizer``'s step is the authors' but for ``maximize``: version 4.1 seeds
    the previous gradient before negating the gradient, so its first gradient difference
    is ``-2 g`` rather than 0; the flavor steps as Adan on the negated objective.

    Args:
      lr: >= 0 (state key ``learning_rate``).
      betas: ``(b1, b2, b3)``, each in [0, 1) (``b1``, ``b2``, ``b3``).
      weight_decay: >= 0 (``weight_decay``, absent when 0): the proximal decay, or the
        decoupled one with ``weight_decouple`` (the authors' ``no_prox``).
      max_grad_norm: clip the global gradient norm to it, > 0; 0 for no clipping
        (``max_grad_norm``, absent when 0).
      eps: >= 0 (``eps``).
      maximize: ascend instead of descend.
      foreach: ignored.

    Returns:
      A transformation whose ``update`` gives ``pytorch_optimizer``'s step.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.Adan(lr=1.0)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(u.round(4))  # the first step: -lr * sign(g)
      [-1.  1.]

    References:
      Xie et al. 2022; ``pytorch_optimizer.Adan``; sail-sg/Adan.
    """
    del foreach
    b1, b2, b3 = betas
    return adan(
        lr,
        b1,
        b2,
        b3,
        eps,
        none_if_zero(weight_decay),
        none_if_zero(max_grad_norm),
        proximal=not weight_decouple,
        maximize=maximize,
    )


@validated
def Lamb(
    lr: NonNegative = 1e-3,
    betas: Betas = (0.9, 0.999),
    weight_decay: NonNegative = 0.0,
    weight_decouple: Flag = True,
    fixed_decay: Flag = False,
    rectify: Flag = False,
    degenerated_to_sgd: Flag = False,
    n_sma_threshold: Annotated[int, Integer()] = 5,
    grad_averaging: Flag = True,
    max_grad_norm: NonNegative = 1.0,
    adam: Flag = False,
    pre_norm: Flag = False,
    eps: NonNegative = 1e-6,
    foreach: Switch = None,
    maximize: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.Lamb``: :func:`jaxsched.optimizers.lamb` under its names.

    Version 3 of the paper, as ``pytorch_optimizer``: no bias correction, the weights'
    norm bounded by 10 in the trust ratio and ``eps`` added to the update's norm. Unlike
    the paper, ``pytorch_optimizer`` 4.1 divides the step by ``1 - b1^t`` after the
    trust ratio (unless given ``adam_debias=True``), which makes the first steps up to
    ``1 / (1 - b1)`` times longer; the flavor follows the paper, which is
    ``pytorch_optimizer.Lamb(..., adam_debias=True)``. With
    ``pre_norm`` the gradients are first scaled to a global norm of at most
    ``max_grad_norm`` (:func:`jaxsched.transforms.clip_by_global_norm`, state key
    ``max_norm``; ``pytorch_optimizer`` divides by the norm plus ``eps``, a relative
    difference of ``eps / norm``).

    Args:
      lr: >= 0 (state key ``learning_rate``).
      betas: ``(b1, b2)``, each in [0, 1) (``b1``, ``b2``).
      weight_decay: >= 0 (``weight_decay``, absent when 0): decoupled, outside the
        trust ratio (default), or with ``weight_decouple=False`` added to the update
        inside it. ``fixed_decay=True`` with a decoupled decay is refused.
      grad_averaging: weigh the new gradient by ``1 - b1`` in the first moment.
      max_grad_norm, pre_norm: see above (``max_grad_norm`` is unused without
        ``pre_norm``, or when 0).
      adam: no trust ratio (a trust ratio of 1 everywhere).
      eps: >= 0 (``eps`` and ``trust_eps``).
      maximize: ascend instead of descend.
      rectify: RAdam's rectification, not supported (True is refused);
        ``degenerated_to_sgd`` and ``n_sma_threshold`` only serve it and are ignored.
      foreach: ignored.

    Returns:
      A transformation whose ``update`` gives ``pytorch_optimizer``'s step.

    Raises:
      ValueError: for ``rectify=True``, or ``fixed_decay=True`` with a decoupled decay.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.Lamb(lr=0.1)
      >>> params = jnp.array([3.0, -4.0])
      >>> u, state = tx.update(params, tx.init(params), params)
      >>> print(f"{float(jnp.linalg.norm(u)):.3f}")  # a step of lr * |p|
      0.500

    References:
      You et al. 2019; ``pytorch_optimizer.Lamb``.
    """
    del degenerated_to_sgd, n_sma_threshold, foreach
    if rectify:
        raise ValueError("rectify=True (RAdam's rectification in Lamb) is not supported")
    weight_decay = none_if_zero(weight_decay)
    if weight_decouple and fixed_decay and weight_decay is not None:
        raise ValueError("fixed_decay=True is not supported with a decoupled weight decay in Lamb")
    b1, b2 = betas
    tx = lamb(
        lr,
        b1,
        b2,
        eps,
        weight_decay,
        eps,
        10.0,
        decoupled=weight_decouple,
        bias_correction=False,
        grad_averaging=grad_averaging,
        trust_ratio_mask=(lambda params: jax.tree.map(lambda _: False, params)) if adam else None,
        maximize=maximize,
    )
    max_grad_norm = none_if_zero(max_grad_norm)
    if pre_norm and max_grad_norm is not None:
        return optax.chain(clip_by_global_norm(max_grad_norm), tx)
    return tx


@validated
def LARS(
    lr: NonNegative = 1e-3,
    weight_decay: NonNegative = 0.0,
    momentum: UnitInterval = 0.9,
    dampening: UnitInterval = 0.0,
    trust_coefficient: NonNegative = 1e-3,
    nesterov: Flag = False,
    foreach: Switch = None,
    maximize: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.LARS``: :func:`jaxsched.optimizers.lars` under its names.

    As ``pytorch_optimizer``, the leaves of 0 or 1 dimension (biases, norms) take a plain
    momentum step, without decay or trust ratio. The learning rate enters the momentum
    buffer, as in the paper (``pytorch_optimizer`` applies it after the buffer), which
    agrees for a constant rate; ``momentum=0`` keeps no buffer.

    Args:
      lr: >= 0 (state key ``learning_rate``).
      weight_decay: >= 0 (``weight_decay``, absent when 0).
      momentum, dampening: in [0, 1] (``momentum``, ``dampening``).
      trust_coefficient: >= 0 (``trust_coefficient``).
      nesterov: Nesterov momentum.
      maximize: ascend instead of descend.
      foreach: ignored.

    Returns:
      A transformation whose ``update`` gives ``pytorch_optimizer``'s step; it needs
      ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.LARS(lr=1.0, trust_coefficient=0.1)
      >>> params = jnp.array([[3.0, 4.0]])
      >>> u, state = tx.update(jnp.array([[1.5, 2.0]]), tx.init(params), params)
      >>> print(u)  # 0.1 * |p| = 0.5 along -g
      [[-0.3 -0.4]]

    References:
      You et al. 2017; ``pytorch_optimizer.LARS``.
    """
    del foreach
    momentum = none_if_zero(momentum)

    def matrices(params):
        return jax.tree.map(lambda p: jnp.ndim(p) > 1, params)

    return lars(
        lr,
        none_if_zero(weight_decay),
        trust_coefficient,
        0.0,
        momentum,
        dampening,
        # As pytorch_optimizer, nesterov means nothing without a momentum buffer.
        nesterov=nesterov and momentum is not None,
        weight_decay_mask=matrices,
        trust_ratio_mask=matrices,
        maximize=maximize,
    )
