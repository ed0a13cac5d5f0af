"""Recover, score and reuse the reward IQ-Learn learns implicitly."""

from offline_iq.rewards.evaluate import (
    RewardSample,
    collect_rollouts,
    plot_reward_scatter,
    sample_from_dataset,
    score,
    score_recovered_reward,
)
from offline_iq.rewards.recovered import RecoveredReward
from offline_iq.rewards.scoring import Correlation, RewardReport, correlations, score_rewards
from offline_iq.rewards.wrapper import RecoveredRewardWrapper

__all__ = [
    "Correlation",
    "RecoveredReward",
    "RecoveredRewardWrapper",
    "RewardReport",
    "RewardSample",
    "collect_rollouts",
    "correlations",
    "plot_reward_scatter",
    "sample_from_dataset",
    "score",
    "score_recovered_reward",
    "score_rewards",
]
