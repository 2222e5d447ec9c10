"""Policy training in imagination on RLlib env runners: each runner hosts a batched simulated env of a SimPLe world
model and receives the model's latest weights, start frames and (optionally) an intrinsic potential every iteration.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector.utils import batch_space

from agents.rllib_env import ObsAdapter
from agents.rllib_learner import RLlibEnvSpec
from intrinsic import ArrowOfTime
from world_models import SimPLeModelConfig, SimPLeWorldModel, SimulatedVectorEnv

SIMULATED_ENV_NAME = "rl-workbench-simulated"


def imagined_world_spec(model: SimPLeModelConfig, num_actions: int, rollout_length: int,
                        frame_stack: int) -> RLlibEnvSpec:
    """The imagined env as RLlib builds it on every env runner (registered on first use): one
    :class:`ImaginedWorlds` of ``envs_per_env_runner`` envs per runner, stepped in one forward pass."""
    from ray.tune.registry import register_env

    register_env(SIMULATED_ENV_NAME, ImaginedWorlds)
    config = {"model": dataclasses.asdict(model), "num_actions": num_actions, "rollout_length": rollout_length,
              "frame_stack": frame_stack}
    adapter = ObsAdapter((frame_stack, model.frame_height, model.frame_width, model.channels), "uint8")
    return RLlibEnvSpec(SIMULATED_ENV_NAME, config, adapter, num_actions, vector=True)


class ImaginedWorlds(gym.vector.VectorEnv):
    """``num_envs`` simulated envs in one batched forward pass, with RLlib-adapted observations and RLlib's
    autoreset (an ended rollout is restarted by the *next* step, which returns the new observations with reward 0
    and is not counted as a step). Until :meth:`set_world` it imagines from blank frames with an untrained model;
    rewards are the model's plus, when a potential is set, its intrinsic reward."""

    def __init__(self, config: dict[str, Any]) -> None:
        model_config = SimPLeModelConfig(**config["model"])
        self.model = SimPLeWorldModel(model_config, config["num_actions"], "cpu").eval()
        frame = (model_config.frame_height, model_config.frame_width, model_config.channels)
        self._starts = np.zeros((1, model_config.context_frames, *frame), np.uint8)
        self.simulated = SimulatedVectorEnv(self.model, self._draw_starts, config.get("num_envs", 1),
                                            config["rollout_length"], config["frame_stack"])
        self.num_envs = self.simulated.num_envs
        self.adapter = ObsAdapter.for_space(self.simulated.single_observation_space)
        self.single_observation_space = self.adapter.rllib_space()
        self.single_action_space = self.simulated.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.potential: ArrowOfTime | None = None
        self._native: np.ndarray | None = None
        self._restarted: np.ndarray | None = None  # observations of the rollouts that begin at the next step

    def set_world(self, weights: dict[str, torch.Tensor], starts: np.ndarray,
                  potential: dict[str, Any] | None = None) -> None:
        """Adopt new model ``weights``, start windows ``starts`` (N, K, H, W, C) and potential state."""
        self.model.load_state_dict(weights)
        self.model.eval()
        self._starts = starts
        self.potential = ArrowOfTime.from_state(potential) if potential is not None else None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._native, info = self.simulated.reset(seed=seed)
        self._restarted = None
        return self._rllib(self._native), info

    def step(self, actions: np.ndarray):
        flags = np.zeros(self.num_envs, bool)
        if self._restarted is not None:  # RLlib's autoreset step: the new rollouts' first observations
            self._native, self._restarted = self._restarted, None
            return self._rllib(self._native), np.zeros(self.num_envs, np.float32), flags, flags, {}
        obs, reward, terminated, truncated, info = self.simulated.step(np.asarray(actions))
        arrived = info["final_obs"] if truncated.all() else obs  # every rollout ends at the same step
        if self.potential is not None:
            reward = reward + self.potential.reward(self._native, arrived).astype(np.float32)
        if truncated.all():
            self._restarted = obs
        self._native = arrived
        return self._rllib(arrived), reward, terminated, truncated, {}

    def _rllib(self, obs: np.ndarray) -> np.ndarray:
        return self.adapter.to_rllib(obs)

    def _draw_starts(self, count: int, rng: np.random.Generator) -> np.ndarray:
        return self._starts[rng.integers(len(self._starts), size=count)]


def broadcast_world(algo: Any, weights: dict[str, torch.Tensor], starts: np.ndarray,
                    potential: dict[str, Any] | None = None) -> int:
    """Send the world to the imagined envs of every env runner of RLlib ``algo`` (one object-store copy for all);
    returns how many vector envs received it."""
    import ray

    world = ray.put((weights, starts, potential))

    def adopt(runner: Any) -> int:
        env = getattr(runner, "env", None)
        if env is None:  # the local runner of an algorithm that samples remotely hosts no env
            return 0
        env.unwrapped.set_world(*ray.get(world))  # RLlib wraps the vector env
        return 1

    received = sum(algo.env_runner_group.foreach_env_runner(adopt, local_env_runner=True))
    if received == 0:
        raise RuntimeError("no env runner received the world model (all env runners failed?)")
    return received
