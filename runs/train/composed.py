"""``workbench train``: the one job skeleton. An agent composed from registered components (:class:`AgentSpec`),
run by the one loop in a run directory, in this process or on Ray (``runtime.kind``). ``--agent ppo``, ``rllib``,
``simple`` and ``simple-ray`` are presets of it (``runs/presets/<agent>-*.yaml``); ``composed`` is any other
combination.

    check every value (the config is built before the run directory is made)
    run directory (config.yaml, manifest.json), metrics (metrics.jsonl, tb/)
    the loop, resuming from its last checkpoint; an evaluation after every iteration when asked
    final evaluation on full games, saved agent (RUN/agent), results.json

Ray is joined through ``RAY_ADDRESS`` when set (``auto`` or ``host:port``), else started embedded on this machine.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agents import save_agent
from agents.learners import learner_entry, policy_extra, saved_learner_name
from agents.spec import AgentSpec
from envs import PROTOCOL_VERSION, AtariConfig, check_env_id, is_atari
from envs.files import atomic_write_text, read_json
from envs.validate import require_device, require_device_available, require_range
from runs.evaluation import score_policy
from runs.metrics import MetricsLog
from runs.run_dir import RunDir

SIMPLE_MODELS = ("simple", "simple_deterministic")  # models whose checkpoints `replay --dream` reads


@dataclass(frozen=True)
class ComposedTrainConfig(AgentSpec):
    """A run: the spec's fields (``learner``, ``world_model``, ``model``, ``intrinsic``, ``features``,
    ``runtime``, ``loop``, ``ppo``, ``rllib``), the real env and the evaluations.

    Attributes:
        agent: the name results and leaderboards carry: ``composed``, or the preset family it came from.
        eval_episodes, eval_max_episode_frames, eval_envs: the final evaluation (eval mode, full games).
        iteration_eval_episodes: games of an evaluation after every iteration (``eval/*`` curves; 0: none).
    """

    agent: Literal["composed", "ppo", "drq-eps", "rllib", "simple", "simple-ray"] = "composed"
    env: AtariConfig = field(default_factory=AtariConfig)
    seed: int = 0
    device: str = "cpu"
    eval_episodes: int = 8
    eval_max_episode_frames: int = 108_000
    eval_envs: int = 8
    iteration_eval_episodes: int = 0

    def __post_init__(self) -> None:
        check_env_id(self.env.game)
        require_range("seed", self.seed, 0)
        require_device("device", self.device)
        require_range("eval_episodes", self.eval_episodes, 1)
        require_range("iteration_eval_episodes", self.iteration_eval_episodes, 0)
        require_range("eval_envs", self.eval_envs, 1)
        if self.env.mode != "train":
            raise ValueError(f"env.mode={self.env.mode!r} is not allowed for training; use 'train'")
        super().__post_init__()
        self._check_env()

    def _check_env(self) -> None:
        if not is_atari(self.env.game):
            if self.imagined:
                raise ValueError(f"world_model={self.world_model!r} predicts Atari frames; env.game="
                                 f"{self.env.game!r} is not an Atari game (use world_model=none)")
            return  # other envs' observations are known once made; image-only rewards check them then
        if self.imagined and "frame_height" in self.model:
            predicted = (self.model["frame_height"], self.model["frame_width"], self.model["channels"])
            if tuple(self.env.frame_shape) != predicted:
                raise ValueError(f"env.obs={self.env.obs!r} gives frames {tuple(self.env.frame_shape)}, but the "
                                 f"world model predicts {predicted} (set model.frame_height/frame_width/channels)")

    def check_runnable(self) -> None:
        """What only this machine can answer, checked before the run directory is made: the device exists, and
        on Ray (joined here) every actor fits the cluster."""
        require_device_available("device", self.device)
        if self.runtime.kind == "ray":
            from agents.composed.placement import require_fits
            from runs.ray_cluster import connect

            connect()
            require_fits(self)

    @property
    def run_name(self) -> str:
        game = self.env.game.replace("/", "_")
        if self.agent == "composed":
            return f"{self.learner}-{self.world_model}-{game}-seed{self.seed}"
        algorithm = f"-{self.rllib_config.algorithm}" if self.agent == "rllib" else ""
        return f"{self.agent}{algorithm}-{game}-seed{self.seed}"

    def actor_bundles(self) -> list[dict[str, float]]:
        """Resources of the Ray actors this run starts, env runners first (a sweep reserves them per trial)."""
        actors = [b for group in self.actor_resources().values() for b in group] if self.runtime.kind == "ray" else []
        return [{k: v for k, v in b.items() if v} for b in self.env_runner_bundles() + actors if any(b.values())]


def phase_progress(phases: int, desc: str, progress: bool,
                   real_steps: Callable[[], int]) -> tuple[Any, Callable[[str, float], None]]:
    """A progress bar over a run's ``phases`` and the ``on_phase`` callback that advances it, writing one line
    per finished phase with the real steps taken so far."""
    from tqdm import tqdm

    bar = tqdm(total=phases, unit="phase", disable=not progress, desc=desc, dynamic_ncols=True)

    def phase_done(phase: str, seconds: float) -> None:
        bar.update(1)
        bar.write(f"{phase} done in {seconds:.1f}s; real steps {real_steps()}")

    return bar, phase_done


def train_composed(config: ComposedTrainConfig, run: RunDir, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the loop, then evaluate the final policy on full games and save the agent."""
    from agents.composed.checkpoints import recover
    from agents.composed.loop import ComposedAgent

    started = time.time()
    if config.runtime.kind == "ray" or learner_entry(config.learner).family == "rllib":
        from runs.ray_cluster import connect

        connect()
    in_force = recover(run.path)
    if in_force != run.resumed_from:
        run.note_resumed_from(in_force)
    metrics = _metrics(run)
    agent = None
    try:
        agent = ComposedAgent(config, config.env, run.path, config.seed, config.device, metrics.log,
                              on_checkpoint=lambda: {"metrics_lines": metrics.lines})
        bar, show_phase = phase_progress(len(agent.phases()), f"{config.run_name}", progress, lambda: agent.real_steps)

        evaluations: dict[int, dict[str, Any]] = {}  # real steps -> the evaluation after that iteration

        def on_phase(phase: str, seconds: float) -> None:
            show_phase(phase, seconds)
            last = evaluations[max(evaluations)]["score_mean"] if evaluations else None
            _write_status(run, phase, agent.real_steps, config.loop.total_real_steps, last)

        agent.on_phase = on_phase
        if config.iteration_eval_episodes:
            agent.on_iteration = lambda a: bar.write(
                _evaluate(config, a, config.iteration_eval_episodes, metrics, evaluations))
        bar.update(len(agent.progress["seconds"]))
        record = agent.run()
        bar.close()
        final = evaluations.get(record["real_steps"])
        if final is None or final["episodes"] != config.eval_episodes:  # else the last iteration's is the final
            final = evaluate(config, agent.learner.acting_policy(), config.eval_episodes, config.seed + 10**6)
            metrics.log({f"eval/{k}": v for k, v in final.items() if k != "scores"}, record["real_steps"])
        results = _results(config, agent, record, final, started)
        extra = {"agent": config.agent, "run": run.path.name, "agent_steps": record["real_steps"],
                 **policy_extra(config)}
        if config.world_model in SIMPLE_MODELS:
            extra["world_model"] = f"../checkpoints/{record['checkpoint']}/world_model.pt"
        save_agent(run.path / "agent", agent.learner.saved_policy(), config.env.game, config.env,
                   saved_learner_name(config), extra, features=getattr(agent.learner, "features", None))
    finally:
        metrics.close()
        if agent is not None:
            agent.close()
    run.finish(results)
    return json.loads(json.dumps(results))


def _write_status(run: RunDir, phase: str, real_steps: int, budget: int, last_eval: float | None) -> None:
    """``status.json``: the phase just done, the real steps so far of the budget and the last evaluation's
    score, for whoever watches the run (a sweep's driver prints it); progress.json changes only at checkpoints."""
    status = {"phase": phase, "real_steps": real_steps, "budget": budget, "last_eval": last_eval,
              "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    atomic_write_text(run.path / "status.json", json.dumps(status))


def _metrics(run: RunDir) -> MetricsLog:
    """The run's metrics log; resuming, reconciled with the checkpoint in force: what was logged after it is
    dropped (the resumed run logs it again)."""
    progress = run.path / "progress.json"
    if not progress.exists():
        return MetricsLog(run.path)
    record = read_json(progress, "progress")
    return MetricsLog(run.path, resume_step=record["real_steps"], keep_lines=record.get("metrics_lines"))


def evaluate(config: ComposedTrainConfig, policy: Any, episodes: int, seed: int) -> dict[str, Any]:
    """Scores of ``policy`` on ``episodes`` full games in eval mode (raw, extrinsic scores), epsilon 0.001 on top
    of the policy's actions as in ``workbench evaluate``."""
    return score_policy(lambda obs: policy.predict(obs)[0], config.env, episodes, config.eval_max_episode_frames,
                        seed=seed, num_envs=min(config.eval_envs, episodes))


def _evaluate(config: ComposedTrainConfig, agent: Any, episodes: int, metrics: MetricsLog,
              evaluations: dict[int, dict[str, Any]]) -> str:
    """The evaluation after an iteration, logged as ``eval/*`` at the real steps taken and kept in
    ``evaluations``; returns its one-line summary."""
    scores = evaluate(config, agent.learner.acting_policy(), episodes, config.seed + 10**6 + agent.real_steps)
    evaluations[agent.real_steps] = scores
    metrics.log({f"eval/{k}": v for k, v in scores.items() if k != "scores"}, agent.real_steps)
    return f"step {agent.real_steps}: eval score {scores['score_mean']:.1f} over {scores['episodes']} games"


def _results(config: ComposedTrainConfig, agent: Any, record: dict[str, Any], final: dict[str, Any],
             started: float) -> dict[str, Any]:
    return {
        "agent": config.agent, "learner": config.learner, "world_model": config.world_model,
        "intrinsic": [t.name for t in config.intrinsic], "features": config.features.features,
        "runtime": config.runtime.kind, "game": config.env.game, "seed": config.seed, "protocol": PROTOCOL_VERSION,
        "policy": "final", "agent_steps": record["real_steps"],
        "simulated_steps": agent.learner.num_timesteps if config.imagined else 0,
        "checkpoint": f"checkpoints/{record['checkpoint']}", "final_eval": final,
        "phase_seconds": record["seconds"], "model_quality": record.get("model_quality", []),
        "wall_time_s_last_session": round(time.time() - started, 1),
    }
