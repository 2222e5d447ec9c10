"""The small protocols agents are assembled from."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class PolicyLearner(Protocol):
    """Learns a policy on the vector env it was built with; stable-baselines3 and RLlib are each wrapped once."""

    num_timesteps: int

    def learn(self, steps: int, on_rollout: Callable[[int], None] | None = None) -> None:
        """Train for ``steps`` more agent steps; ``on_rollout(num_timesteps)`` after each rollout."""

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """Actions (B,) for a batch of observations (B, *obs_shape)."""

    def save(self, path: str | Path) -> None:
        """Write weights and optimiser state atomically, in a format that runs no code on load."""

    def load(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote."""

    def metrics(self) -> dict[str, Any]:
        """Latest training statistics (losses, entropy...)."""

    def set_world(self, world: Any) -> Any:
        """Imagination only: adopt this iteration's world (model weights, start frames, intrinsic rewards)
        wherever the learner's imagined envs live."""

    def acting_policy(self) -> Any:
        """A CPU policy with ``predict(obs) -> (actions, None)`` on native observations, to play real games."""

    def saved_policy(self) -> Any:
        """The network a saved agent holds (:func:`agents.save_agent`)."""

    def intrinsic_means(self) -> dict[str, float]:
        """Mean of each intrinsic reward per step since the last call (``intrinsic/<name>_reward_mean``), where
        the learner sees them; empty otherwise."""

    def close(self) -> None:
        """Release envs, env runners and learner processes."""
