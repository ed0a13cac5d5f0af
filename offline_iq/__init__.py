"""offline_iq: imitation learning from logged Minari data (IQ-Learn, BC, ValueDICE, DemoDICE on
d3rlpy).

Importing the package sets torch to one CPU thread (see :mod:`offline_iq.runtime`).
"""

from offline_iq.algos import (
    DemoDICE,
    DemoDICEConfig,
    DiscreteDemoDICE,
    DiscreteDemoDICEConfig,
    DiscreteIQLearn,
    DiscreteIQLearnConfig,
    DiscreteValueDICE,
    DiscreteValueDICEConfig,
    IQLearn,
    IQLearnConfig,
    ValueDICE,
    ValueDICEConfig,
)
from offline_iq.data import (
    DatasetFormatError,
    DatasetMetadata,
    DatasetNotFoundError,
    ExpertReplayBuffer,
    load_minari,
)
from offline_iq.evaluation import evaluate_policy
from offline_iq.preprocessing import ClippedStandardObservationScaler
from offline_iq.rewards import RecoveredReward, RecoveredRewardWrapper
from offline_iq.runtime import set_torch_threads

set_torch_threads()

__version__ = "0.1.0"

__all__ = [
    # learners (d3rlpy algorithms)
    "DiscreteIQLearn",
    "DiscreteIQLearnConfig",
    "IQLearn",
    "IQLearnConfig",
    "ValueDICE",
    "ValueDICEConfig",
    "DiscreteValueDICE",
    "DiscreteValueDICEConfig",
    "DemoDICE",
    "DemoDICEConfig",
    "DiscreteDemoDICE",
    "DiscreteDemoDICEConfig",
    # data
    "DatasetFormatError",
    "DatasetMetadata",
    "DatasetNotFoundError",
    "ExpertReplayBuffer",
    "load_minari",
    "ClippedStandardObservationScaler",
    # evaluation and rewards
    "RecoveredReward",
    "RecoveredRewardWrapper",
    "evaluate_policy",
    # runtime
    "__version__",
    "set_torch_threads",
]
