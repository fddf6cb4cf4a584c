"""``pytorch_optimizer`` flavors of Lion, Lookahead and Ranger.

Each flavor is a ``pytorch_optimizer`` 4.1 constructor without ``params`` (Lookahead takes
a jaxsched transformation for its inner optimizer), checked under its argument names,
that builds the native optimizer (:func:`jaxsched.lion`, :func:`jaxsched.lookahead`,
:func:`jaxsched.ranger`) from the same blocks, with the options the natives lack
(coupled or fixed decay, ``maximize``, the cautious mask) placed where
``pytorch_optimizer`` places them. The state reports the native names
(``learning_rate``, ``b1``, ``slow_step_size``...). A 0 for ``weight_decay`` means none.
``foreach`` never changes the numbers and is ignored.
"""

from __future__ import annotations

from typing import Annotated

import optax

from .._base import none_if_zero
from .._validate import (
    Betas,
    Choice,
    Flag,
    NonNegative,
    Real,
    Steps,
    Switch,
    Transformation,
    UnitInterval,
    validated,
)
from ..transforms._basic import descent
from ..transforms._cautious import cautious as cautious_mask
from ..transforms._centralize import centralize
from ..transforms._lion import scale_by_lion
from ..transforms._lookahead import lookahead
from ..transforms._radam import scale_by_radam
from ._adam_variants import _with_fixed_decay

PullbackMomentum = Annotated[str, Choice(("none", "reset", "pullback"))]


def _decays(weight_decay, weight_decouple: bool, fixed_decay: bool):
    """(decay for :func:`descent`, fixed decay after the rate) from torch's three options."""
    weight_decay = none_if_zero(weight_decay)
    fixed = weight_decouple and fixed_decay and weight_decay is not None
    return (None if fixed else weight_decay), (weight_decay if fixed else None)


@validated
def Lion(
    lr: NonNegative = 1e-4,
    betas: Betas = (0.9, 0.99),
    weight_decay: NonNegative = 0.0,
    weight_decouple: Flag = True,
    fixed_decay: Flag = False,
    foreach: Switch = None,
    maximize: Flag = False,
    *,
    use_gc: Flag = False,
    cautious: Flag = False,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.Lion``: :func:`jaxsched.lion` under its names.

    ``p <- p - lr * (sign(b1 m + (1 - b1) g) + weight_decay * p)``, then
    ``m <- b2 m + (1 - b2) g``: :func:`jaxsched.transforms.scale_by_lion` in
    :func:`jaxsched.lion`'s composition. As ``pytorch_optimizer``, ``maximize`` negates
    the gradient first, gradient centralization (``use_gc``) comes next, then a coupled
    decay (``weight_decouple=False``: ``g <- g + weight_decay * p``, which enters the
    momentum too); the cautious mask compares the sign step with that gradient.

    Args:
      lr: >= 0 (state key ``learning_rate``).
      betas: ``(b1, b2)``, ``b1`` in (0, 1), ``b2`` in [0, 1) (``b1``, ``b2``).
      weight_decay: >= 0 (``weight_decay``, absent when 0): decoupled (default),
        coupled with ``weight_decouple=False``, or with ``fixed_decay`` (and
        ``weight_decouple``) ``p <- p - weight_decay * p``, not scaled by ``lr``.
      maximize: ascend instead of descend.
      use_gc: gradient centralization over every axis but the first (torch's
        ``(out, in, ...)`` layout) of the leaves of 2 or more dimensions
        (:func:`jaxsched.transforms.centralize`), which ``pytorch_optimizer`` takes among
        its keyword arguments.
      cautious: the cautious mask on the sign step (:func:`jaxsched.transforms.cautious`),
        a keyword argument of ``pytorch_optimizer`` too.
      foreach: ignored.

    Returns:
      A transformation whose ``update`` gives ``pytorch_optimizer``'s step; it needs
      ``params`` when ``weight_decay`` is not 0.

    Raises:
      ValueError: for ``betas[0] == 0``, which :func:`jaxsched.lion` does not take.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.Lion(lr=0.1)
      >>> u, state = tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))
      >>> print(u, sorted(jaxsched.hyperparams(state)))
      [-0.1  0.1] ['b1', 'b2', 'learning_rate']

    References:
      Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms";
      ``pytorch_optimizer.Lion``.
    """
    del foreach
    b1, b2 = betas
    if isinstance(b1, (int, float)) and b1 == 0:
        raise ValueError("betas[0] must be in (0, 1) for Lion, got 0")
    weight_decay, fixed = _decays(weight_decay, weight_decouple, fixed_decay)
    rule = scale_by_lion(b1, b2)
    if cautious:
        rule = cautious_mask(rule, follows_gradient=True)
    tx = descent(rule, lr, weight_decay, decoupled=weight_decouple, maximize=maximize)
    if use_gc:
        tx = optax.chain(centralize(layout="torch", min_ndim=2), tx)
    return _with_fixed_decay(tx, fixed)


@validated
def Lookahead(
    optimizer: Transformation,
    k: Steps = 5,
    alpha: UnitInterval = 0.5,
    pullback_momentum: PullbackMomentum = "none",
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.Lookahead``: :func:`jaxsched.lookahead` under its names.

    Every ``k`` updates of ``optimizer`` (the fast weights), the slow weights move
    ``slow <- slow + alpha * (fast - slow)`` and the parameters are set to them; the slow
    weights start at the initial parameters. ``update`` needs ``params``.

    Args:
      optimizer: the inner (fast) optimizer, any optax transformation, such as
        another flavor (``pytorch_optimizer`` takes a torch optimizer).
      k: an integer >= 1 (``sync_period``, not in the state).
      alpha: in [0, 1] (state key ``slow_step_size``).
      pullback_momentum: ``"none"``, the one supported. ``"reset"`` and
        ``"pullback"`` are refused: they reset or interpolate the inner optimizer's
        ``momentum_buffer`` entry, a torch ``SGD`` state that a jaxsched transformation
        does not expose (and that ``pytorch_optimizer`` adds, unread, to others).

    Returns:
      A transformation whose state holds ``slow_step_size`` and the inner optimizer's
      state.

    Raises:
      ValueError: for ``pullback_momentum`` other than ``"none"``.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.Lookahead(jaxsched.sgd(1.0), k=2, alpha=0.5)
      >>> p = jnp.array([0.0])
      >>> state = tx.init(p)
      >>> for _ in range(2):  # fast weights reach 2; the sync pulls them back halfway
      ...     u, state = tx.update(jnp.array([-1.0]), state, p)
      ...     p = p + u
      >>> print(p)
      [1.]

    References:
      Zhang et al. 2019, "Lookahead Optimizer: k steps forward, 1 step back";
      ``pytorch_optimizer.Lookahead``.
    """
    if pullback_momentum != "none":
        raise ValueError(
            f"pullback_momentum={pullback_momentum!r} is not supported: it acts on torch "
            "SGD's momentum_buffer, which jaxsched transformations do not expose; use 'none'"
        )
    return lookahead(optimizer, k, alpha)


