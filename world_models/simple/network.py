"""The SimPLe next-frame network: conv encoder, bottleneck conditioning, U-Net decoder, frame and reward heads."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from world_models.simple import pixel_loss
from world_models.simple.config import SimPLeModelConfig
from world_models.simple.latent import BitPosterior, BitPrior, discretize
from world_models.simple.layers import (
    ChannelNorm,
    Modulation,
    conv_belu,
    crop,
    dropout,
    pad_even,
    spatial_mean,
    standardize,
    with_bipolar_sign,
)
from world_models.simple.pixel_loss import (
    compiled_most_likely_values,
    head_logits,
    head_matrix,
    most_likely_values,
    pixel_chunks,
)

REWARD_CLASSES = 3  # clipped rewards -1, 0, +1


@dataclass
class NetworkOut:
    """features: (B, H, W, hidden), what the frame head reads (:meth:`SimPLeNetwork.frame_logits`,
    :meth:`SimPLeNetwork.most_likely_frame`); reward_logits: (B, 3); prior_loss: scalar (0 when deterministic)."""

    features: torch.Tensor
    reward_logits: torch.Tensor
    prior_loss: torch.Tensor


def pixel_noise(frames: torch.Tensor, probability: float) -> torch.Tensor:
    """(B, K, H, W, C) uint8 frames with each pixel (all its channels) replaced, with ``probability``, by the
    median colour of the batch: the input noise of tensor2tensor's deterministic next-frame model."""
    background = frames.flatten(0, -2).median(dim=0).values
    noisy = torch.rand(frames.shape[:-1], device=frames.device)[..., None] < probability
    return torch.where(noisy, background, frames)


