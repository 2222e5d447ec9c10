"""Several intrinsic rewards as one: a weighted sum, each part switched on at its own step, logged per part."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from intrinsic.protocols import IntrinsicReward
from intrinsic.wrappers import skips_terminal


@dataclass
class WeightedTerm:
    """One part of the sum: ``weight * reward.reward(...)`` once ``active``."""

    name: str
    reward: IntrinsicReward
    weight: float
    active: bool = True


class WeightedIntrinsic:
    """``sum_i weight_i * r_i(obs, next_obs, action)`` over the active terms: itself an intrinsic reward, so the
    reward wrappers and connectors take it as they take one. ``take_means()`` returns each part's mean since
    the last call (``intrinsic/<name>_reward_mean``), for the training logs."""

    def __init__(self, terms: list[WeightedTerm]) -> None:
        self.terms = terms
        self.beta = 1.0
        self._sums = {t.name: 0.0 for t in terms}
        self._counts = 0

    @property
    def config(self) -> Any:
        """Terms that were not trained on episode ends give them no reward: the sum keeps that rule only when
        every term keeps it (``intrinsic.wrappers.skips_terminal``)."""
        return _Terminal(across_terminal=not all(skips_terminal(t.reward) for t in self.terms))

    def fit(self, store: Any, rng: np.random.Generator) -> dict[str, float]:
        return {f"{t.name}/{k}": v for t in self.terms for k, v in t.reward.fit(store, rng).items()}

    def reward(self, obs: np.ndarray, next_obs: np.ndarray, action: np.ndarray | None = None) -> np.ndarray:
        total = np.zeros(len(obs), np.float32)
        for term in self.terms:
            if term.active and term.weight:
                part = term.weight * np.asarray(term.reward.reward(obs, next_obs, action), np.float32)
                self._sums[term.name] += float(part.sum())
                total += part
        self._counts += len(obs)
        return self.beta * total

    def take_means(self) -> dict[str, float]:
        """Mean reward of each part per transition since the last call (nothing if no transition was seen)."""
        if not self._counts:
            return {}
        means = {f"intrinsic/{name}_reward_mean": s / self._counts for name, s in self._sums.items()}
        self._sums, self._counts = {name: 0.0 for name in self._sums}, 0
        return means

    def state(self) -> dict[str, Any]:
        raise TypeError("a WeightedIntrinsic travels as its terms' states (agents.composed.imagination.World)")

    def save(self, path: Any) -> None:
        raise TypeError("a WeightedIntrinsic is saved as its terms")


@dataclass(frozen=True)
class _Terminal:
    across_terminal: bool
