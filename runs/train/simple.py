"""``workbench train --agent simple``: the SimPLe agent in a run directory."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agents import save_agent
from agents.simple import SimPLeAgent, SimPLeConfig
from envs import PROTOCOL_VERSION, AtariConfig, check_env_id
from envs.validate import require_range
from runs.evaluation import score_policy
from runs.metrics import MetricsLog
from runs.run_dir import RunDir


def _simple_env() -> AtariConfig:
    return AtariConfig(obs="rgb105x80")


@dataclass(frozen=True)
class SimPLeTrainConfig:
    """A SimPLe run: the loop (``simple``), the real env (105x80 RGB frames by default) and the final evaluation."""

    agent: Literal["simple"] = "simple"
    env: AtariConfig = field(default_factory=_simple_env)
    simple: SimPLeConfig = field(default_factory=SimPLeConfig)
    seed: int = 0
    device: str = "cpu"
    eval_episodes: int = 8
    eval_max_episode_frames: int = 108_000

    def __post_init__(self) -> None:
        check_env_id(self.env.game)
        require_range("eval_episodes", self.eval_episodes, 1)
        if self.env.mode != "train":
            raise ValueError(f"env.mode={self.env.mode!r} is not allowed for training; use 'train'")

    @property
    def run_name(self) -> str:
        return f"{self.agent}-{self.env.game.replace('/', '_')}-seed{self.seed}"


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


def train_simple(config: SimPLeTrainConfig, run: RunDir, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the SimPLe loop, then evaluate the final policy on full games."""
    started = time.time()
    metrics = MetricsLog(run.path)
    bar, phase_done = phase_progress(len(config.simple.phases()), f"{config.agent} {config.env.game}", progress,
                                     lambda: agent.progress["real_steps"])
    agent = SimPLeAgent(config.simple, config.env, run.path, seed=config.seed, device=config.device,
                        log=metrics.log, progress=progress, on_phase=phase_done)
    bar.update(len(agent.progress["done"]))
    record = agent.run()
    bar.close()
    final = score_policy(agent.policy.act, config.env, config.eval_episodes, config.eval_max_episode_frames,
                         seed=config.seed + 10**6, num_envs=min(8, config.eval_episodes))
    metrics.log({f"eval/{k}": v for k, v in final.items() if k != "scores"}, record["real_steps"])
    metrics.close()
    results = {
        "agent": "simple", "game": config.env.game, "seed": config.seed, "protocol": PROTOCOL_VERSION,
        "policy": "final", "agent_steps": record["real_steps"], "simulated_steps": agent.policy.num_timesteps,
        "checkpoint": f"checkpoints/{record['checkpoints']['policy']}", "final_eval": final,
        "phase_seconds": record["seconds"],
        "model_quality": record.get("model_quality", []), "wall_time_s_last_session": round(time.time() - started, 1),
    }
    save_agent(run.path / "agent", agent.policy.model.policy, config.env.game, config.env, "sb3-ppo",
               {"agent": "simple", "run": str(run.path), "agent_steps": record["real_steps"],
                "world_model": f"../checkpoints/{record['checkpoints']['world_model']}"})
    run.finish(results)
    return json.loads(json.dumps(results))
