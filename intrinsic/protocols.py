"""The protocol every intrinsic reward meets."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from envs import ExperienceStore


class IntrinsicReward(Protocol):
    """A reward learnt from real interaction. ``beta`` scales it (agents may schedule it)."""

    beta: float

    def fit(self, store: ExperienceStore, rng: np.random.Generator) -> dict[str, float]:
        """Train on real interaction; returns metrics."""

    def reward(self, obs: np.ndarray, next_obs: np.ndarray, action: np.ndarray | None = None) -> np.ndarray:
        """Intrinsic reward per transition (B,), to be added to the extrinsic one. ``action`` (B,) is the action
        taken; rewards of states alone (the arrow of time) ignore it, transition models (C-SWM) need it."""

    def state(self) -> dict[str, Any]:
        """Everything it needs to be rebuilt elsewhere (plain data and CPU tensors), for the registry's
        ``from_state``: how a fitted reward travels to env runners."""

    def save(self, path: str | Path) -> None:
        """:meth:`state`, written atomically in a format that runs no code on load."""
