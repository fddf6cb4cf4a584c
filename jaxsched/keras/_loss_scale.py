"""``keras.optimizers.LossScaleOptimizer``: dynamic loss scaling (Keras 3), and ``scale_loss``."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import Array, PyTree, all_finite, cast_like, zero_count
from .._hyper import hyperparams
from .._validate import Real, Steps, Transformation, validated
from .._wrappers import typed_cond

InitialScale = Annotated[float, Real(low=0.0, low_open=True, schedule=False)]
_TINY = float(jnp.finfo(jnp.float32).tiny)


class LossScaleState(NamedTuple):
    """State of :func:`LossScaleOptimizer`.

    Attributes:
      scale: float32, the loss scale for the next step (Keras's ``dynamic_scale``):
        multiply the loss by it (:func:`scale_loss`).
      step_counter: int32, finite steps since the scale last changed.
      underflow: bool, True once the scale fell below float32's smallest normal number
        (2^-126, zero included), where unscaling no longer gives usable gradients
        (sticky). Keras has no such flag and goes on; so do the numbers here.
      inner_state: the state of the wrapped optimizer.
    """

    scale: Array
    step_counter: Array
    underflow: Array
    inner_state: PyTree


def refuse_loss_scale_factor(state: PyTree, who: str, why: str) -> None:
    """Raises ValueError if ``state`` holds a ``loss_scale_factor`` (Keras would drop it)."""
    found = [k for k in hyperparams(state) if k.split("/")[-1] == "loss_scale_factor"]
    if found:
        raise ValueError(
            f"{who}: an inner optimizer was built with loss_scale_factor ({found[0]}), which "
            f"Keras's {who} ignores: {why}"
        )


@validated
def LossScaleOptimizer(
    inner_optimizer: Transformation,
    initial_scale: InitialScale = 2.0**15,
    dynamic_growth_steps: Steps = 2000,
) -> optax.GradientTransformationExtraArgs:
    """``keras.optimizers.LossScaleOptimizer``: dynamic loss scaling around an optimizer.

    The gradients given are those of the loss times ``scale`` (the state's; multiply
    the loss with :func:`scale_loss`). A step whose gradients are all finite divides them
    by ``scale`` and runs ``inner_optimizer``; after ``dynamic_growth_steps`` such steps
    in a row the scale doubles. A step with any NaN or inf gradient is skipped (zero
    updates, inner state unchanged) and halves the scale. Keras's numbers and order:
    the step unscales with the scale it started from. A scale that falls below float32's
    smallest normal number sets the state's ``underflow`` flag.

    Args:
      inner_optimizer: the optimizer (any transformation). Keras ignores an inner
        ``loss_scale_factor``; here one is refused at ``init``.
      initial_scale: > 0, the first scale.
      dynamic_growth_steps: int >= 1, finite steps between doublings.

    Returns:
      A transformation with a :class:`LossScaleState`; ``update`` passes ``params`` and
      extra arguments to the inner optimizer.

    Raises:
      ValueError: at ``init``, if the inner optimizer has a ``loss_scale_factor``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.LossScaleOptimizer(jaxsched.keras.SGD(0.1), initial_scale=8.0)
      >>> state = tx.init(jnp.zeros(1))
      >>> u, state = tx.update(jnp.array([jnp.inf]), state)  # skipped, scale halved
      >>> print(u, state.scale)
      [0.] 4.0
      >>> u, state = tx.update(jaxsched.keras.scale_loss(state, jnp.array([1.0])), state)
      >>> print(u, state.step_counter)  # the unscaled gradient is 1
      [-0.1] 1

    References:
      Micikevicius et al. 2018, "Mixed Precision Training";
      ``keras.optimizers.LossScaleOptimizer``.
    """
    inner = optax.with_extra_args_support(inner_optimizer)

    def init(params):
        inner_state = inner.init(params)
        refuse_loss_scale_factor(
            inner_state, "LossScaleOptimizer", "build the inner optimizer without it"
        )
        scale = jnp.asarray(initial_scale, jnp.float32)
        return LossScaleState(scale, zero_count(), scale < _TINY, inner_state)

    def update(updates, state, params=None, **extra):
        finite = all_finite(updates)

        def step():
            unscaled = jax.tree.map(lambda g: g / state.scale, updates)
            out, inner_state = inner.update(unscaled, state.inner_state, params, **extra)
            return cast_like(out, updates), inner_state

        def skip():
            return jax.tree.map(jnp.zeros_like, updates), state.inner_state

        out, inner_state = typed_cond(finite, step, skip, (updates, state.inner_state))
        grow = finite & (state.step_counter == dynamic_growth_steps - 1)
        factor = jnp.where(finite, jnp.where(grow, 2.0, 1.0), 0.5)
        scale = state.scale * factor
        counter = jnp.where(finite & ~grow, state.step_counter + 1, 0).astype(jnp.int32)
        underflow = state.underflow | (scale < _TINY)
        return out, LossScaleState(scale, counter, underflow, inner_state)

    return optax.GradientTransformationExtraArgs(init, update)


def _is_loss_scale(node: Any) -> bool:
    return isinstance(node, LossScaleState)


def scale_loss(state: PyTree, loss: Any) -> Any:
    """The loss times the scale the optimizer expects: Keras's ``optimizer.scale_loss``.

    Take the gradients of the result. The scale is the one of a
    :func:`LossScaleOptimizer` in ``state`` (its current dynamic scale), else a
    ``loss_scale_factor`` held in ``state``; without either the loss is returned as it is.

    Args:
      state: the optimizer state (any pytree).
      loss: a number or array.

    Returns:
      ``loss * scale``.

    Raises:
      ValueError: if ``state`` holds more than one loss scale.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.keras.Adam(loss_scale_factor=128.0)
      >>> print(jaxsched.keras.scale_loss(tx.init(jnp.zeros(1)), 0.5))
      64.0

    References:
      ``keras.optimizers.Optimizer.scale_loss``.
    """
    scales = [
        node.scale
        for node in jax.tree.leaves(state, is_leaf=_is_loss_scale)
        if _is_loss_scale(node)
    ]
    if not scales:
        scales = [
            v for k, v in hyperparams(state).items() if k.split("/")[-1] == "loss_scale_factor"
        ]
    if len(scales) > 1:
        raise ValueError(f"scale_loss: the state holds {len(scales)} loss scales, expected one")
    return loss * scales[0] if scales else loss
