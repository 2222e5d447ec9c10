"""The one loop every composed agent runs, in one process or on Ray actors (``spec.runtime``):

    collect  loop.random_steps real steps (the untrained policy, or random actions)
    for each iteration i:
        fit      the world model and every intrinsic reward (and a C-SWM encoder) on all real data so far
        improve  the policy: inside the world model (its world sent to the learner's envs), or, with no world
                 model, on loop.real_steps_per_iteration real steps
        collect  loop.real_steps_per_iteration real steps with the policy (world models only); the real games go on
                 from one collection to the next
        checkpoint

With ``world_model: none`` and no intrinsic reward it is a model-free agent. Every real step is counted once:
each collector plays exactly its share, and the learners' data is checked against the count. A checkpoint after
every iteration (a folder adopted by ``progress.json`` once complete) makes the loop resumable.
"""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agents.composed import checkpoints
from agents.composed.imagination import IntrinsicState, World, imagined_env_config
from agents.composed.parts import DataSpec, IntrinsicLearner, RealCollector, WorldModelLearner
from agents.composed.placement import LocalPlacement, RayPlacement, require_fits
from agents.learners import ImaginedWorld, RealWorld, build_learner, learner_entry
from agents.spec import AgentSpec
from envs import AtariConfig, is_atari, make_vector_env
from envs.config_data import to_dict
from envs.files import atomic_write_text, read_json
from envs.video import write_mp4
from intrinsic.registry import intrinsic_entry
from intrinsic.weighted import WeightedIntrinsic, WeightedTerm
from world_models.registry import world_model_entry

Log = Callable[[dict[str, float], int], None]
ENCODER = "encoder"  # the C-SWM learner of features.cswm_fit, saved as encoder.pt


