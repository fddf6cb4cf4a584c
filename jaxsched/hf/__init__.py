"""Hugging Face ``transformers.optimization`` flavors: HF's names, arguments and numbers.

Every ``get_*_schedule*`` function takes the optimizer's learning rate as its first
argument (instead of the optimizer) and returns a jaxsched schedule whose value at step
``k`` is the learning rate HF's ``LambdaLR`` gives after ``k`` calls of
``scheduler.step()``: ``jaxsched.hf.get_cosine_schedule_with_warmup(lr,
num_warmup_steps, num_training_steps, num_cycles=0.5)``. The metric-driven ones
(:func:`get_reduce_on_plateau_schedule`, :func:`get_greedy_schedule`,
:func:`GreedyLR`) return a :class:`~jaxsched.StatefulSchedule` that reads
``update(..., value=metric)``. :func:`Adafactor` is HF's optimizer, and
:func:`get_adafactor_schedule` reads back the step size it used. See ``docs/hf.md``
for the table of equivalents and where the numbers differ.
"""

from ._adafactor import Adafactor as Adafactor
from ._adafactor import get_adafactor_schedule as get_adafactor_schedule
from ._greedy import GreedyLR as GreedyLR
from ._greedy import GreedyLRState as GreedyLRState
from ._scheduler import get_greedy_schedule as get_greedy_schedule
from ._scheduler import get_reduce_on_plateau_schedule as get_reduce_on_plateau_schedule
from ._scheduler import get_scheduler as get_scheduler
from ._schedules import get_constant_schedule as get_constant_schedule
from ._schedules import get_constant_schedule_with_warmup as get_constant_schedule_with_warmup
from ._schedules import get_cosine_schedule_with_warmup as get_cosine_schedule_with_warmup
from ._schedules import (  # re-exported through __all__: "X as X" would not fit a line
    get_cosine_with_hard_restarts_schedule_with_warmup,
    get_cosine_with_min_lr_schedule_with_warmup_lr_rate,
)
from ._schedules import (
    get_cosine_with_min_lr_schedule_with_warmup as get_cosine_with_min_lr_schedule_with_warmup,
)
from ._schedules import get_inverse_sqrt_schedule as get_inverse_sqrt_schedule
from ._schedules import get_linear_schedule_with_warmup as get_linear_schedule_with_warmup
from ._schedules import (
    get_polynomial_decay_schedule_with_warmup as get_polynomial_decay_schedule_with_warmup,
)
from ._schedules import get_wsd_schedule as get_wsd_schedule

__all__ = [
    "Adafactor",
    "GreedyLR",
    "GreedyLRState",
    "get_adafactor_schedule",
    "get_constant_schedule",
    "get_constant_schedule_with_warmup",
    "get_cosine_schedule_with_warmup",
    "get_cosine_with_hard_restarts_schedule_with_warmup",
    "get_cosine_with_min_lr_schedule_with_warmup",
    "get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
    "get_greedy_schedule",
    "get_inverse_sqrt_schedule",
    "get_linear_schedule_with_warmup",
    "get_polynomial_decay_schedule_with_warmup",
    "get_reduce_on_plateau_schedule",
    "get_scheduler",
    "get_wsd_schedule",
]
