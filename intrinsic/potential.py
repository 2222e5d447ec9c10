"""The arrow-of-time potential h(s) and the intrinsic reward made from its jumps."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from envs import ExperienceStore
from envs.files import read_checkpoint, save_torch
from intrinsic.config import ArrowOfTimeConfig
from intrinsic.objectives import episode_lengths, functional_loss, time_regression_loss

CHECKPOINT_FORMAT = "rl-workbench/arrow-of-time-v1"


def potential_network(obs_shape: tuple[int, ...], hidden: int) -> nn.Module:
    """An MLP for vector or small-grid observations, a conv net for image stacks (H, W >= 32)."""
    if len(obs_shape) >= 3 and min(obs_shape[-2:]) >= 32:
        channels = obs_shape[0] * (obs_shape[-1] if len(obs_shape) == 4 else 1)
        return nn.Sequential(
            _ToChannels(), nn.Conv2d(channels, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
            nn.Linear(64 * 16, hidden), nn.ReLU(), nn.Linear(hidden, 1),
        )
    return nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(obs_shape)), hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))


class _ToChannels(nn.Module):
    """(B, S, H, W) or (B, S, H, W, 3) pixel values -> (B, C, H, W) in [0, 1]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:
            x = x.permute(0, 1, 4, 2, 3).flatten(1, 2)
        return x / 255.0


