"""``workbench train``: a model-free baseline (stable-baselines3 PPO) on one env, budget in agent steps."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from agents import PolicyConfig, PPOConfig, PPOLearner, save_agent
from envs import PROTOCOL_VERSION, AtariConfig, check_env_id, make_vector_env
from envs.validate import require_range
from intrinsic import ArrowOfTime, ArrowOfTimeConfig, CSWMCuriosity, CSWMCuriosityConfig, IntrinsicRewardVectorWrapper
from intrinsic.data import collect_random
from runs.evaluation import score_policy
from runs.metrics import MetricsLog
from runs.run_dir import RunDir, checkpoint_step


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
        intrinsic: ``arrow_of_time`` adds the potential's reward (``arrow``) to training rewards,
            ``cswm_curiosity`` a C-SWM's latent prediction error (``curiosity``); either model is first fitted on
            ``intrinsic_data_steps`` random real steps (reported in results). Scores stay extrinsic.
        policy: the policy's feature extractor, e.g. ``policy.features=cswm policy.cswm_checkpoint=...``.
        intrinsic_start: agent steps before the intrinsic reward switches on (beta 0 until then), so that a
            safety penalty does not stop exploration before the task is found.
    """

    agent: Literal["ppo"] = "ppo"
    env: AtariConfig = field(default_factory=AtariConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    total_steps: int = 100_000
    num_envs: int = 8
    seed: int = 0
    device: str = "cpu"
    eval_every: int = 25_000
    eval_episodes: int = 8
    eval_max_episode_frames: int = 108_000
    intrinsic: Literal["none", "arrow_of_time", "cswm_curiosity"] = "none"
    arrow: ArrowOfTimeConfig = field(default_factory=ArrowOfTimeConfig)
    curiosity: CSWMCuriosityConfig = field(default_factory=CSWMCuriosityConfig)
    intrinsic_data_steps: int = 20_000
    intrinsic_start: int = 0

    def __post_init__(self) -> None:
        check_env_id(self.env.game)
        require_range("num_envs", self.num_envs, 1)
        require_range("eval_episodes", self.eval_episodes, 1)
        if self.env.mode != "train":
            raise ValueError(f"env.mode={self.env.mode!r} is not allowed for training; use 'train'")
        rollout = self.ppo.n_steps * self.num_envs
        for name, least in (("total_steps", 1), ("eval_every", 1), ("intrinsic_start", 0)):
            value = getattr(self, name)
            if value < least or value % rollout:
                raise ValueError(f"{name}={value} must be a {'positive' if least else 'non-negative'} multiple of "
                                 f"the rollout ppo.n_steps x num_envs = {rollout} agent steps")

    @property
    def run_name(self) -> str:
        return f"{self.agent}-{self.env.game.replace('/', '_')}-seed{self.seed}"


def train(config: TrainConfig, run: RunDir, progress: bool = True) -> dict[str, Any]:
    """Train, evaluating and checkpointing every ``eval_every`` steps; resumes from the run's last checkpoint."""
    from tqdm import tqdm

    started = time.time()
    checkpoint = run.latest_checkpoint()
    env = make_vector_env(config.env.game, config.num_envs, config.env)
    metrics = MetricsLog(run.path, resume_step=checkpoint_step(checkpoint))
    bonus = _intrinsic_model(config, run, metrics) if config.intrinsic != "none" else None
    if bonus:
        env = IntrinsicRewardVectorWrapper(env, bonus)
    learner = PPOLearner(config.ppo, env, seed=config.seed, device=config.device, log=metrics.log,
                         policy=config.policy)
    if checkpoint:
        learner.load(checkpoint)
        # Fresh games after a resume, not a replay of the ones already trained on.
        learner.model.set_random_seed(config.seed + learner.num_timesteps)
    bar = tqdm(total=config.total_steps, initial=learner.num_timesteps, unit="step", disable=not progress,
               desc=f"{config.agent} {config.env.game}", dynamic_ncols=True)
    evaluation: dict[str, Any] = {}
    while learner.num_timesteps < config.total_steps:
        chunk = min(config.eval_every, config.total_steps - learner.num_timesteps)
        if bonus:
            starts_in = config.intrinsic_start - learner.num_timesteps
            bonus.beta = _beta(config) if starts_in <= 0 else 0.0
            chunk = min(chunk, starts_in) if starts_in > 0 else chunk
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
               {"agent": config.agent, "run": str(run.path), "agent_steps": learner.num_timesteps},
               features=learner.features)
    run.finish(results)
    return results


def _intrinsic_model(config: TrainConfig, run: RunDir, metrics: MetricsLog) -> ArrowOfTime | CSWMCuriosity:
    """The run's intrinsic-reward model: loaded if a previous session fitted it, else fitted on random play."""
    kind = ArrowOfTime if config.intrinsic == "arrow_of_time" else CSWMCuriosity
    path = run.path / ("potential.pt" if kind is ArrowOfTime else "curiosity.pt")
    if path.exists():
        return kind.load(path, config.device)
    store, _ = collect_random(config.env.game, config.intrinsic_data_steps, config.num_envs, config.seed, config.env)
    model = kind(config.arrow if kind is ArrowOfTime else config.curiosity, store.obs_shape, config.device)
    metrics.log({f"intrinsic/{k}": v for k, v in model.fit(store, np.random.default_rng(config.seed)).items()}, 0)
    model.save(path)
    return model


def _beta(config: TrainConfig) -> float:
    return config.arrow.beta if config.intrinsic == "arrow_of_time" else config.curiosity.beta


def evaluate(learner: PPOLearner, config: TrainConfig, seed: int) -> dict[str, Any]:
    """Score the current policy on ``eval_episodes`` full games in eval mode."""
    return score_policy(learner.act, config.env, config.eval_episodes, config.eval_max_episode_frames, seed,
                        config.num_envs)
