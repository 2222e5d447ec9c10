"""Adding an intrinsic reward to any env: single Gymnasium envs and (same-step autoreset) vector envs."""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from intrinsic.protocols import IntrinsicReward


class IntrinsicRewardWrapper(gym.Wrapper):
    """``reward = extrinsic + intrinsic``; ``info`` keeps both parts as ``extrinsic_reward``/``intrinsic_reward``."""

    def __init__(self, env: gym.Env, model: IntrinsicReward) -> None:
        super().__init__(env)
        self.model = model
        self._obs: np.ndarray | None = None

    def reset(self, **kwargs: Any):
        self._obs, info = self.env.reset(**kwargs)
        return self._obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        bonus = float(self.model.reward(self._obs[None], obs[None], np.asarray([action]))[0])
        if terminated and not info.get("life_lost", False) and skips_terminal(self.model):
            bonus = 0.0
        self._obs = obs
        return obs, reward + bonus, terminated, truncated, {**info, "extrinsic_reward": reward,
                                                           "intrinsic_reward": bonus}


class IntrinsicRewardVectorWrapper(gym.vector.VectorWrapper):
    """The same for vector envs (the native Atari env, SyncVectorEnv, the simulated env of a world model).
    With same-step autoreset the transition of an env that ended uses its ``final_obs``."""

    def __init__(self, env: gym.vector.VectorEnv, model: IntrinsicReward) -> None:
        super().__init__(env)
        self.model = model
        self._obs: np.ndarray | None = None

    def reset(self, **kwargs: Any):
        self._obs, info = self.env.reset(**kwargs)
        return self._obs, info

    def step(self, actions: np.ndarray):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        arrived = obs
        if "_final_obs" in info and np.any(info["_final_obs"]):
            arrived = obs.copy()
            for i in np.flatnonzero(info["_final_obs"]):
                arrived[i] = info["final_obs"][i]
        bonus = self.model.reward(self._obs, arrived, np.asarray(actions)).astype(np.float32)
        if skips_terminal(self.model):
            bonus[terminated & ~np.asarray(info.get("life_lost", np.zeros_like(terminated)), bool)] = 0.0
        self._obs = obs
        return obs, reward + bonus, terminated, truncated, {**info, "extrinsic_reward": reward,
                                                           "intrinsic_reward": bonus}


def skips_terminal(model: IntrinsicReward) -> bool:
    """Models not trained on episode-ending transitions give them no reward (see ``across_terminal``)."""
    config = getattr(model, "config", None)
    return config is not None and not getattr(config, "across_terminal", True)
