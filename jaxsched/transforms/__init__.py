"""Building blocks: each is a small transformation that reads like its update rule."""

from ._adam import ScaleByAdamState as ScaleByAdamState
from ._adam import scale_by_adam as scale_by_adam
from ._basic import EmptyState as EmptyState
from ._basic import add_decayed_weights as add_decayed_weights
from ._basic import scale as scale
from ._basic import scale_by_learning_rate as scale_by_learning_rate
from ._momentum import TraceState as TraceState
from ._momentum import trace as trace
