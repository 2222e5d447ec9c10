"""SimPLe assembled from components on Ray actors: real-env collectors, a world-model learner, an optional
arrow-of-time learner, and PPO trained in imagination on RLlib env runners that host the simulated env.

    collect random_steps real steps (split over the collectors)
    for each iteration:
        world-model learner trains on all real data        potential learner refits (if intrinsic)
        env runners receive the model's weights, start frames and potential; RLlib PPO trains in imagination
        collectors play real_steps_per_iteration steps with the new policy; both learners receive the data

Every real step is counted once: each collector plays exactly its share, and the learners' stores are checked
against the budget. A checkpoint after every collection makes the loop resumable.
"""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.parts import DataSpec, IntrinsicLearner, RealCollector, WorldModelLearner
from agents.rllib_config import RLlibConfig
from agents.simple import SimPLeConfig
from envs import AtariConfig, make_vector_env
from envs.files import atomic_write_text
from envs.validate import require_range

Log = Callable[[dict[str, float], int], None]


def imagination_ppo() -> RLlibConfig:
    """SimPLe's PPO (16 envs x 50 steps per update, lr 1e-4, clip 0.1, entropy 0.01) on one remote env runner."""
    return RLlibConfig(learning_rate=1e-4, train_batch=800, minibatch=200, epochs=3, clip_param=0.1,
                       entropy_coeff=0.01, vf_loss_coeff=1.0, num_env_runners=1, envs_per_env_runner=16)


@dataclass(frozen=True)
class ActorsConfig:
    """How the agent is spread over Ray.

    Attributes:
        collectors: real-env collector actors; ``simple.real_envs`` is split evenly between them.
        collector_cpus, learner_cpus, potential_cpus: CPUs each actor reserves (fractions share a core).
        learner_gpus: GPUs of the world-model learner (1 to train it on a GPU of the cluster).
    """

    collectors: int = 2
    collector_cpus: float = 1.0
    learner_cpus: float = 1.0
    learner_gpus: float = 0.0
    potential_cpus: float = 0.5

    def __post_init__(self) -> None:
        require_range("collectors", self.collectors, 1)
        for name in ("collector_cpus", "learner_cpus", "learner_gpus", "potential_cpus"):
            require_range(name, getattr(self, name), 0.0)