class ComposedAgent:
    """Runs ``spec`` on ``env`` (train mode), checkpointing into ``workdir``; ``log`` receives metrics with the
    real agent steps so far, ``on_phase`` each finished phase and its seconds, ``on_iteration`` the agent at the
    end of each iteration, before its checkpoint (e.g. to evaluate the policy); ``on_checkpoint`` returns what to
    record in ``progress.json`` with each checkpoint (e.g. the metrics lines written so far)."""

    def __init__(self, spec: AgentSpec, env: AtariConfig, workdir: str | Path, seed: int = 0, device: str = "cpu",
                 log: Log | None = None, on_phase: Callable[[str, float], None] | None = None,
                 on_iteration: Callable[[ComposedAgent], None] | None = None,
                 on_checkpoint: Callable[[], dict[str, Any]] | None = None) -> None:
        self.spec, self.env, self.seed, self.device = spec, env, seed, device
        self.workdir, self.log = Path(workdir), log or (lambda m, s: None)
        self.on_phase = on_phase or (lambda phase, seconds: None)
        self.on_iteration = on_iteration or (lambda agent: None)
        self.on_checkpoint = on_checkpoint or dict  # what the caller records with each checkpoint
        (self.workdir / "checkpoints").mkdir(parents=True, exist_ok=True)
        probe = make_vector_env(env.game, 1, env)
        self.obs_space, self.num_actions = probe.single_observation_space, int(probe.single_action_space.n)
        probe.close()
        self.progress = self._read_progress()
        self.learner: Any = None
        self.weighted: WeightedIntrinsic | None = None
        self._start_parts()
        if spec.imagined:
            self.learner = self._new_learner()
        if self.progress.get("checkpoint"):
            self._restore()

    @property
    def real_steps(self) -> int:
        return self.progress["real_steps"]

    def phases(self) -> list[str]:
        """Phase names in order (what progress bars count)."""
        loop, names = self.spec.loop, ["collect_random"] if self.spec.loop.random_steps else []
        for i in range(loop.iterations):
            names += [f"fit_{i}"] if self._fits(i) else []
            names += [f"policy_{i}"] + ([f"collect_{i}"] if self.spec.imagined else [])
        return names

    def run(self) -> dict[str, Any]:
        """Run (or resume after the last finished iteration); returns the progress record."""
        loop = self.spec.loop
        if self.progress["iterations_done"] < -1:
            if loop.random_steps:
                self._timed("collect_random", self._collect, loop.random_steps, True)
            self._checkpoint(-1)
        for i in range(self.progress["iterations_done"] + 1, loop.iterations):
            if self._fits(i):
                self._timed(f"fit_{i}", self._fit, i)
            self._timed(f"policy_{i}", self._improve, i)
            if self.spec.imagined:
                self._timed(f"collect_{i}", self._collect, loop.real_steps_per_iteration, False)
            self.on_iteration(self)
            self._checkpoint(i)
        return self.progress

    def close(self) -> None:
        if self.learner is not None:
            self.learner.close()
        self.place.gather([c.call("close") for c in self.collectors])
        self.place.close()

    # -- phases ----------------------------------------------------------------------------------------------

    def _collect(self, steps: int, first: bool) -> None:
        untrained = first and (self.spec.loop.first_collection == "random" or self.learner is None)
        policy = None if untrained else self.learner.acting_policy()
        share = steps // len(self.collectors)
        parts = self.place.gather([c.call("collect", share, policy) for c in self.collectors])
        collected = sum(p.store.num_transitions for p in parts)
        if collected != steps:
            raise RuntimeError(f"collectors returned {collected} steps, asked {steps}")
        held = self.place.gather([part.call("add", self.progress["collections"], parts) for part in self.learners])
        self.progress["collections"] += 1
        self.progress["real_steps"] += steps
        self.progress["data_steps"] += steps
        if any(h != self.progress["data_steps"] for h in held):
            raise RuntimeError(f"learners hold {held} real steps; {self.progress['data_steps']} were collected")
        scores = [score for p in parts for score in p.scores]
        metrics = {"real/steps": self.real_steps, "real/games_finished": len(scores),
                   **({"real/episode_return_mean": float(np.mean(scores))} if scores else {})}
        if self.learners:
            games = self.place.gather([self.learners[0].call("games")])[0]
            self.progress["open_games"] = games["open"]
            metrics["real/longest_game_steps"] = games["longest_steps"]
        self.log(metrics, self.real_steps)

    def _fit(self, iteration: int) -> None:
        loop = self.spec.loop
        named = ([("world_model", self.world.call("train", loop.model_steps_first if iteration == 0 else
                                                 loop.model_steps))] if self.world else [])
        named += [(f"intrinsic/{t.name}", part.call("fit")) for t, part in zip(self.spec.intrinsic, self.rewards)]
        named += [(ENCODER, self.encoder.call("fit"))] if self.encoder else []
        for (prefix, _), metrics in zip(named, self.place.gather([call for _, call in named])):
            self.log({f"{prefix}/{k.split('/')[-1]}": v for k, v in metrics.items()}, self.real_steps)
        if self.world:
            self._evaluate_model(iteration)
        if self.learner is None:  # no world model: the learner starts once its intrinsic rewards are fitted
            self.learner = self._new_learner()
        if self.encoder and (iteration == 0 or self.spec.features.freeze):
            self.learner.load_encoder(self.place.gather([self.encoder.call("encoder_weights")])[0])

    def _evaluate_model(self, iteration: int) -> None:
        loop = self.spec.loop
        call = self.world.call("evaluate", loop.eval_horizons, loop.eval_sequences, self.seed + iteration)
        quality, frames = self.place.gather([call])[0]
        if quality:
            self.log({f"world_model/heldout_{k}": v for k, v in quality.items()}, self.real_steps)
            self.progress["model_quality"].append({"iteration": iteration, **quality})
            write_mp4(frames, self.workdir / "videos" / f"prediction_iter{iteration:02d}.mp4", fps=4, scale=3)

    def _improve(self, iteration: int) -> None:
        if self.spec.imagined:
            received = self.learner.set_world(self._world())
            self.learner.learn(self.spec.policy_steps(iteration))
            self.log({"simulated/steps": self.learner.num_timesteps,
                      **({"simulated/envs_updated": received} if received is not None else {})}, self.real_steps)
        else:
            if self.learner is None:
                self.learner = self._new_learner()
            self._switch_intrinsic()
            self.learner.learn(self.spec.policy_steps(iteration))
            self.progress["real_steps"] += self.spec.policy_steps(iteration)
            self.log({"real/steps": self.real_steps}, self.real_steps)
        means = self.learner.intrinsic_means()
        if means:
            self.log(means, self.real_steps)

    def _world(self) -> World:
        loop = self.spec.loop
        calls = [self.world.call("weights"), self.world.call("starts", loop.start_windows,
                                                              loop.real_steps_per_iteration)]
        weights, starts, *states = self.place.gather(calls + [part.call("state") for part in self.rewards])
        return World(weights, starts, [IntrinsicState(t.name, t.weight, self.real_steps >= t.start, state)
                                       for t, state in zip(self.spec.intrinsic, states)])

    def _switch_intrinsic(self) -> None:
        """Real env: each reward switches on from the first iteration that begins at or after its start."""
        if self.weighted is not None:
            for term, spec_term in zip(self.weighted.terms, self.spec.intrinsic):
                term.active = self.real_steps >= spec_term.start

    # -- parts and state -------------------------------------------------------------------------------------

    def _start_parts(self) -> None:
        spec, runtime, loop = self.spec, self.spec.runtime, self.spec.loop
        runners = spec.env_runner_bundles()
        resources = spec.actor_resources()
        self.place = LocalPlacement() if runtime.kind == "local" else RayPlacement(first_bundle=1 + len(runners))
        if runtime.kind == "ray":
            require_fits(spec)
        capacity = int(loop.total_real_steps * 1.1) + 64 * loop.real_envs * (loop.iterations + 1)
        shape = self.obs_space.shape
        stack = self.env.frame_stack if is_atari(self.env.game) else 1  # other envs' observations are kept whole
        spec_data = DataSpec(shape, stack, capacity, str(self.obs_space.dtype))
        data = spec_data.make() if self.place.shares_memory else spec_data
        seeds = np.random.SeedSequence([self.seed, self.progress["collections"]]).generate_state(runtime.collectors)
        self.collectors = [self.place.start(RealCollector, self.env, loop.real_envs // runtime.collectors, int(s),
                                            resources=bundle) for s, bundle in zip(seeds, resources["collectors"])]
        self.world = None
        if spec.imagined:
            device = "cuda" if runtime.learner_gpus > 0 else self.device
            self.world = self.place.start(WorldModelLearner, world_model_entry(spec.world_model), spec.model,
                                          self.num_actions, data,
                                          device, self.seed, loop.heldout_every,
                                          resources=resources["world-model learner"][0])
        intrinsic = resources["intrinsic learners"][0] if resources["intrinsic learners"] else {}
        self.rewards = [self.place.start(IntrinsicLearner, intrinsic_entry(t.name), t.config, t.name, data,
                                         self.device, self.seed, resources=intrinsic) for t in spec.intrinsic]
        self.encoder = None
        if spec.features.cswm_fit:
            config = {"cswm": to_dict(spec.features.cswm), "crop_rows": spec.features.crop_rows,
                      "steps": spec.features.cswm_fit_steps}
            self.encoder = self.place.start(IntrinsicLearner, intrinsic_entry("cswm_curiosity"), config, ENCODER, data,
                                            self.device, self.seed, resources=intrinsic)
        self.learners = [p for p in [self.world, *self.rewards, self.encoder] if p is not None]

    def _new_learner(self) -> Any:
        spec, loop = self.spec, self.spec.loop
        if spec.imagined:
            config = imagined_env_config(spec.world_model, spec.model, self.num_actions, loop.sim_envs,
                                         loop.rollout_length, self.env.frame_stack)
            world: Any = ImaginedWorld(config, self.obs_space.shape)
            log = lambda m, s: self.log({k.replace("rollout/", "simulated/"): v for k, v in m.items()},  # noqa: E731
                                        self.real_steps)
        else:
            world = RealWorld(self.env, loop.real_envs, *self._real_intrinsic())
            log = lambda m, s: self.log(m, loop.random_steps + s)  # noqa: E731
        # Seeded past the steps already taken, so a resumed run plays fresh games rather than replaying them.
        return build_learner(spec, world, self.seed + self.real_steps, self.device, log)

    def _real_intrinsic(self) -> tuple[WeightedIntrinsic | None, tuple[tuple[str, str, float], ...]]:
        """The fitted rewards for a learner in the real env: in this process (sb3), or as files for RLlib."""
        if not self.rewards:
            return None, ()
        states = self.place.gather([part.call("state") for part in self.rewards])
        if learner_entry(self.spec.learner).family in ("sb3", "torch"):  # rewards added in this process
            self.weighted = WeightedIntrinsic([WeightedTerm(t.name, intrinsic_entry(t.name).from_state(s, self.device),
                                                            t.weight) for t, s in zip(self.spec.intrinsic, states)])
            return self.weighted, ()
        folder = self.workdir / "intrinsic"
        self.place.gather([part.call("save", folder) for part in self.rewards])
        return None, tuple((t.name, str(folder / f"{t.name}.pt"), t.weight) for t in self.spec.intrinsic)

    def _fits(self, iteration: int) -> bool:
        """Whether iteration ``iteration`` fits anything: always with a world model, else only the first (the
        model-free agent's data is the first collection)."""
        return self.spec.imagined or (iteration == 0 and bool(self.learners))

    def _checkpoint(self, iteration: int) -> None:
        """Everything after ``iteration`` (-1: the first collection) into a new folder, sealed with its record
        and checksums, then adopted by progress.json; a crash before that leaves the previous folder in force.
        The folder before stays too (``checkpoints.recover`` falls back on it when the newest is damaged)."""
        folder = self.workdir / "checkpoints" / f"iteration_{iteration + 1:03d}"
        if folder.exists():  # an unfinished write of this iteration by a killed session
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        calls = [part.call("save", folder) for part in self.learners]
        calls += [self.learners[0].call("save_data", folder)] if self.learners else []
        self.place.gather(calls)
        if self.learner is not None:
            self.learner.save(folder / "policy.pt")
        self.progress.update(iterations_done=iteration, checkpoint=folder.name, **self.on_checkpoint())
        checkpoints.seal(folder, self.progress)
        atomic_write_text(self.workdir / "progress.json", json.dumps(self.progress, indent=2))
        checkpoints.prune(self.workdir / "checkpoints", folder.name)

    def _restore(self) -> None:
        folder = self.workdir / "checkpoints" / self.progress["checkpoint"]
        cut = self.progress.pop("open_games", [])
        if cut:  # the games the last session left open cannot go on: its envs are gone
            self.progress.setdefault("cut_games", []).append({"real_steps": self.real_steps, "games": cut})
            print(f"[agent] resumed at {self.real_steps} real steps: {len(cut)} unfinished game(s) cut at step(s) "
                  f"{[g['step'] for g in cut]} (progress.json cut_games); new games started", flush=True)
        if self.learners:
            self.place.gather([part.call("load", folder) for part in self.learners])
            held = self.place.gather([part.call("load_data", folder, self.progress["collections"])
                                      for part in self.learners])
            if any(h != self.progress["data_steps"] for h in held):
                raise ValueError(f"{folder} holds {held} real steps but progress.json records "
                                 f"{self.progress['data_steps']}")
        if (folder / "policy.pt").exists():
            if self.learner is None:
                self.learner = self._new_learner()
            self.learner.load(folder / "policy.pt")

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
            return read_json(path, "progress")
        return {"iterations_done": -2, "real_steps": 0, "data_steps": 0, "collections": 0, "seconds": {},
                "model_quality": [], "checkpoint": None}
