"""What every Keras 3 optimizer shares: Keras's common arguments, assembled once.

Keras's ``BaseOptimizer.apply`` runs, per call: divide the gradients by
``loss_scale_factor``; with ``gradient_accumulation_steps`` ``N``, add them to an
accumulator and go on only every ``N``-th call, with their mean; clip them
(``clipnorm``, ``clipvalue`` or ``global_clipnorm``, at most one); decoupled weight
decay ``x <- x - x * weight_decay * lr`` on the variables; the optimizer's
``update_step``, which reads the decayed variables (Ftrl, Lamb, Adafactor do); with
``use_ema``, update the moving average of the variables (every call) and, every
``ema_overwrite_frequency`` iterations, overwrite the variables with it; finally
``iterations += 1``. :func:`keras_flavor` declares a flavor from its own arguments and
appends the common ones, declared once in :func:`common_arguments`;
:func:`keras_optimizer` assembles the steps in that order.

Counting as Keras does: learning-rate schedules (and the legacy ``decay``) see every
call, the raw ``iterations``; the optimizer's own step count (bias corrections, warmups)
and the EMA see ``iterations // gradient_accumulation_steps``.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import (
    ScalarOrSchedule,
    StatefulSchedule,
    cast_like,
    is_schedule,
    none_if_zero,
    params_needed,
    stateless,
)
from .._hyper import block, with_hyperparams
from .._validate import (
    Flag,
    Integer,
    OptionalNonNegative,
    Real,
    UnitInterval,
    accepts,
    validated,
)
from .._wrappers import accumulate
from ..schedules import inverse_time_decay
from ..transforms._clip import clip, clip_by_global_norm, clip_by_norm
from ._ema import keras_ema


def takes_no_argument(value: Any) -> bool:
    """True for a callable that takes no argument (``lambda: 0.01``), unlike a schedule."""
    # A callable whose signature cannot be read passes both and is taken as a schedule.
    return callable(value) and accepts(value) and not accepts(value, 0)


@dataclass(frozen=True)
class LearningRateSpec(Real):
    """Keras's learning rate: a number, a schedule of the step, or a function of nothing.

    Keras calls a zero-argument ``learning_rate`` at every step; in a pure program it can
    only return the same value each time, so it is called once, at construction, and its
    value is checked and used as a constant.
    """

    def describe(self) -> str:
        return super().describe() + ", or a function of no arguments"

    def check(self, name: str, value: Any) -> Any:
        if takes_no_argument(value):
            value_spec = Real(self.low, self.high, self.low_open, self.high_open, schedule=False)
            return value_spec.check(f"{name}()", value())
        return super().check(name, value)


LearningRate = Annotated[ScalarOrSchedule, LearningRateSpec(low=0.0)]
PositiveLearningRate = Annotated[ScalarOrSchedule, LearningRateSpec(low=0.0, low_open=True)]
Clip = Annotated[ScalarOrSchedule | None, Real(low=0.0, optional=True)]
LegacyDecay = Annotated[float | None, Real(low=0.0, schedule=False, optional=True)]
LossScaleFactor = Annotated[
    float | None, Real(low=0.0, low_open=True, schedule=False, optional=True)
]
OverwriteFrequency = Annotated[int | None, Integer(low=1, optional=True)]
AccumulationSteps = Annotated[int | None, Integer(low=2, optional=True)]

# Keras argument -> (state key, block).
_CLIPS = {
    "clipnorm": ("max_norm", clip_by_norm),
    "clipvalue": ("max_delta", clip),
    "global_clipnorm": ("max_norm", clip_by_global_norm),
}


def legacy_decay(learning_rate: ScalarOrSchedule, decay: float | None) -> ScalarOrSchedule:
    """Keras 2's ``decay`` argument: ``lr_t = lr(t) / (1 + decay * t)``, t the 0-based step.

    Keras 3 only warns and ignores ``decay``; jaxsched keeps Keras 2's meaning (the same
    numbers as Keras 3 with ``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)``).
    With a decay the learning rate becomes a schedule, so the state reports the decayed
    rate of the most recent update under ``learning_rate``.

    Raises:
      TypeError: if ``learning_rate`` is a stateful schedule (reduce-on-plateau).
    """
    decay = none_if_zero(decay)
    if decay is None:
        return learning_rate
    if isinstance(learning_rate, StatefulSchedule):
        raise TypeError("decay cannot be combined with a stateful learning-rate schedule")
    if not is_schedule(learning_rate):
        return inverse_time_decay(learning_rate, 1, decay)
    factor = inverse_time_decay(1.0, 1, decay)
    return lambda step: learning_rate(step) * factor(step)


def common_arguments(
    weight_decay: OptionalNonNegative = None,
    clipnorm: Clip = None,
    clipvalue: Clip = None,
    global_clipnorm: Clip = None,
    use_ema: Flag = False,
    ema_momentum: UnitInterval = 0.99,
    ema_overwrite_frequency: OverwriteFrequency = None,
    loss_scale_factor: LossScaleFactor = None,
    gradient_accumulation_steps: AccumulationSteps = None,
    *,
    decay: LegacyDecay = None,
) -> None:
    """Keras's common optimizer arguments: names, order, defaults and ranges, declared once.

    :func:`keras_flavor` appends them to every flavor's signature (after the flavor's
    own positional arguments; ``decay`` keyword-only). Keras 3's ``BaseOptimizer``:

    Args:
      weight_decay: >= 0, or None; decoupled decay ``x <- x - lr * weight_decay * x``
        before the update (state key ``weight_decay``; 0 or None: none).
      clipnorm, clipvalue, global_clipnorm: > 0 clip each gradient's norm, each
        coordinate, the global norm (at most one; keys ``max_norm``, ``max_delta``;
        0 or None: none).
      use_ema: keep a moving average of the parameters (:func:`jaxsched.ema_params`).
      ema_momentum: in [0, 1], the average's momentum (key ``ema_momentum`` with EMA).
      ema_overwrite_frequency: int >= 1 or None: with EMA, every that many iterations
        the update moves the parameters onto the average.
      loss_scale_factor: > 0 or None: the gradients given are those of the loss times
        this factor and are divided by it first (key ``loss_scale_factor``; scale the
        loss with :func:`jaxsched.keras.scale_loss`).
      gradient_accumulation_steps: int >= 2 or None: accumulate the gradients and
        update every that many calls, with their mean (zero updates in between).
      decay: Keras 2's learning-rate decay (see :func:`legacy_decay`).
    """


@block
def unscale_loss(loss_scale_factor: LossScaleFactor) -> optax.GradientTransformationExtraArgs:
    """``g <- g / loss_scale_factor``: the gradients of a scaled loss brought back.

    Keras's ``loss_scale_factor``; the state key is ``loss_scale_factor``.

    Example:
      >>> import jax.numpy as jnp
      >>> tx = unscale_loss(4.0)
      >>> print(tx.update(jnp.array([2.0]), tx.init(jnp.zeros(1)))[0])
      [0.5]
    """
    return stateless(lambda u, p: cast_like(jax.tree.map(lambda g: g / loss_scale_factor, u), u))


def decay_then(rate: Any, step: optax.GradientTransformation) -> optax.GradientTransformation:
    """Keras's weight decay: ``x <- x - rate * x``, then ``step`` from the decayed x."""
    step = optax.with_extra_args_support(step)

    def update(updates, state, params=None, **extra):
        params_needed(params, "weight_decay")
        decay = jax.tree.map(lambda p: (-rate * p).astype(p.dtype), params)
        decayed = jax.tree.map(jnp.add, params, decay)
        out, state = step.update(updates, state, decayed, **extra)
        return cast_like(jax.tree.map(jnp.add, decay, out), updates), state

    return optax.GradientTransformationExtraArgs(step.init, update)


