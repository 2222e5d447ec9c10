"""``workbench train``: a model-free baseline (stable-baselines3 PPO) on one env, budget in agent steps."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from agents import PPOConfig, PPOLearner, save_agent
from envs import PROTOCOL_VERSION, AtariConfig, check_env_id, make_vector_env
from envs.validate import require_range
from intrinsic import ArrowOfTime, ArrowOfTimeConfig, IntrinsicRewardVectorWrapper
from intrinsic.data import collect_random
from runs.evaluation import score_policy
from runs.metrics import MetricsLog
from runs.run_dir import RunDir


@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    Attributes:
        agent: the agent to train (``ppo``: stable-baselines3 PPO, model-free).
        env: the game and protocol (``env.game`` may also be any Gymnasium id, e.g. ``CartPole-v1``).
        total_steps: budget in agent steps (one step = ``env.frame_skip`` frames), counted over all envs.
        eval_every: agent steps between evaluations and checkpoints; also the resume granularity.
        eval_episodes: full games (eval mode: no life-loss terminal, raw score) per evaluation.
        eval_max_episode_frames: frame cap of evaluation games (protocol: 108,000).
        intrinsic: ``arrow_of_time`` adds the potential's reward (``arrow``) to training rewards; the potential
            is first fitted on ``intrinsic_data_steps`` random real steps (reported in results). Scores stay extrinsic.
    """

    agent: Literal["ppo"] = "ppo"
    env: AtariConfig = field(default_factory=AtariConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    total_steps: int = 100_000
    num_envs: int = 8
    seed: int = 0
    device: str = "cpu"
    eval_every: int = 25_000
    eval_episodes: int = 8
    eval_max_episode_frames: int = 108_000
    intrinsic: Literal["none", "arrow_of_time"] = "none"
    arrow: ArrowOfTimeConfig = field(default_factory=ArrowOfTimeConfig)
    intrinsic_data_steps: int = 20_000

    def __post_init__(self) -> None:
        check_env_id(self.env.game)
        require_range("num_envs", self.num_envs, 1)
        require_range("eval_episodes", self.eval_episodes, 1)
        if self.env.mode != "train":
            raise ValueError(f"env.mode={self.env.mode!r} is not allowed for training; use 'train'")
        rollout = self.ppo.n_steps * self.num_envs
        for name in ("total_steps", "eval_every"):
            value = getattr(self, name)
            if value <= 0 or value % rollout:
                raise ValueError(f"{name}={value} must be a positive multiple of the rollout "
                                 f"ppo.n_steps x num_envs = {rollout} agent steps")

    @property
    def run_name(self) -> str:
        return f"{self.agent}-{self.env.game.replace('/', '_')}-seed{self.seed}"


def train(config: TrainConfig, run: RunDir, progress: bool = True) -> dict[str, Any]:
    """Train, evaluating and checkpointing every ``eval_every`` steps; resumes from the run's last checkpoint."""
    from tqdm import tqdm

    started = time.time()
    checkpoint = run.latest_checkpoint()
    env = make_vector_env(config.env.game, config.num_envs, config.env)
    metrics = MetricsLog(run.path, resume_step=_step_of(checkpoint))
    if config.intrinsic == "arrow_of_time":
        env = IntrinsicRewardVectorWrapper(env, _potential(config, run, metrics))
    learner = PPOLearner(config.ppo, env, seed=config.seed, device=config.device, log=metrics.log)
    if checkpoint:
        learner.load(checkpoint)
        # Fresh games after a resume, not a replay of the ones already trained on.
        learner.model.set_random_seed(config.seed + learner.num_timesteps)
    bar = tqdm(total=config.total_steps, initial=learner.num_timesteps, unit="step", disable=not progress,
               desc=f"{config.agent} {config.env.game}", dynamic_ncols=True)
    evaluation: dict[str, Any] = {}
    while learner.num_timesteps < config.total_steps:
        chunk = min(config.eval_every, config.total_steps - learner.num_timesteps)
        learner.learn(chunk, on_rollout=lambda n: bar.update(n - bar.n))
        evaluation = evaluate(learner, config, seed=config.seed + 10**6 + learner.num_timesteps)
        metrics.log({f"eval/{k}": v for k, v in evaluation.items() if k != "scores"}, learner.num_timesteps)
        learner.save(run.checkpoint_path(learner.num_timesteps))
        run.prune_checkpoints()
        intrinsic = [e["intrinsic"] for e in learner.model.ep_info_buffer if "intrinsic" in e]
        if config.intrinsic != "none" and intrinsic:
            metrics.log({"rollout/ep_intrinsic_mean": float(np.mean(intrinsic))}, learner.num_timesteps)
        bar.write(f"step {learner.num_timesteps}: eval score {evaluation['score_mean']:.1f} "
                  f"over {evaluation['episodes']} games")
    bar.close()
    metrics.close()
    final = run.latest_checkpoint()
    results = {
        "agent": config.agent, "game": config.env.game, "seed": config.seed, "protocol": PROTOCOL_VERSION,
        "agent_steps": learner.num_timesteps, "policy": "final",
        "intrinsic": config.intrinsic,
        "intrinsic_data_steps": config.intrinsic_data_steps if config.intrinsic != "none" else 0,
        "checkpoint": str(final.relative_to(run.path)) if final else None,
        "final_eval": evaluation or evaluate(learner, config, seed=config.seed + 10**6 + learner.num_timesteps),
        "wall_time_s_last_session": round(time.time() - started, 1),
    }
    save_agent(run.path / "agent", learner.model.policy, config.env.game, config.env, "sb3-ppo",
               {"agent": config.agent, "run": str(run.path), "agent_steps": learner.num_timesteps})
    run.finish(results)
    return results


def _potential(config: TrainConfig, run: RunDir, metrics: MetricsLog) -> ArrowOfTime:
    """The run's arrow-of-time potential: loaded if a previous session fitted it, else fitted on random play."""
    path = run.path / "potential.pt"
    if path.exists():
        return ArrowOfTime.load(path, config.device)
    store, _ = collect_random(config.env.game, config.intrinsic_data_steps, config.num_envs, config.seed, config.env)
    model = ArrowOfTime(config.arrow, store.obs_shape, config.device)
    metrics.log({f"intrinsic/{k}": v for k, v in model.fit(store, np.random.default_rng(config.seed)).items()}, 0)
    model.save(path)
    return model


def evaluate(learner: PPOLearner, config: TrainConfig, seed: int) -> dict[str, Any]:
    """Score the current policy on ``eval_episodes`` full games in eval mode."""
    return score_policy(learner.act, config.env, config.eval_episodes, config.eval_max_episode_frames, seed,
                        config.num_envs)


def _step_of(checkpoint: Path | None) -> int | None:
    return int(checkpoint.stem.split("_")[1]) if checkpoint else None
