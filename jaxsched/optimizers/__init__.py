"""Optimizers composed from the building blocks in :mod:`jaxsched.transforms`."""

from ._adam import adam as adam
from ._adam import adamw as adamw
from ._sgd import momentum as momentum
from ._sgd import nesterov as nesterov
from ._sgd import sgd as sgd
