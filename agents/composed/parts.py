"""The parts an agent is assembled from, each a plain class that a placement runs in-process or as a Ray actor.

    RealCollector        plays the real env (random or the latest policy), games going on across collections
    WorldModelLearner    the real data and a registered world model; trains it, hands out weights and start frames
    IntrinsicLearner     the real data and a registered intrinsic reward (or a C-SWM encoder) fitted on it

Learners hold the real data in a :class:`RealData`; in one process they share one, so frames are kept once.
They receive registry entries rather than names, so a component registered only in the driver (a user's
script, a test) still reaches an actor.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from envs import AtariConfig, ExperienceStore, is_atari, make_vector_env
from intrinsic.registry import IntrinsicEntry
from world_models import store_starts
from world_models.device_sequences import sequence_batch
from world_models.evaluation import comparison_frames, prediction_metrics
from world_models.registry import WorldModelEntry
from world_models.training import heldout_mask, train_world_model


@dataclass
class Collected:
    """One collection of a collector: the steps as a trimmed store and the raw scores of the games that ended.
    ``first_rows``/``last_rows`` (num_envs,) are each env's first and last row in ``store``; ``continues``
    marks the envs whose game went on from the previous collection (their first row repeats its last)."""

    store: ExperienceStore
    scores: list[float]
    first_rows: np.ndarray
    last_rows: np.ndarray
    continues: np.ndarray


class RealCollector:
    """``num_envs`` real envs of one game that stay open from one :meth:`collect` to the next, so games play to
    their end (tensor2tensor's SimPLe restarts its real env at every collection)."""

    def __init__(self, env_config: AtariConfig, num_envs: int, seed: int) -> None:
        self.env_config, self.num_envs = env_config, num_envs
        self.rng = np.random.default_rng(seed)
        self.env: Any = None
        self.obs: np.ndarray | None = None

    def collect(self, steps: int, policy: Any = None) -> Collected:
        """Exactly ``steps`` agent steps (a multiple of ``num_envs``) with ``policy.predict`` (None: uniformly
        random actions)."""
        if steps % self.num_envs:
            raise ValueError(f"steps={steps} must be a multiple of this collector's num_envs={self.num_envs}")
        continues = np.full(self.num_envs, self.env is not None)
        if self.env is None:
            self.env = make_vector_env(self.env_config.game, self.num_envs, self.env_config)
            self.obs, _ = self.env.reset(seed=int(self.rng.integers(2**31 - 1)))
        space = self.env.single_observation_space
        stack = self.env_config.frame_stack if is_atari(self.env_config.game) else 1  # others: whole observations
        store = ExperienceStore(space.shape, stack, 2 * steps + self.num_envs, self.num_envs, space.dtype)
        store.begin(self.obs)
        first_rows = store.last_rows
        obs, scores = self.obs, []
        for _ in range(steps // self.num_envs):
            actions = (np.asarray(policy.predict(obs)[0]) if policy is not None
                       else self.rng.integers(self.env.single_action_space.n, size=self.num_envs))
            obs, reward, terminated, truncated, info = self.env.step(actions)
            store.add_vector_step(actions, obs, reward, terminated, truncated, info)
            ended = info.get("final_score", info.get("episode_return"))
            if ended is not None:
                scores += [float(s) for s in np.asarray(ended)[~np.isnan(ended)]]
        self.obs = obs
        return Collected(store.trimmed(), scores, first_rows, store.last_rows, continues)

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None


class RealData:
    """The real data learners fit on: one store that collections are appended to, once each, continuing the
    games that went on from one collection to the next.

    Adding is keyed by collection number, so learners in one process can share one ``RealData`` and each
    still call :meth:`add` (the second call is a no-op)."""

    def __init__(self, obs_shape: tuple[int, ...], frame_stack: int, capacity: int, dtype: Any = np.uint8) -> None:
        self.store = ExperienceStore(obs_shape, frame_stack, capacity, 1, dtype)
        self.collections = 0
        self.tails: list[np.ndarray] = []  # per collector: the row each env's game last reached

    def add(self, collection: int, parts: list[Collected]) -> int:
        """Append collection number ``collection`` (0, 1, ...) unless held already; returns real steps held."""
        if collection == self.collections:
            tails = []
            for i, part in enumerate(parts):
                continues = {int(part.first_rows[env]): int(self.tails[i][env])
                             for env in np.flatnonzero(part.continues) if i < len(self.tails)}
                tails.append(self.store.extend(part.store, continues)[part.last_rows])
            self.tails, self.collections = tails, self.collections + 1
        elif collection > self.collections:
            raise ValueError(f"collection {collection} arrived before collection {self.collections}")
        return self.store.num_transitions

    def games(self) -> dict[str, Any]:
        """The games still open after the last collection (episode id and step) and the longest game so far."""
        rows = np.concatenate(self.tails) if self.tails else np.zeros(0, int)
        store = self.store
        return {"open": [{"episode": int(store.episode[r]), "step": int(store.step[r])} for r in rows],
                "longest_steps": int(store.step[: store.size].max()) if store.size else 0}

    def save(self, path: Path) -> None:
        self.store.save(path)

    def load(self, path: Path, collections: int) -> int:
        """Replace the data by the store saved at ``path`` after ``collections`` collections (once). Its open
        games are not continued: the collectors of a resumed run start new ones."""
        if self.collections != collections or self.store.size == 0:
            fresh = ExperienceStore(self.store.obs_shape, self.store.frame_stack, self.store.capacity, 1,
                                    self.store.frames.dtype)
            fresh.extend(ExperienceStore.load(path))
            self.store, self.collections, self.tails = fresh, collections, []
        return self.store.num_transitions


@dataclass(frozen=True)
class DataSpec:
    """What a learner needs to make its own :class:`RealData` (what travels to an actor instead of the data)."""

    obs_shape: tuple[int, ...]
    frame_stack: int
    capacity: int
    dtype: str = "uint8"

    def make(self) -> RealData:
        return RealData(self.obs_shape, self.frame_stack, self.capacity, np.dtype(self.dtype))


class _Learner:
    """A learner on :class:`RealData`: one shared in this process, or its own made from a :class:`DataSpec`."""

    data: RealData

    def _hold(self, data: RealData | DataSpec) -> None:
        self.data = data if isinstance(data, RealData) else data.make()

    def add(self, collection: int, parts: list[Collected]) -> int:
        return self.data.add(collection, parts)

    def games(self) -> dict[str, Any]:
        return self.data.games()

    def save_data(self, directory: str | Path) -> None:
        self.data.save(Path(directory) / "store.npz")

    def load_data(self, directory: str | Path, collections: int) -> int:
        return self.data.load(Path(directory) / "store.npz", collections)


class WorldModelLearner(_Learner):
    """A registered world model trained on the real data, on ``device`` (a GPU when given one).

    Episodes whose id is 1 modulo ``heldout_every`` are never trained on; they measure prediction quality.
    """

    def __init__(self, world_model: WorldModelEntry, model_config: dict[str, Any], num_actions: int,
                 data: RealData | DataSpec, device: str, seed: int, heldout_every: int) -> None:
        torch.manual_seed(seed)
        self.model = world_model.create(model_config, num_actions, device)
        params = list(self.model.parameters())
        self.optimizer = torch.optim.Adam(params, lr=self.model.config.learning_rate) if params else None
        self._hold(data)
        self.rng, self.heldout_every = np.random.default_rng(seed), heldout_every

    def train(self, steps: int) -> dict[str, float]:
        """``steps`` optimiser steps on the training episodes; returns the last losses."""
        where = ~heldout_mask(self.data.store, self.heldout_every)
        return train_world_model(self.model, self.optimizer, self.data.store, steps, self.rng, where=where)

    def evaluate(self, horizons: tuple[int, ...], sequences: int, seed: int) -> tuple[dict[str, float], Any]:
        """Held-out prediction quality (pixel accuracy and PSNR at each horizon, reward accuracy) and, for the
        first sequence, real | predicted | difference frames (T, H, W', C) uint8; ``({}, None)`` while the
        held-out episodes are shorter than the longest horizon."""
        where = heldout_mask(self.data.store, self.heldout_every)
        try:
            batch = sequence_batch(self.data.store, self.model.context_frames, max(horizons), sequences,
                                   np.random.default_rng(seed), where)
        except ValueError:
            return {}, None
        first = {key: value[:1] for key, value in batch.items()}
        return prediction_metrics(self.model, batch, horizons), comparison_frames(self.model, first["frames"],
                                                                                  first["action"])

    def weights(self) -> dict[str, torch.Tensor]:
        """The model's weights on CPU, for simulated envs elsewhere."""
        return {k: v.detach().cpu() for k, v in self.model.state_dict().items()}

    def starts(self, count: int, newest_rows: int) -> np.ndarray:
        """``count`` windows of real context frames (count, K, H, W, C) from the newest ``newest_rows`` rows;
        the first is the opening of the newest game (tensor2tensor starts one rollout there)."""
        sample = store_starts(self.data.store, self.model.context_frames, newest_rows, game_start_first=True)
        return sample(count, self.rng)

    def save(self, directory: str | Path) -> None:
        extra = {"optimizer": self.optimizer.state_dict()} if self.optimizer else {}
        self.model.save(Path(directory) / "world_model.pt", extra=extra)

    def load(self, directory: str | Path) -> None:
        extra = self.model.load(Path(directory) / "world_model.pt")
        if self.optimizer:
            self.optimizer.load_state_dict(extra["optimizer"])


class IntrinsicLearner(_Learner):
    """A registered intrinsic reward (``entry``) refitted on all real data each iteration, saved as ``<file>.pt``."""

    def __init__(self, entry: IntrinsicEntry, config: dict[str, Any], file: str, data: RealData | DataSpec,
                 device: str, seed: int) -> None:
        torch.manual_seed(seed)
        self._hold(data)
        self.entry, self.file, self.device = entry, file, device
        self.reward = entry.build(entry.config(config, entry.name), self.data.store.obs_shape, device)
        self.rng = np.random.default_rng(seed)

    def fit(self) -> dict[str, float]:
        return self.reward.fit(self.data.store, self.rng)

    def state(self) -> dict[str, Any]:
        """The fitted reward as plain data on CPU (the registry's ``from_state`` rebuilds it)."""
        return self.reward.state()

    def encoder_weights(self) -> dict[str, torch.Tensor]:
        """A C-SWM reward's model weights (what a policy's C-SWM encoder loads)."""
        return {k: v.detach().cpu() for k, v in self.reward.model.state_dict().items()}

    def save(self, directory: str | Path) -> None:
        self.reward.save(Path(directory) / f"{self.file}.pt")

    def load(self, directory: str | Path) -> None:
        self.reward = self.entry.load(Path(directory) / f"{self.file}.pt", self.device)
