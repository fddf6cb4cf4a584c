"""``transformers.optimization.Adafactor`` and its proxy schedule."""

from __future__ import annotations

from typing import Annotated, Any

import jax
import jax.numpy as jnp
import optax

from .._base import Array, PyTree, none_if_zero
from .._validate import Flag, Items, NonNegative, OptionalNonNegative, Real, validated
from ..optimizers._adafactor import AdafactorState, OptionalDecay, adafactor
from ..schedules._common import NonNegativeNumber
from ..transforms._adafactor import DecayRate

# (eps1, eps2): added to the squared gradients, and the floor of the parameter scale.
Epsilons = Annotated[tuple, Items(Real(low=0.0, schedule=False), length=2)]
ClipThreshold = Annotated[Any, Real(low=0.0, low_open=True, inf=True)]


def _warmup_init(step: Any) -> Array:
    """HF's ``warmup_init`` cap of the relative step: ``1e-6 * t`` at the 1-based step t."""
    return 1e-6 * (jnp.asarray(step, jnp.float32) + 1)


@validated
def Adafactor(
    lr: OptionalNonNegative = None,
    eps: Epsilons = (1e-30, 1e-3),
    clip_threshold: ClipThreshold = 1.0,
    decay_rate: DecayRate = -0.8,
    beta1: OptionalDecay = None,
    weight_decay: NonNegative = 0.0,
    scale_parameter: Flag = True,
    relative_step: Flag = True,
    warmup_init: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``transformers.optimization.Adafactor``: Hugging Face's arguments, defaults, numbers.

    At the 1-based step ``t``: the step size is ``lr_t = rho_t * scale`` with ``rho_t =
    min(1e-2, 1 / sqrt(t))`` (``relative_step``; ``min(1e-6 t, 1 / sqrt(t))`` with
    ``warmup_init``) or ``lr``, and ``scale = max(eps[1], RMS(p))`` (``scale_parameter``)
    or 1. The second moment of ``g^2 + eps[0]`` has ``beta2_t = 1 - t^decay_rate`` and is
    factored over the last two axes of parameters of two or more dimensions; the update
    ``u = g / sqrt(V)`` is clipped to RMS ``clip_threshold`` and scaled by ``lr_t``; with
    ``beta1`` it is averaged, ``m <- beta1 m + (1 - beta1) lr_t u``;
    ``p <- p - lr_t * weight_decay * p - m``.

    State keys (native names): ``learning_rate`` (``lr``, or the cap of ``rho_t``),
    ``decay_rate``, ``eps`` (``eps[0]``), ``clip_threshold``, ``min_scale`` (``eps[1]``,
    absent without ``scale_parameter``), ``b1`` (``beta1``, absent when None) and
    ``weight_decay`` (absent when 0).

    Args:
      lr: the external learning rate, >= 0 (number, jax scalar or schedule); give it
        exactly when ``relative_step=False``.
      eps: ``(eps1, eps2)``, each >= 0.
      clip_threshold: > 0, the RMS the update is clipped to.
      decay_rate: <= 0.
      beta1: momentum in [0, 1), or None for none.
      weight_decay: >= 0; 0 means none.
      scale_parameter: multiply the step by the parameter scale.
      relative_step: use the relative step ``rho_t`` instead of ``lr``.
      warmup_init: cap ``rho_t`` by ``1e-6 t`` instead of ``1e-2``; needs
        ``relative_step``.

    Returns:
      A transformation whose ``update`` gives HF's step.

    Raises:
      ValueError: for ``lr`` with ``relative_step=True``, for ``relative_step=False``
        without ``lr`` (HF would fail at its first step), and for ``warmup_init``
        without ``relative_step``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> from jaxsched import hf
      >>> tx = hf.Adafactor(lr=0.1, relative_step=False, scale_parameter=False)
      >>> params = jnp.array([3.0, -4.0])
      >>> u, state = tx.update(params, tx.init(params))
      >>> print(jaxsched.apply_updates(params, u))
      [ 2.9 -3.9]

    References:
      Shazeer & Stern 2018; ``transformers.optimization.Adafactor`` (after fairseq's).
    """
    if lr is not None and relative_step:
        raise ValueError("lr cannot be combined with relative_step=True, as in transformers")
    if lr is None and not relative_step:
        raise ValueError("relative_step=False needs an lr")
    if warmup_init and not relative_step:
        raise ValueError("warmup_init=True requires relative_step=True, as in transformers")
    if relative_step:
        lr = _warmup_init if warmup_init else 1e-2
    eps1, eps2 = eps
    return adafactor(
        lr,
        decay_rate,
        eps1,
        clip_threshold,
        eps2 if scale_parameter else None,
        beta1,
        none_if_zero(weight_decay),
        relative_step=relative_step,
        eps_mode="add",
        decay_by="step_size",
    )


def _adafactor_state(state: PyTree) -> AdafactorState:
    found = [
        node
        for node in jax.tree.leaves(state, is_leaf=lambda n: isinstance(n, AdafactorState))
        if isinstance(node, AdafactorState)
    ]
    if not found:
        raise ValueError("get_adafactor_schedule reads the state of an Adafactor; none found")
    return found[0]


@validated
def get_adafactor_schedule(state: PyTree, initial_lr: NonNegativeNumber = 0.0) -> PyTree:
    """``transformers.optimization.AdafactorSchedule``: the step size Adafactor last used.

    Not a schedule: Adafactor computes its own step size from the step count and the
    parameters, and HF's proxy only reads it back for logging. Here it is read from the
    optimizer state (of :func:`Adafactor`, :func:`jaxsched.torch.Adafactor` or
    :func:`jaxsched.optimizers.adafactor`): per parameter, ``rho_t * scale`` of the most
    recent update, or ``initial_lr`` before any update. HF reports the value of each
    group's first parameter; with one group that is the first leaf here.

    Args:
      state: an optimizer state holding an Adafactor (the first one found is read).
      initial_lr: reported before the first update, >= 0.

    Returns:
      A pytree like the parameters of float32 scalars.

    Raises:
      ValueError: if ``state`` holds no Adafactor.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxsched import hf
      >>> tx = hf.Adafactor()
      >>> params = {"w": jnp.full((2, 2), 3.0)}
      >>> state = tx.init(params)
      >>> _, state = tx.update(params, state, params)
      >>> print(hf.get_adafactor_schedule(state)["w"])  # 1e-2 * RMS(w)
      0.03

    References:
      ``transformers.optimization.get_adafactor_schedule``.
    """
    found = _adafactor_state(state)
    return jax.tree.map(
        lambda a: jnp.where(found.count > 0, a, jnp.float32(initial_lr)), found.step_size
    )
