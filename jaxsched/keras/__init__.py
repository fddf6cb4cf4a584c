"""Keras 3 flavors: ``keras.optimizers`` class names, argument names, defaults and numbers.

Every optimizer flavor takes Keras's common arguments, checked under Keras's names
(``jaxsched.keras._common.common_arguments`` declares them once):

* ``weight_decay``: decoupled decay ``x <- x - lr * weight_decay * x`` before the step;
* ``clipnorm``, ``clipvalue``, ``global_clipnorm``: gradient clipping (at most one);
* ``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``: a moving average of the
  parameters in the state (:func:`jaxsched.ema_params`), written into the parameters
  every ``ema_overwrite_frequency`` iterations when that is set;
* ``loss_scale_factor``: the gradients given are those of the loss times this factor
  (:func:`scale_loss`) and are divided by it first;
* ``gradient_accumulation_steps``: update every that many calls with the mean gradient,
  zero updates in between; schedules see every call, the optimizer's own step count
  (bias corrections) one per update, as in Keras;
* ``decay``: Keras 2's learning-rate decay, keyword-only (Keras 3 ignores it).

A zero-argument ``learning_rate`` (``lambda: 0.01``) is called once, at construction.
The hyperparameters are kept in the state under jaxsched's native names
(``learning_rate``, ``b1``, ``b2``, ``eps``, ``rho``, ``decay``, ``momentum``,
``weight_decay``, ``max_norm``, ``max_delta``, ``ema_momentum``, ``loss_scale_factor``,
...); each docstring gives the mapping from Keras's argument names.
:func:`LossScaleOptimizer` and :func:`MultiOptimizer` wrap other optimizers, as in Keras.
"""

from . import schedules as schedules
from ._adafactor import Adafactor as Adafactor
from ._adafactor import ScheduleFreeAdamW as ScheduleFreeAdamW
from ._adaptive import Adam as Adam
from ._adaptive import Adamax as Adamax
from ._adaptive import AdamW as AdamW
from ._adaptive import Lamb as Lamb
from ._adaptive import Lion as Lion
from ._adaptive import Nadam as Nadam
from ._basic import SGD as SGD
from ._basic import Adadelta as Adadelta
from ._basic import Adagrad as Adagrad
from ._basic import Ftrl as Ftrl
from ._basic import RMSprop as RMSprop
from ._callbacks import ReduceLROnPlateau as ReduceLROnPlateau
from ._ema import EmaState as EmaState
from ._loss_scale import LossScaleOptimizer as LossScaleOptimizer
from ._loss_scale import LossScaleState as LossScaleState
from ._loss_scale import scale_loss as scale_loss
from ._multi import MultiOptimizer as MultiOptimizer
from ._multi import OptimizerMap as OptimizerMap
from ._muon import Muon as Muon

__all__ = [
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "EmaState",
    "Ftrl",
    "Lamb",
    "Lion",
    "LossScaleOptimizer",
    "LossScaleState",
    "Muon",
    "MultiOptimizer",
    "Nadam",
    "OptimizerMap",
    "RMSprop",
    "ReduceLROnPlateau",
    "ScheduleFreeAdamW",
    "schedules",
    "scale_loss",
]
