"""Learning-rate schedules: pure ``step -> value`` functions with the numbers of
TensorFlow/Keras, PyTorch, Hugging Face and timm.

Every schedule takes a 0-based step (a Python int or an int/float array) and returns a
float32 scalar; all are safe under ``jax.jit``, ``jax.vmap`` and ``jax.grad``. See
``docs/schedules.md`` for the table of equivalents in each library.
"""

from ._combine import constant as constant
from ._combine import join as join
from ._combine import linear_warmup as linear_warmup
from ._hf import cosine as cosine
from ._hf import inverse_sqrt as inverse_sqrt
from ._hf import warmup_cosine as warmup_cosine
from ._hf import warmup_stable_decay as warmup_stable_decay
from ._tf import cosine_decay as cosine_decay
from ._tf import cosine_decay_restarts as cosine_decay_restarts
from ._tf import exponential_decay as exponential_decay
from ._tf import inverse_time_decay as inverse_time_decay
from ._tf import linear_cosine_decay as linear_cosine_decay
from ._tf import natural_exp_decay as natural_exp_decay
from ._tf import noisy_linear_cosine_decay as noisy_linear_cosine_decay
from ._tf import piecewise_constant as piecewise_constant
from ._tf import polynomial_decay as polynomial_decay
from ._torch_like import cyclic as cyclic
from ._torch_like import multiplicative as multiplicative
from ._torch_like import multistep_decay as multistep_decay
from ._torch_like import one_cycle as one_cycle
from ._torch_like import step_decay as step_decay

__all__ = [
    "constant",
    "cosine",
    "cosine_decay",
    "cosine_decay_restarts",
    "cyclic",
    "exponential_decay",
    "inverse_sqrt",
    "inverse_time_decay",
    "join",
    "linear_cosine_decay",
    "linear_warmup",
    "multiplicative",
    "multistep_decay",
    "natural_exp_decay",
    "noisy_linear_cosine_decay",
    "one_cycle",
    "piecewise_constant",
    "polynomial_decay",
    "step_decay",
    "warmup_cosine",
    "warmup_stable_decay",
]
