"""Keras 3 flavors: ``keras.optimizers`` class names, argument names, defaults and numbers.

The hyperparameters are kept in the state under jaxsched's native names
(``learning_rate``, ``b1``, ``b2``, ``eps``, ``weight_decay``, ``momentum``).
"""

from ._optimizers import SGD as SGD
from ._optimizers import Adam as Adam
from ._optimizers import AdamW as AdamW
