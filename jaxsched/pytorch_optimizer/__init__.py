"""``pytorch_optimizer`` flavors: its class names, argument names, defaults and numbers.

``jaxsched.pytorch_optimizer.ADOPT(lr=1e-3)`` returns a transformation whose parameter
trajectory equals the reference optimizer's. Arguments are checked under
``pytorch_optimizer``'s names (``lr``, ``betas[2]``, ``weight_decouple``); the
hyperparameters are kept in the state under jaxsched's native names (``learning_rate``
for ``lr``, ``b1``/``b2``/``b3`` for ``betas``, ...). A 0 for ``weight_decay`` means
none: that key is then absent. Where ``pytorch_optimizer`` departs from the authors'
code, the flavors follow the authors; their docstrings say where.
"""

from ._adam_variants import ADOPT as ADOPT
from ._adam_variants import LARS as LARS
from ._adam_variants import MARS as MARS
from ._adam_variants import Adan as Adan
from ._adam_variants import AdEMAMix as AdEMAMix
from ._adam_variants import Lamb as Lamb
from ._lr_free import DAdaptAdam as DAdaptAdam
from ._lr_free import Prodigy as Prodigy
from ._lr_free import ScheduleFreeAdamW as ScheduleFreeAdamW
from ._lr_free import ScheduleFreeRAdam as ScheduleFreeRAdam
from ._lr_free import ScheduleFreeSGD as ScheduleFreeSGD
from ._matrix import SOAP as SOAP
from ._matrix import Muon as Muon
from ._wave1 import Lion as Lion
from ._wave1 import Lookahead as Lookahead
from ._wave1 import Ranger as Ranger
