"""jaxsched: optimizers and learning-rate schedules as pure, composable transformations."""

from optax import apply_updates as apply_updates
from optax import chain as chain

from . import keras as keras
from . import optimizers as optimizers
from . import torch as torch
from . import transforms as transforms
from ._base import Schedule as Schedule
from ._base import ScalarOrSchedule as ScalarOrSchedule
from ._base import StatefulSchedule as StatefulSchedule
from ._hyper import HyperparamsState as HyperparamsState
from ._hyper import hyperparams as hyperparams
from ._hyper import set_hyperparams as set_hyperparams
from ._hyper import with_hyperparams as with_hyperparams
from .optimizers import adam as adam
from .optimizers import adamw as adamw
from .optimizers import momentum as momentum
from .optimizers import nesterov as nesterov
from .optimizers import sgd as sgd

__version__ = "0.1.0"
