"""Gradient centralization (Yong et al. 2020): remove each output unit's mean gradient."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import jax
import jax.numpy as jnp
import optax

from .._base import stateless
from .._validate import Choice, Integer, Items, Steps, validated

# The output axis each layout keeps: Flax kernels are (..., in, out), torch weights (out, in, ...).
LAYOUT_KEPT_AXIS = {"flax": -1, "torch": 0}

Layout = Annotated[str, Choice(tuple(LAYOUT_KEPT_AXIS))]
Axes = Annotated[Sequence[int] | None, Items(Integer(), optional=True)]


def centralize_axes(ndim: int, axes: Sequence[int] | None, layout: str) -> tuple[int, ...]:
    """The axes to average over for a leaf of ``ndim`` dimensions."""
    if axes is not None:
        return tuple(a % ndim for a in axes)
    kept = LAYOUT_KEPT_AXIS[layout] % ndim
    return tuple(a for a in range(ndim) if a != kept)


@validated
def centralize(
    axes: Axes = None, *, layout: Layout = "flax", min_ndim: Steps = 2
) -> optax.GradientTransformationExtraArgs:
    """Subtracts the mean over the input axes: ``g <- g - mean(g, axes)``.

    Applied to every leaf with at least ``min_ndim`` dimensions (biases and other
    vectors pass unchanged). By default the mean runs over all axes but the output
    axis: the last one for ``layout="flax"`` (Flax ``Dense``/``Conv`` kernels are
    ``(..., in, out)``), the first for ``layout="torch"`` (torch weights are
    ``(out, in, ...)``, the layout of the original Ranger code). ``axes`` overrides
    the layout with explicit axes (negative values count from the end).

    Args:
      axes: the axes to average over (integers), or None to derive them from ``layout``.
      layout: ``"flax"`` or ``"torch"``.
      min_ndim: an integer >= 1; leaves with fewer dimensions are left alone. 2
        centralizes dense and convolution weights, 4 only convolutions (Ranger's
        ``gc_conv_only``).

    Returns:
      A stateless transformation.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.centralize()
      >>> g = {"kernel": jnp.array([[1.0, 2.0], [3.0, 6.0]]), "bias": jnp.array([1.0, 2.0])}
      >>> out, _ = tx.update(g, tx.init(g))
      >>> print(out["kernel"])
      [[-1. -2.]
       [ 1.  2.]]
      >>> print(out["bias"])
      [1. 2.]

    References:
      Yong et al. 2020, "Gradient Centralization: A New Optimization Technique for
      Deep Neural Networks"; ``gradient_centralization`` in the Ranger code
      (lessw2020/Ranger-Deep-Learning-Optimizer).
    """

    def center(g):
        if g.ndim < min_ndim:
            return g
        mean = jnp.mean(g, axis=centralize_axes(g.ndim, axes, layout), keepdims=True)
        return (g - mean).astype(g.dtype)

    return stateless(lambda u, p: jax.tree.map(center, u))
