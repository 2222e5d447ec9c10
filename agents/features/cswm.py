"""A C-SWM encoder as the feature extractor of a stable-baselines3 policy: the policy reads object slots."""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from world_models.cswm import CSWM, CSWMConfig
from world_models.cswm.adapter import to_model_input


class CSWMFeatures(BaseFeaturesExtractor):
    """Observations -> C-SWM slots (B, K, D) -> flat features (B, K * D).

    Args:
        cswm_config: the encoder's :class:`CSWMConfig` as a dict (plain data, so saved agents rebuild it).
        model_shape: (C, H, W) the encoder reads; env observations are adapted by ``to_model_input``.
        crop_rows: rows of the 210-row ALE frame the encoder's data was cropped to (Atari stacks only).
        freeze: keep the encoder's weights and BatchNorm statistics fixed (a pretrained encoder);
            otherwise it trains jointly with the policy.
    """

    def __init__(self, observation_space: gym.Space, cswm_config: dict[str, Any], model_shape: list[int],
                 crop_rows: list[int] | None = None, freeze: bool = False) -> None:
        config = CSWMConfig(**cswm_config)
        super().__init__(observation_space, config.num_objects * config.embedding_dim)
        self.cswm = CSWM(config, tuple(model_shape))
        self.crop_rows = tuple(crop_rows) if crop_rows else None
        self.freeze = freeze
        if freeze:
            self.cswm.requires_grad_(False)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """observations: the env's, as floats 0..255 (SB3's image scaling is turned off for this extractor)."""
        pixels = to_model_input(observations, self.cswm.obs_shape, self.crop_rows)
        return self.cswm.encode(pixels).flatten(1)

    def train(self, mode: bool = True) -> CSWMFeatures:
        super().train(mode)
        if self.freeze:
            self.cswm.eval()  # frozen BatchNorm statistics too
        return self

    def load_pretrained(self, path: str) -> None:
        """Copy the weights of a C-SWM checkpoint (``weights_only``) into the encoder."""
        source = CSWM.from_checkpoint(path)
        if source.obs_shape != self.cswm.obs_shape or source.config != self.cswm.config:
            raise ValueError(f"{path} holds a C-SWM of another config or input shape than this policy's")
        self.cswm.load_state_dict(source.state_dict())
