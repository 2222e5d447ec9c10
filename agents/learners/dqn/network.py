"""The Q-network of Dopamine's Atari 100k agents (``dopamine.jax.networks.FullRainbowNetwork`` without noise or
atoms): the Nature CNN with TensorFlow's "SAME" padding (or the Nature paper's "VALID", 1.7x less compute),
one dense layer, and a dueling head on it."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class SameConv2d(nn.Conv2d):
    """A strided convolution padded as TensorFlow/Flax ``padding="SAME"``: output size ``ceil(input / stride)``,
    the odd pixel of padding at the bottom/right (PyTorch's ``padding="same"`` allows stride 1 only)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, kernel, stride in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


class QNetwork(nn.Module):
    """Q-values (B, num_actions) of observations (B, C, H, W) scaled to [0, 1].

    Flax's defaults are kept: Xavier-uniform weights, zero biases. The dueling head is ``value + advantage -
    mean(advantage)``, both read from the one 512-unit layer.
    """

    def __init__(self, in_channels: int, frame_shape: tuple[int, int], num_actions: int, hidden: int = 512,
                 dueling: bool = True, padding: str = "same") -> None:
        super().__init__()
        layers, channels, (height, width) = [], in_channels, frame_shape
        for out, kernel, stride in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
            if padding == "same":
                layers += [SameConv2d(channels, out, kernel, stride), nn.ReLU()]
                height, width = math.ceil(height / stride), math.ceil(width / stride)
            else:
                layers += [nn.Conv2d(channels, out, kernel, stride), nn.ReLU()]
                height, width = (height - kernel) // stride + 1, (width - kernel) // stride + 1
            channels = out
        self.encoder = nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * height * width, hidden), nn.ReLU())
        self.advantage = nn.Linear(hidden, num_actions)
        self.value = nn.Linear(hidden, 1) if dueling else None
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.encoder(x)
        advantage = self.advantage(features)
        if self.value is None:
            return advantage
        return self.value(features) + advantage - advantage.mean(dim=1, keepdim=True)
