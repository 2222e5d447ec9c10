"""Uniform n-step replay over :class:`envs.store.ExperienceStore` (each frame stored once, stacks rebuilt).

A transition starts at any stored observation that has a successor in the same game; its return sums up to
``n_step`` rewards and stops early at a terminal flag (a life loss in train mode, or game over), which zeroes
the bootstrap. Where the stored data of a game ends first (the newest steps, or a time-limit cut), the return
bootstraps from the last observation it reached with ``gamma ** steps``; Dopamine instead waits for the n-step
window of its newest transitions to fill, which leaves out at most ``n_step - 1`` of ~100k starting points.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from envs.store import ExperienceStore


class NStepReplay:
    """n-step transitions sampled uniformly from the real steps of one vector env.

    Args:
        obs_shape: one observation (C, H, W); ``frame_stack``: frames per observation (C for Atari).
        capacity: transitions (plus one row per game start) kept; a full replay is an error, size it to the budget.
        num_streams: envs of the vector env feeding it.
        store: an existing store to replay (its shape and capacity then come from it).
    """

    def __init__(self, obs_shape: tuple[int, ...], frame_stack: int, capacity: int, num_streams: int = 1,
                 store: ExperienceStore | None = None) -> None:
        self.store = store or ExperienceStore(obs_shape, frame_stack, capacity, num_streams)
        self.next_row = np.full(self.store.capacity, -1, np.int64)  # each row's successor in its game
        self._link(np.arange(self.store.size))

    @property
    def num_transitions(self) -> int:
        return self.store.num_transitions

    def begin(self, obs: np.ndarray) -> None:
        """The reset observations (num_streams, *obs_shape) that start the first games."""
        self.store.begin(obs)

    def add(self, actions: np.ndarray, obs: np.ndarray, rewards: np.ndarray, terminated: np.ndarray,
            truncated: np.ndarray, info: dict) -> None:
        """One step of a same-step-autoreset vector env (``envs.make_vector_env``), as it returned it."""
        self._link(self.store.add_vector_step(actions, obs, rewards, terminated, truncated, info))

    def sample(self, batch: int, gamma: float, n_step: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``batch`` transitions: ``obs``, ``next_obs`` (B, *obs_shape) uint8, ``action`` (B,), ``reward`` (B,) the
        discounted n-step return, ``discount`` (B,) what multiplies the bootstrap (0 after a terminal flag)."""
        starts = np.flatnonzero(self.next_row[: self.store.size] >= 0)
        if len(starts) == 0:
            raise ValueError("the replay holds no transition yet")
        first = rng.choice(starts, batch)
        ret, scale = np.zeros(batch, np.float64), np.ones(batch, np.float64)
        row, live = first.copy(), np.ones(batch, bool)
        for _ in range(n_step):
            following = np.where(live, self.next_row[row], -1)
            live &= following >= 0
            row = np.where(live, following, row)
            ret += np.where(live, scale * self.store.reward[row], 0.0)
            scale = np.where(live, scale * gamma, scale)
            ended = live & self.store.terminated[row]
            scale[ended], live[ended] = 0.0, False
        return {"obs": self.store.observations(first), "action": self.store.action[self.next_row[first]],
                "reward": ret.astype(np.float32), "discount": scale.astype(np.float32),
                "next_obs": self.store.observations(row)}

    def save(self, path: str | Path) -> None:
        """Atomically, as the experience store's ``.npz`` (successor links are rebuilt on load)."""
        self.store.save(path)

    @classmethod
    def load(cls, path: str | Path, num_streams: int = 1) -> NStepReplay:
        store = ExperienceStore.load(path, num_streams)
        return cls(store.obs_shape, store.frame_stack, store.capacity, num_streams, store)

    def _link(self, rows: np.ndarray) -> None:
        """Record ``rows`` as the successors of the rows they follow in their games."""
        before = self.store.prev[rows]
        self.next_row[before[before >= 0]] = rows[before >= 0]
