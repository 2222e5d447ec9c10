"""Collecting real interaction with labelled events (vase breaks, life losses) for potentials."""
from __future__ import annotations

import numpy as np

from envs import AtariConfig, ExperienceStore, is_atari, make_vector_env


def collect_random(env_id: str, steps: int, num_envs: int = 8, seed: int = 0, config: AtariConfig | None = None,
                   event_key: str = "vase_broken") -> tuple[ExperienceStore, np.ndarray]:
    """``steps`` agent steps of a uniformly random policy, and a bool per store row marking labelled events:
    ``info[event_key]`` of the transition arriving at that row, or a life loss for Atari games."""
    env = make_vector_env(env_id, num_envs, config)
    space = env.single_observation_space
    stack = space.shape[0] if is_atari(env_id) else 1
    store = ExperienceStore(space.shape, stack, steps + 64 * num_envs + steps // 4, num_envs, space.dtype)
    events = np.zeros(store.capacity, bool)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    store.begin(obs)
    for _ in range(steps // num_envs):
        actions = rng.integers(env.single_action_space.n, size=num_envs)
        obs, reward, terminated, truncated, info = env.step(actions)
        flags = info["life_lost"] if is_atari(env_id) else event_flags(info, event_key, num_envs)
        events[store.add_vector_step(actions, obs, reward, terminated, truncated, info)] = flags
    env.close()
    return store, events[: store.size]


def event_flags(info: dict, key: str, n: int) -> np.ndarray:
    """``info[key]`` per env; for envs that just ended, the value lives in ``final_info`` (same-step reset)."""
    flags = np.zeros(n, bool)
    if key in info:
        flags |= np.asarray(info[key], bool) & np.asarray(info.get(f"_{key}", np.ones(n, bool)))
    if "final_info" in info and key in info["final_info"]:
        ended = np.asarray(info["_final_obs"], bool)
        flags = np.where(ended, np.asarray(info["final_info"][key], bool), flags)
    return flags