class ArrowOfTime:
    """Learns h(s) from consecutive pairs, by the configured objective (``intrinsic/objectives.py``):

    - ``functional``: maximise J = E[h(s') - h(s)] under ``lambda * mean(dh^2)`` (+ ``l2_lambda * mean(h^2)``).
      Reports and rewards use ``2 * lambda * dh``: about 1 for transitions never reversed, 0 for reversible ones.
    - ``time_regression``: h(s) fits t / T of s in its episode. Reports and rewards use dh, in episode fractions.
    """

    def __init__(self, config: ArrowOfTimeConfig, obs_shape: tuple[int, ...], device: str = "cpu") -> None:
        self.config, self.obs_shape, self.device = config, tuple(obs_shape), torch.device(device)
        self.network = potential_network(self.obs_shape, config.hidden).to(self.device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.learning_rate)
        self.delta = config.delta
        self.beta = config.beta  # may be scheduled during training (e.g. ramped up once the task is learnt)

    def h(self, obs: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Potential of a batch of observations, (B,)."""
        if isinstance(obs, np.ndarray):
            obs = np.ascontiguousarray(obs)  # views such as obs[::-1] cannot become tensors directly
        x = torch.as_tensor(obs, device=self.device).float()
        return self.network(self._masked(x)).squeeze(-1)

    @property
    def jump_scale(self) -> float:
        """What :meth:`jump` multiplies dh by: ``2 * lambda`` (functional), 1 (time regression: episode fractions)."""
        return 2 * self.config.trajectory_lambda if self.config.objective == "functional" else 1.0

    def jump(self, obs: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
        """``jump_scale * (h(s') - h(s))`` per transition, (B,)."""
        with torch.no_grad():
            dh = self.h(next_obs) - self.h(obs)
        return (self.jump_scale * dh).cpu().numpy()

    def loss(self, obs: torch.Tensor, next_obs: torch.Tensor, time: torch.Tensor | None = None,
             next_time: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The configured objective on a batch of pairs; ``time``/``next_time`` (B,) are the episode fractions
        that ``time_regression`` fits."""
        h, h_next = self.h(obs), self.h(next_obs)
        if self.config.objective == "time_regression":
            return time_regression_loss(h, h_next, time, next_time)
        return functional_loss(h, h_next, self.config.trajectory_lambda, self.config.l2_lambda)

    def fit(self, store: ExperienceStore, rng: np.random.Generator, steps: int | None = None,
            where: np.ndarray | None = None, shuffle_order: bool = False) -> dict[str, float]:
        """Adam on pairs from ``store`` (never across an episode; not across a life loss unless configured).
        Sets ``delta`` from the training pairs when the config leaves it None. ``shuffle_order`` swaps each
        pair with probability 1/2: a control that has no arrow of time to find (its J should be near 0)."""
        keep = np.ones(store.size, bool)
        if not self.config.across_life_loss:
            keep &= ~store.life_lost[: store.size]
        if not self.config.across_terminal:  # episode ends; life losses are terminal too but handled above
            keep &= ~(store.terminated[: store.size] & ~store.life_lost[: store.size])
        lengths = None  # episode lengths, which only time regression needs
        if self.config.objective == "time_regression":  # only finished episodes have a known length
            lengths = episode_lengths(store)
            keep &= ~np.isnan(lengths[store.episode[: store.size]])
            if not keep.any():
                raise ValueError(f"objective='time_regression' needs finished episodes; none of the {store.size} "
                                 "rows in the store belongs to one (collect more, or use objective=functional)")
        where = keep if where is None else where & keep
        metrics: dict[str, float] = {}
        for _ in range(steps or self.config.steps):
            losses = self.loss(*self._training_pairs(store, rng, where, lengths, shuffle_order))
            self.optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            self.optimizer.step()
            metrics = {k: float(v.detach()) for k, v in losses.items()}
        if self.config.delta is None:
            # Robust to the (rare) events among the pairs: median + 3 scaled MADs of the jumps.
            sample = store.pairs(4096, rng, where)
            jumps = self.jump(sample["obs"], sample["next_obs"])
            median = float(np.median(jumps))
            self.delta = median + 3 * 1.4826 * float(np.median(np.abs(jumps - median)))
        return {**metrics, "delta": self.delta}

    def _training_pairs(self, store: ExperienceStore, rng: np.random.Generator, where: np.ndarray,
                        lengths: np.ndarray | None, shuffle_order: bool) -> list[torch.Tensor]:
        """obs, next_obs and, given episode ``lengths``, their episode fractions t / T. The control plays each
        pair backwards with probability 1/2, as it would appear in the reversed episode (fractions 1 - t)."""
        batch = store.pairs(self.config.batch_size, rng, where)
        obs, next_obs = batch["obs"], batch["next_obs"]
        times = []
        if lengths is not None:
            next_time = batch["step"] / lengths[batch["episode"]]
            times = [next_time - 1 / lengths[batch["episode"]], next_time]
        if shuffle_order:
            swap = rng.random(len(obs)) < 0.5
            flip = swap.reshape(-1, *[1] * (obs.ndim - 1))
            obs, next_obs = np.where(flip, next_obs, obs), np.where(flip, obs, next_obs)
            if times:
                times = [np.where(swap, 1 - times[1], times[0]), np.where(swap, 1 - times[0], times[1])]
        return [torch.as_tensor(x, device=self.device) for x in (obs, next_obs)] + [
            torch.as_tensor(t, device=self.device, dtype=torch.float32) for t in times]

    def reward(self, obs: np.ndarray, next_obs: np.ndarray, action: np.ndarray | None = None) -> np.ndarray:
        """Intrinsic reward per transition: ``-beta * relu(jump - delta)`` (safety) or ``-beta * jump``
        (curiosity); ``action`` is not needed."""
        jump = self.jump(obs, next_obs)
        if self.config.mode == "safety":
            return -self.beta * np.maximum(jump - (self.delta or 0.0), 0.0)
        return -self.beta * jump

    def state(self) -> dict[str, Any]:
        """Config, delta and weights (on CPU) as plain data: what :meth:`save` writes and :meth:`from_state` reads."""
        return {"format": CHECKPOINT_FORMAT, "config": dataclasses.asdict(self.config),
                "obs_shape": list(self.obs_shape), "delta": self.delta,
                "weights": {k: v.detach().cpu() for k, v in self.network.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict[str, Any], device: str = "cpu") -> ArrowOfTime:
        model = cls(ArrowOfTimeConfig(**state["config"]), tuple(state["obs_shape"]), device)
        model.network.load_state_dict(state["weights"])
        model.delta = state["delta"]
        return model

    def save(self, path: str | Path) -> None:
        state = self.state()
        save_torch(state, path)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> ArrowOfTime:
        return cls.from_state(read_checkpoint(path, CHECKPOINT_FORMAT, "arrow-of-time"), device)

    def _masked(self, x: torch.Tensor) -> torch.Tensor:
        if not self.config.mask:
            return x
        x = x.clone()
        image_axes = (-3, -2) if x.dim() == 5 else (-2, -1)
        for r0, r1, c0, c1 in self.config.mask:
            index = [slice(None)] * x.dim()
            index[image_axes[0]], index[image_axes[1]] = slice(r0, r1), slice(c0, c1)
            x[tuple(index)] = 0
        return x
