"""Policy networks for observations SB3 does not recognise as images."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


def is_grid_planes(space: gym.Space) -> bool:
    """(C, H, W) float boxes on small grids (H, W < 36, too small for SB3's Nature CNN): gridworld planes."""
    return (isinstance(space, gym.spaces.Box) and len(space.shape) == 3 and space.dtype == np.float32
            and max(space.shape[1:]) < 36)


def is_rgb_stack(space: gym.Space) -> bool:
    """(S, H, W, 3) uint8 boxes: the Atari ``rgb`` formats and simulated envs."""
    return isinstance(space, gym.spaces.Box) and len(space.shape) == 4 and space.shape[-1] == 3


class StackedFramesCNN(BaseFeaturesExtractor):
    """SimPLe's small policy CNN on (S, H, W, 3) uint8 stacks: frames go on channels, then
    conv 32 5x5 /2, conv 32 5x5 /2, dense ``features_dim``, ReLU throughout."""

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 128) -> None:
        super().__init__(observation_space, features_dim)
        stack, height, width, channels = observation_space.shape
        self.convs = nn.Sequential(
            nn.Conv2d(stack * channels, 32, 5, stride=2), nn.ReLU(),
            nn.Conv2d(32, 32, 5, stride=2), nn.ReLU(), nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, stack * channels, height, width)).shape[1]
        self.dense = nn.Sequential(nn.Linear(flat, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """observations: (B, S, H, W, 3) as floats 0..255."""
        x = observations.permute(0, 1, 4, 2, 3).flatten(1, 2) / 255.0
        return self.dense(self.convs(x))


class GridCNN(BaseFeaturesExtractor):
    """Two padded 3x3 convs (32, 64 channels) then dense ``features_dim`` for (C, H, W) gridworld planes.

    Local filters see "a vase next to the agent" wherever it is, which an MLP must learn cell by cell."""

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 128) -> None:
        super().__init__(observation_space, features_dim)
        channels, height, width = observation_space.shape
        self.net = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Flatten(),
            nn.Linear(64 * height * width, features_dim), nn.ReLU(),
        )

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """observations: (B, C, H, W) floats."""
        return self.net(observations)
