"""SimPLe's discrete latent: posterior bits from (input, target), and an LSTM prior that predicts them."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from world_models.simple.layers import Modulation


def discretize(z: torch.Tensor, flip_probability: float, training: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """tanh + straight-through sign, with Gaussian and bit-flip noise in training.

    Returns (bits, clean_bits), both (B, N) in {-1, +1}; gradients flow to ``z`` through ``bits`` only.
    """
    clean = torch.sign(z).detach()
    clean[clean == 0] = 1.0
    if training:
        z = z + 0.2 * torch.randn_like(z)
    soft = torch.tanh(z)
    hard = torch.where(soft >= 0, 1.0, -1.0)
    bits = soft + (hard - soft).detach()
    if training and flip_probability > 0:
        flips = torch.rand_like(bits) < flip_probability
        bits = torch.where(flips, -bits, bits)
    return bits, clean


class BitPosterior(nn.Module):
    """Infers latent bits from the stacked context frames and the target frame (training only)."""

    def __init__(self, in_channels: int, hidden: int, action_size: int, bits: int) -> None:
        super().__init__()
        narrow, wide = 4 * hidden // 3, 16 * hidden // 3
        self.embed = nn.Conv2d(in_channels, hidden, 1)
        self.action = Modulation(action_size, hidden)
        self.conv_narrow = nn.Conv2d(hidden, narrow, 8, stride=4, padding=2)
        self.conv_wide = nn.Conv2d(hidden, wide, 8, stride=4, padding=2)
        self.to_bits = nn.Linear(narrow + wide, bits)

    def forward(self, frames: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """frames: (B, C_in, H, W) standardized; action: (B, A) embedding. Returns pre-tanh logits (B, bits)."""
        x = self.action(self.embed(frames), action)
        pooled = [F.relu(conv(x)).mean(dim=(-2, -1)) for conv in (self.conv_narrow, self.conv_wide)]
        return self.to_bits(torch.cat(pooled, dim=1))


class BitPrior(nn.Module):
    """An LSTM that predicts the latent ``bits_per_step`` bits at a time (one 2^k-way softmax per group)."""

    def __init__(self, source_size: int, bits: int, bits_per_step: int, lstm_size: int) -> None:
        super().__init__()
        self.groups, self.group_size = bits // bits_per_step, bits_per_step
        classes = 2**bits_per_step
        self.start = nn.ModuleList(nn.Linear(source_size, lstm_size) for _ in range(3))  # input, h, c
        self.cell = nn.LSTMCell(lstm_size, lstm_size)
        self.logits = nn.Linear(lstm_size, classes)
        self.embed_group = nn.Embedding(classes, lstm_size)
        self.register_buffer("powers", 2 ** torch.arange(bits_per_step), persistent=False)

    def loss(self, source: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the prior on ``bits`` (B, N) in {-1, +1}, teacher-forced."""
        groups = self.bits_to_groups(bits)
        inputs, state = self._start(source)
        losses = []
        for g in range(self.groups):
            state = self.cell(inputs, state)
            losses.append(F.cross_entropy(self.logits(state[0]), groups[:, g]))
            inputs = self.embed_group(groups[:, g])
        return torch.stack(losses).mean()

    @torch.no_grad()
    def sample(self, source: torch.Tensor, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Bits (B, N) in {-1, +1} drawn group by group."""
        inputs, state = self._start(source)
        groups = []
        for _ in range(self.groups):
            state = self.cell(inputs, state)
            probs = F.softmax(self.logits(state[0]) / temperature, dim=-1)
            group = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            groups.append(group)
            inputs = self.embed_group(group)
        return self.groups_to_bits(torch.stack(groups, dim=1))

    def bits_to_groups(self, bits: torch.Tensor) -> torch.Tensor:
        """(B, N) in {-1, +1} -> (B, N / k) integers, little-endian within each group of k bits."""
        binary = (bits > 0).long().view(bits.shape[0], self.groups, self.group_size)
        return (binary * self.powers).sum(-1)

    def groups_to_bits(self, groups: torch.Tensor) -> torch.Tensor:
        binary = (groups[..., None] // self.powers) % 2
        return (binary.float() * 2 - 1).view(groups.shape[0], -1)

    def _start(self, source: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        inputs, h, c = (layer(source) for layer in self.start)
        return inputs, (h, c)
