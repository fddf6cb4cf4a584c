"""Schedule-free averaging (Defazio et al. 2024), as the authors' ``schedulefree`` computes it.

The parameters the user holds are the training point ``y``; the state keeps the base
sequence ``z``. The averaged point ``x``, the one to evaluate, is
``x = (y - (1 - b1) z) / b1``: :func:`schedule_free_eval_params` returns it.
"""

from __future__ import annotations

from collections.abc import Callable
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
    safe_increment,
    zero_count,
    zeros_like_tree,
)
from .._hyper import block
from .._math import accurate_bias_correction, update_moment
from .._validate import (
    CallableSpec,
    Count,
    Decay,
    Flag,
    FloatDtype,
    NonNegative,
    OptionalNonNegative,
    Real,
)

OpenUnit = Annotated[ScalarOrSchedule, Real(0.0, 1.0, low_open=True, high_open=True)]
OptionalPositive = Annotated[ScalarOrSchedule | None, Real(low=0.0, low_open=True, optional=True)]
StepSizeFactor = Annotated[Callable[[Array], Array] | None, CallableSpec(optional=True)]


def _rho(b2: Array, t: Array) -> tuple[Array, Array]:
    """RAdam's ``rho_inf`` and ``rho_t``, accurate in float32 for ``b2`` near 1.

    With ``a = 1 - b2``, ``L = -log(b2)`` and ``x = t L``,
    ``rho_t = 2 (1/a - 1/L) - 1 + 2 t (1/x - 1/(e^x - 1))``. Both brackets are
    differences of near-equal terms for small ``a`` and ``x`` (the direct formula loses
    a unit of ``rho_t`` at ``b2 = 0.9999`` in float32), so their series stand in there.
    """
    a = 1 - b2
    log_b2 = -jnp.log1p(-a)
    x = t * log_b2
    # The Gregory coefficients: 1/a + 1/log(1 - a) = 1/2 + a/12 + a^2/24 + ...
    series_a = 1 / 2 + a * (
        1 / 12 + a * (1 / 24 + a * (19 / 720 + a * (3 / 160 + a * 863 / 60480)))
    )
    half_a = jnp.where(a < 0.1, series_a, 1 / a - 1 / log_b2)
    # Bernoulli numbers: 1/x - 1/(e^x - 1) = 1/2 - x/12 + x^3/720 - x^5/30240 + ...
    series_x = 1 / 2 - x / 12 + x**3 / 720 - x**5 / 30240
    half_x = jnp.where(x < 0.1, series_x, 1 / x - 1 / jnp.expm1(x))
    return 2 / a - 1, 2 * half_a - 1 + 2 * t * half_x


def rectification(b2, step: Array) -> tuple[Array, Array]:
    """RAdam's test and factor at the 1-based int32 step ``t``.

    ``rho_inf = 2 / (1 - b2) - 1``, ``rho_t = rho_inf - 2 t b2^t / (1 - b2^t)``; returns
    ``(rho_t > 4, r_t)`` with
    ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``
    where ``rho_t > 4`` (and 1 elsewhere).
    """
    t = step.astype(jnp.float32)
    rho_inf, rho_t = _rho(jnp.asarray(b2, jnp.float32), t)
    rectified = rho_t > 4
    # The ratio is negative (or undefined) for rho_t <= 4, where it is never read.
    ratio = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
    return rectified, jnp.sqrt(jnp.where(rectified, ratio, 1.0))


def radam_step_factor(b2, silent_sgd_phase: bool) -> Callable[[Array], Array]:
    """The learning-rate factor of schedule-free RAdam at 0-based update ``count``.

    ``r_t`` once rectified (``rho_t > 4``); before, 0 with ``silent_sgd_phase`` (no step)
    and 1 without (an SGD step), as ``schedulefree.RAdamScheduleFree``.
    """

    def factor(count: Array) -> Array:
        rectified, rect = rectification(b2, safe_increment(count))
        return jnp.where(rectified, rect, 0.0 if silent_sgd_phase else 1.0)

    return factor


class ScaleByCorrectedRmsState(NamedTuple):
    count: Array
    nu: PyTree
    nu_max: PyTree | None


