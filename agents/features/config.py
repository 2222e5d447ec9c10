"""Which network reads a policy's observations, as data."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym

from envs.files import read_checkpoint
from envs.validate import require_range
from world_models.cswm import CSWM, CSWMConfig


@dataclass(frozen=True)
class PolicyConfig:
    """The policy's feature extractor.

    Attributes:
        features: ``auto`` picks by observation shape (Nature CNN, SimPLe's CNN, grid CNN or MLP); ``nature``
            and ``grid`` ask for the Nature CNN (channel-first frame stacks) or the grid CNN (float planes) and
            are refused for other observations; ``cswm`` reads observations through a C-SWM encoder (its
            object slots become the features).
        cswm_checkpoint: a trained C-SWM (``workbench world-model train``) to start from; None trains a fresh
            encoder of config ``cswm`` jointly with the policy.
        cswm: the fresh encoder's config (ignored with a checkpoint, whose config wins).
        cswm_fit: composed agents only: a C-SWM learner fits the encoder contrastively on the real data each
            iteration (beside the world-model learner, an actor on Ray) and the policy's encoder loads its
            weights: after every fit when ``freeze`` (a fixed encoder, refreshed), after the first only when not
            (then fine-tuned by the policy's own loss). ``cswm_fit_steps``: Adam steps of each fit.
        freeze: keep a pretrained (or fitted) encoder fixed.
        crop_rows: Atari frame stacks only: rows of the 210-row ALE frame the encoder sees (C-SWM's Pong data:
            [35, 190]); None keeps the whole frame.
    """

    features: Literal["auto", "nature", "grid", "cswm"] = "auto"
    cswm_checkpoint: str | None = None
    cswm: CSWMConfig = field(default_factory=CSWMConfig)
    cswm_fit: bool = False
    cswm_fit_steps: int = 200
    freeze: bool = False
    crop_rows: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        require_range("cswm_fit_steps", self.cswm_fit_steps, 1)
        if self.freeze and not (self.cswm_checkpoint or self.cswm_fit):
            raise ValueError("freeze=true needs cswm_checkpoint or cswm_fit=true (a fresh encoder must train)")
        if (self.cswm_fit or self.cswm_checkpoint) and self.features != "cswm":
            raise ValueError(f"cswm_fit / cswm_checkpoint need features='cswm' (got features={self.features!r})")
        if self.cswm_fit and self.cswm_checkpoint:
            raise ValueError("cswm_fit=true and cswm_checkpoint both set: the encoder comes from one of them")

    def extractor_spec(self, space: gym.Space) -> dict[str, Any] | None:
        """Plain-data kwargs of :class:`CSWMFeatures` for ``space`` (None for ``auto``); saved with agents."""
        if self.features != "cswm":
            return None
        if self.cswm_checkpoint:  # its config and input shape; the weights load once, into the policy
            state = read_checkpoint(self.cswm_checkpoint, CSWM.CHECKPOINT_FORMAT, CSWM.DESCRIPTION)
            config, shape = state["config"], list(state["obs_shape"])
        else:
            config = dataclasses.asdict(self.cswm)
            shape = list(space.shape) if len(space.shape) == 3 else [6, 50, 50]
        return {"cswm_config": config, "model_shape": shape,
                "crop_rows": list(self.crop_rows) if self.crop_rows else None, "freeze": self.freeze}