@dataclass(frozen=True)
class DistributedSimPLeConfig:
    """The SimPLe schedule (``simple``: its model, budgets, intrinsic choice), the imagination learner (RLlib PPO,
    ``policy``: each of its iterations samples ``policy.train_batch`` imagined steps from
    ``policy.envs_per_env_runner`` = ``simple.sim_envs`` envs per env runner) and the actors."""

    simple: SimPLeConfig = field(default_factory=SimPLeConfig)
    policy: RLlibConfig = field(default_factory=imagination_ppo)
    actors: ActorsConfig = field(default_factory=ActorsConfig)

    def __post_init__(self) -> None:
        if self.simple.real_envs % self.actors.collectors:
            raise ValueError(f"simple.real_envs={self.simple.real_envs} must split evenly over "
                             f"actors.collectors={self.actors.collectors}")
        if self.policy.algorithm != "ppo":
            raise ValueError(f"policy.algorithm={self.policy.algorithm!r}: imagination training uses 'ppo'")
        if self.policy.envs_per_env_runner != self.simple.sim_envs:
            raise ValueError(f"policy.envs_per_env_runner={self.policy.envs_per_env_runner} must equal "
                             f"simple.sim_envs={self.simple.sim_envs} (the imagined envs each env runner steps)")

    def cpus(self) -> dict[str, float]:
        """CPUs each kind of actor reserves in all (Ray schedules an actor only when its CPUs are free)."""
        actors, simple = self.actors, self.simple
        return {"collectors": actors.collectors * actors.collector_cpus, "world-model learner": actors.learner_cpus,
                "potential learner": actors.potential_cpus if simple.intrinsic == "arrow_of_time" else 0.0,
                "env runners": self.policy.num_env_runners * self.policy.cpus_per_env_runner}

    def actor_resources(self) -> list[dict[str, float]]:
        """Ray resources of each actor this agent starts itself, in start order: collectors, world-model learner,
        potential learner (if any). RLlib starts the env runners."""
        actors = self.actors
        wanted = [{"CPU": actors.collector_cpus}] * actors.collectors
        wanted.append({"CPU": actors.learner_cpus, "GPU": actors.learner_gpus})
        if self.simple.intrinsic == "arrow_of_time":
            wanted.append({"CPU": actors.potential_cpus})
        return [{k: v for k, v in bundle.items() if v} for bundle in wanted]

    def bundles(self) -> list[dict[str, float]]:
        """The bundles a sweep trial reserves after its own (actors started inside a Tune trial may only use the
        trial's placement group). RLlib pins env runner i to bundle i of the group, so theirs come first."""
        return self.policy.env_runner_bundles() + [bundle for bundle in self.actor_resources() if bundle]

    def require_fits(self, cluster: dict[str, float]) -> None:
        """Raise a clear error when the actors cannot all be placed at once (they would wait forever)."""
        need, have = self.cpus(), cluster.get("CPU", 0.0)
        if sum(need.values()) > have + 1e-9:
            parts = ", ".join(f"{k} {v:g}" for k, v in need.items() if v)
            raise ValueError(f"the agent's actors need {sum(need.values()):g} CPUs ({parts}) but the Ray cluster has "
                             f"{have:g}; lower actors.*_cpus or policy.cpus_per_env_runner, or join a bigger cluster")
        if self.actors.learner_gpus > cluster.get("GPU", 0.0):
            raise ValueError(f"actors.learner_gpus={self.actors.learner_gpus:g} but the Ray cluster has "
                             f"{cluster.get('GPU', 0.0):g} GPUs")


