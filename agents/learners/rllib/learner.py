"""RLlib (new API stack) behind the PolicyLearner protocol, on our envs or any registered env spec.

Checkpoints (format in ``agents/learners/rllib/policy.py``) hold the RLModule's weights, the optimiser's state and the
step count as plain tensors and numbers.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.learners.rllib.config import RLlibConfig
from agents.learners.rllib.env import ObsAdapter, env_config, probe_env, register
from agents.learners.rllib.policy import (
    CHECKPOINT_FORMAT,
    MODULE_ID,
    RLlibPolicy,
    algorithm_base,
    build_policy,
    load_checkpoint,
    load_policy_weights,
    plain_config,
    to_numpy,
    to_torch,
)
from envs import AtariConfig
from envs.files import save_torch


@dataclass(frozen=True)
class RLlibEnvSpec:
    """What an algorithm needs of its env: the name registered with Tune, the plain config every env runner
    builds it from, the adapter of its native observations and its number of actions."""

    name: str
    config: dict[str, Any]
    adapter: ObsAdapter
    num_actions: int
    vector: bool = False  # the env creator builds a whole vector env (RLlib's "vector_entry_point" mode)


def real_env_spec(env_id: str, atari: AtariConfig) -> RLlibEnvSpec:
    """One of our real envs (``envs.make_env``) as RLlib builds it."""
    return RLlibEnvSpec(register(), env_config(env_id, atari), *probe_env(env_id, atari))


def algorithm_config(config: RLlibConfig, env: RLlibEnvSpec, seed: int = 0, device: str = "cpu",
                     learner_connector: Callable | None = None) -> Any:
    """The RLlib ``AlgorithmConfig`` for ``config`` on ``env`` (one local learner, no Tune)."""
    gpus = 1 if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()) else 0
    vectorize = {"gym_env_vectorize_mode": "vector_entry_point"} if env.vector else {}
    return (algorithm_base(config).environment(env.name, env_config=env.config)
            .env_runners(num_env_runners=config.num_env_runners, num_envs_per_env_runner=config.envs_per_env_runner,
                         num_cpus_per_env_runner=config.cpus_per_env_runner, rollout_fragment_length=config.fragment,
                         **vectorize)
            .learners(num_learners=0, num_gpus_per_learner=gpus, learner_connector=learner_connector)
            # One sample + update per train() call, so budgets are counted in whole iterations.
            .reporting(min_sample_timesteps_per_iteration=0, min_time_s_per_iteration=0)
            .debugging(seed=seed))


class RLlibLearner:
    """An RLlib algorithm training on one of our envs (``envs.make_env`` protocol, adapted observations).

    Args:
        env_id, atari: the env and, for Atari games, the protocol (train mode); or an :class:`RLlibEnvSpec`
            as ``env_id`` for any other registered env (e.g. a world model's imagined env) and no ``atari``.
        seed: RLlib's seed (torch, env runners' env seeds).
        device: ``cpu``, ``cuda`` or ``auto`` for the learner; env runners act on CPU.
        log: receives flattened RLlib results (``env_runners/episode_return_mean``, ``learners/...``) per iteration.
        learner_connector: e.g. :func:`agents.learners.rllib.intrinsic.intrinsic_connector` (training reward only).
    """

    def __init__(self, config: RLlibConfig, env_id: str | RLlibEnvSpec, atari: AtariConfig | None = None,
                 seed: int = 0, device: str = "cpu", log: Callable[[dict[str, float], int], None] | None = None,
                 learner_connector: Callable | None = None) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address="local", include_dashboard=False)
        env = env_id if isinstance(env_id, RLlibEnvSpec) else real_env_spec(env_id, atari or AtariConfig())
        self.config, self.adapter, self.num_actions = config, env.adapter, env.num_actions
        self.algo = algorithm_config(config, env, seed, device, learner_connector).build_algo()
        self.policy = build_policy(config, self.adapter, self.num_actions)
        self.num_timesteps = 0
        self._log = log
        self._latest: dict[str, float] = {}
        self._sampled_lifetime = 0.0  # RLlib's own counter, which restarts at 0 in every process
        self._policy_at = -1  # num_timesteps at which self.policy last copied the learner's weights

    def learn(self, steps: int, on_rollout: Callable[[int], None] | None = None) -> None:
        """Train for ``steps`` more env steps, one RLlib iteration at a time; ``on_rollout(num_timesteps)`` after each.

        Raises:
            ValueError: ``steps`` is not a whole number of iterations (``config.steps_per_iteration``) while the
                budget is exact; inexact set-ups (APPO with env runners, several envs per runner) may overshoot.
        """
        if self.config.exact_budget and steps % self.config.steps_per_iteration:
            raise ValueError(f"steps={steps} is not a whole number of RLlib iterations of "
                             f"{self.config.steps_per_iteration} env steps")
        target = self.num_timesteps + steps
        while self.num_timesteps < target:
            result = self.algo.train()
            lifetime = float(result["num_env_steps_sampled_lifetime"])
            self.num_timesteps += int(round(lifetime - self._sampled_lifetime))
            self._sampled_lifetime = lifetime
            self._latest = flat_metrics(result)
            if self._log:
                self._log(self._latest, self.num_timesteps)
            if on_rollout:
                on_rollout(self.num_timesteps)

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """Actions (B,) for our native observations (B, *obs_shape), from the learner's latest weights."""
        return self.current_policy().predict(obs, deterministic)[0]

    def current_policy(self) -> RLlibPolicy:
        """The CPU policy copy with the learner's latest weights (what :func:`agents.save_agent` writes)."""
        if self._policy_at != self.num_timesteps:
            load_policy_weights(self.policy, self._module_weights())
            self._policy_at = self.num_timesteps
        return self.policy

    def save(self, path: str | Path) -> None:
        """RLModule weights, optimiser state (Adam moments, step) and step count, as tensors and numbers."""
        learner = self._learner_state()
        state = {"format": CHECKPOINT_FORMAT, "rllib": plain_config(self.config),
                 "module": self._module_weights(), "optimizer": to_torch(learner["optimizer"]),
                 "num_timesteps": self.num_timesteps}
        save_torch(state, path)

    def load(self, path: str | Path) -> None:
        from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_LEARNER_GROUP, COMPONENT_RL_MODULE

        state = load_checkpoint(path)
        weights = {k: v.numpy() for k, v in state["module"].items()}
        learner = {COMPONENT_RL_MODULE: {MODULE_ID: weights}, "optimizer": to_numpy(state["optimizer"])}
        self.algo.set_state({COMPONENT_LEARNER_GROUP: {COMPONENT_LEARNER: learner}})  # also syncs env runners
        self.num_timesteps = int(state["num_timesteps"])
        self._policy_at = -1

    def metrics(self) -> dict[str, Any]:
        return dict(self._latest)

    def set_world(self, world: Any) -> int:
        """Imagination: send this iteration's :class:`agents.composed.imagination.World` to every env runner."""
        from agents.composed.imagination import broadcast_world

        return broadcast_world(self.algo, world)

    def acting_policy(self) -> RLlibPolicy:
        """The CPU policy with the latest weights (``predict`` on native observations)."""
        return self.current_policy()

    def saved_policy(self) -> RLlibPolicy:
        return self.current_policy()

    def intrinsic_means(self) -> dict[str, float]:
        """Intrinsic rewards are added in RLlib's learner (``learners/__all_modules__/intrinsic_reward_mean``)."""
        return {}

    def close(self) -> None:
        """Stop the algorithm's env runners and learner."""
        self.algo.stop()

    def _learner_state(self) -> dict[str, Any]:
        from ray.rllib.core import COMPONENT_LEARNER

        return self.algo.learner_group.get_state(components=COMPONENT_LEARNER)[COMPONENT_LEARNER]

    def _module_weights(self) -> dict[str, torch.Tensor]:
        from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_RL_MODULE

        component = f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}"
        state = self.algo.learner_group.get_state(components=component)[COMPONENT_LEARNER]
        return {k: torch.as_tensor(np.asarray(v)) for k, v in state[COMPONENT_RL_MODULE][MODULE_ID].items()}


def flat_metrics(result: dict[str, Any]) -> dict[str, float]:
    """Finite numbers of an RLlib result under ``env_runners/`` and ``learners/``, keys joined with ``/``."""
    out: dict[str, float] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}/{key}")
        elif isinstance(node, (int, float, np.number)) and not isinstance(node, bool) and math.isfinite(node):
            out[prefix.lstrip("/")] = float(node)

    for section in ("env_runners", "learners"):
        walk(result.get(section, {}), section)
    return out


