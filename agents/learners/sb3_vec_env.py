"""stable-baselines3's VecEnv face for our same-step-autoreset Gymnasium vector envs."""
from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv


class SB3VecEnv(VecEnv):
    """Presents ``envs.make_vector_env(...)`` to stable-baselines3.

    ``dones`` are ``terminated | truncated`` (a life loss included in ``train`` mode, where the game
    then goes on). ``info["episode"]`` is set only when a whole game ends, with its raw score, so
    SB3's ``rollout/ep_rew_mean`` reports game scores, not clipped per-life returns.
    Counts every agent step it takes in ``steps_taken``.
    """

    def __init__(self, env: gym.vector.VectorEnv) -> None:
        self.env = env  # before super().__init__, which reads render_mode through get_attr
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
        self.steps_taken = 0
        self._actions: np.ndarray | None = None
        self._seed: int | None = None
        self._lengths = np.zeros(env.num_envs, np.int64)
        self._returns = np.zeros(env.num_envs, np.float64)
        self._intrinsic = np.zeros(env.num_envs, np.float64)
        self._start = time.time()

    def seed(self, seed: int | None = None) -> list[int | None]:
        self._seed = seed
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=self._seed)
        self._seed = None  # later resets continue the env's own random stream
        self._lengths[:] = 0
        self._returns[:] = 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        obs, reward, terminated, truncated, info = self.env.step(self._actions)
        self.steps_taken += self.num_envs
        self._lengths += 1
        # Episode returns stay extrinsic (raw game score for Atari); an intrinsic part is kept apart.
        self._returns += info.get("raw_reward", info.get("extrinsic_reward", reward))
        self._intrinsic += info.get("intrinsic_reward", 0.0)
        game_over = info["game_over"] | truncated if "game_over" in info else terminated | truncated
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            infos[i]["terminal_observation"] = info["final_obs"][i]
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        for i in np.flatnonzero(game_over):
            infos[i]["episode"] = {"r": float(self._returns[i]), "l": int(self._lengths[i]),
                                   "t": round(time.time() - self._start, 3), "intrinsic": float(self._intrinsic[i])}
            self._lengths[i], self._returns[i], self._intrinsic[i] = 0, 0.0, 0.0
        return obs, np.asarray(reward, np.float32), dones, infos

    def close(self) -> None:
        self.env.close()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self.env, attr_name, None)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list[Any]:
        raise NotImplementedError("the native vector env has no per-env methods")

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)
