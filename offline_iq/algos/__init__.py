"""Imitation learners as d3rlpy algorithms (importing this registers them with d3rlpy)."""

from offline_iq.algos.demodice import (
    DemoDICE,
    DemoDICEConfig,
    DiscreteDemoDICE,
    DiscreteDemoDICEConfig,
)
from offline_iq.algos.discrete_iq import DiscreteIQLearn, DiscreteIQLearnConfig
from offline_iq.algos.iq import IQLearn, IQLearnConfig
from offline_iq.algos.valuedice import (
    DiscreteValueDICE,
    DiscreteValueDICEConfig,
    ValueDICE,
    ValueDICEConfig,
)

__all__ = [
    "DemoDICE",
    "DemoDICEConfig",
    "DiscreteDemoDICE",
    "DiscreteDemoDICEConfig",
    "DiscreteIQLearn",
    "DiscreteIQLearnConfig",
    "DiscreteValueDICE",
    "DiscreteValueDICEConfig",
    "IQLearn",
    "IQLearnConfig",
    "ValueDICE",
    "ValueDICEConfig",
]
