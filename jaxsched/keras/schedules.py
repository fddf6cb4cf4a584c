"""``keras.optimizers.schedules`` as jaxsched schedules: Keras 3's class and argument names.

Each function returns a pure ``step -> value`` schedule with the numbers of the Keras
class (float32, same order of operations). Keras optimizers evaluate the schedule at the
0-based iteration count, so value ``k`` is the rate of the ``k``-th update, as in every
jaxsched schedule. ``name`` is accepted for compatibility and not used.

One deliberate difference: divisions by ``decay_steps`` are exact here, as in TensorFlow.
Keras on the JAX backend, inside ``jit`` or ``vmap``, lets XLA compute ``step /
decay_steps`` as ``step * (1 / decay_steps)``, which at some exact multiples is an ulp
short, so its staircase (or restart) switches one step late (for example
``ExponentialDecay(0.1, 41, 0.5, staircase=True)`` still gives 0.1 at step 41).
"""

from ._schedules import CosineDecay as CosineDecay
from ._schedules import CosineDecayRestarts as CosineDecayRestarts
from ._schedules import ExponentialDecay as ExponentialDecay
from ._schedules import InverseTimeDecay as InverseTimeDecay
from ._schedules import PiecewiseConstantDecay as PiecewiseConstantDecay
from ._schedules import PolynomialDecay as PolynomialDecay

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
]
