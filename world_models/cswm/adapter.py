"""Env observations in the form a C-SWM reads: (B, C, H, W) uint8, newest frame first on channels."""
from __future__ import annotations

import torch
import torch.nn.functional as F

ALE_ROWS = 210  # height of a raw ALE frame, the unit of dataset crops


def to_model_input(obs: torch.Tensor, model_shape: tuple[int, int, int],
                   crop_rows: tuple[int, int] | None = None) -> torch.Tensor:
    """(B, C, H, W) observations of the model's shape pass through. (B, S, H, W, 3) RGB frame stacks
    (``envs`` Atari formats and simulated envs, newest frame last) become the newest C / 3 frames, newest
    first on channels, cropped to ``crop_rows`` (rows of the 210-row ALE frame, as the dataset was) and
    area-resized to the model's (H, W). Returns float values in 0..255."""
    if tuple(obs.shape[1:]) == tuple(model_shape):
        return obs.float()
    channels, height, width = model_shape
    if obs.dim() != 5 or obs.shape[-1] != 3 or channels % 3 or obs.shape[1] < channels // 3:
        raise ValueError(f"observations of shape {tuple(obs.shape[1:])} cannot feed a C-SWM that reads "
                         f"{tuple(model_shape)}: use (C, H, W) observations of that shape or RGB frame stacks "
                         f"(S, H, W, 3) with S >= {channels // 3}")
    frames = obs[:, -(channels // 3):].flip(1).permute(0, 1, 4, 2, 3).flatten(1, 2).float()  # (B, C, H', W')
    if crop_rows:
        scale = frames.shape[2] / ALE_ROWS
        frames = frames[:, :, round(crop_rows[0] * scale):round(crop_rows[1] * scale)]
    return F.interpolate(frames, size=(height, width), mode="area")
