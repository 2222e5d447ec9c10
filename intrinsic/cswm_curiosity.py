"""Curiosity from a C-SWM: the reward is how badly the latent transition model predicted the step taken."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from envs import ExperienceStore
from envs.files import read_checkpoint, save_torch
from envs.validate import require_range
from world_models.cswm import CSWM, CSWMConfig
from world_models.cswm.adapter import to_model_input

CHECKPOINT_FORMAT = "rl-workbench/cswm-curiosity-v1"


@dataclass(frozen=True)
class CSWMCuriosityConfig:
    """Attributes:
        cswm: the model (narrower than the paper's by default: it is refitted inside agents).
        steps: Adam steps of ``fit`` on transitions from the store.
        beta: reward = ``beta`` x energy of the prediction error, ``1/(2 sigma^2)`` x mean over slots of
            ``|z + T(z, a) - z'|^2`` (0 where the model predicted the step exactly).
        crop_rows: Atari RGB stacks only: rows of the 210-row ALE frame the model sees.
    """

    cswm: CSWMConfig = field(default_factory=lambda: CSWMConfig(hidden_dim=128, batch_size=256))
    steps: int = 1000
    beta: float = 1.0
    crop_rows: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        require_range("steps", self.steps, 1)
        require_range("beta", self.beta, 0.0)


def model_shape_for(obs_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(C, H, W) image observations are read as they are; (S, H, W, 3) RGB stacks as 2 frames at 50x50."""
    if len(obs_shape) == 3:
        return tuple(obs_shape)
    if len(obs_shape) == 4 and obs_shape[-1] == 3:
        return 6, 50, 50
    raise ValueError(f"observations of shape {obs_shape} are not images; C-SWM curiosity needs (C, H, W) or "
                     "(S, H, W, 3) observations")


class CSWMCuriosity:
    """The intrinsic-reward protocol over a C-SWM: ``fit`` on real transitions, ``reward`` per transition."""

    def __init__(self, config: CSWMCuriosityConfig, obs_shape: tuple[int, ...], device: str = "cpu") -> None:
        self.config, self.obs_shape, self.device = config, tuple(obs_shape), torch.device(device)
        self.model = CSWM(config.cswm, model_shape_for(self.obs_shape), device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.cswm.learning_rate)
        self.beta = config.beta  # may be scheduled during training

    def fit(self, store: ExperienceStore, rng: np.random.Generator, steps: int | None = None) -> dict[str, float]:
        """Contrastive training on transitions drawn from ``store`` (never across an episode)."""
        self.model.train()
        losses: dict[str, torch.Tensor] = {}
        for _ in range(steps or self.config.steps):
            batch = store.pairs(self.config.cswm.batch_size, rng)
            losses = self.model.loss({"obs": self._input(batch["obs"]), "next_obs": self._input(batch["next_obs"]),
                                      "action": torch.as_tensor(batch["action"])})
            self.optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            self.optimizer.step()
        return {k: float(v.detach()) for k, v in losses.items()}

    @torch.no_grad()
    def reward(self, obs: np.ndarray, next_obs: np.ndarray, action: np.ndarray | None = None) -> np.ndarray:
        """``beta`` x latent prediction error per transition, (B,); needs the actions taken."""
        if action is None:
            raise ValueError("C-SWM curiosity needs the actions of the transitions (reward(obs, next_obs, action))")
        self.model.eval()
        z = self.model.predict(self.model.encode(self._input(obs)), torch.as_tensor(np.asarray(action)))
        error = self.model.energy(z, self.model.encode(self._input(next_obs)))
        return (self.beta * error).cpu().numpy()

    def state(self) -> dict:
        """Config, input shape and weights (on CPU) as plain data: what :meth:`save` writes."""
        return {"format": CHECKPOINT_FORMAT, "config": dataclasses.asdict(self.config),
                "obs_shape": list(self.obs_shape),
                "weights": {k: v.detach().cpu() for k, v in self.model.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict, device: str = "cpu") -> CSWMCuriosity:
        config = state["config"]
        curiosity = cls(CSWMCuriosityConfig(**{**config, "cswm": CSWMConfig(**config["cswm"])}),
                        tuple(state["obs_shape"]), device)
        curiosity.model.load_state_dict(state["weights"])
        return curiosity

    def save(self, path: str | Path) -> None:
        state = self.state()
        save_torch(state, path)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> CSWMCuriosity:
        return cls.from_state(read_checkpoint(path, CHECKPOINT_FORMAT, "C-SWM curiosity"), device)

    def _input(self, obs: np.ndarray) -> torch.Tensor:
        pixels = torch.as_tensor(np.ascontiguousarray(obs), device=self.device)
        return to_model_input(pixels, self.model.obs_shape, self.config.crop_rows)
