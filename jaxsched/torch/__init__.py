"""PyTorch flavors: ``torch.optim`` class names, argument names, defaults and numbers.

``jaxsched.torch.AdamW(lr=1e-3, weight_decay=1e-2)`` returns a transformation whose
parameter trajectory equals ``torch.optim.AdamW``'s. Arguments are checked under torch's
names (``lr``, ``betas[1]``). The hyperparameters are kept in the state under
jaxsched's native names (``learning_rate`` for ``lr``, ``b1``/``b2`` for ``betas``,
``decay`` for RMSprop's ``alpha``, ``eta_minus``/``eta_plus`` and
``min_step_size``/``max_step_size`` for Rprop's pairs; ``eps``, ``weight_decay``,
``momentum``, ... keep their names); each docstring gives the mapping. torch's 0 for
``weight_decay`` or ``momentum`` means none: that key is then absent.
"""

from . import lr_scheduler as lr_scheduler
from ._adafactor import Adafactor as Adafactor
from ._adaptive import Adadelta as Adadelta
from ._adaptive import Adagrad as Adagrad
from ._adaptive import Adamax as Adamax
from ._adaptive import NAdam as NAdam
from ._adaptive import RAdam as RAdam
from ._adaptive import RMSprop as RMSprop
from ._muon import Muon as Muon
from ._optim import ASGD as ASGD
from ._optim import SGD as SGD
from ._optim import Adam as Adam
from ._optim import AdamW as AdamW
from ._optim import Rprop as Rprop

__all__ = [
    "ASGD",
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Muon",
    "NAdam",
    "RAdam",
    "RMSprop",
    "Rprop",
    "lr_scheduler",
]
