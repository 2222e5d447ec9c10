"""PPO from stable-baselines3 behind the PolicyLearner protocol, with code-free checkpoints."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter, Logger
from stable_baselines3.common.preprocessing import is_image_space

from agents.features.config import PolicyConfig
from agents.features.cswm import CSWMFeatures
from agents.features.networks import GridCNN, StackedFramesCNN, is_grid_planes, is_rgb_stack
from agents.learners.sb3_vec_env import SB3VecEnv
from envs.files import read_checkpoint, save_torch
from envs.validate import require_range

CHECKPOINT_FORMAT = "rl-workbench/ppo-v1"


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyperparameters (Atari defaults of Schulman et al. 2017 / CleanRL).

    ``n_steps`` is per env: with 8 envs a rollout is 1,000 agent steps, so a 100,000-step budget
    is exactly 100 rollouts.
    """

    n_steps: int = 125
    batch_size: int = 250
    n_epochs: int = 4
    learning_rate: float = 2.5e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.1
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5

    def __post_init__(self) -> None:
        for name in ("n_steps", "batch_size", "n_epochs"):
            require_range(name, getattr(self, name), 1)
        require_range("learning_rate", self.learning_rate, 0.0)
        require_range("gamma", self.gamma, 0.0, 1.0)
        require_range("gae_lambda", self.gae_lambda, 0.0, 1.0)
        require_range("clip_range", self.clip_range, 0.0)


class _ForwardWriter(KVWriter):
    """Hands every value SB3 logs to one ``log(metrics, step)`` function."""

    def __init__(self, log: Callable[[dict[str, float], int], None]) -> None:
        self.log = log

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0) -> None:
        self.log({k: float(v) for k, v in key_values.items() if isinstance(v, (int, float, np.number))}, step)


class _RolloutHook(BaseCallback):
    def __init__(self, on_rollout: Callable[[int], None]) -> None:
        super().__init__()
        self.on_rollout = on_rollout

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.on_rollout(self.num_timesteps)


class PPOLearner:
    """stable-baselines3 PPO on a vector env from ``envs.make_vector_env``.

    Args:
        env: the vector env (same-step autoreset); the policy network follows the observations
            (:func:`policy_spec`).
        seed: seeds torch, numpy and the env's first reset.
        device: ``cpu``, ``cuda`` or ``auto``.
        log: receives SB3's training statistics as ``log(metrics, num_timesteps)``.
        policy: the feature extractor (default: by observation shape; or a C-SWM encoder).
    """

    def __init__(
        self, config: PPOConfig, env: gym.vector.VectorEnv, seed: int = 0, device: str = "cpu",
        log: Callable[[dict[str, float], int], None] | None = None, policy: PolicyConfig | None = None,
    ) -> None:
        rollout = config.n_steps * env.num_envs
        if rollout % config.batch_size:
            raise ValueError(f"batch_size={config.batch_size} must divide the rollout n_steps x num_envs = {rollout}")
        self.config = config
        self.vec_env = SB3VecEnv(env)
        policy = policy or PolicyConfig()
        self.features = policy.extractor_spec(env.single_observation_space)
        name, policy_kwargs = policy_spec(env.single_observation_space, self.features, policy.features)
        self.model = PPO(name, self.vec_env, seed=seed, device=device, verbose=0, policy_kwargs=policy_kwargs,
                         **vars(config))
        if policy.cswm_checkpoint:
            self.model.policy.features_extractor.load_pretrained(policy.cswm_checkpoint)
        self.model.set_logger(Logger(None, [_ForwardWriter(log)] if log else []))

    @property
    def num_timesteps(self) -> int:
        return self.model.num_timesteps

    @property
    def rollout_steps(self) -> int:
        return self.config.n_steps * self.vec_env.num_envs

    def learn(self, steps: int, on_rollout: Callable[[int], None] | None = None) -> None:
        if steps % self.rollout_steps:
            raise ValueError(f"steps={steps} is not a whole number of rollouts of {self.rollout_steps} agent steps")
        callback = _RolloutHook(on_rollout) if on_rollout else None
        self.model.learn(steps, callback=callback, reset_num_timesteps=False, progress_bar=False)

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        actions, _ = self.model.predict(obs, deterministic=deterministic)
        return np.asarray(actions)

    def save(self, path: str | Path) -> None:
        state = {
            "format": CHECKPOINT_FORMAT,
            "policy": self.model.policy.state_dict(),
            "optimizer": self.model.policy.optimizer.state_dict(),
            "num_timesteps": self.model.num_timesteps,
            "features": self.features,
        }
        save_torch(state, path)

    def load(self, path: str | Path) -> None:
        state = load_checkpoint(path)
        self.model.policy.load_state_dict(state["policy"])
        self.model.policy.optimizer.load_state_dict(state["optimizer"])
        self.model.num_timesteps = int(state["num_timesteps"])
        self.model._last_obs = None  # the next learn() starts from a fresh env reset

    def metrics(self) -> dict[str, Any]:
        return dict(self.model.logger.name_to_value)

    @property
    def env(self) -> gym.vector.VectorEnv:
        """The vector env it trains on (with its wrappers)."""
        return self.vec_env.env

    def set_world(self, world: Any) -> None:
        """Imagination: hand this iteration's world to the imagined env (``agents.composed.imagination``)."""
        self.env.unwrapped.set_world(world)

    def set_intrinsic(self, reward: Any) -> None:
        """Real env: replace the intrinsic reward its reward wrapper adds."""
        env = self.env
        while not hasattr(env, "model") and hasattr(env, "env"):
            env = env.env
        env.model = reward

    def acting_policy(self) -> torch.nn.Module:
        """A CPU copy of the policy (``predict``), to play real games elsewhere."""
        policy = build_policy(self.vec_env.observation_space, self.vec_env.action_space, self.features)
        policy.load_state_dict({k: v.detach().cpu() for k, v in self.model.policy.state_dict().items()})
        return policy.eval()

    def saved_policy(self) -> torch.nn.Module:
        """The network a saved agent holds."""
        return self.model.policy

    def load_encoder(self, weights: dict[str, torch.Tensor]) -> None:
        """Copy C-SWM weights into the policy's C-SWM encoder (``features=cswm``)."""
        self.model.policy.features_extractor.cswm.load_state_dict(weights)

    def intrinsic_means(self) -> dict[str, float]:
        """Each intrinsic reward's mean per step since the last call, where the env adds a weighted sum of them
        (``intrinsic.weighted.WeightedIntrinsic``: its ``take_means``); empty otherwise."""
        env: Any = self.env
        while env is not None:
            reward = getattr(env, "intrinsic", None) or getattr(env, "model", None)
            if hasattr(reward, "take_means"):
                return reward.take_means()
            env = getattr(env, "env", None)
        return {}

    def close(self) -> None:
        self.vec_env.close()


