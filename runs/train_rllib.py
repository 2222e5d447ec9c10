"""``workbench train --agent rllib``: an RLlib policy learner (PPO, APPO, DQN) on one env, budget in agent steps.

Mirrors ``runs/train.py``: resume from the run's latest checkpoint, evaluate and checkpoint every ``eval_every``
steps, an optional arrow-of-time reward (added in RLlib's learner, so reported returns stay extrinsic), and a
saved agent in ``RUN/agent`` that ``workbench evaluate`` and ``workbench replay`` play.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from agents import save_agent
from agents.rllib_config import RLlibConfig
from envs import PROTOCOL_VERSION, AtariConfig, check_env_id
from envs.validate import require_range
from intrinsic import ArrowOfTime, ArrowOfTimeConfig
from intrinsic.data import collect_random
from runs.evaluation import score_policy
from runs.metrics import MetricsLog
from runs.run_dir import RunDir, checkpoint_step


@dataclass(frozen=True)
class RLlibTrainConfig:
    """One RLlib training run.

    Attributes:
        env: the game and protocol (``env.game`` may also be a Gymnasium id, e.g. ``CartPole-v1``).
        rllib: the algorithm and its sampling; one RLlib iteration samples ``rllib.steps_per_iteration`` steps.
        total_steps, eval_every: agent steps, both whole numbers of iterations (the budget is exact only when
            ``rllib.exact_budget``; otherwise the last iteration may overshoot and ``agent_steps`` says by how much).
        eval_episodes, eval_max_episode_frames: full eval-mode games per evaluation and their frame cap.
        intrinsic: ``arrow_of_time`` fits a potential (``arrow``) on ``intrinsic_data_steps`` random steps, saves it
            as ``RUN/potential.pt``, and adds its reward in RLlib's learner connector.
    """

    agent: Literal["rllib"] = "rllib"
    env: AtariConfig = field(default_factory=AtariConfig)
    rllib: RLlibConfig = field(default_factory=RLlibConfig)
    total_steps: int = 100_000
    seed: int = 0
    device: str = "cpu"
    eval_every: int = 25_000
    eval_episodes: int = 8
    eval_max_episode_frames: int = 108_000
    eval_envs: int = 8
    intrinsic: Literal["none", "arrow_of_time"] = "none"
    arrow: ArrowOfTimeConfig = field(default_factory=ArrowOfTimeConfig)
    intrinsic_data_steps: int = 20_000

    def __post_init__(self) -> None:
        check_env_id(self.env.game)
        require_range("eval_episodes", self.eval_episodes, 1)
        require_range("eval_envs", self.eval_envs, 1)
        require_range("intrinsic_data_steps", self.intrinsic_data_steps, 1)
        if self.env.mode != "train":
            raise ValueError(f"env.mode={self.env.mode!r} is not allowed for training; use 'train'")
        iteration = self.rllib.steps_per_iteration
        for name in ("total_steps", "eval_every"):
            value = getattr(self, name)
            if value < 1 or value % iteration:
                raise ValueError(f"{name}={value} must be a positive multiple of one RLlib iteration "
                                 f"({iteration} agent steps: rllib.steps_per_iteration)")

    def actor_bundles(self) -> list[dict[str, float]]:
        """Resources of the RLlib env runners this run starts (a sweep reserves them with each trial)."""
        return self.rllib.env_runner_bundles()

    @property
    def run_name(self) -> str:
        return f"{self.agent}-{self.rllib.algorithm}-{self.env.game.replace('/', '_')}-seed{self.seed}"


def train_rllib(config: RLlibTrainConfig, run: RunDir, progress: bool = True) -> dict[str, Any]:
    """Train, evaluating and checkpointing every ``eval_every`` steps; resumes from the run's last checkpoint."""
    from tqdm import tqdm

    from agents.rllib_policy import plain_config

    started = time.time()
    checkpoint = run.latest_checkpoint()
    metrics = MetricsLog(run.path, resume_step=checkpoint_step(checkpoint))
    learner = _learner(config, run, metrics, resumed_at=checkpoint_step(checkpoint) or 0)
    if checkpoint:
        learner.load(checkpoint)
    bar = tqdm(total=config.total_steps, initial=learner.num_timesteps, unit="step", disable=not progress,
               desc=f"rllib-{config.rllib.algorithm} {config.env.game}", dynamic_ncols=True)
    evaluation: dict[str, Any] = {}
    try:
        while learner.num_timesteps < config.total_steps:
            chunk = min(config.eval_every, config.total_steps - learner.num_timesteps)
            learner.learn(chunk, on_rollout=lambda n: bar.update(n - bar.n))
            evaluation = evaluate(learner, config)
            metrics.log({f"eval/{k}": v for k, v in evaluation.items() if k != "scores"}, learner.num_timesteps)
            learner.save(run.checkpoint_path(learner.num_timesteps))
            run.prune_checkpoints()
            bar.write(f"step {learner.num_timesteps}: eval score {evaluation['score_mean']:.1f} "
                      f"over {evaluation['episodes']} games")
        bar.close()
        results = _results(config, run, learner, evaluation or evaluate(learner, config), started)
        save_agent(run.path / "agent", learner.current_policy(), config.env.game, config.env,
                   f"rllib-{config.rllib.algorithm}", {"agent": config.agent, "run": str(run.path),
                                                       "agent_steps": learner.num_timesteps,
                                                       "rllib": plain_config(config.rllib)})
    finally:
        metrics.close()
        learner.close()
    run.finish(results)
    return results


