"""Saving and loading world models: weights, config and constructor arguments, never pickled code."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import torch

from envs.files import read_checkpoint, save_torch


class Checkpointed:
    """Mixin for ``nn.Module`` world models built as ``cls(config, *INIT_ARGS, device)``, with the
    constructor arguments named in ``INIT_ARGS`` kept as attributes of the same names (plain data).
    Config fields in ``TRAINING_FIELDS`` (e.g. epochs) do not shape the weights and may differ on ``load``."""

    CHECKPOINT_FORMAT: ClassVar[str]
    CONFIG_CLASS: ClassVar[type]
    DESCRIPTION: ClassVar[str]
    INIT_ARGS: ClassVar[tuple[str, ...]]
    TRAINING_FIELDS: ClassVar[tuple[str, ...]] = ()

    def save(self, path: str | Path, extra: dict[str, Any] | None = None,
             weights: dict[str, torch.Tensor] | None = None) -> None:
        """Weights (this model's, or ``weights`` of the same shapes, e.g. an earlier epoch's), config,
        constructor arguments and ``extra`` (e.g. optimiser state), written atomically."""
        state = {"format": self.CHECKPOINT_FORMAT, "config": dataclasses.asdict(self.config),
                 **{name: getattr(self, name) for name in self.INIT_ARGS},
                 "weights": self.state_dict() if weights is None else weights, "extra": extra or {}}
        save_torch(state, path)

    def load(self, path: str | Path) -> dict[str, Any]:
        """Load weights saved by :meth:`save` (``weights_only``: runs no pickled code); returns ``extra``."""
        state = read_checkpoint(path, self.CHECKPOINT_FORMAT, self.DESCRIPTION)
        if self._shape_fields(state["config"]) != self._shape_fields(dataclasses.asdict(self.config)) or any(
                state[name] != getattr(self, name) for name in self.INIT_ARGS):
            raise ValueError(f"{path} holds a {self.DESCRIPTION} of another config or {', '.join(self.INIT_ARGS)}")
        self.load_state_dict(state["weights"])
        return state["extra"]

    def _shape_fields(self, config: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in config.items() if k not in self.TRAINING_FIELDS}

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu"):
        """The model rebuilt from its checkpoint alone."""
        state = read_checkpoint(path, cls.CHECKPOINT_FORMAT, cls.DESCRIPTION)
        model = cls(cls.CONFIG_CLASS(**state["config"]), *(state[name] for name in cls.INIT_ARGS), device)
        model.load_state_dict(state["weights"])
        return model
