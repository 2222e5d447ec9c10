"""DrQ's image augmentation as Dopamine applies it (``atari_100k_rainbow_agent.drq_image_augmentation``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def drq_augment(x: torch.Tensor, generator: torch.Generator, pad: int = 4, intensity: float = 0.05) -> torch.Tensor:
    """Each image of ``x`` (B, C, H, W), values in [0, 1], shifted by its own random offset and scaled by its own
    intensity factor; returns a new tensor, ``x`` is untouched.

    Shift: edge-replicate ``pad`` pixels on every side, then crop H x W at a random corner in ``[0, 2 * pad)``
    on each axis (Dopamine draws with an exclusive upper bound, so offsets run -pad..pad-1). Every frame of one
    stacked observation moves together. Intensity: ``x * (1 + intensity * clip(N(0, 1), -2, 2))`` per image.
    """
    batch, _, height, width = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    corners = torch.randint(0, max(2 * pad, 1), (batch, 2), generator=generator, device=x.device).tolist()
    # Slicing per image is ~10x faster on CPU than one advanced-indexing gather of the whole batch.
    shifted = torch.stack([padded[i, :, row:row + height, col:col + width] for i, (row, col) in enumerate(corners)])
    noise = torch.randn(batch, 1, 1, 1, generator=generator, device=x.device).clamp(-2.0, 2.0)
    return shifted * (1.0 + intensity * noise)
