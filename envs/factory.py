"""One factory for every env the workbench plays: Atari under the protocol, anything else as registered."""
from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
from gymnasium.vector import AutoresetMode

from envs.atari import AtariEnv
from envs.config import AtariConfig
from envs.games import atari100k_games, atari_game_name, find_game
from envs.validate import closest
from envs.vector import NativeAtariVectorEnv


def is_atari(env_id: str) -> bool:
    """True for game names (``Pong``, ``ms_pacman``) and ALE ids (``ALE/Pong-v5``, ``PongNoFrameskip-v4``)."""
    if env_id in gym.registry:
        return "ale_py" in str(gym.registry[env_id].entry_point)
    return atari_game_name(env_id) is not None or "-v" not in env_id


def check_env_id(env_id: str) -> None:
    """Raise the factory's ``ValueError`` for an unknown game or env id, without making the env."""
    if is_atari(env_id):
        find_game(env_id)
    else:
        _require_registered(env_id)


def make_env(
    env_id: str, config: AtariConfig | None = None, render_mode: str | None = None, **env_kwargs: Any
) -> gym.Env:
    """A single env. Atari ids are read for the game only: the protocol comes from ``config``.

    Any other registered Gymnasium id (``CartPole-v1``) is made as registered, with ``env_kwargs``.

    Raises:
        ValueError: unknown id (with the closest valid names), or ALE settings passed as kwargs,
            e.g. ``frameskip=4`` under the protocol's own frame skip (a silent 16-frame skip).
    """
    if is_atari(env_id):
        _reject_ale_kwargs(env_kwargs)
        return AtariEnv(_with_game(config, env_id), render_mode=render_mode)
    _require_registered(env_id)
    if render_mode is not None:  # toy worlds take no render_mode argument at all
        env_kwargs["render_mode"] = render_mode
    return gym.make(env_id, **env_kwargs)


def make_vector_env(
    env_id: str, num_envs: int, config: AtariConfig | None = None, **env_kwargs: Any
) -> gym.vector.VectorEnv:
    """``num_envs`` copies with same-step autoreset: Atari on ale-py's C++ threads, others in a SyncVectorEnv."""
    if is_atari(env_id):
        _reject_ale_kwargs(env_kwargs)
        return NativeAtariVectorEnv(_with_game(config, env_id), num_envs)
    _require_registered(env_id)
    return gym.make_vec(
        env_id, num_envs, vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        **env_kwargs,
    )


def _with_game(config: AtariConfig | None, env_id: str) -> AtariConfig:
    return dataclasses.replace(config or AtariConfig(), game=env_id)


def _reject_ale_kwargs(env_kwargs: dict[str, Any]) -> None:
    skip = env_kwargs.pop("frameskip", 1)
    if skip != 1:
        raise ValueError(
            f"frameskip={skip} in the ALE env would be applied under the protocol's own frame skip "
            f"({skip} x {AtariConfig.frame_skip} frames per agent step); "
            "set AtariConfig.frame_skip instead and leave the ALE at frameskip=1"
        )
    if env_kwargs:
        fields = [f.name for f in dataclasses.fields(AtariConfig)]
        raise ValueError(f"Atari envs take no kwargs {sorted(env_kwargs)}; set AtariConfig fields: {fields}")


def _require_registered(env_id: str) -> None:
    if env_id not in gym.registry:
        names = [g.name for g in atari100k_games()] + list(gym.registry)
        raise ValueError(f"unknown env id {env_id!r}; closest valid names: {closest(env_id, names)}")
