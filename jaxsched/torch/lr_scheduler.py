"""``torch.optim.lr_scheduler`` as jaxsched schedules: torch's class and argument names,
with the optimizer replaced by its base learning rate (the first argument).

Each function returns a pure ``step -> lr`` schedule whose value at step ``k`` is the
learning rate torch's optimizer uses for its ``k``-th ``step()`` (0-based) when the
scheduler steps once after every optimizer step, i.e. ``param_groups[0]["lr"]`` after
``k`` calls of ``scheduler.step()``. torch runs most schedulers as float64 recursions
(``lr *= ratio``); these evaluate the closed forms in float32. Over 1000 steps torch's
recursions stay within 1e-12 relative of their closed forms, so the float32 rounding is
the only difference. The momentum that ``CyclicLR`` and ``OneCycleLR`` write into the
optimizer is given by :func:`CyclicMomentum` and :func:`OneCycleMomentum`, which take
the same arguments. ``ReduceLROnPlateau`` is metric-driven: it returns a
:class:`~jaxsched.StatefulSchedule` that reads ``update(..., value=metric)``.
"""

from ._lr_cycles import CyclicLR as CyclicLR
from ._lr_cycles import CyclicMomentum as CyclicMomentum
from ._lr_cycles import OneCycleLR as OneCycleLR
from ._lr_cycles import OneCycleMomentum as OneCycleMomentum
from ._lr_scheduler import ChainedScheduler as ChainedScheduler
from ._lr_scheduler import ConstantLR as ConstantLR
from ._lr_scheduler import CosineAnnealingLR as CosineAnnealingLR
from ._lr_scheduler import CosineAnnealingWarmRestarts as CosineAnnealingWarmRestarts
from ._lr_scheduler import ExponentialLR as ExponentialLR
from ._lr_scheduler import LambdaLR as LambdaLR
from ._lr_scheduler import LinearLR as LinearLR
from ._lr_scheduler import MultiplicativeLR as MultiplicativeLR
from ._lr_scheduler import MultiStepLR as MultiStepLR
from ._lr_scheduler import PolynomialLR as PolynomialLR
from ._lr_scheduler import SequentialLR as SequentialLR
from ._lr_scheduler import StepLR as StepLR
from ._plateau import ReduceLROnPlateau as ReduceLROnPlateau

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "CyclicMomentum",
    "ExponentialLR",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "OneCycleMomentum",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]
