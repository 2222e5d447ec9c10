"""SimPLe's discrete latent: posterior bits from (input, target), and an LSTM prior that predicts them."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from world_models.simple.layers import Modulation


def discretize(z: torch.Tensor, flip_probability: float, training: bool,
               discrete_probability: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """tensor2tensor's ``tanh_discrete_bottleneck``: tanh + straight-through sign, with truncated Gaussian
    (std 0.2) and bit-flip noise in training; while warming up, each bit is the discrete one with
    ``discrete_probability``, else the continuous tanh value.

    Returns (bits, clean_bits), both (B, N); clean bits are the sign of ``z`` before noise, in {-1, +1}, without
    gradient; gradients flow to ``z`` through ``bits`` only.
    """
    clean = torch.where(z > 0, 1.0, -1.0).detach()
    if training:
        z = z + truncated_normal_like(z, std=0.2)
    soft = torch.tanh(z)
    bits = soft + (torch.where(soft > 0, 1.0, -1.0) - soft).detach()
    if training and flip_probability > 0:
        bits = torch.where(torch.rand_like(bits) < flip_probability, -bits, bits)
    if training and discrete_probability < 1.0:
        bits = torch.where(torch.rand_like(bits) < discrete_probability, bits, soft)
    return bits, clean


def truncated_normal_like(x: torch.Tensor, std: float) -> torch.Tensor:
    """Gaussian noise shaped as ``x``, truncated at 2 std as TensorFlow's ``truncated_normal``, drawn by
    inverting the CDF: ``nn.init.trunc_normal_`` redraws out-of-range values in a loop that ``torch.compile``
    cannot trace (a graph break inside the model's forward pass)."""
    bound = math.erf(2 / math.sqrt(2))  # the uniform range whose inverse CDF lands in (-2 std, 2 std)
    uniform = torch.empty_like(x).uniform_(-bound, bound)
    return uniform.erfinv_().mul_(std * math.sqrt(2)).clamp_(-2 * std, 2 * std)


def same_padding(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Zero-pad a (B, C, H, W) map as TensorFlow's ``padding="SAME"`` does (output size ceil(size / stride))."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class AttentionMeanPool(nn.Module):
    """tensor2tensor's ``mean_with_attention``: (B, C, H, W) -> (B, 2C) from 4 softmax-attention heads over the
    positions (averaged, as the reference does, so also divided by H x W) and the plain mean."""

    def __init__(self, channels: int, heads: int = 4) -> None:
        super().__init__()
        self.attention = nn.Conv2d(channels, heads, 1)
        self.out = nn.Linear((heads + 1) * channels, 2 * channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.attention(x).flatten(2).softmax(-1)  # (B, heads, HW)
        features = x.flatten(2)  # (B, C, HW)
        attended = torch.einsum("bcp,bkp->bck", features, weights) / features.shape[-1]
        return self.out(torch.cat([attended, features.mean(-1, keepdim=True)], dim=-1).flatten(1))


class BitPosterior(nn.Module):
    """Infers latent bits from the stacked context frames and the target frame (training only).

    tensor2tensor's tower: a 1x1 embedding conditioned on the action, then ``double_discriminator``: an 8x8
    stride-4 conv (128 filters at the paper's hidden 96) pooled by :class:`AttentionMeanPool`, a second 8x8
    stride-4 conv (4x the filters) on its ReLU (``stacked``; else on the embedding), pooled the same way.
    """

    def __init__(self, in_channels: int, hidden: int, action_size: int, bits: int, stacked: bool = True) -> None:
        super().__init__()
        first, second = 4 * hidden // 3, 16 * hidden // 3
        self.stacked = stacked
        self.embed = nn.Conv2d(in_channels, hidden, 1)
        self.action = Modulation(action_size, hidden)
        self.conv1 = nn.Conv2d(hidden, first, 8, stride=4)
        self.conv2 = nn.Conv2d(first if stacked else hidden, second, 8, stride=4)
        self.pool1, self.pool2 = AttentionMeanPool(first), AttentionMeanPool(second)
        self.to_bits = nn.Linear(2 * (first + second), bits)

    def feature_maps(self, frames: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two convs' maps, (B, C1, H/4, W/4) and (B, C2, H/16, W/16) stacked (H/4, W/4 if not)."""
        x = self.action(self.embed(frames), action)
        first = self.conv1(same_padding(x, 8, 4))
        return first, self.conv2(same_padding(F.relu(first) if self.stacked else x, 8, 4))

    def forward(self, frames: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """frames: (B, C_in, H, W) standardized; action: (B, A) embedding. Returns pre-tanh logits (B, bits)."""
        first, second = self.feature_maps(frames, action)
        return self.to_bits(torch.cat([self.pool1(first), self.pool2(second)], dim=1))


class BitPrior(nn.Module):
    """An LSTM that predicts the latent ``bits_per_step`` bits at a time (one 2^k-way softmax per group)."""

    def __init__(self, source_size: int, bits: int, bits_per_step: int, lstm_size: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.groups, self.group_size, self.dropout = bits // bits_per_step, bits_per_step, dropout
        classes = 2**bits_per_step
        self.start = nn.ModuleList(nn.Linear(source_size, lstm_size) for _ in range(3))  # input, h, c
        self.cell = nn.LSTMCell(lstm_size, lstm_size)
        self.logits = nn.Linear(lstm_size, classes)
        self.embed_group = nn.Embedding(classes, lstm_size)
        self.register_buffer("powers", 2 ** torch.arange(bits_per_step), persistent=False)

    def loss(self, source: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the prior on ``bits`` (B, N) in {-1, +1}, teacher-forced; in training with dropout
        on the embedded groups fed in and on the LSTM's outputs, as tensor2tensor's ``predict_bits_with_lstm``."""
        groups = self.bits_to_groups(bits)
        inputs, state = self._start(source)
        losses = []
        for g in range(self.groups):
            state = self.cell(inputs, state)
            logits = self.logits(F.dropout(state[0], self.dropout, self.training)).float()
            losses.append(F.cross_entropy(logits, groups[:, g]))
            inputs = F.dropout(self.embed_group(groups[:, g]), self.dropout, self.training)
        return torch.stack(losses).mean()

    @torch.no_grad()
    def sample(self, source: torch.Tensor, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Bits (B, N) in {-1, +1} drawn group by group."""
        inputs, state = self._start(source)
        groups = []
        for _ in range(self.groups):
            state = self.cell(inputs, state)
            probs = F.softmax(self.logits(state[0]).float() / temperature, dim=-1)
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