@block
def scale_by_corrected_rms(
    b2: Decay = 0.999,
    eps: NonNegative = 1e-8,
    eps_root: OptionalNonNegative = None,
    *,
    amsgrad: Flag = False,
    rectified: Flag = False,
    nu_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Divides updates by Adam's bias-corrected second moment (Adam without its momentum).

    ``v <- b2 v + (1 - b2) g^2``, ``bc2 = 1 - b2^t`` (``t`` the 1-based step); output
    ``g / (sqrt(v / bc2 + eps_root) + eps)``, the normalisation of schedule-free AdamW,
    whose momentum is the interpolation of :func:`schedule_free`. With ``amsgrad`` the
    running maximum of ``v / bc2`` replaces it (pytorch-optimizer's ``ams_bound``). With
    ``rectified`` the output is ``g`` itself while RAdam's
    ``rho_t = 2 / (1 - b2) - 1 - 2 t b2^t / (1 - b2^t)`` is at most 4 (the first few
    steps), as schedule-free RAdam.

    Args:
      b2: decay rate in [0, 1) (state key ``"b2"``).
      eps: added to the root, >= 0 (``"eps"``).
      eps_root: added under the root, >= 0 (``"eps_root"``), or None for none (the
        numbers of 0, without a sum in every leaf's loop).
      amsgrad: use the running maximum of the corrected second moment.
      rectified: no normalisation before RAdam's rectification starts.
      nu_dtype: dtype of ``v``; default the parameter dtype promoted to float32.

    Returns:
      A transformation with ``b2``, ``eps`` (and ``eps_root`` when given) in its state, and a
      :class:`ScaleByCorrectedRmsState` inside.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.scale_by_corrected_rms(eps=0.0)
      >>> u, _ = tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))
      >>> print(u)  # the first step is sign(g)
      [ 1. -1.]

    References:
      Defazio et al. 2024, "The Road Less Scheduled"; ``schedulefree.AdamWScheduleFree``,
      ``schedulefree.RAdamScheduleFree``; ``pytorch_optimizer.ScheduleFreeAdamW``.
    """

    def init(params):
        nu = zeros_like_tree(params, nu_dtype)
        return ScaleByCorrectedRmsState(zero_count(), nu, nu if amsgrad else None)

    def update(updates, state, params=None, **extra):
        del params, extra
        check_same_tree(state.nu, updates)
        nu = update_moment(updates, state.nu, b2, 2)
        # b2 near 1 is common here (0.9999): the accurate 1 - b2^t, as the references'
        # float64.
        count = safe_increment(state.count)
        bc2 = accurate_bias_correction(b2, count)
        corrected = jax.tree.map(lambda v: v / bc2, nu)
        nu_max = jax.tree.map(jnp.maximum, state.nu_max, corrected) if amsgrad else None
        normalise = rectification(b2, count)[0] if rectified else True

        def scaled(g, v):
            root = jnp.sqrt(v if eps_root is None else v + eps_root)
            return jnp.where(normalise, g / (root + eps), g)

        out = jax.tree.map(scaled, updates, nu_max if amsgrad else corrected)
        new_state = ScaleByCorrectedRmsState(count, nu, nu_max)
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)


class ScheduleFreeState(NamedTuple):
    """State of :func:`schedule_free`.

    Attributes:
      count: int32 number of updates done (saturating).
      b1: float32, the interpolation ``b1`` of the latest update (the one that made the
        parameters ``y``): :func:`schedule_free_eval_params` reads it.
      lr_max: float32, the largest learning rate applied so far (warmup included).
      weight_sum: float32, the sum of the averaging weights so far.
      z: the base sequence ``z``, like the parameters.
    """

    count: Array
    b1: Array
    lr_max: Array
    weight_sum: Array
    z: PyTree


@block
def schedule_free(
    learning_rate: NonNegative,
    b1: OpenUnit = 0.9,
    r: NonNegative = 0.0,
    weight_lr_power: NonNegative = 2.0,
    decoupling_c: OptionalPositive = None,
    *,
    warmup_steps: Count = 0,
    step_size_factor: StepSizeFactor = None,
    z_dtype: FloatDtype = None,
) -> optax.GradientTransformationExtraArgs:
    """Schedule-free averaging of a base rule's steps: the parameters are ``y``.

    The incoming updates ``g`` are the base direction (the gradient for SGD, the
    normalised gradient for AdamW, weight decay included). With ``k`` the 0-based
    update, ``lr = learning_rate * min((k + 1) / warmup_steps, 1)`` (times
    ``step_size_factor(k)``), ``lr_max`` its running maximum,
    ``w = (k + 1)^r * lr_max^weight_lr_power``, ``c = w / sum(w)`` (0 while the sum is
    0; with ``decoupling_c``, ``min(1, c (1 - b1) decoupling_c)``):

    ``z <- z - lr g``, ``x <- (1 - c) x + c z``, ``y <- b1 x + (1 - b1) z``,

    computed, as the authors' memory-saving classes do, without storing ``x``:
    ``y <- y + c (z_old - y) + lr (b1 (1 - c) - 1) g``, where ``lr g`` is read as
    ``z_old - z`` when ``z`` is held in 32 or more bits (as ``optax.contrib``'s
    schedule-free does; it saves a pass over memory). ``z`` starts at the initial
    parameters. :func:`schedule_free_eval_params` gives ``x`` from ``y`` and ``z``.

    Args:
      learning_rate: >= 0; number, jax scalar or schedule (``"learning_rate"``).
      b1: the interpolation (the authors' ``momentum`` / ``beta1``), in (0, 1) (``"b1"``).
      r: power of the polynomial weighting ``(k + 1)^r``, >= 0 (``"r"``).
      weight_lr_power: power of ``lr_max`` in the weights, >= 0; 0 for none
        (``"weight_lr_power"``).
      decoupling_c: > 0 or None: scales the averaging weight as above (Song et al.
        2025; pytorch-optimizer's ``decoupling_c``); ``"decoupling_c"``, absent if None.
      warmup_steps: linear warmup of the learning rate over this many updates; 0 for none.
      step_size_factor: a function of the 0-based update count (int32) giving a factor of
        the learning rate, part of ``lr`` above (:func:`jaxsched.schedule_free_radam`
        passes RAdam's rectification).
      z_dtype: dtype of ``z``; default the parameter dtype promoted to float32.

    Returns:
      A transformation whose ``update`` needs ``params``; its state holds the
      hyperparameters and a :class:`ScheduleFreeState`.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.schedule_free(0.1, b1=0.5)
      >>> p = jnp.array([1.0])
      >>> u, state = tx.update(jnp.array([1.0]), tx.init(p), p)
      >>> y = p + u  # z = 0.9 and x = z after the first update; y = (x + z) / 2
      >>> print(y, jaxsched.transforms.schedule_free_eval_params(state, y))
      [0.9] [0.9]

    References:
      Defazio et al. 2024, "The Road Less Scheduled"; ``schedulefree.SGDScheduleFree``;
      Song et al. 2025, "Through the River: Understanding the Benefit of Schedule-Free
      Methods for Language Model Training" (``decoupling_c``, arXiv:2507.09846).
    """

    def init(params):
        z = jax.tree.map(
            lambda zero, p: zero + p.astype(zero.dtype), zeros_like_tree(params, z_dtype), params
        )
        zero = jnp.zeros([], jnp.float32)
        return ScheduleFreeState(zero_count(), jnp.asarray(b1, jnp.float32), zero, zero, z)

    def update(updates, state, params=None, **extra):
        del extra
        params_needed(params, "schedule_free")
        check_same_tree(state.z, updates)
        count = safe_increment(state.count)
        step = count.astype(jnp.float32)
        lr = jnp.asarray(learning_rate, jnp.float32)
        if warmup_steps:
            lr = lr * jnp.minimum(step / warmup_steps, 1.0)
        if step_size_factor is not None:
            lr = lr * step_size_factor(state.count)
        lr_max = jnp.maximum(state.lr_max, lr)
        weight = step**r * lr_max**weight_lr_power
        weight_sum = state.weight_sum + weight
        positive = weight_sum > 0
        c = jnp.where(positive, weight / jnp.where(positive, weight_sum, 1.0), 0.0)
        if decoupling_c is not None:
            c = jnp.minimum(1.0, c * (1 - b1) * decoupling_c)
        z = jax.tree.map(lambda z, g: (z - lr * g).astype(z.dtype), state.z, updates)
        y_rate = b1 * (1 - c) - 1

        def y_step(y, z_old, z_new, g):
            # lr g is z's change: reading it from z spares XLA's CPU backend a
            # full-size pass that writes g for its two readers (g divides by sqrt(v)
            # in AdamW). It carries z's rounding into y: one float32 ulp of z, the
            # size of y's own rounding, but far more where z is kept in 16 bits.
            if jnp.finfo(z_new.dtype).bits >= 32:
                return c * (z_old - y) + y_rate * (z_old - z_new)
            return c * (z_old - y) + lr * y_rate * g

        out = jax.tree.map(y_step, params, state.z, z, updates)
        b1_used = jnp.asarray(b1, jnp.float32)
        new_state = ScheduleFreeState(count, b1_used, lr_max, weight_sum, z)
        return cast_like(out, updates), new_state

    return optax.GradientTransformationExtraArgs(init, update)


def _is_schedule_free(node) -> bool:
    return isinstance(node, ScheduleFreeState)


def _is_masked(node) -> bool:
    return isinstance(node, optax.MaskedNode)


def schedule_free_eval_params(state: PyTree, params: PyTree) -> PyTree:
    """The parameters to evaluate with: the averaged point ``x`` of a schedule-free state.

    Training holds ``y``; the state holds ``z``; ``x = y + (1 - 1 / b1) (z - y)``, what
    ``optimizer.eval()`` of the authors' ``schedulefree`` classes writes into the model.
    Every schedule-free state in ``state`` is used (inside ``chain``, ``partition``,
    ``masked`` or wrappers), each for the leaves it updates; other leaves are returned
    as given. Keep training from ``params`` (``y``), not from the returned ``x``.

    Batch normalisation: running statistics gathered during training belong to ``y``.
    As the authors advise, recompute them at ``x`` (a few forward passes in training mode
    over training batches) before evaluating with ``x``.

    Args:
      state: an optimizer state holding at least one :class:`ScheduleFreeState` (from
        :func:`schedule_free`, :func:`jaxsched.schedule_free_sgd`,
        :func:`jaxsched.schedule_free_adamw`, :func:`jaxsched.schedule_free_radam` or
        their pytorch-optimizer flavors).
      params: the current parameters ``y``, as passed to ``update``.

    Returns:
      ``x``, a pytree like ``params`` with the same dtypes.

    Raises:
      ValueError: if ``state`` holds no schedule-free state, or ``params`` does not match it.

    Example:
      >>> import jax.numpy as jnp, jaxsched
      >>> tx = jaxsched.transforms.schedule_free(1.0, b1=0.5)
      >>> p = jnp.array([0.0])
      >>> state = tx.init(p)
      >>> for _ in range(2):
      ...     u, state = tx.update(jnp.array([1.0]), state, p)
      ...     p = p + u
      >>> print(p, jaxsched.transforms.schedule_free_eval_params(state, p))  # z = -2
      [-1.75] [-1.5]

    References:
      Defazio et al. 2024, "The Road Less Scheduled"; ``schedulefree.SGDScheduleFree.eval``.
    """
    found = [
        node
        for node in jax.tree.leaves(state, is_leaf=_is_schedule_free)
        if _is_schedule_free(node)
    ]
    if not found:
        raise ValueError(
            "schedule_free_eval_params: the state holds no schedule-free optimizer state "
            "(ScheduleFreeState, made by schedule_free, schedule_free_sgd, "
            "schedule_free_adamw or schedule_free_radam)"
        )
    for node in found:
        params = _average_point(node, params)
    return params


def _average_point(node: ScheduleFreeState, params: PyTree) -> PyTree:
    """``params`` with each leaf that ``node`` updates moved from ``y`` to ``x``."""
    z_leaves, z_def = jax.tree.flatten(node.z, is_leaf=_is_masked)
    mismatch = ValueError(
        "schedule_free_eval_params: params do not match the optimizer state (give the "
        "parameters the optimizer was initialised with)"
    )
    try:
        y_leaves = z_def.flatten_up_to(params)
    except (TypeError, ValueError):
        raise mismatch from None
    weight = 1 - 1 / node.b1
    out = []
    for z, y in zip(z_leaves, y_leaves, strict=True):
        if _is_masked(z):
            out.append(y)
            continue
        if jax.tree.structure(y).num_nodes != 1 or jnp.shape(y) != jnp.shape(z):
            raise mismatch
        out.append((y + weight * (z - y)).astype(jnp.result_type(y)))
    return jax.tree.unflatten(z_def, out)