def stack_on_channels(frames: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """(B, K, H, W, C) -> (B, K*C, H, W), frame-major channels; with ``channels_last`` in that memory format
    (the (B, H, W, K*C) bytes as they lie, no copy), which every layer after it then keeps."""
    if channels_last:
        return frames.permute(0, 2, 3, 1, 4).flatten(3).permute(0, 3, 1, 2)
    return frames.permute(0, 1, 4, 2, 3).flatten(1, 2)


class SimPLeNetwork(nn.Module):
    """Predicts the next frame and reward from ``context_frames`` frames and an action."""

    def __init__(self, config: SimPLeModelConfig, num_actions: int) -> None:
        super().__init__()
        c = self.config = config
        in_channels = c.context_frames * c.channels
        down = [c.channels_after(i) for i in range(c.compress_steps)]
        bottleneck = down[-1]
        self.action_embedding = nn.Embedding(num_actions, c.hidden)
        self.embed = nn.Conv2d(in_channels, c.hidden, 1)
        self.down = nn.ModuleList(with_bipolar_sign(nn.Conv2d(i, o, 4, stride=2, padding=1))
                                  for i, o in zip([c.hidden, *down], down))
        self.down_norms = nn.ModuleList(ChannelNorm(o) for o in down)
        self.action_bottleneck = Modulation(c.hidden, bottleneck)
        self.middle = nn.ModuleList(with_bipolar_sign(nn.Conv2d(bottleneck, bottleneck, 3, padding=1))
                                    for _ in range(c.middle_layers))
        self.middle_norms = nn.ModuleList(ChannelNorm(bottleneck) for _ in range(c.middle_layers))
        skips = [*down[-2::-1], c.hidden]  # U-Net: each up step lands on the matching down step's size
        self.up_actions = nn.ModuleList(Modulation(c.hidden, i) for i in [bottleneck, *skips[:-1]])
        self.up = nn.ModuleList(with_bipolar_sign(nn.ConvTranspose2d(i, o, 4, stride=2, padding=1))
                                for i, o in zip([bottleneck, *skips[:-1]], skips))
        self.up_norms = nn.ModuleList(ChannelNorm(o) for o in skips)
        self.frame_head = nn.Linear(c.hidden, c.channels * 256)  # per pixel, classes last for a fast softmax
        self.reward_head = nn.Sequential(
            nn.Linear(bottleneck + c.hidden, 128), nn.ReLU(), nn.Linear(128, REWARD_CLASSES))
        if c.stochastic:
            self.posterior = BitPosterior(in_channels + c.channels, c.hidden, c.hidden, c.latent_bits,
                                          c.posterior_stacked)
            self.prior = BitPrior(bottleneck * self._bottleneck_pixels(), c.latent_bits, c.bits_per_step,
                                  c.prior_lstm_size, c.prior_dropout)
            self.latent = Modulation(c.latent_bits, bottleneck)
        self._most_likely_values = most_likely_values
        if c.channels_last:
            self.to(memory_format=torch.channels_last)

    def compile(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 (torch.compile's options)
        """``torch.compile`` the forward pass and the frame head's chunks of :meth:`most_likely_frame`, in place
        (the state dict keeps its keys)."""
        super().compile(*args, **kwargs)
        self._most_likely_values = compiled_most_likely_values(*args, **kwargs)

    def forward(self, context: torch.Tensor, action: torch.Tensor, target: torch.Tensor | None = None,
                generator: torch.Generator | None = None, step: float = float("inf")) -> NetworkOut:
        """context: (B, K, H, W, C) uint8; action: (B,) int64; target: (B, H, W, C) uint8, needed to train
        the stochastic model (posterior bits); without it the bits are sampled from the LSTM prior
        (with ``generator`` if given). ``step``: the training step the latent's schedules are at (default:
        past every warm-up)."""
        c = self.config
        a = self.action_embedding(action)
        if self.training and not c.stochastic and c.input_noise > 0:
            context = pixel_noise(context, c.input_noise)
        frames = standardize(stack_on_channels(context, c.channels_last))
        x = self.embed(frames)
        skips = [x]
        for conv, norm in zip(self.down, self.down_norms):
            x = norm(conv_belu(conv, pad_even(dropout(x, c.dropout, self.training))))
            skips.append(x)
        x = self.action_bottleneck(x, a)
        x, prior_loss = self._inject_latent(x, frames, a, target, generator, step)
        bottleneck_mean = spatial_mean(x)
        for i, (conv, norm) in enumerate(zip(self.middle, self.middle_norms)):
            y = conv_belu(conv, dropout(x, c.residual_dropout, self.training))
            x = y if i == 0 else norm(x + y)
        for modulate, deconv, norm, skip in zip(self.up_actions, self.up, self.up_norms, skips[-2::-1]):
            x = conv_belu(deconv, modulate(dropout(x, c.dropout, self.training), a))
            x = norm(crop(x, *skip.shape[-2:]) + skip)
        reward_logits = self.reward_head(torch.cat([bottleneck_mean, spatial_mean(x)], dim=1))
        return NetworkOut(x.permute(0, 2, 3, 1), reward_logits, prior_loss)

    def frame_logits(self, features: torch.Tensor) -> torch.Tensor:
        """(B, H, W, hidden) features -> (B, H, W, C, 256) logits of every subpixel's value."""
        channels = self.config.channels
        logits = head_logits(features.reshape(-1, features.shape[-1]), head_matrix(self.frame_head), channels)
        return logits.view(*features.shape[:-1], channels, 256)

    def most_likely_frame(self, features: torch.Tensor) -> torch.Tensor:
        """(B, H, W, C) uint8: each subpixel's most likely value, the head run over a chunk of pixels at a time
        (:func:`~world_models.simple.pixel_loss.pixel_chunks`), so the (B, H, W, C, 256) logits never exist at
        once (at batch 16 and 105x80 they would be 413 MB of float32, which on a CPU cost more to allocate and
        scan than the head's matmul itself)."""
        pixels, channels = features.reshape(-1, features.shape[-1]), self.config.channels
        matrix = head_matrix(self.frame_head)
        frame = torch.empty(len(pixels), channels, dtype=torch.uint8, device=features.device)
        for part in pixel_chunks(len(pixels), features.device, pixel_loss.FRAME_CPU_CHUNK):
            frame[part] = self._most_likely_values(pixels[part], matrix, channels)
        return frame.view(*features.shape[:-1], channels)

    def _inject_latent(
        self, x: torch.Tensor, frames: torch.Tensor, a: torch.Tensor, target: torch.Tensor | None,
        generator: torch.Generator | None, step: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.config.stochastic:
            return x, x.new_zeros(())
        source = x.flatten(1)
        if target is None:
            return self.latent(x, self.prior.sample(source, generator=generator)), x.new_zeros(())
        target_frame = standardize(target.permute(0, 3, 1, 2))
        z = self.posterior(torch.cat([frames, target_frame], dim=1), a)
        schedule = self.config.schedules(step)
        bits, clean_bits = discretize(z, self.config.bit_noise, self.training, schedule["discrete"])
        prior_loss = self.prior.loss(source, clean_bits)
        if not self.training:
            return self.latent(x, bits), prior_loss
        # As in tensor2tensor: mix in bits the prior would have drawn (per bit), and drop the latent for some
        # examples, so the model leans on the action and context and stays usable with prior samples.
        from_prior = torch.rand_like(bits) < schedule["prior_mix"]
        bits = torch.where(from_prior, self.prior.sample(source.detach()), bits)
        keep = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < schedule["latent_use"]
        return torch.where(keep, self.latent(x, bits), x), prior_loss

    def _bottleneck_pixels(self) -> int:
        h, w = self.config.frame_height, self.config.frame_width
        for _ in range(self.config.compress_steps):
            h, w = (h + 1) // 2, (w + 1) // 2
        return h * w