def policy_spec(space: gym.Space, features: dict[str, Any] | None = None,
                encoder: str = "auto") -> tuple[str, dict[str, Any]]:
    """SB3 policy name and kwargs for an observation space: a C-SWM encoder when ``features`` (from
    :meth:`PolicyConfig.extractor_spec`) says so, the one ``encoder`` names (``nature``, ``grid``); else Nature
    CNN for (S, 84, 84) stacks, SimPLe's small CNN for (S, H, W, 3) RGB stacks, :class:`GridCNN` for small float
    grids, an MLP for vectors."""
    if features:
        return "MlpPolicy", {"features_extractor_class": CSWMFeatures, "features_extractor_kwargs": features,
                             "normalize_images": False}
    if encoder == "nature":
        if not (is_image_space(space) and len(space.shape) == 3):
            raise ValueError(f"features=nature needs channel-first frame stacks (S, H, W) uint8; got {space}")
        return "CnnPolicy", {}
    if encoder == "grid":
        if not is_grid_planes(space):
            raise ValueError(f"features=grid needs small float planes (C, H, W); got {space}")
        return "MlpPolicy", {"features_extractor_class": GridCNN}
    if is_rgb_stack(space):
        return "CnnPolicy", {"features_extractor_class": StackedFramesCNN}
    if is_grid_planes(space):
        return "MlpPolicy", {"features_extractor_class": GridCNN}
    return ("CnnPolicy", {}) if is_image_space(space) else ("MlpPolicy", {})


def build_policy(observation_space: gym.Space, action_space: gym.Space,
                 features: dict[str, Any] | None = None) -> torch.nn.Module:
    """A fresh SB3 actor-critic policy of the architecture :class:`PPOLearner` trains, without an env."""
    name, kwargs = policy_spec(observation_space, features)
    return PPO.policy_aliases[name](observation_space, action_space, lambda _: 0.0, **kwargs)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a PPO checkpoint with ``weights_only=True`` (no pickled code runs); clear error if corrupt."""
    return read_checkpoint(path, CHECKPOINT_FORMAT, "PPO")
