"""timm's learning-rate schedulers (``timm.scheduler``) as jaxsched schedules.

``CosineLRScheduler(lr, t_initial, ...)`` takes the base rate first, then timm's
arguments; the schedule's value at ``k`` is the rate timm sets for epoch (or update)
``k``. See docs/timm.md for where the numbers differ from timm's and why.
"""

from ._optim import create_optimizer as create_optimizer
from ._plateau import PlateauLRScheduler as PlateauLRScheduler
from ._plateau import PlateauLRState as PlateauLRState
from ._schedulers import CosineLRScheduler as CosineLRScheduler
from ._schedulers import MultiStepLRScheduler as MultiStepLRScheduler
from ._schedulers import PolyLRScheduler as PolyLRScheduler
from ._schedulers import StepLRScheduler as StepLRScheduler
from ._schedulers import TanhLRScheduler as TanhLRScheduler
from ._wsd import WSDLRScheduler as WSDLRScheduler
