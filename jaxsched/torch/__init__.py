"""PyTorch flavors: ``torch.optim`` class names, argument names, defaults and numbers.

``jaxsched.torch.AdamW(lr=1e-3, weight_decay=1e-2)`` returns a transformation whose
parameter trajectory equals ``torch.optim.AdamW``'s. The hyperparameters are kept in the
state under jaxsched's native names (``learning_rate``, ``b1``, ``b2``, ``eps``,
``weight_decay``, ``momentum``, ``dampening``).
"""

from ._optim import SGD as SGD
from ._optim import Adam as Adam
from ._optim import AdamW as AdamW
