"""Optimizers composed from the building blocks in :mod:`jaxsched.transforms`."""

from ..transforms._ftrl import ftrl as ftrl
from ..transforms._lookahead import lookahead as lookahead
from ._adam import adam as adam
from ._adam import adamw as adamw
from ._adaptive import adadelta as adadelta
from ._adaptive import adagrad as adagrad
from ._adaptive import adamax as adamax
from ._adaptive import amsgrad as amsgrad
from ._adaptive import nadam as nadam
from ._adaptive import radam as radam
from ._adaptive import rmsprop as rmsprop
from ._asgd import asgd as asgd
from ._ranger import ranger as ranger
from ._sgd import momentum as momentum
from ._sgd import nesterov as nesterov
from ._sgd import sgd as sgd
from ._signs import lion as lion
from ._signs import rprop as rprop
from ._swats import SwatsState as SwatsState
from ._swats import swats as swats