def _learner(config: RLlibTrainConfig, run: RunDir, metrics: MetricsLog, resumed_at: int):
    """The learner, with the arrow-of-time connector when asked; seeded past the steps already trained, so a
    resumed run plays fresh games rather than replaying the ones it trained on."""
    from agents.rllib_intrinsic import intrinsic_connector
    from agents.rllib_learner import RLlibLearner, real_env_spec

    env = real_env_spec(config.env.game, config.env)
    connector = None
    if config.intrinsic == "arrow_of_time":
        connector = intrinsic_connector([("arrow_of_time", str(_potential(config, run, metrics)), 1.0)], env.adapter)
    return RLlibLearner(config.rllib, env, seed=config.seed + resumed_at, device=config.device, log=metrics.log,
                        learner_connector=connector)


def _potential(config: RLlibTrainConfig, run: RunDir, metrics: MetricsLog) -> Path:
    """``RUN/potential.pt``: fitted on random play by the first session, reused by later ones."""
    path = run.path / "potential.pt"
    if not path.exists():
        store, _ = collect_random(config.env.game, config.intrinsic_data_steps, config.eval_envs, config.seed,
                                  config.env)
        model = ArrowOfTime(config.arrow, store.obs_shape, config.device)
        metrics.log({f"intrinsic/{k}": v for k, v in model.fit(store, np.random.default_rng(config.seed)).items()}, 0)
        model.save(path)
    return path


def evaluate(learner, config: RLlibTrainConfig) -> dict[str, Any]:
    """Score the current policy on ``eval_episodes`` full games in eval mode."""
    return score_policy(learner.act, config.env, config.eval_episodes, config.eval_max_episode_frames,
                        config.seed + 10**6 + learner.num_timesteps, config.eval_envs)


def _results(config: RLlibTrainConfig, run: RunDir, learner, evaluation: dict[str, Any],
             started: float) -> dict[str, Any]:
    final = run.latest_checkpoint()
    latest = learner.metrics()
    return {
        "agent": config.agent, "algorithm": config.rllib.algorithm, "game": config.env.game, "seed": config.seed,
        "protocol": PROTOCOL_VERSION, "agent_steps": learner.num_timesteps, "policy": "final",
        "intrinsic": config.intrinsic,
        "intrinsic_data_steps": config.intrinsic_data_steps if config.intrinsic != "none" else 0,
        "checkpoint": str(final.relative_to(run.path)) if final else None,
        "final_eval": evaluation,
        "train_episode_return_mean": latest.get("env_runners/episode_return_mean"),
        "wall_time_s_last_session": round(time.time() - started, 1),
    }
