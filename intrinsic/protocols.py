"""The protocol every intrinsic reward meets."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from envs import ExperienceStore


class IntrinsicReward(Protocol):
    def fit(self, store: ExperienceStore, rng: np.random.Generator) -> dict[str, float]:
        """Train on real interaction; returns metrics."""

    def reward(self, obs: np.ndarray, next_obs: np.ndarray, action: np.ndarray | None = None) -> np.ndarray:
        """Intrinsic reward per transition (B,), to be added to the extrinsic one. ``action`` (B,) is the action
        taken; rewards of states alone (the arrow of time) ignore it, transition models (C-SWM) need it."""

    def save(self, path: str | Path) -> None: ...
