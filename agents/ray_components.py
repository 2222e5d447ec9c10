"""The parts of a distributed agent, each a plain class that ``ray.remote`` turns into an actor.

    RealCollector        plays the real env (random or the latest policy) and returns what it saw as a store
    WorldModelLearner    owns the real data and the world model; trains it and hands out weights and start frames
    PotentialLearner     fits the arrow-of-time potential on the same data

Each is usable in-process too (tests do), so the distributed loop adds only scheduling, not logic.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from envs import AtariConfig, ExperienceStore, make_vector_env
from intrinsic import ArrowOfTime, ArrowOfTimeConfig
from world_models import SimPLeModelConfig, SimPLeWorldModel, store_starts
from world_models.evaluation import prediction_metrics
from world_models.training import heldout_mask, sequence_batch, train_world_model


class RealCollector:
    """``num_envs`` real envs of one game, reset at the start of every :meth:`collect` (as SimPLe collects)."""

    def __init__(self, env_config: AtariConfig, num_envs: int, seed: int) -> None:
        self.env_config, self.num_envs = env_config, num_envs
        self.rng = np.random.default_rng(seed)

    def collect(self, steps: int, policy: torch.nn.Module | None = None) -> tuple[ExperienceStore, list[float]]:
        """Exactly ``steps`` agent steps (a multiple of ``num_envs``) with ``policy.predict`` (None: uniformly
        random actions); returns them as a trimmed store and the raw scores of the games that ended."""
        if steps % self.num_envs:
            raise ValueError(f"steps={steps} must be a multiple of this collector's num_envs={self.num_envs}")
        env = make_vector_env(self.env_config.game, self.num_envs, self.env_config)
        store = ExperienceStore(self.env_config.observation_shape, self.env_config.frame_stack,
                                2 * steps + self.num_envs, self.num_envs)
        obs, _ = env.reset(seed=int(self.rng.integers(2**31 - 1)))
        store.begin(obs)
        scores: list[float] = []
        for _ in range(steps // self.num_envs):
            actions = (policy.predict(obs)[0] if policy is not None
                       else self.rng.integers(env.single_action_space.n, size=self.num_envs))
            obs, reward, terminated, truncated, info = env.step(actions)
            store.add_vector_step(actions, obs, reward, terminated, truncated, info)
            scores += [float(s) for s in info["final_score"][~np.isnan(info["final_score"])]]
        env.close()
        return store.trimmed(), scores


class _RealData:
    """The real data an actor learns from: one store that collected parts are appended to."""

    store: ExperienceStore

    def add(self, *parts: ExperienceStore) -> int:
        """Append collected stores; returns the real agent steps now held."""
        for part in parts:
            self.store.extend(part)
        return self.store.num_transitions

    def _reload_store(self, path: Path) -> int:
        """Replace the data by the rows saved at ``path`` (same capacity); returns the real agent steps held."""
        self.store = ExperienceStore(self.store.obs_shape, self.store.frame_stack, self.store.capacity)
        return self.add(ExperienceStore.load(path))


class WorldModelLearner(_RealData):
    """The real data (one store) and the SimPLe world model trained on it, on ``device`` (a GPU when given one).

    Episodes whose id is 1 modulo ``heldout_every`` are never trained on.
    """

    def __init__(self, model_config: SimPLeModelConfig, num_actions: int, env_config: AtariConfig,
                 capacity: int, device: str, seed: int, heldout_every: int) -> None:
        torch.manual_seed(seed)
        self.model = SimPLeWorldModel(model_config, num_actions, device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=model_config.learning_rate)
        self.store = ExperienceStore(env_config.observation_shape, env_config.frame_stack, capacity)
        self.rng, self.heldout_every = np.random.default_rng(seed), heldout_every

    def train(self, steps: int) -> dict[str, float]:
        """``steps`` optimiser steps on the training episodes; returns the last losses."""
        where = ~heldout_mask(self.store, self.heldout_every)
        return train_world_model(self.model, self.optimizer, self.store, steps, self.rng, where=where)

    def evaluate(self, horizons: tuple[int, ...], sequences: int, seed: int) -> dict[str, float]:
        """Held-out prediction quality (pixel accuracy and PSNR at each horizon, reward accuracy); empty while the
        held-out episodes are shorter than the longest horizon."""
        where = heldout_mask(self.store, self.heldout_every)
        try:
            batch = sequence_batch(self.store, self.model.config.context_frames, max(horizons), sequences,
                                   np.random.default_rng(seed), where)
        except ValueError:
            return {}
        return prediction_metrics(self.model, batch, horizons)

    def weights(self) -> dict[str, torch.Tensor]:
        """The model's weights on CPU, for simulated envs elsewhere."""
        return {k: v.detach().cpu() for k, v in self.model.state_dict().items()}

    def starts(self, count: int, newest_rows: int) -> np.ndarray:
        """``count`` windows of real context frames (count, K, H, W, C) from the newest ``newest_rows`` rows."""
        sample = store_starts(self.store, self.model.config.context_frames, newest_rows)
        return sample(count, self.rng)

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        self.model.save(directory / "world_model.pt", extra={"optimizer": self.optimizer.state_dict()})
        self.store.save(directory / "store.npz")

    def load(self, directory: str | Path) -> int:
        """Restore what :meth:`save` wrote; returns the real agent steps held."""
        directory = Path(directory)
        self.optimizer.load_state_dict(self.model.load(directory / "world_model.pt")["optimizer"])
        return self._reload_store(directory / "store.npz")


class PotentialLearner(_RealData):
    """An arrow-of-time potential refitted on all real data each iteration (its own copy of the store)."""

    def __init__(self, config: ArrowOfTimeConfig, env_config: AtariConfig, capacity: int, device: str,
                 seed: int) -> None:
        torch.manual_seed(seed)
        self.potential = ArrowOfTime(config, env_config.observation_shape, device)
        self.store = ExperienceStore(env_config.observation_shape, env_config.frame_stack, capacity)
        self.rng = np.random.default_rng(seed)

    def fit(self) -> dict[str, Any]:
        return self.potential.fit(self.store, self.rng)

    def state(self) -> dict[str, Any]:
        """The fitted potential as plain data on CPU (``ArrowOfTime.from_state``), for the simulated envs."""
        return self.potential.state()

    def save(self, directory: str | Path) -> None:
        """The potential only: its data is the world-model learner's ``store.npz`` in the same folder."""
        self.potential.save(Path(directory) / "potential.pt")

    def load(self, directory: str | Path) -> int:
        """Restore the potential and the data from a checkpoint folder; returns the real agent steps held."""
        self.potential = ArrowOfTime.load(Path(directory) / "potential.pt", str(self.potential.device))
        return self._reload_store(Path(directory) / "store.npz")
