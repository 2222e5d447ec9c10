"""Many copies of one Atari game stepped by ale-py's native C++ thread pool."""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from envs.config import OBS_FORMATS, AtariConfig
from envs.games import find_game


class NativeAtariVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` games under the Atari 100k protocol, on ale-py's ``AtariVectorEnv``.

    Same observations and flags as :class:`envs.AtariEnv` for the same seeds (env ``i`` is seeded
    ``seed + i``) and actions. Autoreset is same-step: when an env's game ends, the returned
    observation already starts the next game; ``info["final_obs"]`` (N, *obs) holds each env's last
    observation of the step before any reset, ``info["_final_obs"]`` marks the envs whose episode ended.
    ``info`` arrays: ``lives``, ``raw_reward``, ``life_lost``, ``game_over``, ``episode_frame_number``
    and ``final_score`` (raw score of a game that ended this step, NaN elsewhere).
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}
    render_mode = None

    def __init__(self, config: AtariConfig | None = None, num_envs: int = 8, num_threads: int = 0) -> None:
        from ale_py.vector_env import AtariVectorEnv

        self.config = config = config or AtariConfig()
        self.game = find_game(config.game)
        height, width, rgb = OBS_FORMATS[config.obs]
        self._ale = AtariVectorEnv(
            self.game.rom,
            num_envs,
            num_threads=num_threads,
            autoreset_mode=AutoresetMode.SAME_STEP,
            img_height=height,
            img_width=width,
            grayscale=not rgb,
            stack_num=config.frame_stack,
            frameskip=config.frame_skip,
            maxpool=config.max_pool,
            noop_max=config.noop_max + 1,  # ale-py draws 0..noop_max-1
            use_fire_reset=config.fire_on_reset,
            life_loss_info=config.life_loss_terminal,
            reward_clipping=False,  # clipped here, so the raw reward stays in info
            repeat_action_probability=config.sticky_actions,
            max_num_frames_per_episode=config.max_episode_frames,
            full_action_space=config.full_action_space,
        )
        self.num_envs = num_envs
        self.single_observation_space = spaces.Box(0, 255, config.observation_shape, np.uint8)
        self.single_action_space = self._ale.single_action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._lives = np.zeros(num_envs, np.int64)
        self._score = np.zeros(num_envs, np.float64)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self._ale.reset(seed=seed)
        self._lives = info["lives"].astype(np.int64)
        self._score[:] = 0
        zeros = np.zeros(self.num_envs, bool)
        return obs, self._info(info, np.zeros(self.num_envs), zeros, zeros)

    def step(self, actions: np.ndarray):
        obs, raw_reward, terminated, truncated, ale_info = self._ale.step(np.asarray(actions))
        lives = ale_info["lives"].astype(np.int64)
        # After a game over the info already describes the next game, whose lives are back to full.
        life_lost = (lives > 0) & (lives < self._lives)
        game_over = terminated & ~life_lost if self.config.life_loss_terminal else terminated.copy()
        self._score += raw_reward
        info = self._info(ale_info, raw_reward, life_lost, game_over)
        ended = game_over | truncated
        info["final_score"] = np.where(ended, self._score, np.nan)
        info["final_obs"], info["_final_obs"] = self._final_obs(obs, ale_info, ended), terminated | truncated
        self._score[ended] = 0
        self._lives = lives
        reward = np.clip(raw_reward, -1, 1) if self.config.clip_rewards else raw_reward
        return obs, reward.astype(np.float32), terminated, truncated, info

    def _final_obs(self, obs: np.ndarray, ale_info: dict, ended: np.ndarray) -> np.ndarray:
        # ale-py's final_obs is only meaningful for envs it reset; after a life loss the game goes on.
        final = obs.copy()
        if ended.any():
            final[ended] = np.stack([ale_info["final_obs"][i] for i in np.flatnonzero(ended)])
        return final

    def close(self, **kwargs: Any) -> None:
        if getattr(self, "_ale", None) is not None:  # __init__ may have failed before creating it
            self._ale.close()
            self._ale = None

    def _info(self, ale_info: dict, raw_reward: np.ndarray, life_lost: np.ndarray, game_over: np.ndarray) -> dict:
        info = {
            "lives": self._lives.copy() if "lives" not in ale_info else ale_info["lives"],
            "raw_reward": np.asarray(raw_reward, np.float64),
            "life_lost": life_lost,
            "game_over": game_over,
            "episode_frame_number": ale_info["episode_frame_number"],
        }
        return info
