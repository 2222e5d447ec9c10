"""The SimPLe agent (Kaiser et al., 2020): learn a world model from a little real play, train PPO inside it, repeat.

    collect random_steps real steps with the untrained policy
    for each iteration:
        train the world model on all real data so far (held-out episodes excepted)
        train PPO for ppo_iterations x (16 envs x 50 steps) in the simulated env
        collect real_steps_per_iteration real steps with the policy

The real envs stay open from one collection to the next, so every game is played to its end (tensor2tensor's
real env restarts at every collection). Every phase ends with a checkpoint; a rerun skips finished phases, so a
killed run resumes with nothing lost but the phase it was in and the unfinished games, which it records as cut.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from agents.learners.sb3_ppo import PPOConfig, PPOLearner
from envs import AtariConfig, ExperienceStore, make_vector_env
from envs.files import atomic_write_text
from envs.validate import require_choice, require_range
from envs.video import write_mp4
from intrinsic import ArrowOfTime, ArrowOfTimeConfig, IntrinsicRewardVectorWrapper
from world_models import SimPLeModelConfig, SimPLeWorldModel, SimulatedVectorEnv, sequence_batch, store_starts
from world_models.evaluation import comparison_frames, prediction_metrics
from world_models.training import heldout_mask, train_world_model

Log = Callable[[dict[str, float], int], None]


def _simulated_ppo() -> PPOConfig:
    # SimPLe's PPO: 16 envs x 50-step rollouts, lr 1e-4, clip 0.1, entropy 0.01, 3 epochs.
    return PPOConfig(n_steps=50, batch_size=200, n_epochs=3, learning_rate=1e-4, clip_range=0.1, ent_coef=0.01,
                     gamma=0.99, gae_lambda=0.95, vf_coef=1.0, max_grad_norm=0.5)


@dataclass(frozen=True)
class SimPLeConfig:
    """The SimPLe loop; defaults are the paper's (102,400 real steps, 15.2M simulated steps).

    Attributes:
        iterations: model/policy/collection rounds after the random collection.
        random_steps, real_steps_per_iteration: real agent steps collected (over ``real_envs`` envs).
        real_envs: real games played side by side; they continue across collections (1 in the paper).
        first_collection: ``policy`` plays the first collection with the untrained policy, as tensor2tensor
            does; ``random`` with uniformly random actions.
        model_steps_first, model_steps: world-model training steps in the first and later iterations.
        ppo_iterations: PPO updates per iteration, each on ``sim_envs`` x ``rollout_length`` simulated steps;
            doubled at ``ppo_double_at`` (0-based) and multiplied by ``ppo_last_multiplier`` at the last one.
        heldout_every: episodes whose id is 1 modulo this are never trained on (model metrics use them).
        eval_horizons, eval_sequences: model-quality metrics at these autoregressive steps, on this many sequences.
        world_model: ``simple`` (the stochastic discrete model) or ``simple_deterministic`` (no latent, pixel
            noise on inputs); it sets ``model.stochastic``, the rest of ``model`` applies to both.
        intrinsic: ``arrow_of_time`` refits the potential ``arrow`` on all real data at every model phase and adds
            its reward inside the simulated env; simulated returns are then logged without it.
    """

    world_model: Literal["simple", "simple_deterministic"] = "simple"
    model: SimPLeModelConfig = field(default_factory=SimPLeModelConfig)
    ppo: PPOConfig = field(default_factory=_simulated_ppo)
    iterations: int = 15
    random_steps: int = 6400
    real_steps_per_iteration: int = 6400
    real_envs: int = 1
    first_collection: Literal["policy", "random"] = "policy"
    model_steps_first: int = 45_000
    model_steps: int = 15_000
    ppo_iterations: int = 1000
    ppo_double_at: tuple[int, ...] = (7, 11)
    ppo_last_multiplier: int = 3
    sim_envs: int = 16
    rollout_length: int = 50
    heldout_every: int = 8
    eval_horizons: tuple[int, ...] = (1, 5, 15)
    eval_sequences: int = 16
    intrinsic: Literal["none", "arrow_of_time"] = "none"
    arrow: ArrowOfTimeConfig = field(default_factory=ArrowOfTimeConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", self.model.variant(self.world_model))  # the one switch is world_model
        for name in ("iterations", "real_envs", "sim_envs", "rollout_length", "ppo_iterations"):
            require_range(name, getattr(self, name), 1)
        require_range("heldout_every", self.heldout_every, 2)
        require_choice("first_collection", self.first_collection, ["policy", "random"])
        for name in ("random_steps", "real_steps_per_iteration"):
            if getattr(self, name) % self.real_envs:
                raise ValueError(f"{name}={getattr(self, name)} must be a multiple of real_envs={self.real_envs}")
        if self.ppo.n_steps != self.rollout_length:
            raise ValueError(f"ppo.n_steps={self.ppo.n_steps} must equal rollout_length={self.rollout_length}")

    @property
    def total_real_steps(self) -> int:
        return self.random_steps + self.iterations * self.real_steps_per_iteration

    def ppo_updates(self, iteration: int) -> int:
        multiplier = self.ppo_last_multiplier if iteration == self.iterations - 1 else (
            2 if iteration in self.ppo_double_at else 1)
        return self.ppo_iterations * multiplier

    def phases(self) -> list[str]:
        """Phase names in order: ``collect_random``, then ``model_i``, ``policy_i``, ``collect_i`` per iteration."""
        return ["collect_random"] + [f"{p}_{i}" for i in range(self.iterations) for p in ("model", "policy", "collect")]


class SimPLeAgent:
    """Runs :class:`SimPLeConfig` on one game in ``workdir`` (checkpoints/, videos/, progress.json).

    Args:
        env_config: the real env; its ``obs`` format must match the model's frame size (``rgb105x80`` for the paper).
        log: receives metrics with the number of real agent steps so far.
        on_phase: called with each finished phase and its duration in seconds.
    """

    def __init__(self, config: SimPLeConfig, env_config: AtariConfig, workdir: str | Path, seed: int = 0,
                 device: str = "cpu", log: Log | None = None, progress: bool = True,
                 on_phase: Callable[[str, float], None] | None = None) -> None:
        frame = env_config.frame_shape
        if len(frame) != 3 or frame != (config.model.frame_height, config.model.frame_width, config.model.channels):
            raise ValueError(f"env.obs={env_config.obs!r} gives frames {frame}, but the model predicts "
                             f"{(config.model.frame_height, config.model.frame_width, config.model.channels)}")
        self.config, self.env_config, self.seed, self.device = config, env_config, seed, device
        self.workdir, self.log, self.show_progress = Path(workdir), log or (lambda m, s: None), progress
        self.on_phase = on_phase or (lambda phase, seconds: None)
        (self.workdir / "checkpoints").mkdir(parents=True, exist_ok=True)
        (self.workdir / "videos").mkdir(exist_ok=True)
        torch.manual_seed(seed)
        probe = make_vector_env(env_config.game, 1, env_config)
        self.num_actions = int(probe.single_action_space.n)
        probe.close()
        self.model = SimPLeWorldModel(config.model, self.num_actions, device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.model.learning_rate)
        self.progress = self._read_progress()

    # -- the loop ---------------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Run (or resume) every phase; returns the progress record (phases done, real steps, timings)."""
        self._restore()
        try:
            for phase in self.config.phases():
                if phase in self.progress["done"]:
                    continue
                started = time.time()
                kind, _, index = phase.partition("_")
                if kind == "collect":
                    self._collect(first=index == "random")
                elif kind == "model":
                    self._train_model(int(index))
                else:
                    self._train_policy(int(index))
                self._finish(phase, time.time() - started)
        finally:
            if self.real_env is not None:
                self.real_env.close()
                self.real_env = None
        return self.progress

    def _collect(self, first: bool) -> None:
        steps = self.config.random_steps if first else self.config.real_steps_per_iteration
        if self.real_env is None:
            self._open_real_envs()
        random_policy = first and self.config.first_collection == "random"
        obs, scores = self.real_obs, []
        for _ in range(steps // self.config.real_envs):
            actions = (self.rng.integers(self.num_actions, size=self.config.real_envs) if random_policy
                       else self.policy.act(obs))
            obs, reward, terminated, truncated, info = self.real_env.step(actions)
            self.store.add_vector_step(actions, obs, reward, terminated, truncated, info)
            scores += [float(s) for s in info["final_score"][~np.isnan(info["final_score"])]]
        self.real_obs = obs
        rows = self.store.last_rows
        self.progress["open_games"] = [{"episode": int(self.store.episode[r]), "step": int(self.store.step[r])}
                                       for r in rows]
        self.progress["real_steps"] += steps
        self.store.save(self.workdir / "checkpoints" / "store.npz")
        metrics = {"real/steps": self.progress["real_steps"], "real/games_finished": len(scores),
                   "real/longest_game_steps": int(self.store.step[: self.store.size].max())}
        if scores:
            metrics["real/episode_return_mean"] = float(np.mean(scores))
        self.log(metrics, self.progress["real_steps"])

    def _train_model(self, iteration: int) -> None:
        steps = self.config.model_steps_first if iteration == 0 else self.config.model_steps
        log = lambda m, s: self.log(m, self.progress["real_steps"])  # noqa: E731
        train_world_model(self.model, self.optimizer, self.store, steps, self.rng, where=self._rows(heldout=False),
                          log=log, progress=self.show_progress)
        self._checkpoint("world_model", iteration,
                         lambda path: self.model.save(path, extra={"optimizer": self.optimizer.state_dict()}))
        if self.potential is not None:
            fit = self.potential.fit(self.store, self.rng)
            self.log({f"intrinsic/{k}": v for k, v in fit.items()}, self.progress["real_steps"])
            self._checkpoint("potential", iteration, self.potential.save)
        self._evaluate_model(iteration)

    def _train_policy(self, iteration: int) -> None:
        per_update = self.config.sim_envs * self.config.rollout_length
        self.policy.learn(self.config.ppo_updates(iteration) * per_update)
        self.log({"simulated/steps": self.policy.num_timesteps,
                  "simulated/forward_passes": self.sim_env.forward_passes}, self.progress["real_steps"])
        self._checkpoint("policy", iteration, self.policy.save)

    # -- metrics ----------------------------------------------------------------------------------------------

    def _evaluate_model(self, iteration: int) -> None:
        k, horizon = self.config.model.context_frames, max(self.config.eval_horizons)
        rng = np.random.default_rng(self.seed + iteration)
        try:
            batch = sequence_batch(self.store, k, horizon, self.config.eval_sequences, rng, self._rows(heldout=True))
        except ValueError:  # held-out episodes still too short for the longest horizon
            return
        metrics = prediction_metrics(self.model, batch, self.config.eval_horizons)
        self.log({f"world_model/heldout_{name}": v for name, v in metrics.items()}, self.progress["real_steps"])
        self.progress.setdefault("model_quality", []).append({"iteration": iteration, **metrics})
        first = {key: value[:1] for key, value in batch.items()}
        write_mp4(comparison_frames(self.model, first["frames"], first["action"]),
                  self.workdir / "videos" / f"prediction_iter{iteration:02d}.mp4", fps=4, scale=3)

    # -- state ------------------------------------------------------------------------------------------------

    def _new_policy(self) -> PPOLearner:
        env = self.sim_env if self.potential is None else IntrinsicRewardVectorWrapper(self.sim_env, self.potential)
        return PPOLearner(self.config.ppo, env, seed=self.seed, device=self.device,
                          log=lambda m, s: self.log({k.replace("rollout/", "simulated/"): v for k, v in m.items()},
                                                    self.progress["real_steps"]))

    def _open_real_envs(self) -> None:
        """Start the real games; on a resumed run, the games the last run left unfinished are recorded as cut."""
        self.real_env = make_vector_env(self.env_config.game, self.config.real_envs, self.env_config)
        self.real_obs, _ = self.real_env.reset(seed=int(self.rng.integers(2**31 - 1)))
        self.store.begin(self.real_obs)
        cut = self.progress.pop("open_games", [])
        if cut:
            self.progress.setdefault("cut_games", []).append({"real_steps": self.progress["real_steps"],
                                                              "games": cut})
            print(f"[simple] resumed at {self.progress['real_steps']} real steps: {len(cut)} unfinished game(s) "
                  f"cut at step(s) {[g['step'] for g in cut]} (progress.json cut_games); new games started")

    def _rows(self, heldout: bool) -> np.ndarray:
        is_heldout = heldout_mask(self.store, self.config.heldout_every)
        return is_heldout if heldout else ~is_heldout

    def _checkpoint(self, name: str, iteration: int, save: Callable[[Path], None]) -> None:
        # Named by iteration and only adopted in progress.json when the phase finishes, so a crash
        # between the two leaves the previous phase's checkpoint in force.
        filename = f"{name}_{iteration:02d}.pt"
        save(self.workdir / "checkpoints" / filename)
        self._pending[name] = filename

    def _finish(self, phase: str, seconds: float) -> None:
        checkpoints = self.progress["checkpoints"]
        for name, filename in self._pending.items():
            old = checkpoints.get(name)
            checkpoints[name] = filename
            if old and old != filename:
                (self.workdir / "checkpoints" / old).unlink(missing_ok=True)
        self._pending = {}
        self.progress["store_rows"] = self.store.size
        self.progress["done"].append(phase)
        self.progress["seconds"][phase] = round(seconds, 2)
        self.log({f"time/{phase.rsplit('_', 1)[0]}_s": seconds}, self.progress["real_steps"])
        atomic_write_text(self.workdir / "progress.json", json.dumps(self.progress, indent=2))
        self.on_phase(phase, seconds)

    def _read_progress(self) -> dict[str, Any]:
        path = self.workdir / "progress.json"
        if path.exists():
            return json.loads(path.read_text())
        return {"done": [], "real_steps": 0, "seconds": {}, "checkpoints": {}, "store_rows": 0}

    def _restore(self) -> None:
        """Build the store, simulated env and policy, from the checkpoints of finished phases if any."""
        checkpoints, done, config = self.workdir / "checkpoints", self.progress["done"], self.config
        saved = self.progress["checkpoints"]
        self._pending: dict[str, str] = {}
        if any(p.startswith("collect") for p in done):
            self.store = ExperienceStore.load(checkpoints / "store.npz", config.real_envs)
            self.store.truncate(self.progress["store_rows"])  # drop data of a collection that did not finish
        else:
            capacity = int(config.total_real_steps * 1.1) + 64 * config.real_envs * (config.iterations + 1)
            self.store = ExperienceStore(self.env_config.observation_shape, self.env_config.frame_stack, capacity,
                                         config.real_envs)
        if "world_model" in saved:
            self.optimizer.load_state_dict(self.model.load(checkpoints / saved["world_model"])["optimizer"])
        starts = store_starts(self.store, config.model.context_frames, newest_rows=config.real_steps_per_iteration,
                              game_start_first=True)
        self.sim_env = SimulatedVectorEnv(self.model, starts, config.sim_envs, config.rollout_length,
                                          self.env_config.frame_stack)
        self.potential = None
        if config.intrinsic == "arrow_of_time":
            self.potential = (ArrowOfTime.load(checkpoints / saved["potential"], self.device) if "potential" in saved
                              else ArrowOfTime(config.arrow, self.env_config.observation_shape, self.device))
        self.policy = self._new_policy()
        self.real_env, self.real_obs = None, None
        if "policy" in saved:
            self.policy.load(checkpoints / saved["policy"])
        # A resumed run draws fresh randomness rather than replaying the phase that was interrupted.
        self.rng = np.random.default_rng([self.seed, len(done)])
