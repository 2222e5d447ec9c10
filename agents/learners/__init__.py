"""Policy learners by name, and the one function that builds a learner for the world its policy trains in.

    sb3-ppo      stable-baselines3 PPO (sb3_ppo.py), in this process
    dqn          DQN / DrQ(epsilon) in plain PyTorch (dqn/), in this process
    rllib-ppo    RLlib PPO   \\
    rllib-appo   RLlib APPO   > rllib/learner.py, sampled by RLlib env runners
    rllib-dqn    RLlib DQN   /

Both families meet :class:`agents.protocols.PolicyLearner`; nothing outside ``agents/`` reaches past it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from agents.features.config import PolicyConfig
from agents.protocols import PolicyLearner
from envs import AtariConfig, make_vector_env
from intrinsic.weighted import WeightedIntrinsic

Log = Callable[[dict[str, float], int], None]


@dataclass(frozen=True)
class LearnerEntry:
    """What a learner can do.

    Attributes:
        family: ``sb3`` (settings in the spec's ``ppo``), ``torch`` (our own, in ``dqn``) or ``rllib`` (in
            ``rllib``).
        algorithm: what the learner optimises; RLlib's ``rllib.algorithm`` is set from it.
        imagination: it can train inside a world model (imagined rollouts are short and on-policy).
        encoders: the ``features.features`` values it can build (RLlib builds its own encoders).
        passes_actions: it can hand the actions taken to a reward that needs them.
    """

    name: str
    family: Literal["sb3", "torch", "rllib"]
    algorithm: str
    imagination: bool
    encoders: tuple[str, ...]
    passes_actions: bool = True


LEARNERS = {entry.name: entry for entry in [
    LearnerEntry("sb3-ppo", "sb3", "ppo", imagination=True, encoders=("auto", "nature", "grid", "cswm")),
    LearnerEntry("dqn", "torch", "dqn", imagination=False, encoders=("auto", "nature")),
    LearnerEntry("rllib-ppo", "rllib", "ppo", imagination=True, encoders=("auto",)),
    LearnerEntry("rllib-appo", "rllib", "appo", imagination=False, encoders=("auto",)),
    LearnerEntry("rllib-dqn", "rllib", "dqn", imagination=False, encoders=("auto",)),
]}


def learner_names() -> list[str]:
    return sorted(LEARNERS)


def learner_entry(name: str) -> LearnerEntry:
    if name not in LEARNERS:
        raise ValueError(f"learner={name!r} is not known; choose one of {learner_names()}")
    return LEARNERS[name]


@dataclass
class RealWorld:
    """The policy trains on ``num_envs`` real envs; ``intrinsic`` is added in this process (stable-baselines3),
    ``intrinsic_files`` (``(name, path, weight)``) in RLlib's learner connector."""

    env: AtariConfig
    num_envs: int
    intrinsic: WeightedIntrinsic | None = None
    intrinsic_files: tuple[tuple[str, str, float], ...] = ()


@dataclass
class ImaginedWorld:
    """The policy trains inside a world model: ``config`` from :func:`agents.composed.imagination.imagined_env_config`,
    observations of shape ``obs_shape``; the world arrives each iteration through ``set_world``."""

    config: dict[str, Any]
    obs_shape: tuple[int, ...]


def build_learner(spec: Any, world: RealWorld | ImaginedWorld, seed: int, device: str,
                  log: Log | None = None) -> PolicyLearner:
    """The learner ``spec.learner`` names (settings ``spec.ppo`` or ``spec.rllib``, encoder ``spec.features``),
    training in ``world``."""
    entry = learner_entry(spec.learner)
    if entry.family == "sb3":
        return _sb3(spec.ppo, spec.features, world, seed, device, log)
    if entry.family == "torch":
        return _dqn(spec, world, seed, device, log)
    return _rllib(spec.rllib_config, world, seed, device, log)


def _dqn(spec: Any, world: RealWorld | ImaginedWorld, seed: int, device: str, log: Log | None) -> PolicyLearner:
    from agents.learners.dqn.learner import DQNLearner

    if isinstance(world, ImaginedWorld):  # refused by AgentSpec already; kept for direct callers
        raise ValueError("learner='dqn' trains in the real env only")
    return DQNLearner(spec.dqn, _real_envs(world), spec.replay_rows, seed=seed, device=device, log=log)


def _real_envs(world: RealWorld) -> Any:
    """The real vector env a learner in this process trains on, its intrinsic rewards added by a wrapper."""
    from intrinsic import IntrinsicRewardVectorWrapper

    env = make_vector_env(world.env.game, world.num_envs, world.env)
    return IntrinsicRewardVectorWrapper(env, world.intrinsic) if world.intrinsic is not None else env


def _sb3(ppo: Any, features: PolicyConfig, world: RealWorld | ImaginedWorld, seed: int, device: str,
         log: Log | None) -> PolicyLearner:
    from agents.composed.imagination import ImaginedWorlds
    from agents.learners.sb3_ppo import PPOLearner

    env = ImaginedWorlds(world.config, device) if isinstance(world, ImaginedWorld) else _real_envs(world)
    return PPOLearner(ppo, env, seed=seed, device=device, log=log, policy=features)


def _rllib(rllib: Any, world: RealWorld | ImaginedWorld, seed: int, device: str, log: Log | None) -> PolicyLearner:
    from agents.composed.imagination import imagined_world_spec
    from agents.learners.rllib.augment import augment_connector, chained
    from agents.learners.rllib.intrinsic import intrinsic_connector
    from agents.learners.rllib.learner import RLlibLearner, real_env_spec

    if isinstance(world, ImaginedWorld):
        return RLlibLearner(rllib, imagined_world_spec(world.config, world.obs_shape), seed=seed, device=device,
                            log=log)
    env = real_env_spec(world.env.game, world.env)
    connector = chained(
        intrinsic_connector(list(world.intrinsic_files), env.adapter) if world.intrinsic_files else None,
        augment_connector(rllib.augment_pad, rllib.intensity_scale, seed) if rllib.drq_augment else None)
    return RLlibLearner(rllib, env, seed=seed, device=device, log=log, learner_connector=connector)


def saved_learner_name(spec: Any) -> str:
    """The ``learner`` a saved agent records (how :func:`agents.load` rebuilds its network)."""
    family = learner_entry(spec.learner).family
    return {"sb3": "sb3-ppo", "torch": spec.learner}.get(family, f"rllib-{spec.rllib_config.algorithm}")


def policy_extra(spec: Any) -> dict[str, Any]:
    """What a saved agent needs beyond the weights to rebuild the policy (RLlib: its config)."""
    family = learner_entry(spec.learner).family
    if family == "sb3":
        return {}
    if family == "torch":
        from agents.learners.dqn.policy import plain_config as dqn_plain

        return {"dqn": dqn_plain(spec.dqn)}
    from agents.learners.rllib.policy import plain_config

    return {"rllib": plain_config(spec.rllib_config)}
