"""An intrinsic reward (``intrinsic.IntrinsicReward``) as an RLlib learner connector.

The connector runs in the learner, before the batch is built and advantages are computed, and rewrites the
episodes' rewards to extrinsic + intrinsic. Env runners never see it, so RLlib's reported returns
(``env_runners/episode_return_mean``) stay extrinsic. The model is loaded from a file in the learner's
process: only a path and a few numbers are pickled with the algorithm config.
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from ray.rllib.connectors.connector_v2 import ConnectorV2

from agents.learners.rllib.env import ObsAdapter
from intrinsic import IntrinsicReward
from intrinsic.registry import intrinsic_entry
from intrinsic.weighted import WeightedIntrinsic, WeightedTerm
from intrinsic.wrappers import skips_terminal

METRIC = "intrinsic_reward_mean"
# Logged beside the learner's all-module statistics (``learners/__all_modules__/intrinsic_reward_mean``): DQN
# reads every other top-level learner entry as a module's results.
METRIC_KEY = ("__all_modules__", METRIC)
# Set by RLlib's AddOneTsToEpisodesAndTruncate (PPO prepends it before our piece): each episode then ends in
# a phantom step (last observation repeated, reward 0) that is masked out of the loss.
_PHANTOM_STEP_KEY = "_added_loss_mask_for_valid_episode_ts"


class IntrinsicRewardConnector(ConnectorV2):
    """Adds the weighted sum of intrinsic rewards to every real transition of the incoming episodes.

    Args:
        terms: ``[name, path, weight]`` per reward: its registry name, the file it was saved to, its weight.
        native_shape, native_dtype: our observation format, to undo the RLlib adapter before the model reads it.

    Transitions that end an episode (not a life loss) get no intrinsic reward when the model was not trained on
    them (``config.across_terminal`` False), as in ``intrinsic.IntrinsicRewardWrapper``.
    """

    def __init__(self, input_observation_space: gym.Space | None = None,
                 input_action_space: gym.Space | None = None, *, terms: list[list[Any]],
                 native_shape: tuple[int, ...], native_dtype: str, device: str = "cpu", **kwargs: Any) -> None:
        super().__init__(input_observation_space, input_action_space, **kwargs)
        self.adapter = ObsAdapter(tuple(native_shape), native_dtype)
        self.model: IntrinsicReward = WeightedIntrinsic(
            [WeightedTerm(name, intrinsic_entry(name).load(path, device), float(weight))
             for name, path, weight in terms])

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any], explore: bool | None = None,
                 shared_data: dict | None = None, metrics: Any = None, **kwargs: Any) -> Any:
        phantom = int(bool((shared_data or {}).get(_PHANTOM_STEP_KEY)))
        bonuses = []
        for i, episode in enumerate(episodes):
            if not hasattr(episode, "set_rewards"):
                raise TypeError(f"{type(self).__name__} handles single-agent episodes only, got {type(episode)}")
            # A private reward buffer: with num_env_runners=0 the env runner keeps these very chunk objects and
            # sums their rewards into episode_return_mean once the episode ends.
            episodes[i] = episode = _with_own_rewards(episode)
            bonus = self._add_bonus(episode, len(episode) - phantom)
            if bonus.size:
                bonuses.append(bonus)
        if metrics is not None and bonuses:
            metrics.log_value(METRIC_KEY, float(np.concatenate(bonuses).mean()), reduce="mean")
        return batch

    def _add_bonus(self, episode: Any, steps: int) -> np.ndarray:
        """Rewrite the rewards of the first ``steps`` transitions of one episode chunk; returns the bonuses (steps,)."""
        if steps <= 0:
            return np.zeros(0, np.float32)
        obs = self.adapter.to_native(np.asarray(episode.get_observations(slice(0, steps + 1))))
        actions = np.asarray(episode.get_actions(slice(0, steps)))
        bonus = np.asarray(self.model.reward(obs[:-1], obs[1:], actions), np.float32)
        if episode.is_terminated and skips_terminal(self.model) and not _life_lost(episode, steps):
            bonus[-1] = 0.0
        rewards = np.asarray(episode.get_rewards(slice(0, steps)), np.float32) + bonus
        episode.set_rewards(new_data=rewards if episode.is_numpy else list(rewards), at_indices=slice(0, steps))
        return bonus


def _with_own_rewards(episode: Any) -> Any:
    """A shallow copy of an episode chunk that shares everything but its rewards."""
    own = copy.copy(episode)
    own.rewards = copy.deepcopy(episode.rewards)
    return own


def _life_lost(episode: Any, steps: int) -> bool:
    """Whether the episode's last real transition lost a life (Atari train mode: terminal, game goes on)."""
    info = episode.get_infos(steps)
    return bool(info.get("life_lost", False)) if isinstance(info, dict) else False


def intrinsic_connector(terms: list[tuple[str, str, float]],
                        adapter: ObsAdapter) -> Callable[[gym.Space, gym.Space], ConnectorV2]:
    """What ``AlgorithmConfig.learners(learner_connector=...)`` wants: ``(obs_space, act_space) -> connector``,
    for rewards ``(name, saved path, weight)``. A ``functools.partial`` of plain data, so the algorithm config
    pickles small."""
    return functools.partial(IntrinsicRewardConnector, terms=[[n, str(p), float(w)] for n, p, w in terms],
                             native_shape=adapter.native_shape, native_dtype=adapter.native_dtype)
