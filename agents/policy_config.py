"""Which network reads a policy's observations, as data."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym

from envs.files import read_checkpoint
from world_models.cswm import CSWM, CSWMConfig


@dataclass(frozen=True)
class PolicyConfig:
    """The policy's feature extractor.

    Attributes:
        features: ``auto`` picks by observation shape (Nature CNN, SimPLe's CNN, grid CNN or MLP);
            ``cswm`` reads observations through a C-SWM encoder (its object slots become the features).
        cswm_checkpoint: a trained C-SWM (``workbench world-model train``) to start from; None trains a fresh
            encoder of config ``cswm`` jointly with the policy.
        cswm: the fresh encoder's config (ignored with a checkpoint, whose config wins).
        freeze: keep a pretrained encoder fixed.
        crop_rows: Atari frame stacks only: rows of the 210-row ALE frame the encoder sees (C-SWM's Pong data:
            [35, 190]); None keeps the whole frame.
    """

    features: Literal["auto", "cswm"] = "auto"
    cswm_checkpoint: str | None = None
    cswm: CSWMConfig = field(default_factory=CSWMConfig)
    freeze: bool = False
    crop_rows: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.freeze and not self.cswm_checkpoint:
            raise ValueError("policy.freeze=true needs policy.cswm_checkpoint (a fresh encoder must train)")

    def extractor_spec(self, space: gym.Space) -> dict[str, Any] | None:
        """Plain-data kwargs of :class:`CSWMFeatures` for ``space`` (None for ``auto``); saved with agents."""
        if self.features == "auto":
            return None
        if self.cswm_checkpoint:  # its config and input shape; the weights load once, into the policy
            state = read_checkpoint(self.cswm_checkpoint, CSWM.CHECKPOINT_FORMAT, CSWM.DESCRIPTION)
            config, shape = state["config"], list(state["obs_shape"])
        else:
            config = dataclasses.asdict(self.cswm)
            shape = list(space.shape) if len(space.shape) == 3 else [6, 50, 50]
        return {"cswm_config": config, "model_shape": shape,
                "crop_rows": list(self.crop_rows) if self.crop_rows else None, "freeze": self.freeze}
