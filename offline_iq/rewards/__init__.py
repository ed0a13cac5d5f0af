"""Recover, score and reuse the reward IQ-Learn learns implicitly."""

from offline_iq.rewards.recovered import RecoveredReward

__all__ = ["RecoveredReward"]
