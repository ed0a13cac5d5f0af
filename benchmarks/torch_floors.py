"""Raw-torch floors of the two IQ-Learn updates, for ``benchmarks/learner_speed.py``.

Each floor does the computation of one default offline gradient step of its learner in plain
torch and nothing else: the same 256x256 ReLU networks, the same batch drawn by index from
tensors that already hold the standardised observations (and, continuous, the actions scaled
to [-1, 1]), the same forward and backward passes and the same Adam steps. No logging, no
loss records, no d3rlpy: the pace a training step can approach on this machine.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

HIDDEN = 256
Params = list[torch.Tensor]


def mlp(n_in: int, n_out: int) -> nn.Sequential:
    """d3rlpy's default encoder (two 256-unit ReLU layers) and a linear head."""
    return nn.Sequential(
        nn.Linear(n_in, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
        nn.Linear(HIDDEN, n_out),
    )  # fmt: skip


def forward(params: Params, x: torch.Tensor) -> torch.Tensor:
    """The MLP of :func:`mlp` with weights ``params`` (detached ones leave the weights alone)."""
    w1, b1, w2, b2, w3, b3 = params
    return F.linear(F.relu(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2)), w3, b3)


class DiscreteIQFloor:
    """Discrete IQ-Learn's default step: chi2, ``value_expert``, no target network."""

    def __init__(self, data: list[torch.Tensor], n_actions: int, batch_size: int = 256) -> None:
        obs, actions, next_obs, terminals = data
        self.data = (obs, actions.long().reshape(-1, 1), next_obs, terminals)
        self.batch_size = batch_size
        self.q = mlp(obs.shape[1], n_actions)
        self.optim = torch.optim.Adam(self.q.parameters(), lr=1e-4)
        self.temperature, self.gamma, self.chi2_alpha = 0.01, 0.99, 0.5

    def step(self) -> None:
        obs, actions, next_obs, terminals = self.data
        index = torch.randint(obs.shape[0], (self.batch_size,))
        s, a, s2, done = obs[index], actions[index], next_obs[index], terminals[index]
        both = self.q(torch.cat([s, s2]))
        q_all, next_q_all = both[: self.batch_size], both[self.batch_size :]
        t = self.temperature
        v = t * torch.logsumexp(q_all / t, dim=1, keepdim=True)
        y = (1.0 - done) * self.gamma * t * torch.logsumexp(next_q_all / t, dim=1, keepdim=True)
        reward = q_all.gather(1, a) - y
        loss = -(reward - reward.pow(2) / (4.0 * self.chi2_alpha)).mean() + (v - y).mean()
        self.optim.zero_grad()
        loss.backward()
        self.optim.step()


class ContinuousIQFloor:
    """Continuous IQ-Learn's default step: two critics and their Polyak targets, one policy
    sample per state, chi2 ``value_expert`` critic step, SAC actor step plus Q-filtered BC."""

    def __init__(self, data: list[torch.Tensor], batch_size: int = 256) -> None:
        obs, actions, next_obs, terminals = data
        self.data = (obs, actions, next_obs, terminals)
        self.batch_size = batch_size
        n_obs, n_act = obs.shape[1], actions.shape[1]
        self.policy = mlp(n_obs, 2 * n_act)  # mean and log-std heads side by side
        self.critics = [mlp(n_obs + n_act, 1) for _ in range(2)]
        self.targets = [mlp(n_obs + n_act, 1) for _ in range(2)]
        for target, critic in zip(self.targets, self.critics, strict=True):
            target.load_state_dict(critic.state_dict())
        self.critic_params = [list(c.parameters()) for c in self.critics]
        self.target_params = [p for t in self.targets for p in t.parameters()]
        self.actor_optim = torch.optim.Adam(self.policy.parameters(), lr=1e-3)
        critic_weights = [p for ps in self.critic_params for p in ps]
        self.critic_optim = torch.optim.Adam(critic_weights, lr=3e-4)
        self.temperature, self.gamma, self.tau = 0.01, 0.99, 0.005

    def sample(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Squashed-Gaussian action, its log-probability, and ``tanh`` of the mean."""
        mu, logstd = self.policy(s).chunk(2, dim=1)
        logstd = logstd.clamp(-20.0, 2.0)
        std = logstd.exp()
        raw = mu + std * torch.randn_like(mu)
        normal = -0.5 * ((raw - mu) / std).pow(2) - logstd - 0.5 * math.log(2 * math.pi)
        jacobian = 2.0 * (math.log(2.0) - raw - F.softplus(-2.0 * raw))
        return torch.tanh(raw), (normal - jacobian).sum(1, keepdim=True), torch.tanh(mu)

    def q(self, params: list[Params], s: torch.Tensor, a: torch.Tensor) -> list[torch.Tensor]:
        x = torch.cat([s, a], dim=1)
        return [forward(p, x) for p in params]

    def step(self) -> None:
        obs, actions, next_obs, terminals = self.data
        index = torch.randint(obs.shape[0], (self.batch_size,))
        s, a, s2, done = obs[index], actions[index], next_obs[index], terminals[index]
        new_a, log_prob, mean_a = self.sample(s)
        t, b = self.temperature, self.batch_size
        with torch.no_grad():
            next_a, next_log_prob, _ = self.sample(s2)
            targets = [[p.detach() for p in t_.parameters()] for t_ in self.targets]
            next_v = [q - t * next_log_prob for q in self.q(targets, s2, next_a)]
        losses = []
        both = self.q(self.critic_params, torch.cat([s, s]), torch.cat([a, new_a.detach()]))
        for q, nv in zip(both, next_v, strict=True):
            y = (1.0 - done) * self.gamma * nv
            reward = q[:b] - y
            v = q[b:] - t * log_prob.detach()
            losses.append(-(reward - reward.pow(2) / 2.0).mean() + (v - y).mean())
        self.critic_optim.zero_grad()
        torch.stack(losses).mean().backward()
        self.critic_optim.step()
        self.actor_step(s, a, new_a, log_prob, mean_a)
        with torch.no_grad():
            online = [p for ps in self.critic_params for p in ps]
            torch._foreach_lerp_(self.target_params, online, self.tau)

    def actor_step(
        self,
        s: torch.Tensor,
        a: torch.Tensor,
        new_a: torch.Tensor,
        log_prob: torch.Tensor,
        mean_a: torch.Tensor,
    ) -> None:
        frozen = [[p.detach() for p in ps] for ps in self.critic_params]
        q = torch.min(*self.q(frozen, s, new_a))
        actor_loss = (self.temperature * log_prob - q).mean()
        with torch.no_grad():
            q_both = torch.min(*self.q(frozen, torch.cat([s, s]), torch.cat([a, mean_a])))
            q_expert, q_policy = q_both.split(self.batch_size)
            use = (q_expert > q_policy).reshape(-1)
        squared = ((mean_a - a) ** 2).sum(1)
        bc = q_policy.abs().mean() * (squared * use).sum() / self.batch_size
        self.actor_optim.zero_grad()
        (actor_loss + bc).backward()
        self.actor_optim.step()
