"""C-SWM behind the WorldModel protocol: contrastive ``loss`` on transitions, latent ``step``."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from world_models.checkpoints import Checkpointed
from world_models.cswm.config import CSWMConfig
from world_models.cswm.networks import SlotEncoder, TransitionGNN, map_size, object_extractor
from world_models.protocols import StepOut


class CSWM(Checkpointed, nn.Module):
    """Observations (B, C, H, W) uint8 -> K object slots (B, K, D) -> GNN prediction of the next slots.

    Trained without pixel reconstruction: the predicted next state must be close (energy) to the encoded
    next observation and the encoded states of other samples must be at least ``hinge`` away.
    """

    CHECKPOINT_FORMAT, CONFIG_CLASS, DESCRIPTION = "rl-workbench/cswm-v1", CSWMConfig, "C-SWM"
    INIT_ARGS, TRAINING_FIELDS = ("obs_shape",), ("learning_rate", "batch_size", "epochs")

    def __init__(self, config: CSWMConfig, obs_shape: tuple[int, int, int], device: str | torch.device = "cpu") -> None:
        super().__init__()
        self.config, self.obs_shape = config, tuple(obs_shape)
        channels, height, width = self.obs_shape
        self.extractor = object_extractor(config, channels)
        self.slot_encoder = SlotEncoder(map_size(config, height, width), config.hidden_dim, config.embedding_dim)
        action_dim = 0 if config.action_encoding == "none" else config.actions_per_object
        self.transition = TransitionGNN(config.embedding_dim, action_dim, config.hidden_dim)
        for layer in self.extractor.modules():  # the reference's utils.weights_init: convolutions only
            if isinstance(layer, nn.Conv2d):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
        self.device = torch.device(device)
        self.to(self.device)

    def object_maps(self, obs: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) pixel values 0..255 (uint8 or float) -> (B, K, H', W') in [0, 1]."""
        return self.extractor(obs.to(self.device).float() / 255.0)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) uint8 -> abstract state (B, K, D)."""
        return self.slot_encoder(self.object_maps(obs))

    def predict(self, z: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Next abstract state z + dz for actions (B,) int."""
        return z + self.transition(z, self.action_vectors(action.to(self.device).long(), z.shape[1]))

    def action_vectors(self, action: torch.Tensor, num_objects: int) -> torch.Tensor:
        """(B,) -> (B, K, A) per-slot action inputs."""
        per_slot = self.config.actions_per_object
        if self.config.action_encoding == "none":
            return action.new_zeros(len(action), num_objects, 0, dtype=torch.float32)
        if self.config.action_encoding == "copy":
            return F.one_hot(action, per_slot).float()[:, None].expand(-1, num_objects, -1)
        return F.one_hot(action, per_slot * num_objects).float().view(-1, num_objects, per_slot)

    def energy(self, z: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``1 / (2 sigma^2)`` x mean over slots of squared Euclidean distance, (B,)."""
        return 0.5 / self.config.sigma ** 2 * (z - target).pow(2).sum(-1).mean(-1)

    def loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Contrastive hinge loss; batch: ``obs``, ``next_obs`` (B, C, H, W) uint8 and ``action`` (B,).

        ``positive = E(z + T(z, a), z')``; ``negative = relu(hinge - E(z, z~))`` with z~ the states of the
        batch permuted (the reference's negatives)."""
        z, z_next = self.encode(batch["obs"]), self.encode(batch["next_obs"])
        positive = self.energy(self.predict(z, batch["action"]), z_next).mean()
        permutation = torch.randperm(len(z), generator=generator).to(self.device)
        negative = F.relu(self.config.hinge - self.energy(z, z[permutation])).mean()
        return {"loss": positive + negative, "positive": positive.detach(), "negative": negative.detach()}

    def initial_state(self, context: torch.Tensor) -> torch.Tensor:
        """context: (B, C, H, W) uint8 observations -> (B, K, D)."""
        with torch.no_grad():
            return self.encode(context)

    @torch.no_grad()
    def step(self, state: torch.Tensor, action: torch.Tensor, generator: torch.Generator | None = None) -> StepOut:
        """One latent step; C-SWM renders no frame and predicts no reward (both None)."""
        return StepOut(None, None, self.predict(state, action))
