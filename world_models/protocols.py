"""The small protocol every world model meets."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch


@dataclass
class StepOut:
    """One batched imagined step.

    Attributes:
        frame: (B, H, W, C) uint8, the predicted next frame; None for latent-only models (C-SWM).
        reward: (B,) float32 in {-1, 0, 1} (clipped reward, as the real env gives in train mode); None for
            models without a reward head.
        state: what the next ``step`` needs (SimPLe: the last ``context_frames`` frames; C-SWM: the slots).
    """

    frame: torch.Tensor | None
    reward: torch.Tensor | None
    state: Any


class WorldModel(Protocol):
    """A learned environment: trained with ``loss`` on real sequences, stepped in imagination with ``step``.

    Attributes:
        device: where it computes. ``num_actions``: its discrete action count.
        frame_shape: (H, W, C) of the frames it reads and, unless latent-only, predicts.
        context_frames: real frames ``initial_state`` reads (K).
        config: its settings; world-model training reads ``context_frames``, ``target_frames``, ``batch_size``
            and ``learning_rate`` from it (and ``warmup_steps``, ``grad_clip`` where present).
    """

    device: torch.device
    num_actions: int
    config: Any

    @property
    def frame_shape(self) -> tuple[int, int, int]: ...

    @property
    def context_frames(self) -> int: ...

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Scalar ``loss`` to minimise plus named parts to log; ``batch`` as ``ExperienceStore.sequences`` gives it."""

    def initial_state(self, context: torch.Tensor) -> Any:
        """State from real context frames (B, K, H, W, C) uint8."""

    def step(self, state: Any, action: torch.Tensor, generator: torch.Generator | None = None) -> StepOut:
        """Imagine one step for a batch of states and actions (B,) int64; ``generator`` drives any sampling."""

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Weights, to copy the model to imagined envs elsewhere (``load_state_dict``)."""

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> Any: ...

    def save(self, path: str | Path, extra: dict[str, Any] | None = None) -> None:
        """Weights, config and ``extra`` (e.g. optimiser state), atomically, in a format that runs no code."""

    def load(self, path: str | Path) -> dict[str, Any]:
        """Restore what :meth:`save` wrote; returns its ``extra``."""
