"""Our envs as RLlib sees them: one registered env name, built by ``envs.make_env``, with observations adapted
to what RLlib's default encoders read (channels-last float images, flat vectors).

The adapter is invertible: intrinsic models and saved agents work on our native observations, and uint8 frames
come back bit-exact (``round(x * 255)`` of ``x = u / 255`` in float32 is ``u``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs import AtariConfig, make_env

ENV_NAME = "rl-workbench"  # the one name registered with Ray Tune; the env id travels in the env config


@dataclass(frozen=True)
class ObsAdapter:
    """Native observation space <-> RLlib observation space.

    - uint8 stacks (S, H, W) -> (H, W, S) float32 in [0, 1]; RGB stacks (S, H, W, 3) -> (H, W, S * 3).
    - float grids (C, H, W), e.g. the vase world's planes -> flat (C * H * W,) float32 vectors.
    - vectors (CartPole) unchanged.
    """

    native_shape: tuple[int, ...]
    native_dtype: str

    @classmethod
    def for_space(cls, space: gym.Space) -> ObsAdapter:
        if not isinstance(space, spaces.Box):
            raise ValueError(f"RLlib learners need Box observations; got {space}")
        return cls(tuple(space.shape), str(space.dtype))

    @property
    def kind(self) -> str:
        """``image`` (uint8 frames), ``grid`` (float planes, flattened) or ``vector`` (as is)."""
        if self.native_dtype == "uint8" and len(self.native_shape) in (3, 4):
            return "image"
        return "grid" if len(self.native_shape) >= 2 else "vector"

    @property
    def rllib_shape(self) -> tuple[int, ...]:
        shape = self.native_shape
        if self.kind == "image":
            channels = shape[0] * (shape[3] if len(shape) == 4 else 1)
            return (shape[1], shape[2], channels)
        return (int(np.prod(shape)),) if self.kind == "grid" else shape

    def rllib_space(self) -> spaces.Box:
        low, high = (0.0, 1.0) if self.kind == "image" else (-np.inf, np.inf)
        return spaces.Box(low, high, self.rllib_shape, np.float32)

    def to_rllib(self, obs: np.ndarray) -> np.ndarray:
        """(B, *native_shape) -> (B, *rllib_shape) float32."""
        obs = np.asarray(obs)
        if self.kind == "image":
            if obs.ndim == 5:  # (B, S, H, W, 3) -> (B, H, W, S, 3): frames of one step stay adjacent
                obs = obs.transpose(0, 2, 3, 1, 4)
            else:
                obs = obs.transpose(0, 2, 3, 1)
            return obs.reshape(len(obs), *self.rllib_shape).astype(np.float32) / np.float32(255.0)
        return obs.reshape(len(obs), *self.rllib_shape).astype(np.float32)

    def to_native(self, obs: np.ndarray) -> np.ndarray:
        """(B, *rllib_shape) -> (B, *native_shape) in the native dtype (exact for uint8 frames)."""
        obs = np.asarray(obs)
        if self.kind != "image":
            return obs.reshape(len(obs), *self.native_shape).astype(self.native_dtype)
        frames = np.rint(obs * 255.0).clip(0, 255).astype(np.uint8)
        if len(self.native_shape) == 4:
            stack, height, width, rgb = self.native_shape
            return frames.reshape(len(obs), height, width, stack, rgb).transpose(0, 3, 1, 2, 4)
        return frames.transpose(0, 3, 1, 2)


class RLlibObservation(gym.ObservationWrapper):
    """Applies :class:`ObsAdapter` to a single env's observations."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.adapter = ObsAdapter.for_space(env.observation_space)
        self.observation_space = self.adapter.rllib_space()

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return self.adapter.to_rllib(observation[None])[0]


def env_config(env_id: str, config: AtariConfig) -> dict[str, Any]:
    """The plain-data env config RLlib passes to :func:`make_rllib_env` in every env runner."""
    return {"env_id": env_id, "atari": dataclasses.asdict(config)}


def make_rllib_env(config: dict[str, Any]) -> gym.Env:
    """One of our envs (Atari under the protocol in ``config["atari"]``, or a Gymnasium id), adapted for RLlib."""
    return RLlibObservation(make_env(config["env_id"], AtariConfig(**config["atari"])))


def probe_env(env_id: str, config: AtariConfig) -> tuple[ObsAdapter, int]:
    """The observation adapter and the number of actions of ``env_id`` (makes and closes one env)."""
    env = make_env(env_id, config)
    try:
        return ObsAdapter.for_space(env.observation_space), int(env.action_space.n)
    finally:
        env.close()


def native_adapter(env_id: str, config: AtariConfig) -> ObsAdapter:
    """The adapter of ``env_id`` (see :func:`probe_env`)."""
    return probe_env(env_id, config)[0]


def register() -> str:
    """Register :func:`make_rllib_env` with Ray Tune (idempotent) and return the env name to configure."""
    from ray.tune.registry import register_env

    register_env(ENV_NAME, make_rllib_env)
    return ENV_NAME
