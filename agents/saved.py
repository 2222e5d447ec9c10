"""The saved-agent format: a directory any agent writes and :func:`load` reads back without training state.

    agent.json   format, learner, env id and protocol config, observation and action spaces, versions
    policy.pt    policy weights only (loaded with ``weights_only=True``: no pickled code runs)

Learners: ``sb3-ppo`` (an SB3 actor-critic), ``dqn`` (a :class:`agents.learners.dqn.policy.QPolicy`, rebuilt
from the ``dqn`` config in ``agent.json``) and ``rllib-<algorithm>`` (an RLlib RLModule in
:class:`agents.learners.rllib.policy.RLlibPolicy`, rebuilt from the ``rllib`` config in ``agent.json``).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.learners.sb3_ppo import build_policy, load_checkpoint
from envs import AtariConfig, check_env_id, make_vector_env
from envs.config_data import from_dict
from envs.files import atomic_write_text, read_checkpoint, read_json, read_yaml, save_torch

AGENT_FORMAT = "rl-workbench/agent-v1"
AGENT_KEYS = ("format", "learner", "env_id", "env", "observation_space", "action_space")
POLICY_FORMAT = "rl-workbench/policy-v1"


@dataclass
class SavedAgent:
    """A trained policy with the observation protocol it was trained under.

    Attributes:
        env_id: the game or Gymnasium id; ``env_config``: the protocol (train mode as trained).
        policy: the SB3 actor-critic network or an ``RLlibPolicy`` (on CPU unless moved); both have ``predict``.
        meta: the rest of ``agent.json`` (learner, versions, training run).
    """

    env_id: str
    env_config: AtariConfig
    policy: torch.nn.Module
    meta: dict[str, Any]

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """Actions (B,) for observations (B, *obs_shape)."""
        actions, _ = self.policy.predict(obs, deterministic=deterministic)
        return np.asarray(actions)


def save_agent(path: str | Path, policy: torch.nn.Module, env_id: str, env_config: AtariConfig,
               learner: str, extra: dict[str, Any] | None = None, features: dict[str, Any] | None = None) -> Path:
    """Write ``policy`` and its protocol as a saved-agent directory (files written atomically); ``features``
    is the feature-extractor spec the policy was built with (None: chosen by observation shape)."""
    path = Path(path)
    meta = {
        "format": AGENT_FORMAT, "learner": learner, "env_id": env_id, "env": dataclasses.asdict(env_config),
        "observation_space": {"shape": list(policy.observation_space.shape),
                              "dtype": str(policy.observation_space.dtype)},
        "action_space": {"n": int(policy.action_space.n)},
        "features": features,
        "versions": {name: _version(name) for name in ("torch", "stable-baselines3", "ray", "gymnasium", "ale-py")},
        **(extra or {}),
    }
    state = {"format": POLICY_FORMAT, "weights": policy.state_dict()}
    save_torch(state, path / "policy.pt")
    atomic_write_text(path / "agent.json", json.dumps(meta, indent=2))
    return path


def load(path: str | Path) -> SavedAgent:
    """Load a saved agent from its directory, from a finished run directory (its ``agent/``), or from a
    PPO checkpoint ``.pt`` inside a run directory (the run's ``config.yaml`` gives the protocol).

    Raises:
        ValueError: missing, corrupt or foreign files, or a run that has not finished (no final policy).
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path} does not exist (expected a run directory, saved agent or checkpoint)")
    if path.suffix == ".pt":
        return _from_checkpoint(path)
    if (path / "agent.json").exists():
        return _from_agent_dir(path)
    if (path / "config.yaml").exists():
        if not (path / "agent").exists():
            raise ValueError(f"{path} is a run directory without a final agent (unfinished run?); "
                             "only the final policy of a finished run can be loaded")
        return _from_agent_dir(path / "agent")
    raise ValueError(
        f"{path} is neither a saved agent (agent.json), a run directory (config.yaml) nor a .pt checkpoint")


def _from_agent_dir(path: Path) -> SavedAgent:
    meta = read_json(path / "agent.json", "saved-agent")
    if not isinstance(meta, dict) or meta.get("format") != AGENT_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(f"{path} is not a saved agent of format {AGENT_FORMAT!r} (found {found!r})")
    missing = sorted(set(AGENT_KEYS) - set(meta))
    if missing:
        raise ValueError(f"{path / 'agent.json'} lacks {missing}; a saved agent holds {list(AGENT_KEYS)}")
    check_env_id(meta["env_id"])
    env_config = from_dict(AtariConfig, meta["env"], "env")
    spaces = _env_spaces(meta["env_id"], env_config)
    _require_spaces(path, meta, *spaces)
    if str(meta["learner"]).startswith("rllib-"):
        policy = _rllib_policy(meta)
    elif meta["learner"] == "dqn":
        policy = _dqn_policy(meta.get("dqn", {}), spaces[0], int(spaces[1].n))
    else:
        policy = build_policy(*spaces, meta.get("features"))
    weights = read_checkpoint(path / "policy.pt", POLICY_FORMAT, "saved policy")["weights"]
    try:
        policy.load_state_dict(weights)
    except RuntimeError as e:  # shapes or names that do not fit the network agent.json describes
        raise ValueError(f"{path / 'policy.pt'} does not fit the policy {path / 'agent.json'} describes "
                         f"(learner {meta['learner']!r}, env {meta['env_id']!r}): {str(e).splitlines()[0]}") from e
    return SavedAgent(meta["env_id"], env_config, policy.eval(), {**meta, "path": str(path)})