class DistributedSimPLe:
    """Runs :class:`DistributedSimPLeConfig` on the connected Ray cluster, checkpointing into ``workdir``."""

    def __init__(self, config: DistributedSimPLeConfig, env_config: AtariConfig, workdir: str | Path,
                 seed: int = 0, device: str = "cpu", log: Log | None = None,
                 on_phase: Callable[[str, float], None] | None = None) -> None:
        self.config, self.env_config, self.seed, self.device = config, env_config, seed, device
        self.workdir, self.log = Path(workdir), log or (lambda m, s: None)
        self.on_phase = on_phase or (lambda phase, seconds: None)
        (self.workdir / "checkpoints").mkdir(parents=True, exist_ok=True)
        probe = make_vector_env(env_config.game, 1, env_config)
        self.num_actions = int(probe.single_action_space.n)
        probe.close()
        self.progress = self._read_progress()
        self._start_actors()

    @property
    def real_steps(self) -> int:
        return self.progress["real_steps"]

    def run(self) -> dict[str, Any]:
        """Run (or resume after the last finished iteration); returns the progress record."""
        simple = self.config.simple
        if self.progress["iterations_done"] < -1:
            self._timed("collect_random", self._collect, simple.random_steps, None)
            self._checkpoint(-1)
        for i in range(self.progress["iterations_done"] + 1, simple.iterations):
            self._timed(f"model_{i}", self._train_world, i)
            self._timed(f"policy_{i}", self._train_policy, i)
            self._timed(f"collect_{i}", self._collect, simple.real_steps_per_iteration, self.policy())
            self._checkpoint(i)
        return self.progress

    def policy(self):
        """The current policy (an :class:`agents.rllib_policy.RLlibPolicy` acting on native observations)."""
        return self.trainer.current_policy()

    def close(self) -> None:
        import ray

        self.trainer.close()
        for actor in [*self.collectors, self.world, *([self.potential] if self.potential else [])]:
            ray.kill(actor)

    # -- phases ----------------------------------------------------------------------------------------------

    def _collect(self, steps: int, policy: Any) -> None:
        import ray

        share = steps // len(self.collectors)
        parts = ray.get([c.collect.remote(share, policy) for c in self.collectors])
        stores = [store for store, _ in parts]
        if sum(s.num_transitions for s in stores) != steps:
            raise RuntimeError(f"collectors returned {sum(s.num_transitions for s in stores)} steps, asked {steps}")
        learners = [self.world] + ([self.potential] if self.potential else [])
        collection = self.progress["iterations_done"] + 2  # the random collection is number 0
        held = ray.get([learner.add.remote(collection, stores) for learner in learners])
        self.progress["real_steps"] += steps
        if any(h != self.progress["real_steps"] for h in held):
            raise RuntimeError(f"learners hold {held} real steps; the run has taken {self.progress['real_steps']}")
        scores = [score for _, game_scores in parts for score in game_scores]
        self.log({"real/steps": self.real_steps, "real/games_finished": len(scores),
                  **({"real/episode_return_mean": float(np.mean(scores))} if scores else {})}, self.real_steps)

    def _train_world(self, iteration: int) -> None:
        import ray

        simple = self.config.simple
        steps = simple.model_steps_first if iteration == 0 else simple.model_steps
        pending = [self.world.train.remote(steps)] + ([self.potential.fit.remote()] if self.potential else [])
        for metrics, prefix in zip(ray.get(pending), ("world_model", "intrinsic")):
            self.log({f"{prefix}/{k.split('/')[-1]}": v for k, v in metrics.items()}, self.real_steps)
        quality = ray.get(self.world.evaluate.remote(simple.eval_horizons, simple.eval_sequences,
                                                     self.seed + iteration))
        if quality:
            self.log({f"world_model/heldout_{k}": v for k, v in quality.items()}, self.real_steps)
            self.progress.setdefault("model_quality", []).append({"iteration": iteration, **quality})

    def _train_policy(self, iteration: int) -> None:
        import ray

        from agents.imagination import IntrinsicState, World, broadcast_world

        simple = self.config.simple
        weights, starts = ray.get([self.world.weights.remote(),
                                   self.world.starts.remote(256, simple.real_steps_per_iteration)])
        intrinsic = ([IntrinsicState("arrow_of_time", 1.0, True, ray.get(self.potential.state.remote()))]
                     if self.potential else [])
        envs = broadcast_world(self.trainer.algo, World(weights, starts, intrinsic))
        self.trainer.learn(simple.ppo_updates(iteration) * self.config.policy.steps_per_iteration)
        self.log({"simulated/steps": self.trainer.num_timesteps, "simulated/envs_updated": envs}, self.real_steps)

    # -- actors and state ------------------------------------------------------------------------------------

    def _start_actors(self) -> None:
        import ray

        from agents.imagination import imagined_env_config, imagined_world_spec
        from envs.config_data import to_dict
        from intrinsic.registry import intrinsic_entry
        from world_models.registry import world_model_entry
        from agents.rllib_learner import RLlibLearner

        simple, actors, env = self.config.simple, self.config.actors, self.env_config
        # Inside a Ray task (a sweep trial) the CPUs this process holds are not available to its actors.
        context = ray.get_runtime_context()
        held = context.get_assigned_resources() if context.worker.mode == ray.WORKER_MODE else {}
        self.config.require_fits({k: float(v) - held.get(k, 0.0) for k, v in ray.cluster_resources().items()})
        capacity = int(simple.total_real_steps * 1.1) + 64 * simple.real_envs * (simple.iterations + 1)
        placements = iter(self._placements())
        seeds = np.random.SeedSequence([self.seed, self.progress["iterations_done"] + 2]).generate_state(
            actors.collectors)
        self.collectors = [ray.remote(RealCollector).options(**next(placements)).remote(
            env, simple.real_envs // actors.collectors, seed) for seed in seeds]
        device = "cuda" if actors.learner_gpus > 0 else self.device
        data = DataSpec(env.observation_shape, env.frame_stack, capacity)
        self.world = ray.remote(WorldModelLearner).options(**next(placements)).remote(
            world_model_entry(simple.world_model), to_dict(simple.model), self.num_actions, data, device, self.seed,
            simple.heldout_every)
        self.potential = None
        if simple.intrinsic == "arrow_of_time":
            self.potential = ray.remote(IntrinsicLearner).options(**next(placements)).remote(
                intrinsic_entry("arrow_of_time"), to_dict(simple.arrow), "potential", data, "cpu", self.seed)
        world = imagined_world_spec(imagined_env_config(simple.world_model, to_dict(simple.model), self.num_actions,
                                                        simple.sim_envs, simple.rollout_length, env.frame_stack),
                                    env.observation_shape)
        self.trainer = RLlibLearner(self.config.policy, world, seed=self.seed, device=self.device, log=self._log_sim)
        if self.progress.get("checkpoint"):
            self._restore()

    def _placements(self) -> list[dict[str, Any]]:
        """Ray options of each actor of :meth:`DistributedSimPLeConfig.actor_resources`: its resources and, inside
        a placement group (a sweep trial), the bundle reserved for it, after the trial's own and the env runners'."""
        import ray
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        group = ray.util.get_current_placement_group()
        index = 1 + self.config.policy.num_env_runners
        options = []
        for bundle in self.config.actor_resources():
            option: dict[str, Any] = {"num_cpus": bundle.get("CPU", 0.0), "num_gpus": bundle.get("GPU", 0.0)}
            if group is not None and bundle:
                option["scheduling_strategy"] = PlacementGroupSchedulingStrategy(group, index)
                index += 1
            options.append(option)
        return options

    def _checkpoint(self, iteration: int) -> None:
        """Everything after ``iteration`` (-1: the random collection) into a new folder, adopted by progress.json
        once complete; a crash before that leaves the previous folder in force and its data is all that counts."""
        import ray

        folder = self.workdir / "checkpoints" / f"iteration_{iteration + 1:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        ray.get([self.world.save.remote(folder), self.world.save_data.remote(folder)]
                + ([self.potential.save.remote(folder)] if self.potential else []))
        self.trainer.save(folder / "policy.pt")
        previous = self.progress.get("checkpoint")
        self.progress.update(iterations_done=iteration, checkpoint=folder.name)
        atomic_write_text(self.workdir / "progress.json", json.dumps(self.progress, indent=2))
        if previous and previous != folder.name:
            shutil.rmtree(self.workdir / "checkpoints" / previous, ignore_errors=True)

    def _restore(self) -> None:
        import ray

        folder = self.workdir / "checkpoints" / self.progress["checkpoint"]
        learners = [self.world] + ([self.potential] if self.potential else [])
        ray.get([learner.load.remote(folder) for learner in learners])
        collections = self.progress["iterations_done"] + 2
        held = ray.get([learner.load_data.remote(folder, collections) for learner in learners])
        if any(h != self.real_steps for h in held):
            raise ValueError(f"{folder} holds {held} real steps but progress.json records {self.real_steps}")
        if (folder / "policy.pt").exists():
            self.trainer.load(folder / "policy.pt")

    def _log_sim(self, metrics: dict[str, float], steps: int) -> None:
        """RLlib's results in imagination, logged against real steps (the x-axis of every SimPLe curve)."""
        keep = ("env_runners/episode_return_mean", "learners/default_policy/entropy",
                "learners/default_policy/policy_loss", "learners/default_policy/vf_loss")
        self.log({f"simulated/{k.split('/')[-1]}": metrics[k] for k in keep if k in metrics}, self.real_steps)

    def _timed(self, phase: str, work: Callable[..., None], *args: Any) -> None:
        started = time.time()
        work(*args)
        seconds = time.time() - started
        self.progress["seconds"][phase] = round(seconds, 2)
        self.log({f"time/{phase.rsplit('_', 1)[0]}_s": seconds}, self.real_steps)
        self.on_phase(phase, seconds)

    def _read_progress(self) -> dict[str, Any]:
        path = self.workdir / "progress.json"
        if path.exists():
            return json.loads(path.read_text())
        return {"iterations_done": -2, "real_steps": 0, "seconds": {}}
