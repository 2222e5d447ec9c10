"""Policy training in imagination on RLlib env runners: each runner hosts simulated envs of a SimPLe world model
and receives the model's latest weights, start frames and (optionally) an intrinsic potential every iteration.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.rllib_env import ObsAdapter
from agents.rllib_learner import RLlibEnvSpec
from intrinsic import ArrowOfTime
from world_models import SimPLeModelConfig, SimPLeWorldModel
from world_models.simulated_env import SimulatedEnv

SIMULATED_ENV_NAME = "rl-workbench-simulated"


def imagined_world_spec(model: SimPLeModelConfig, num_actions: int, rollout_length: int,
                        frame_stack: int) -> RLlibEnvSpec:
    """The imagined env as RLlib builds it on every env runner (registered on first use)."""
    from ray.tune.registry import register_env

    register_env(SIMULATED_ENV_NAME, ImaginedWorld)
    config = {"model": dataclasses.asdict(model), "num_actions": num_actions, "rollout_length": rollout_length,
              "frame_stack": frame_stack}
    probe = ImaginedWorld(config)
    return RLlibEnvSpec(SIMULATED_ENV_NAME, config, probe.adapter, num_actions)


class ImaginedWorld(gym.Env):
    """One simulated env with RLlib-adapted observations. Until :meth:`set_world` it imagines from blank frames
    with an untrained model; rewards are the model's plus, when a potential is set, its intrinsic reward."""

    def __init__(self, config: dict[str, Any]) -> None:
        model_config = SimPLeModelConfig(**config["model"])
        self.model = SimPLeWorldModel(model_config, config["num_actions"], "cpu").eval()
        frame = (model_config.frame_height, model_config.frame_width, model_config.channels)
        self._starts = np.zeros((1, model_config.context_frames, *frame), np.uint8)
        self.simulated = SimulatedEnv(self.model, self._draw_starts, config["rollout_length"], config["frame_stack"])
        self.adapter = ObsAdapter.for_space(self.simulated.observation_space)
        self.observation_space = self.adapter.rllib_space()
        self.action_space = self.simulated.action_space
        self.potential: ArrowOfTime | None = None
        self._native: np.ndarray | None = None

    def set_world(self, weights: dict[str, torch.Tensor], starts: np.ndarray,
                  potential: dict[str, Any] | None = None) -> None:
        """Adopt new model ``weights``, start windows ``starts`` (N, K, H, W, C) and potential state."""
        self.model.load_state_dict(weights)
        self.model.eval()
        self._starts = starts
        self.potential = ArrowOfTime.from_state(potential) if potential is not None else None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._native, info = self.simulated.reset(seed=seed)
        return self._rllib(self._native), info

    def step(self, action: int):
        obs, reward, terminated, truncated, info = self.simulated.step(action)
        if self.potential is not None:
            bonus = float(self.potential.reward(self._native[None], obs[None])[0])
            info = {"extrinsic_reward": reward, "intrinsic_reward": bonus}
            reward += bonus
        self._native = obs
        return self._rllib(obs), reward, terminated, truncated, info

    def _rllib(self, obs: np.ndarray) -> np.ndarray:
        return self.adapter.to_rllib(obs[None])[0]

    def _draw_starts(self, count: int, rng: np.random.Generator) -> np.ndarray:
        return self._starts[rng.integers(len(self._starts), size=count)]


def broadcast_world(algo: Any, weights: dict[str, torch.Tensor], starts: np.ndarray,
                    potential: dict[str, Any] | None = None) -> int:
    """Send the world to every env of every env runner of RLlib ``algo`` (one object-store copy for all);
    returns how many envs received it."""
    import ray

    world = ray.put((weights, starts, potential))

    def adopt(runner: Any) -> int:
        env = getattr(runner, "env", None)
        if env is None:  # the local runner of an algorithm that samples remotely hosts no env
            return 0
        return len(env.unwrapped.call("set_world", *ray.get(world)))  # RLlib wraps the vector env

    received = sum(algo.env_runner_group.foreach_env_runner(adopt, local_env_runner=True))
    if received == 0:
        raise RuntimeError("no env runner received the world model (all env runners failed?)")
    return received
