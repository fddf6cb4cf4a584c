"""Keras 3 flavors: ``keras.optimizers`` class names, argument names, defaults and numbers.

Every flavor takes Keras's common ``weight_decay``, ``clipnorm``, ``clipvalue`` and
``global_clipnorm`` and the legacy ``decay``. The hyperparameters are kept in the state
under jaxsched's native names (``learning_rate``, ``b1``, ``b2``, ``eps``, ``rho``,
``decay``, ``momentum``, ``weight_decay``, ``max_norm``, ...); each docstring gives the
mapping from Keras's argument names.
"""

from . import schedules as schedules
from ._callbacks import ReduceLROnPlateau as ReduceLROnPlateau
from ._optimizers import SGD as SGD
from ._optimizers import Adadelta as Adadelta
from ._optimizers import Adagrad as Adagrad
from ._optimizers import Adam as Adam
from ._optimizers import Adamax as Adamax
from ._optimizers import AdamW as AdamW
from ._optimizers import Ftrl as Ftrl
from ._optimizers import Lion as Lion
from ._optimizers import Nadam as Nadam
from ._optimizers import RMSprop as RMSprop
