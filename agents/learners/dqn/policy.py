"""What a DQN learner leaves behind: an epsilon-greedy policy on native observations, and the code-free
checkpoint format (tensors, numbers and strings; ``torch.load(weights_only=True)``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agents.learners.dqn.config import DQNConfig
from agents.learners.dqn.network import QNetwork
from envs.config_data import from_dict, to_dict
from envs.files import read_checkpoint

CHECKPOINT_FORMAT = "rl-workbench/dqn-v1"


class QPolicy(nn.Module):
    """Greedy in ``q``, or epsilon-greedy when given an ``epsilon`` (training); ``predict`` mirrors SB3's so
    saved agents use either. Playing for a score, the evaluation protocol adds its epsilon (0.001, Dopamine's
    ``epsilon_eval``) on top, as for every agent. ``state_dict()`` keys: ``q.*``.

    Args:
        observation_space: uint8 Box (C, H, W), frames stacked on axis 0; ``num_actions``: discrete actions.
    """

    def __init__(self, config: DQNConfig, observation_space: gym.spaces.Box, num_actions: int, seed: int = 0) -> None:
        super().__init__()
        channels, *frame = observation_space.shape
        self.q = QNetwork(channels, tuple(frame), num_actions, config.hidden, config.dueling, config.padding)
        self.observation_space, self.action_space = observation_space, gym.spaces.Discrete(num_actions)
        self.rng = np.random.default_rng(seed)

    def q_values(self, obs: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Q-values (B, num_actions) of uint8 observations (B, C, H, W), on the network's device."""
        device = next(self.q.parameters()).device
        return self.q(torch.as_tensor(obs, device=device).float() / 255.0)

    def predict(self, obs: np.ndarray, deterministic: bool = False, epsilon: float = 0.0) -> tuple[np.ndarray, None]:
        """Actions (B,) for observations (B, *obs_shape): greedy (``deterministic`` changes nothing), each
        replaced by a uniformly random one with probability ``epsilon``."""
        with torch.no_grad():
            actions = self.q_values(obs).argmax(dim=1).cpu().numpy()
        explore = self.rng.random(len(actions)) < epsilon
        actions[explore] = self.rng.integers(0, self.action_space.n, int(explore.sum()))
        return actions, None


def plain_config(config: DQNConfig) -> dict[str, Any]:
    return to_dict(config)


def config_from_plain(data: dict[str, Any]) -> DQNConfig:
    return from_dict(DQNConfig, data, "dqn")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a DQN-learner checkpoint with ``weights_only=True``; clear error if corrupt or foreign."""
    return read_checkpoint(path, CHECKPOINT_FORMAT, "DQN learner")


def replay_path(path: str | Path) -> Path:
    """Where the replay of the checkpoint at ``path`` lies (``policy.pt`` -> ``policy.replay.npz``)."""
    return Path(path).with_suffix(".replay.npz")
