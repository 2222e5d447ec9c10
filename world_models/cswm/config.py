"""Sizes and training settings of C-SWM."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envs.validate import require_choice, require_range

ENCODERS = {"small": 10, "medium": 5, "large": 1}  # encoder -> down-sampling of the object maps


@dataclass(frozen=True)
class CSWMConfig:
    """Contrastive structured world model of Kipf, van der Pol and Welling (ICLR 2020); defaults are the
    reference's for the block-pushing worlds (Atari: ``embedding_dim=4``, ``num_objects=3``, ``encoder=medium``,
    ``action_encoding=copy``).

    Attributes:
        encoder: object extractor CNN: ``small`` (10x10 conv, stride 10), ``medium`` (9x9 conv, then 5x5
            stride 5), ``large`` (four 3x3 convs, full resolution).
        extractor_channels: hidden channels of the extractor (32 in the reference: hidden_dim // 16).
        num_objects: object slots K, one sigmoid feature map each.
        embedding_dim: D, size of each slot's abstract state.
        hidden_dim: width of the slot encoder MLP and of the GNN's edge and node MLPs.
        action_encoding: ``per_object`` (action a moves object a // actions_per_object, e.g. 4 directions),
            ``copy`` (the same one-hot action on every slot, Atari) or ``none`` (actions ignored).
        actions_per_object: one-hot size each slot sees (4 for block pushing; the action count for ``copy``).
        sigma: energy is ``1 / (2 sigma^2)`` x the mean over slots of the squared distance.
        hinge: margin of the negative term.
        learning_rate, batch_size, epochs: Adam training on transitions.
    """

    encoder: Literal["small", "medium", "large"] = "small"
    extractor_channels: int = 32
    num_objects: int = 5
    embedding_dim: int = 2
    hidden_dim: int = 512
    action_encoding: Literal["per_object", "copy", "none"] = "per_object"
    actions_per_object: int = 4
    sigma: float = 0.5
    hinge: float = 1.0
    learning_rate: float = 5e-4
    batch_size: int = 1024
    epochs: int = 100

    def __post_init__(self) -> None:
        require_choice("encoder", self.encoder, list(ENCODERS))
        require_choice("action_encoding", self.action_encoding, ["per_object", "copy", "none"])
        for name in ("extractor_channels", "num_objects", "embedding_dim", "hidden_dim", "actions_per_object",
                     "batch_size", "epochs"):
            require_range(name, getattr(self, name), 1)
        require_range("sigma", self.sigma, 0.0)
        require_range("hinge", self.hinge, 0.0)
        require_range("learning_rate", self.learning_rate, 0.0)
        if self.sigma == 0:
            raise ValueError("sigma=0: the energy 1 / (2 sigma^2) is undefined; allowed: sigma > 0")

    def num_actions(self) -> int:
        """Size of the action space the model accepts."""
        if self.action_encoding == "per_object":
            return self.actions_per_object * self.num_objects
        return self.actions_per_object