@validated
def Ranger(
    lr: NonNegative = 1e-3,
    betas: Betas = (0.95, 0.999),
    alpha: UnitInterval = 0.5,
    k: Steps = 6,
    n_sma_threshold: Annotated[float, Real(low=4.0)] = 5,
    degenerated_to_sgd: Flag = False,
    weight_decay: NonNegative = 0.0,
    weight_decouple: Flag = True,
    fixed_decay: Flag = False,
    use_gc: Flag = True,
    gc_conv_only: Flag = False,
    eps: NonNegative = 1e-5,
    maximize: Flag = False,
    foreach: Switch = None,
) -> optax.GradientTransformationExtraArgs:
    """``pytorch_optimizer.Ranger``: :func:`jaxsched.ranger` under its names.

    Per step: gradient centralization over every axis but the first (torch's layout) of
    the leaves of 2 or more dimensions (4 or more with ``gc_conv_only``), RAdam's
    rectified step with eps on the raw ``sqrt(v)``, and every ``k`` steps Lookahead's
    ``slow <- slow + alpha * (p - slow); p <- slow``.

    Follows the authors' code (lessw2020/Ranger-Deep-Learning-Optimizer) where
    ``pytorch_optimizer`` 4.1 departs from it: before the variance is rectified the step
    is the bias-corrected momentum ``-lr * m / (1 - b1^t)`` whatever
    ``degenerated_to_sgd`` says. That is ``pytorch_optimizer``'s step with
    ``degenerated_to_sgd=True``; with its default, False, ``pytorch_optimizer`` sets the
    step size to ``-lr`` there and climbs the gradient for the first few steps. The
    rectification test is the authors' ``rho_t > n_sma_threshold``
    (``pytorch_optimizer``: ``>=``, which differs only where they are equal).

    Args:
      lr: >= 0 (state key ``learning_rate``).
      betas: ``(b1, b2)``, each in [0, 1) (``b1``, ``b2``).
      alpha: Lookahead's interpolation in [0, 1] (``slow_step_size``).
      k: Lookahead's period, an integer >= 1 (not in the state).
      n_sma_threshold: rectify when ``rho_t`` exceeds it, >= 4 (``threshold``).
      degenerated_to_sgd: ignored, see above.
      weight_decay: >= 0 (``weight_decay``, absent when 0): decoupled (default),
        coupled with ``weight_decouple=False`` (added to the centralized gradient), or
        with ``fixed_decay`` (and ``weight_decouple``) ``p <- p - weight_decay * p``.
      use_gc: gradient centralization; ``gc_conv_only``: on 4-D leaves only.
      eps: >= 0 (``eps``).
      maximize: ascend instead of descend.
      foreach: ignored.

    Returns:
      A transformation whose ``update`` gives the authors' Ranger step; it needs
      ``params`` (Lookahead reads them).

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.pytorch_optimizer.Ranger(lr=0.1)
      >>> p = {"w": jnp.zeros((2, 2)), "b": jnp.zeros(2)}
      >>> g = {"w": jnp.array([[1.0, 2.0], [3.0, 4.0]]), "b": jnp.ones(2)}
      >>> u, state = tx.update(g, tx.init(p), p)
      >>> print(u["w"])  # first step: -lr * the centralized gradient [[-0.5, 0.5], ...]
      [[ 0.05 -0.05]
       [ 0.05 -0.05]]
      >>> sorted(jaxsched.hyperparams(state))
      ['b1', 'b2', 'eps', 'learning_rate', 'slow_step_size', 'threshold']

    References:
      Wright 2019, lessw2020/Ranger-Deep-Learning-Optimizer; ``pytorch_optimizer.Ranger``.
    """
    del degenerated_to_sgd, foreach
    b1, b2 = betas
    weight_decay, fixed = _decays(weight_decay, weight_decouple, fixed_decay)
    rule = scale_by_radam(b1, b2, eps, n_sma_threshold)
    fast = descent(rule, lr, weight_decay, decoupled=weight_decouple, maximize=maximize)
    fast = _with_fixed_decay(fast, fixed)
    if use_gc:
        gc = centralize(layout="torch", min_ndim=4 if gc_conv_only else 2)
        fast = optax.chain(gc, fast)
    return lookahead(fast, k, alpha)