def _require_spaces(path: Path, meta: dict[str, Any], observations: gym.Space, actions: gym.Space) -> None:
    """The env that ``agent.json`` names must give the observations and actions the agent was trained on."""
    saved = (tuple(meta["observation_space"]["shape"]), int(meta["action_space"]["n"]))
    built = (tuple(observations.shape), int(actions.n))
    if saved != built:
        raise ValueError(f"{path / 'agent.json'}: env {meta['env_id']!r} gives observations {built[0]} and "
                         f"{built[1]} actions, but the agent was trained on {saved[0]} and {saved[1]}")


def _from_checkpoint(path: Path) -> SavedAgent:
    """A policy checkpoint inside its run directory (``checkpoints/iteration_N/policy.pt`` of the composed loop,
    or an older ``checkpoints/step_N.pt``), rebuilt with the run's ``config.yaml``."""
    run = next((p for p in path.parents[:3] if (p / "config.yaml").exists()), None)
    if run is None:
        raise ValueError(f"{path}: a checkpoint is loadable only inside its run directory (no config.yaml above it)")
    config = read_yaml(run / "config.yaml", "run config")
    if not isinstance(config, dict) or not isinstance(config.get("env"), dict):
        raise ValueError(f"{run / 'config.yaml'} is not an agent's run config (no env mapping)")
    env_config = from_dict(AtariConfig, config["env"], "env")
    checkpoint = str(path.relative_to(run))
    # Not the final policy, even of a finished run: evaluations record it so, and the leaderboard refuses them.
    meta = {"env_id": env_config.game, "run": str(run), "checkpoint": checkpoint, "policy": f"checkpoint {checkpoint}"}
    if str(config.get("learner", "sb3")).startswith("rllib") or config.get("agent") == "rllib":
        from agents.learners.rllib.policy import policy_from_checkpoint

        policy = policy_from_checkpoint(path, env_config.game, env_config)
        learner = config.get("learner") or f"rllib-{config['rllib']['algorithm']}"
        return SavedAgent(env_config.game, env_config, policy.eval(), {"learner": learner, **meta})
    if config.get("learner") == "dqn":
        from agents.learners.dqn.policy import load_checkpoint as load_dqn

        state = load_dqn(path)
        observations, actions = _env_spaces(env_config.game, env_config)
        policy = _dqn_policy(state["dqn"], observations, int(actions.n))
        policy.q.load_state_dict(state["q"])
        return SavedAgent(env_config.game, env_config, policy.eval(), {"learner": "dqn", **meta})
    state = load_checkpoint(path)
    policy = _policy_for(env_config.game, env_config, state.get("features"))
    policy.load_state_dict(state["policy"])
    return SavedAgent(env_config.game, env_config, policy.eval(), {"learner": "sb3-ppo", **meta})


def _policy_for(env_id: str, env_config: AtariConfig, features: dict[str, Any] | None) -> torch.nn.Module:
    return build_policy(*_env_spaces(env_id, env_config), features)


def _env_spaces(env_id: str, env_config: AtariConfig) -> tuple[gym.Space, gym.Space]:
    """(observation space, action space) of one env of ``env_id`` under ``env_config``."""
    env: gym.vector.VectorEnv = make_vector_env(env_id, 1, env_config)
    try:
        return env.single_observation_space, env.single_action_space
    finally:
        env.close()


def _rllib_policy(meta: dict[str, Any]) -> torch.nn.Module:
    """An untrained RLlib policy of the saved architecture (``meta["rllib"]``: the learner's RLlibConfig)."""
    from agents.learners.rllib.env import ObsAdapter
    from agents.learners.rllib.policy import build_policy, config_from_plain

    config = config_from_plain(meta["rllib"])
    space = meta["observation_space"]
    return build_policy(config, ObsAdapter(tuple(space["shape"]), space["dtype"]), int(meta["action_space"]["n"]))


def _dqn_policy(config: dict[str, Any], observations: gym.Space, num_actions: int) -> torch.nn.Module:
    """An untrained greedy Q-policy of the saved architecture (``config``: the learner's DQNConfig)."""
    from agents.learners.dqn.policy import QPolicy, config_from_plain

    return QPolicy(config_from_plain(config), observations, num_actions)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
