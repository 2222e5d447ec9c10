"""Policy training in imagination: a batched simulated env of any registered world model that renders frames,
which receives the model's latest weights, start frames and intrinsic rewards (a :class:`World`) every
iteration, in the learner's process (stable-baselines3) or on every RLlib env runner.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from agents.learners.rllib.env import ObsAdapter
from intrinsic.registry import intrinsic_entry
from intrinsic.weighted import WeightedIntrinsic, WeightedTerm
from world_models import SimulatedVectorEnv
from world_models.registry import build_world_model

SIMULATED_ENV_NAME = "rl-workbench-simulated"


@dataclass
class IntrinsicState:
    """A fitted intrinsic reward as it travels: registry name, weight, whether it is on yet, its ``state()``."""

    name: str
    weight: float
    active: bool
    state: dict[str, Any]


@dataclass
class World:
    """What imagined envs need each iteration: model ``weights``, start windows ``starts`` (N, K, H, W, C)
    uint8 drawn from real data, and the intrinsic rewards to add."""

    weights: dict[str, torch.Tensor]
    starts: np.ndarray
    intrinsic: list[IntrinsicState] = field(default_factory=list)

    def intrinsic_reward(self, device: str = "cpu") -> WeightedIntrinsic | None:
        """The rewards rebuilt from their states by the registry (None when there are none)."""
        if not self.intrinsic:
            return None
        return WeightedIntrinsic([WeightedTerm(t.name, intrinsic_entry(t.name).from_state(t.state, device),
                                               t.weight, t.active) for t in self.intrinsic])


def imagined_env_config(world_model: str, model: dict[str, Any], num_actions: int, num_envs: int,
                        rollout_length: int, frame_stack: int) -> dict[str, Any]:
    """Plain data an imagined env is built from (pickled small to every env runner)."""
    return {"world_model": world_model, "model": model, "num_actions": num_actions, "num_envs": num_envs,
            "rollout_length": rollout_length, "frame_stack": frame_stack}


class ImaginedWorlds(gym.vector.VectorEnv):
    """``num_envs`` simulated envs of world model ``config["world_model"]`` in one batched forward pass, with
    same-step autoreset (gymnasium's vector API, as stable-baselines3 reads it). Until :meth:`set_world` it
    imagines from blank frames with an untrained model. Rewards are the model's plus the world's intrinsic
    rewards; ``info["extrinsic_reward"]`` keeps the model's alone."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, config: dict[str, Any], device: str = "cpu") -> None:
        self.model = build_world_model(config["world_model"], config["model"], config["num_actions"], device).eval()
        self._starts = torch.zeros((1, self.model.context_frames, *self.model.frame_shape), dtype=torch.uint8,
                                   device=self.model.device)
        self.simulated = SimulatedVectorEnv(self.model, self._draw_starts, config.get("num_envs", 1),
                                            config["rollout_length"], config["frame_stack"])
        self.num_envs = self.simulated.num_envs
        self.single_observation_space = self.simulated.single_observation_space
        self.single_action_space = self.simulated.single_action_space
        self.observation_space, self.action_space = self.simulated.observation_space, self.simulated.action_space
        self.intrinsic: WeightedIntrinsic | None = None
        self._obs: np.ndarray | None = None

    def set_world(self, world: World) -> None:
        self.model.load_state_dict(world.weights)
        self.model.eval()
        # moved to the device once per iteration; copied, as Ray hands over read-only arrays
        self._starts = torch.tensor(world.starts, device=self.model.device)
        self.intrinsic = world.intrinsic_reward(str(self.model.device))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._obs, info = self.simulated.reset(seed=seed)
        return self._obs, info

    def step(self, actions: np.ndarray):
        actions = np.asarray(actions)
        obs, reward, terminated, truncated, info = self.simulated.step(actions)
        arrived = info["final_obs"] if truncated.all() else obs  # every rollout ends at the same step
        info = {**info, "extrinsic_reward": reward}
        if self.intrinsic is not None:
            reward = reward + self.intrinsic.reward(self._obs, arrived, actions).astype(np.float32)
        self._obs = obs
        return obs, reward, terminated, truncated, info

    @property
    def forward_passes(self) -> int:
        return self.simulated.forward_passes

    def _draw_starts(self, count: int, rng: np.random.Generator) -> torch.Tensor:
        return self._starts[torch.from_numpy(rng.integers(len(self._starts), size=count)).to(self._starts.device)]


class RLlibImaginedWorlds(gym.vector.VectorEnv):
    """:class:`ImaginedWorlds` as RLlib's env runners want it: adapted observations and RLlib's autoreset (an
    ended rollout is restarted by the *next* step, which returns the new observations with reward 0 and is not
    counted as a step)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.worlds = ImaginedWorlds(config)
        self.num_envs = self.worlds.num_envs
        self.adapter = ObsAdapter.for_space(self.worlds.single_observation_space)
        self.single_observation_space = self.adapter.rllib_space()
        self.single_action_space = self.worlds.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._restarted: np.ndarray | None = None  # observations of the rollouts that begin at the next step

    def set_world(self, world: World) -> None:
        self.worlds.set_world(world)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.worlds.reset(seed=seed)
        self._restarted = None
        return self.adapter.to_rllib(obs), info

    def step(self, actions: np.ndarray):
        flags = np.zeros(self.num_envs, bool)
        if self._restarted is not None:  # RLlib's autoreset step: the new rollouts' first observations
            obs, self._restarted = self._restarted, None
            return self.adapter.to_rllib(obs), np.zeros(self.num_envs, np.float32), flags, flags, {}
        obs, reward, terminated, truncated, info = self.worlds.step(actions)
        if truncated.all():
            self._restarted, obs = obs, info["final_obs"]
        return self.adapter.to_rllib(obs), reward, terminated, truncated, {}


def imagined_world_spec(config: dict[str, Any], obs_shape: tuple[int, ...]) -> Any:
    """The imagined env of :func:`imagined_env_config` data, whose observations are uint8 ``obs_shape``
    (frame_stack, H, W, C), as RLlib builds it on every env runner (registered on first use): one
    :class:`RLlibImaginedWorlds` of ``num_envs`` envs per runner."""
    from ray.tune.registry import register_env

    from agents.learners.rllib.learner import RLlibEnvSpec

    register_env(SIMULATED_ENV_NAME, RLlibImaginedWorlds)
    return RLlibEnvSpec(SIMULATED_ENV_NAME, config, ObsAdapter(tuple(obs_shape), "uint8"), config["num_actions"],
                        vector=True)


def broadcast_world(algo: Any, world: World) -> int:
    """Send ``world`` to the imagined envs of every env runner of RLlib ``algo`` (one object-store copy for
    all); returns how many vector envs received it."""
    import ray

    shared = ray.put(world)

    def adopt(runner: Any) -> int:
        env = getattr(runner, "env", None)
        if env is None:  # the local runner of an algorithm that samples remotely hosts no env
            return 0
        env.unwrapped.set_world(ray.get(shared))  # RLlib wraps the vector env
        return 1

    received = sum(algo.env_runner_group.foreach_env_runner(adopt, local_env_runner=True))
    if received == 0:
        raise RuntimeError("no env runner received the world model (all env runners failed?)")
    return received
