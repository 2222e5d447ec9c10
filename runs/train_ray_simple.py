"""``workbench train --agent simple-ray``: SimPLe assembled from components on Ray actors, in a run directory.

Ray is joined through ``RAY_ADDRESS`` when set (``auto`` or ``host:port``), else started embedded on this machine.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from agents import save_agent
from agents.ray_simple import ActorsConfig, DistributedSimPLeConfig, imagination_ppo
from agents.rllib_config import RLlibConfig
from agents.simple import SimPLeConfig
from envs import PROTOCOL_VERSION
from runs.evaluation import score_policy
from runs.metrics import MetricsLog
from runs.run_dir import RunDir
from runs.train_simple import SimPLeTrainConfig, phase_progress


@dataclass(frozen=True)
class DistributedSimPLeTrainConfig(SimPLeTrainConfig):
    """A distributed SimPLe run: everything of ``--agent simple`` (the schedule and model in ``simple``, so its
    presets extend SimPLe's; ``simple.ppo`` is not used), plus PPO in imagination (``policy``: RLlib) and how the
    work is spread over Ray actors (``actors``)."""

    agent: Literal["simple-ray"] = "simple-ray"  # type: ignore[assignment]
    # One game per collector of the default two (the in-process agent plays one game, as tensor2tensor does).
    simple: SimPLeConfig = field(default_factory=lambda: SimPLeConfig(real_envs=2))
    policy: RLlibConfig = field(default_factory=imagination_ppo)
    actors: ActorsConfig = field(default_factory=ActorsConfig)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.distributed  # noqa: B018 (validates the combination)

    @property
    def distributed(self) -> DistributedSimPLeConfig:
        return DistributedSimPLeConfig(self.simple, self.policy, self.actors)

    def actor_bundles(self) -> list[dict[str, float]]:
        """Resources of the Ray actors this run starts (a sweep reserves them with each trial)."""
        return self.distributed.bundles()


def train_ray_simple(config: DistributedSimPLeTrainConfig, run: RunDir, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the distributed loop, then evaluate the final policy on full games."""
    from agents.ray_simple import DistributedSimPLe
    from agents.rllib_policy import plain_config
    from runs.ray_cluster import connect

    started = time.time()
    connect()
    metrics = MetricsLog(run.path)
    bar, phase_done = phase_progress(len(config.simple.phases()), f"{config.agent} {config.env.game}", progress,
                                     lambda: agent.real_steps)
    agent = DistributedSimPLe(config.distributed, config.env, run.path, config.seed, config.device, metrics.log,
                              phase_done)
    try:
        bar.update(len(agent.progress["seconds"]))  # phases of the iterations already checkpointed
        record = agent.run()
        bar.close()
        policy = agent.policy()
        final = score_policy(lambda obs: policy.predict(obs)[0], config.env, config.eval_episodes,
                             config.eval_max_episode_frames, seed=config.seed + 10**6,
                             num_envs=min(8, config.eval_episodes))
        metrics.log({f"eval/{k}": v for k, v in final.items() if k != "scores"}, record["real_steps"])
        results = {
            "agent": config.agent, "game": config.env.game, "seed": config.seed, "protocol": PROTOCOL_VERSION,
            "policy": "final", "agent_steps": record["real_steps"], "simulated_steps": agent.trainer.num_timesteps,
            "checkpoint": f"checkpoints/{record['checkpoint']}", "final_eval": final,
            "phase_seconds": record["seconds"], "model_quality": record.get("model_quality", []),
            "wall_time_s_last_session": round(time.time() - started, 1),
        }
        save_agent(run.path / "agent", policy, config.env.game, config.env, "rllib-ppo",
                   {"agent": config.agent, "run": str(run.path), "agent_steps": record["real_steps"],
                    "rllib": plain_config(config.policy)})
    finally:
        metrics.close()
        agent.close()
    run.finish(results)
    return json.loads(json.dumps(results))
