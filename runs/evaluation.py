"""Play whole games with a policy and report raw scores (the evaluation protocol in small)."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from envs import AtariConfig, is_atari, make_vector_env


def play_episodes(
    act: Callable[[np.ndarray], np.ndarray], env_id: str, config: AtariConfig, episodes: int,
    seed: int, num_envs: int = 8,
) -> list[float]:
    """Raw scores of ``episodes`` full games (no life-loss terminal, unclipped), spread over ``num_envs``.

    Each env plays a fixed quota of games, so short games are not over-represented.
    Non-Atari envs report the sum of their rewards per episode.
    """
    num_envs = min(num_envs, episodes)
    env = make_vector_env(env_id, num_envs, dataclasses.replace(config, mode="eval"))
    quota = np.full(num_envs, episodes // num_envs) + (np.arange(num_envs) < episodes % num_envs)
    scores: list[float] = []
    returns = np.zeros(num_envs)
    obs, _ = env.reset(seed=seed)
    try:
        while len(scores) < episodes:
            obs, reward, terminated, truncated, info = env.step(act(obs))
            returns += info.get("raw_reward", reward)
            for i in np.flatnonzero(terminated | truncated):
                if quota[i] > 0:
                    scores.append(float(returns[i]))
                    quota[i] -= 1
                returns[i] = 0.0
    finally:
        env.close()
    return scores


def score_summary(scores: list[float], env_id: str) -> dict[str, float]:
    """Mean raw score and, for Atari 100k games, the human-normalised score of that mean."""
    from envs import find_game

    summary = {"score_mean": float(np.mean(scores)), "score_std": float(np.std(scores)), "episodes": len(scores)}
    if is_atari(env_id) and find_game(env_id).in_atari100k:
        summary["hns"] = find_game(env_id).human_normalized(summary["score_mean"])
    return summary
