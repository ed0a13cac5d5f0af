"""Imitation learners as d3rlpy algorithms (importing this registers them with d3rlpy)."""

from offline_iq.algos.discrete_iq import DiscreteIQLearn, DiscreteIQLearnConfig
from offline_iq.algos.iq import IQLearn, IQLearnConfig

__all__ = ["DiscreteIQLearn", "DiscreteIQLearnConfig", "IQLearn", "IQLearnConfig"]
