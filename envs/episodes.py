"""Fixed-length episodes stored densely, each frame once: the data contrastive world models train and are judged on."""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envs.files import save_npz

FORMAT = "rl-workbench/episodes-v1"


@dataclass
class EpisodeDataset:
    """E episodes of T transitions.

    Attributes:
        frames: (E, T + stack, C, H, W) uint8; an observation is ``stack`` consecutive frames, newest first on
            the channel axis (C-SWM's Atari data: current and previous frame), so observation t of an episode is
            ``frames[e, t + stack - 1], ..., frames[e, t]``.
        actions: (E, T) int64, the action taken from observation t.
        stack: frames per observation.
        info: what made the data (world, seed, number of actions, ...), saved with it.
    """

    frames: np.ndarray
    actions: np.ndarray
    stack: int = 1
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.frames.dtype != np.uint8 or self.frames.ndim != 5:
            raise ValueError(f"frames must be (E, T + stack, C, H, W) uint8, got {self.frames.dtype} "
                             f"{self.frames.shape}")
        if self.actions.shape != (self.frames.shape[0], self.frames.shape[1] - self.stack):
            raise ValueError(f"actions {self.actions.shape} do not match frames {self.frames.shape} "
                             f"with stack={self.stack}")

    @property
    def num_episodes(self) -> int:
        return self.frames.shape[0]

    @property
    def length(self) -> int:
        """Transitions per episode, T."""
        return self.actions.shape[1]

    @property
    def num_transitions(self) -> int:
        return self.num_episodes * self.length

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        channels, height, width = self.frames.shape[2:]
        return self.stack * channels, height, width

    @property
    def num_actions(self) -> int:
        return int(self.info.get("num_actions", int(self.actions.max()) + 1))

    def observations(self, episodes: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """Observations at (episode, step) pairs, (B, stack * C, H, W) uint8."""
        frames = [self.frames[episodes, steps + self.stack - 1 - k] for k in range(self.stack)]
        return np.concatenate(frames, axis=1) if self.stack > 1 else frames[0]

    def transitions(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """Transitions by flat index in [0, E * T): ``obs``, ``action`` (B,), ``next_obs``."""
        episodes, steps = np.divmod(np.asarray(index), self.length)
        return {"obs": self.observations(episodes, steps), "action": self.actions[episodes, steps],
                "next_obs": self.observations(episodes, steps + 1)}

    def paths(self, horizon: int) -> dict[str, np.ndarray]:
        """From the first observation of every episode: ``obs`` (E, ...), ``actions`` (E, horizon) and
        ``target``, the observation ``horizon`` steps later."""
        if not 1 <= horizon <= self.length:
            raise ValueError(f"horizon={horizon}; episodes here have {self.length} steps (allowed 1..{self.length})")
        episodes, zeros = np.arange(self.num_episodes), np.zeros(self.num_episodes, int)
        return {"obs": self.observations(episodes, zeros), "actions": self.actions[:, :horizon],
                "target": self.observations(episodes, zeros + horizon)}

    def save(self, path: str | Path) -> Path:
        """Compressed ``.npz`` (the renders are mostly background), written atomically."""
        meta = json.dumps({"format": FORMAT, "stack": self.stack, "info": self.info})
        return save_npz(path, {"frames": self.frames, "actions": self.actions, "meta": np.array(meta)}, compress=True)

    @classmethod
    def load(cls, path: str | Path) -> EpisodeDataset:
        """Raises ValueError naming the file when it is missing, corrupt or not an episode dataset."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FORMAT:
                    raise ValueError(f"format {meta.get('format')!r}")
                return cls(data["frames"], data["actions"].astype(np.int64), int(meta["stack"]), meta["info"])
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, json.JSONDecodeError) as e:
            raise ValueError(f"{path} is not a readable episode dataset ({FORMAT}): {e}") from e