class KerasRule(NamedTuple):
    """A flavor's own part of Keras's step: what :func:`keras_flavor` assembles around.

    Attributes:
      update_step: ``(learning_rate, **hyperparams) -> transformation``, the whole
        update of Keras's ``update_step`` (learning rate included) for the parameters it
        is given, already decayed. It is called while the state's factory is built, so
        jaxsched's blocks and native optimizers act in it as plain rules.
      hyperparams: the optimizer's own hyperparameters, by the native names they are
        kept under in the state (and passed to ``update_step``).
      decays: True when ``update_step`` applies Keras's weight decay itself (Muon's
        per-variable decays); the common ``weight_decay`` is then not applied.
    """

    update_step: Callable[..., optax.GradientTransformation]
    hyperparams: dict[str, Any]
    decays: bool = False


def keras_optimizer(
    rule: KerasRule,
    learning_rate: ScalarOrSchedule,
    weight_decay: ScalarOrSchedule | None = None,
    clipnorm: ScalarOrSchedule | None = None,
    clipvalue: ScalarOrSchedule | None = None,
    global_clipnorm: ScalarOrSchedule | None = None,
    use_ema: bool = False,
    ema_momentum: ScalarOrSchedule = 0.99,
    ema_overwrite_frequency: int | None = None,
    loss_scale_factor: float | None = None,
    gradient_accumulation_steps: int | None = None,
    decay: float | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Assembles a Keras optimizer around ``rule`` in the order of Keras's ``apply``.

    The arguments are the flavor's, already checked under Keras's names (see
    :func:`common_arguments`). As in Keras, a weight decay, clip value or decay of 0
    (or None) means none.

    Returns:
      A transformation whose state holds ``learning_rate``, the rule's hyperparameters
      and, when set, ``weight_decay``, ``max_norm`` or ``max_delta``, ``ema_momentum``
      and ``loss_scale_factor``. ``update`` needs ``params`` with a weight decay, with
      EMA, or for an update step that reads them.

    Raises:
      ValueError: if more than one clip argument is set, as Keras.
    """
    given = {
        name: value
        for name, value in (
            ("clipnorm", clipnorm),
            ("clipvalue", clipvalue),
            ("global_clipnorm", global_clipnorm),
        )
        if value is not None
    }
    if len(given) > 1:
        raise ValueError(
            "only one of clipnorm, clipvalue and global_clipnorm can be set, got "
            + ", ".join(f"{k}={v!r}" for k, v in given.items())
        )
    hyper = {"learning_rate": legacy_decay(learning_rate, decay), **rule.hyperparams}
    common = {}  # the assembly's own hyperparameters, kept out of the update step's
    if not rule.decays and none_if_zero(weight_decay) is not None:
        common["weight_decay"] = weight_decay
    clip_key = clip_block = None
    for name, value in given.items():
        if none_if_zero(value) is not None:  # Keras clips only when the value is positive
            clip_key, clip_block = _CLIPS[name]
            common[clip_key] = value
    if use_ema:
        common["ema_momentum"] = ema_momentum
    if loss_scale_factor is not None:
        common["loss_scale_factor"] = loss_scale_factor

    def build(learning_rate, **values):
        own = {k: v for k, v in values.items() if k not in common}
        step = rule.update_step(learning_rate, **own)
        if "weight_decay" in common:
            step = decay_then(learning_rate * values["weight_decay"], step)
        if clip_block is not None:
            step = optax.chain(clip_block(values[clip_key]), step)
        if gradient_accumulation_steps is not None:
            step = accumulate(step, gradient_accumulation_steps)
        if use_ema:
            step = keras_ema(
                step,
                values["ema_momentum"],
                ema_overwrite_frequency,
                gradient_accumulation_steps or 1,
            )
        if loss_scale_factor is not None:
            step = optax.chain(unscale_loss(values["loss_scale_factor"]), step)
        return step

    return with_hyperparams(build, **hyper, **common)


def keras_flavor(own: Callable[..., KerasRule]) -> Callable[..., optax.GradientTransformation]:
    """Declares a Keras flavor from its own arguments; Keras's common ones are appended.

    ``own`` declares the flavor's arguments with Keras's names, order, defaults and
    ranges (``learning_rate`` included, and any common argument whose default or
    position differs, such as AdamW's ``weight_decay``) and returns its
    :class:`KerasRule`; it receives all of its arguments, and those that are Keras's
    (``learning_rate``, a redeclared common one) are assembled by
    :func:`keras_optimizer`. The flavor's signature is ``own``'s positional arguments,
    then :func:`common_arguments`' positional ones it does not redeclare, then
    ``own``'s keyword-only arguments and ``decay``; every argument is checked under its
    name when the flavor is called.
    """
    kinds = inspect.Parameter
    own_sig = inspect.signature(own)
    common_sig = inspect.signature(common_arguments)
    added = [p for p in common_sig.parameters.values() if p.name not in own_sig.parameters]

    def of_kind(params, kind):
        return [p for p in params if p.kind is kind]

    mine = list(own_sig.parameters.values())
    signature = inspect.Signature(
        [
            *of_kind(mine, kinds.POSITIONAL_OR_KEYWORD),
            *of_kind(added, kinds.POSITIONAL_OR_KEYWORD),
            *of_kind(mine, kinds.KEYWORD_ONLY),
            *of_kind(added, kinds.KEYWORD_ONLY),
        ],
        return_annotation=optax.GradientTransformationExtraArgs,
    )
    hints = typing.get_type_hints(common_arguments, include_extras=True)
    hints.update(typing.get_type_hints(own, include_extras=True))
    hints["return"] = optax.GradientTransformationExtraArgs

    def flavor(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = bound.arguments
        rule = own(**{name: values[name] for name in own_sig.parameters})
        return keras_optimizer(
            rule,
            values["learning_rate"],
            **{name: values[name] for name in common_sig.parameters},
        )

    functools.update_wrapper(flavor, own)
    del flavor.__wrapped__  # the signature below is the flavor's, not own's
    flavor.__signature__ = signature
    flavor.__annotations__ = hints
    return validated(flavor)
