"""Adam's recent descendants: ADOPT, AdEMAMix, MARS and Adan."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    Array,
    PyTree,
    cast_like,
    resolve_mask,
    safe_increment,
    stateless,
    zero_count,
)
from .._hyper import block
from .._validate import (
    Decay,
    Flag,
    FloatDtype,
    Mask,
    NonNegative,
    OptionalNonNegative,
)
from ..transforms._adan import scale_by_adan
from ..transforms._ademamix import Warmup, scale_by_ademamix
from ..transforms._adopt import Clip, adopt_clip, scale_by_adopt
from ..transforms._basic import add_decayed_weights, descent
from ..transforms._cautious import cautious as cautious_mask
from ..transforms._clip import clip_by_global_norm
from ..transforms._lamb import OptionalPositive
from ..transforms._mars import scale_by_mars


class SkipFirstState(NamedTuple):
    count: Array
    inner_state: PyTree


def _from_second_update(inner: optax.GradientTransformation) -> optax.GradientTransformation:
    """``inner`` whose first update is zeros (its state still advances)."""
    inner = optax.with_extra_args_support(inner)

    def init(params):
        return SkipFirstState(zero_count(), inner.init(params))

    def update(updates, state, params=None, **extra):
        out, inner_state = inner.update(updates, state.inner_state, params, **extra)
        out = jax.tree.map(lambda u: jnp.where(state.count == 0, jnp.zeros_like(u), u), out)
        return out, SkipFirstState(safe_increment(state.count), inner_state)

    return optax.GradientTransformationExtraArgs(init, update)


def _rule(rule: optax.GradientTransformation, cautious: bool) -> optax.GradientTransformation:
    return cautious_mask(rule, follows_gradient=True) if cautious else rule


@block
def adopt(
    learning_rate: NonNegative = 1e-3,
    b1: Decay = 0.9,
    b2: Decay = 0.9999,
    eps: NonNegative = 1e-6,
    clip: Clip = adopt_clip,
    weight_decay: OptionalNonNegative = None,
    *,
    decoupled: Flag = False,
    cautious: Flag = False,
    mask: Mask = None,
    maximize: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """ADOPT (Taniguchi et al. 2024): ``p <- p - learning_rate * m``, as the authors' code.

    :func:`jaxsched.transforms.scale_by_adopt` (``m`` averages the gradient over the
    previous second moment, clipped to ``clip``) followed by the learning rate. The first
    update only measures the second moment: it leaves the parameters as they are, decay
    included. Weight decay is coupled (``g <- g + weight_decay * p``) or, with
    ``decoupled=True`` (the authors' ``decouple``), ``p <- p - learning_rate *
    weight_decay * p`` from the second update on.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, eps, clip, mu_dtype, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_adopt`; ``clip`` defaults to the authors'
        ``step ** 0.25`` (:func:`jaxsched.transforms.adopt_clip`).
      weight_decay: >= 0, or None for none (then ``update`` needs no ``params``).
      decoupled: decoupled weight decay.
      cautious: mask ``m`` where it disagrees with the gradient
        (:func:`jaxsched.transforms.cautious`, before the decay).
      mask: which leaves get weight decay (pytree of bools or function of params).
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.optimizers.adopt(0.1)
      >>> params = jnp.array([1.0, -1.0])
      >>> state = tx.init(params)
      >>> for _ in range(2):
      ...     u, state = tx.update(2 * params, state)
      >>> print(jaxsched.apply_updates(params, u))  # 0.1 * (1 - b1) * sign(g) off
      [ 0.99 -0.99]
      >>> print(jaxsched.hyperparams(state)["clip"])  # used by the second update
      1.0

    References:
      Taniguchi et al. 2024, "ADOPT: Modified Adam Can Converge with Any beta_2 with
      the Optimal Rate"; ``adopt.ADOPT`` (iShohei220/adopt); ``pytorch_optimizer.ADOPT``.
    """
    rule = _rule(scale_by_adopt(b1, b2, eps, clip, mu_dtype=mu_dtype, nu_dtype=nu_dtype), cautious)
    if decoupled and weight_decay is not None:
        # The authors' first update returns before the decoupled decay: skip it too.
        decayed = optax.chain(rule, add_decayed_weights(weight_decay, mask))
        return descent(_from_second_update(decayed), learning_rate, maximize=maximize)
    return descent(rule, learning_rate, weight_decay, mask=mask, maximize=maximize)


@block
def ademamix(
    learning_rate: NonNegative = 1e-3,
    b1: Decay = 0.9,
    b2: Decay = 0.999,
    b3: Decay = 0.9999,
    alpha: NonNegative = 5.0,
    eps: NonNegative = 1e-8,
    eps_root: OptionalNonNegative = None,
    weight_decay: OptionalNonNegative = None,
    *,
    alpha_warmup: Warmup = None,
    b3_warmup: Warmup = None,
    decoupled: Flag = True,
    cautious: Flag = False,
    mask: Mask = None,
    maximize: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """AdEMAMix (Pagliardini et al. 2024): Adam plus ``alpha`` times a slow gradient average.

    ``p <- p - learning_rate * ((m1_hat + alpha m2) / (sqrt(v_hat) + eps) +
    weight_decay * p)``: :func:`jaxsched.transforms.scale_by_ademamix` (see it for the
    ``alpha`` and ``b3`` warmups the paper advises, ``alpha_warmup`` and ``b3_warmup``),
    decoupled weight decay as the authors' code (coupled, ``g <- g + weight_decay * p``,
    with ``decoupled=False``), then the learning rate.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, b3, alpha, eps, eps_root, alpha_warmup, b3_warmup, mu_dtype, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_ademamix`.
      weight_decay: >= 0, or None for none (then ``update`` needs no ``params``).
      decoupled: decoupled (default) or coupled weight decay.
      cautious: mask the direction where it disagrees with the gradient
        (:func:`jaxsched.transforms.cautious`, before the decay).
      mask: which leaves get weight decay (pytree of bools or function of params).
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.optimizers.ademamix(0.1, alpha_warmup=100, b3_warmup=100)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params))
      >>> print(u)  # -0.1 (1 + alpha_1 (1 - b3_1)) sign(g): alpha_1 = 0.05, b3_1 = 0.991
      [-0.1000455  0.1000455]

    References:
      Pagliardini et al. 2024, "The AdEMAMix Optimizer: Better, Faster, Older";
      apple/ml-ademamix (the authors' code); ``pytorch_optimizer.AdEMAMix``.
    """
    rule = scale_by_ademamix(
        b1,
        b2,
        b3,
        alpha,
        eps,
        eps_root,
        alpha_warmup=alpha_warmup,
        b3_warmup=b3_warmup,
        mu_dtype=mu_dtype,
        nu_dtype=nu_dtype,
    )
    return descent(
        _rule(rule, cautious),
        learning_rate,
        weight_decay,
        decoupled=decoupled,
        mask=mask,
        maximize=maximize,
    )


@block
def mars(
    learning_rate: NonNegative = 3e-3,
    b1: Decay = 0.95,
    b2: Decay = 0.99,
    gamma: NonNegative = 0.025,
    eps: NonNegative = 1e-8,
    weight_decay: OptionalNonNegative = None,
    *,
    amsgrad: Flag = False,
    cautious: Flag = False,
    mask: Mask = None,
    maximize: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """MARS-AdamW (Yuan et al. 2024): AdamW on a variance-reduced gradient.

    ``p <- p - learning_rate * (m_hat / (sqrt(v_hat) + eps) + weight_decay * p)`` with
    the moments of :func:`jaxsched.transforms.scale_by_mars`'s corrected gradient, and
    decoupled weight decay, as the authors' ``mars_type="mars-adamw"``. Every leaf takes
    the MARS step here; the authors' optimizer (and
    :func:`jaxsched.pytorch_optimizer.MARS`) give the leaves that are not matrices plain
    AdamW (their ``optimize_1d=False``): build that with :func:`jaxsched.partition`.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, gamma, eps, amsgrad, mu_dtype, nu_dtype: see
        :func:`jaxsched.transforms.scale_by_mars`.
      weight_decay: decoupled, >= 0, or None for none (then ``update`` needs no
        ``params``).
      cautious: mask the direction where it disagrees with the gradient
        (:func:`jaxsched.transforms.cautious`, before the decay).
      mask: which leaves get weight decay (pytree of bools or function of params).
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.optimizers.mars(1.0)
      >>> params = jnp.array([0.3, -0.4])
      >>> u, state = tx.update(params, tx.init(params))
      >>> print(u.round(4))  # the first step of Adam: -sign(g)
      [-1.  1.]

    References:
      Yuan et al. 2024, "MARS: Unleashing the Power of Variance Reduction for Training
      Large Models"; AGI-Arena/MARS (the authors' code); ``pytorch_optimizer.MARS``.
    """
    rule = scale_by_mars(b1, b2, gamma, eps, amsgrad=amsgrad, mu_dtype=mu_dtype, nu_dtype=nu_dtype)
    return descent(
        _rule(rule, cautious),
        learning_rate,
        weight_decay,
        decoupled=True,
        mask=mask,
        maximize=maximize,
    )


@block
def adan(
    learning_rate: NonNegative = 1e-3,
    b1: Decay = 0.98,
    b2: Decay = 0.92,
    b3: Decay = 0.99,
    eps: NonNegative = 1e-8,
    weight_decay: OptionalNonNegative = None,
    max_grad_norm: OptionalPositive = None,
    *,
    proximal: Flag = True,
    cautious: Flag = False,
    mask: Mask = None,
    maximize: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Adan (Xie et al. 2022): ``p <- p - learning_rate * d`` with Adan's direction ``d``.

    :func:`jaxsched.transforms.scale_by_adan` gives ``d``. Weight decay is the paper's
    proximal step, ``p <- (p - learning_rate * d) / (1 + learning_rate * weight_decay)``,
    or with ``proximal=False`` (the authors' ``no_prox``) decoupled,
    ``p <- p - learning_rate * (d + weight_decay * p)``. With ``max_grad_norm`` the
    gradients are first scaled to a global norm of at most ``max_grad_norm``
    (:func:`jaxsched.transforms.clip_by_global_norm`; the authors divide by the norm
    plus ``eps``, a relative difference of ``eps / norm``).

    Args:
      learning_rate: >= 0; number, jax scalar or schedule.
      b1, b2, b3, eps, mu_dtype, nu_dtype: see :func:`jaxsched.transforms.scale_by_adan`.
      weight_decay: >= 0, or None for none (then ``update`` needs no ``params``).
      max_grad_norm: > 0, or None for no clipping.
      proximal: the proximal (default) or the decoupled decay.
      cautious: mask the direction where it disagrees with the gradient
        (:func:`jaxsched.transforms.cautious`, before the decay).
      mask: which leaves get weight decay (pytree of bools or function of params).
      maximize: ascend instead of descend.

    Returns:
      A transformation with every numeric argument in its state under its name.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.optimizers.adan(0.1, weight_decay=1.0)
      >>> params = jnp.array([1.0, -1.0])
      >>> u, state = tx.update(2 * params, tx.init(params), params)
      >>> print(jaxsched.apply_updates(params, u))  # (p - 0.1 sign(g)) / 1.1
      [ 0.8181818 -0.8181818]

    References:
      Xie et al. 2022, "Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing
      Deep Models"; sail-sg/Adan (the authors' code); ``pytorch_optimizer.Adan``.
    """
    rule = _rule(scale_by_adan(b1, b2, b3, eps, mu_dtype=mu_dtype, nu_dtype=nu_dtype), cautious)
    if max_grad_norm is not None:
        rule = optax.chain(clip_by_global_norm(max_grad_norm), rule)
    step = descent(rule, learning_rate, weight_decay, decoupled=True, mask=mask, maximize=maximize)
    if weight_decay is None or not proximal:
        return step
    # (p - lr d) / (1 + lr wd) - p = -lr (d + wd p) / (1 + lr wd): the decoupled step,
    # shrunk on the decayed leaves.
    shrink = 1 / (1 + learning_rate * weight_decay)

    def proximal_step(updates, params):
        decayed = resolve_mask(mask, params)
        out = jax.tree.map(lambda u, m: u * shrink if m else u, updates, decayed)
        return cast_like(out, updates)

    return optax.chain(step, stateless(proximal_step))
