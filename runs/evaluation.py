"""Playing whole games with a policy under the evaluation protocol, and the results file it writes."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from envs import PROTOCOL_VERSION, AtariConfig, find_game, is_atari, make_vector_env
from envs.files import atomic_write_text
from envs.validate import require_range

RESULTS_FORMAT = "rl-workbench/evaluation-v1"


@dataclass(frozen=True)
class EvalConfig:
    """The evaluation protocol: full games (no life-loss terminal), raw score, 108,000-frame cap,
    up to 30 no-ops, sticky actions as trained (0 in the protocol), epsilon-greedy on top of the policy.

    Attributes:
        episodes: games played, spread over ``num_envs`` envs with equal quotas.
        epsilon: chance of a uniformly random action at each step (0.001 in the protocol; DrQ used 0.05).
        deterministic: take the policy's most likely action instead of sampling it.
    """

    episodes: int = 100
    seed: int = 0
    epsilon: float = 0.001
    num_envs: int = 8
    max_episode_frames: int = 108_000
    deterministic: bool = False

    def __post_init__(self) -> None:
        require_range("episodes", self.episodes, 1)
        require_range("epsilon", self.epsilon, 0.0, 1.0)
        require_range("num_envs", self.num_envs, 1)


def play_episodes(
    act: Callable[[np.ndarray], np.ndarray], env_id: str, config: AtariConfig, episodes: int,
    seed: int, num_envs: int = 8, epsilon: float = 0.0, progress: Callable[[int], None] | None = None,
) -> list[float]:
    """Raw scores of ``episodes`` full games (eval mode: no life-loss terminal, unclipped), spread over
    ``num_envs`` with a fixed quota each, so short games are not over-represented. With ``epsilon``, each
    action is replaced by a uniformly random one with that probability. Non-Atari envs report summed rewards.
    """
    num_envs = min(num_envs, episodes)
    env = make_vector_env(env_id, num_envs, dataclasses.replace(config, mode="eval"))
    rng = np.random.default_rng(seed)
    quota = np.full(num_envs, episodes // num_envs) + (np.arange(num_envs) < episodes % num_envs)
    scores: list[float] = []
    returns = np.zeros(num_envs)
    obs, _ = env.reset(seed=seed)
    try:
        while len(scores) < episodes:
            actions = act(obs)
            explore = rng.random(num_envs) < epsilon
            actions = np.where(explore, rng.integers(env.single_action_space.n, size=num_envs), actions)
            obs, reward, terminated, truncated, info = env.step(actions)
            returns += info.get("raw_reward", reward)
            for i in np.flatnonzero(terminated | truncated):
                if quota[i] > 0:
                    scores.append(float(returns[i]))
                    quota[i] -= 1
                    if progress:
                        progress(len(scores))
                returns[i] = 0.0
    finally:
        env.close()
    return scores


def score_summary(scores: list[float], env_id: str) -> dict[str, float]:
    """Mean raw score and, for Atari 100k games, the human-normalised score of that mean."""
    summary = {"score_mean": float(np.mean(scores)), "score_std": float(np.std(scores)), "episodes": len(scores)}
    if is_atari(env_id) and find_game(env_id).in_atari100k:
        summary["hns"] = find_game(env_id).human_normalized(summary["score_mean"])
    return summary


def score_policy(act: Callable[[np.ndarray], np.ndarray], env_config: AtariConfig, episodes: int,
                 max_episode_frames: int, seed: int, num_envs: int = 8,
                 epsilon: float = EvalConfig.epsilon) -> dict[str, Any]:
    """Raw scores of ``episodes`` full games under ``env_config`` (eval mode, given frame cap, the protocol's
    epsilon) and their summary."""
    capped = dataclasses.replace(env_config, max_episode_frames=max_episode_frames)
    scores = play_episodes(act, env_config.game, capped, episodes, seed, num_envs, epsilon)
    return {**score_summary(scores, env_config.game), "scores": scores}


def evaluate_agent(agent, config: EvalConfig, label: str, progress: bool = True) -> dict[str, Any]:
    """Play ``agent`` (a :class:`agents.SavedAgent`) under the evaluation protocol; returns the results record."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(config.seed)  # the policy samples its actions: same seed, same games
    env_config = dataclasses.replace(agent.env_config, mode="eval", max_episode_frames=config.max_episode_frames)
    bar = tqdm(total=config.episodes, unit="game", desc=f"evaluate {agent.env_id}", disable=not progress)
    scores = play_episodes(lambda obs: agent.act(obs, config.deterministic), agent.env_id, env_config,
                           config.episodes, config.seed, config.num_envs, config.epsilon,
                           progress=lambda n: bar.update(n - bar.n))
    bar.close()
    return {
        "format": RESULTS_FORMAT, "agent": label, "game": find_game(agent.env_id).name if is_atari(agent.env_id)
        else agent.env_id, "policy": agent.meta.get("policy", "final"), "protocol": PROTOCOL_VERSION,
        "env": dataclasses.asdict(env_config), "eval": dataclasses.asdict(config), "scores": scores,
        **score_summary(scores, agent.env_id), "source": agent.meta.get("run"),
    }


def write_results(results: dict[str, Any], path: str | Path) -> Path:
    return atomic_write_text(path, json.dumps(results, indent=2))
