"""Adafactor (Shazeer & Stern 2018): factored second moment, relative step, parameter scale."""

from __future__ import annotations

from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    Array,
    PyTree,
    ScalarOrSchedule,
    cast_like,
    check_same_tree,
    params_needed,
    resolve_mask,
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._hyper import block
from .._math import update_moment
from .._validate import (
    Choice,
    Flag,
    FloatDtype,
    Mask,
    NonNegative,
    OptionalNonNegative,
    Real,
)
from ..transforms._adafactor import DecayRate, EpsMode, OptionalPositive, scale_by_factored_rms
from ..transforms._basic import negate

OptionalDecay = Annotated[ScalarOrSchedule | None, Real(0.0, 1.0, high_open=True, optional=True)]
# What multiplies weight_decay * p: the learning rate (torch, AdamW) or the step size (HF).
DecayBy = Annotated[str, Choice(("learning_rate", "step_size"))]


class AdafactorState(NamedTuple):
    """State of Adafactor's step (after :func:`~jaxsched.transforms.scale_by_factored_rms`).

    Attributes:
      count: int32 number of updates done.
      mu: the moving average of the scaled updates (with ``b1``), else None.
      step_size: per leaf, the float32 step size ``rho_t * scale`` of the most recent
        update (0 before the first): Hugging Face's ``Adafactor._get_lr``.
    """

    count: Array
    mu: PyTree | None
    step_size: PyTree


def _rms(x: Array) -> Array:
    x = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    # 0 for an empty leaf, whose mean would be NaN (and its state with it).
    return jnp.sqrt(jnp.sum(jnp.square(x)) / max(x.size, 1))


def _scale_by_step_size(
    learning_rate, min_scale, b1, weight_decay, *, relative_step, decay_by, mask, mu_dtype
) -> optax.GradientTransformationExtraArgs:
    """``u <- -(EMA_b1(rho_t * scale * u) + weight_decay * c * p)``: Adafactor's step."""

    def init(params):
        step_size = jax.tree.map(lambda p: jnp.zeros_like(p, jnp.float32, shape=()), params)
        mu = None if b1 is None else zeros_like_tree(params, mu_dtype)
        return AdafactorState(zero_count(), mu, step_size)

    def update(updates, state, params=None, **extra):
        del extra
        check_same_tree(state.step_size, jax.tree.map(lambda _: 0.0, updates), "updates")
        if min_scale is not None:
            params_needed(params, "min_scale (the parameter scale)")
        if weight_decay is not None:
            params_needed(params, "weight_decay")
        count = safe_increment(state.count)
        t = count.astype(jnp.float32)
        rho = jnp.minimum(learning_rate, jax.lax.rsqrt(t)) if relative_step else learning_rate
        rho = jnp.asarray(rho, jnp.float32)
        if min_scale is None:
            step_size = jax.tree.map(lambda _: rho, updates)
        else:
            step_size = jax.tree.map(lambda p: rho * jnp.maximum(min_scale, _rms(p)), params)
        out = jax.tree.map(lambda u, a: a * u, updates, step_size)
        mu = None
        if b1 is not None:
            mu = update_moment(out, state.mu, b1, 1)
            out = mu
        if weight_decay is not None:
            chosen = resolve_mask(mask, params)

            def decay(u, p, a, m):
                c = learning_rate if decay_by == "learning_rate" else a
                return u + weight_decay * c * p if m else u

            out = jax.tree.map(decay, out, params, step_size, chosen)
        out = jax.tree.map(jnp.negative, out)
        new_state = AdafactorState(count, mu, step_size)
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)


@block
def adafactor(
    learning_rate: NonNegative = 1e-2,
    decay_rate: DecayRate = -0.8,
    eps: OptionalNonNegative = 1e-30,
    clip_threshold: OptionalPositive = 1.0,
    min_scale: OptionalNonNegative = 1e-3,
    b1: OptionalDecay = None,
    weight_decay: OptionalNonNegative = None,
    *,
    relative_step: Flag = True,
    eps_mode: EpsMode = "add",
    decay_by: DecayBy = "learning_rate",
    factored: Flag = True,
    mask: Mask = None,
    maximize: Flag = False,
    mu_dtype: FloatDtype = None,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Adafactor (Shazeer & Stern 2018): ``p <- p - rho_t * scale * u_hat``.

    ``u_hat`` is :func:`~jaxsched.transforms.scale_by_factored_rms` of the gradient
    (factored second moment, update clipping at ``clip_threshold``). The step size is
    the relative step ``rho_t = min(learning_rate, 1 / sqrt(t))`` (``t`` the 1-based
    step; ``rho_t = learning_rate`` with ``relative_step=False``) times the parameter
    scale ``scale = max(min_scale, RMS(p))`` of each leaf (1 with ``min_scale=None``).
    With ``b1`` the step is the moving average ``m <- b1 m + (1 - b1) rho_t scale u_hat``
    (no bias correction). Weight decay is decoupled: ``weight_decay * c * p`` is
    subtracted too, with ``c = learning_rate`` (``decay_by="learning_rate"``, torch's
    rule, as AdamW) or ``c = rho_t * scale`` (``"step_size"``, Hugging Face's).

    The defaults are the paper's: ``rho_t = min(0.01, 1 / sqrt(t))``,
    ``beta2_t = 1 - t^-0.8``, eps 1e-30 added to the squared gradients, clipping at
    1, parameter scale floored at 1e-3, no momentum. :func:`jaxsched.torch.Adafactor`
    and :func:`jaxsched.hf.Adafactor` set these options for torch's and Hugging
    Face's numbers.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule: the cap of the relative step,
        or the step itself with ``relative_step=False``.
      decay_rate, eps, clip_threshold, eps_mode, factored: see
        :func:`jaxsched.transforms.scale_by_factored_rms`.
      min_scale: floor of the parameter scale, >= 0; None: no parameter scaling (then
        ``update`` needs no ``params`` unless there is weight decay).
      b1: momentum in [0, 1), or None for none (no first-moment buffer).
      weight_decay: >= 0, or None for none.
      relative_step: use ``min(learning_rate, 1 / sqrt(t))`` as the step.
      decay_by: ``"learning_rate"`` or ``"step_size"`` (see above).
      mask: which leaves get weight decay (pytree of bools or function of params).
      maximize: ascend instead of descend.
      mu_dtype, nu_dtype: dtypes of the momentum buffer and of the second-moment
        factors; default the parameter dtype promoted to float32.

    Returns:
      A transformation with every numeric argument that is not None in its state under
      its name; its inner state ends with an :class:`AdafactorState`.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.optimizers.adafactor()
      >>> params = jnp.array([[1.0, 2.0], [2.0, 4.0]])
      >>> u, state = tx.update(params, tx.init(params), params)
      >>> print(u)  # 0.01 * RMS(params) * sign(g)
      [[-0.025 -0.025]
       [-0.025 -0.025]]

    References:
      Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory
      Cost"; ``torch.optim.Adafactor``; ``transformers.optimization.Adafactor``;
      ``optax.adafactor``.
    """
    rule = scale_by_factored_rms(
        decay_rate, eps, clip_threshold, eps_mode=eps_mode, factored=factored, dtype=nu_dtype
    )
    step = _scale_by_step_size(
        learning_rate,
        min_scale,
        b1,
        weight_decay,
        relative_step=relative_step,
        decay_by=decay_by,
        mask=mask,
        mu_dtype=mu_dtype,
    )
    return optax.chain(*([negate()] if maximize else []), rule, step)
