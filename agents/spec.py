"""An agent is a config: which learner, in which world, with which intrinsic rewards, reading observations through
which encoder, placed on which runtime. :class:`AgentSpec` names the combination and refuses, when built, the ones
that cannot work (naming why); :mod:`agents.composed.loop` runs it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from agents.features.config import PolicyConfig
from agents.learners import learner_entry, learner_names
from agents.learners.dqn.config import DQNConfig
from agents.learners.rllib.config import RLlibConfig
from agents.learners.sb3_ppo import PPOConfig
from envs.config_data import from_dict, to_dict
from envs.validate import require_choice, require_range
from intrinsic.registry import intrinsic_entry
from world_models.registry import world_model_entry


@dataclass(frozen=True)
class IntrinsicTerm:
    """One intrinsic reward of the sum the policy trains on: ``weight * reward``, switched on from the first
    iteration that begins at or after ``start`` real agent steps. ``config``: the reward's own settings (fields
    of its registered config class); the resolved config replaces it when the spec is built."""

    name: str
    weight: float = 1.0
    start: int = 0
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        entry = intrinsic_entry(self.name)
        require_range("intrinsic.start", self.start, 0)
        object.__setattr__(self, "config", entry.resolved(self.config, f"intrinsic.{self.name}.config"))


@dataclass(frozen=True)
class RuntimeConfig:
    """Where the loop's parts run.

    Attributes:
        kind: ``local`` (every part in this process) or ``ray`` (collectors, world-model and intrinsic learners
            as actors; RLlib env runners as RLlib places them; the policy learner in the driver).
        collectors: real-env collector actors (``ray``); ``loop.real_envs`` is split evenly between them.
        collector_cpus, learner_cpus, intrinsic_cpus: CPUs each actor reserves (fractions share a core).
        learner_gpus: GPUs of the world-model learner (1 to train it on a GPU of the cluster).
    """

    kind: Literal["local", "ray"] = "local"
    collectors: int = 1
    collector_cpus: float = 1.0
    learner_cpus: float = 1.0
    learner_gpus: float = 0.0
    intrinsic_cpus: float = 0.5

    def __post_init__(self) -> None:
        require_choice("runtime.kind", self.kind, ["local", "ray"])
        require_range("runtime.collectors", self.collectors, 1)
        for name in ("collector_cpus", "learner_cpus", "learner_gpus", "intrinsic_cpus"):
            require_range(f"runtime.{name}", getattr(self, name), 0.0)


@dataclass(frozen=True)
class LoopConfig:
    """The loop's budgets (SimPLe's schedule by default: 102,400 real steps, 15.2M imagined ones).

    Attributes:
        iterations: fit/improve/collect rounds after the first collection.
        random_steps: real agent steps of the first collection (untrained policy or random actions); with no
            world model, the data intrinsic rewards are fitted on (0: none).
        real_steps_per_iteration: real agent steps per iteration: collected after the policy phase with a world
            model, trained on directly without one.
        real_envs: real games played side by side (split over ``runtime.collectors``).
        first_collection: ``policy`` (the untrained policy, as tensor2tensor) or ``random`` actions.
        model_steps_first, model_steps: world-model training steps in the first and later iterations.
        ppo_iterations: policy updates per iteration in imagination, each on ``sim_envs x rollout_length``
            imagined steps; doubled at ``ppo_double_at`` and multiplied by ``ppo_last_multiplier`` at the last.
        heldout_every: episodes whose id is 1 modulo this are never trained on (model metrics use them).
        eval_horizons, eval_sequences: held-out model quality at these steps, on this many sequences.
        start_windows: real context windows drawn per iteration for imagined rollouts to start from.
        total_steps: a real-step budget instead of ``iterations``: iterations become
            ``(total_steps - random_steps) / real_steps_per_iteration`` (``workbench train --steps``).
        imagined_steps: imagined agent steps per iteration (before the multipliers) instead of
            ``ppo_iterations``, which become ``imagined_steps / (sim_envs x rollout_length)``: the paper's
            800,000 are 1,000 updates of 16 envs, or 40 of 400 envs, so ``sim_envs`` can grow with the GPU
            while the imagined experience stays the same.
    """

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
    start_windows: int = 256
    total_steps: int | None = None
    imagined_steps: int | None = None

    def __post_init__(self) -> None:
        if self.imagined_steps is not None:
            per_update = self.sim_envs * self.rollout_length
            if self.imagined_steps < per_update or self.imagined_steps % per_update:
                raise ValueError(f"loop.imagined_steps={self.imagined_steps} must be a positive multiple of "
                                 f"loop.sim_envs x loop.rollout_length = {self.sim_envs} x {self.rollout_length}")
            object.__setattr__(self, "ppo_iterations", self.imagined_steps // per_update)
        if self.total_steps is not None:
            rest = self.total_steps - self.random_steps
            if rest < self.real_steps_per_iteration or rest % self.real_steps_per_iteration:
                raise ValueError(f"loop.total_steps={self.total_steps} must be loop.random_steps={self.random_steps} "
                                 f"plus a positive multiple of loop.real_steps_per_iteration="
                                 f"{self.real_steps_per_iteration}")
            object.__setattr__(self, "iterations", rest // self.real_steps_per_iteration)
        for name in ("iterations", "real_envs", "sim_envs", "rollout_length", "ppo_iterations", "start_windows",
                     "real_steps_per_iteration"):
            require_range(f"loop.{name}", getattr(self, name), 1)
        require_range("loop.random_steps", self.random_steps, 0)
        require_range("loop.heldout_every", self.heldout_every, 2)
        require_choice("loop.first_collection", self.first_collection, ["policy", "random"])
        for name in ("random_steps", "real_steps_per_iteration"):
            if getattr(self, name) % self.real_envs:
                raise ValueError(f"loop.{name}={getattr(self, name)} must be a multiple of "
                                 f"loop.real_envs={self.real_envs}")

    @property
    def total_real_steps(self) -> int:
        return self.random_steps + self.iterations * self.real_steps_per_iteration

    def ppo_updates(self, iteration: int) -> int:
        multiplier = self.ppo_last_multiplier if iteration == self.iterations - 1 else (
            2 if iteration in self.ppo_double_at else 1)
        return self.ppo_iterations * multiplier


def _imagination_ppo() -> PPOConfig:
    # SimPLe's PPO: 16 envs x 50-step rollouts, lr 1e-4, clip 0.1, entropy 0.01, 3 epochs.
    return PPOConfig(n_steps=50, batch_size=200, n_epochs=3, learning_rate=1e-4, clip_range=0.1, ent_coef=0.01,
                     gamma=0.99, gae_lambda=0.95, vf_coef=1.0, max_grad_norm=0.5)


def _imagination_rllib() -> dict[str, Any]:
    # The same PPO on RLlib: 16 imagined envs on one remote env runner, 800 steps per update.
    return {"learning_rate": 1e-4, "train_batch": 800, "minibatch": 200, "epochs": 3, "clip_param": 0.1,
            "entropy_coeff": 0.01, "vf_loss_coeff": 1.0, "num_env_runners": 1, "envs_per_env_runner": 16}


@dataclass(frozen=True)
class AgentSpec:
    """One agent as a combination of registered components.

    Attributes:
        learner: the policy learner (``sb3-ppo``, ``dqn``, ``rllib-ppo``, ``rllib-appo``, ``rllib-dqn``); its
            settings are ``ppo`` (stable-baselines3), ``dqn`` (:class:`DQNConfig`) or ``rllib`` (fields of
            :class:`RLlibConfig` but ``algorithm``, which the learner's name sets; resolved when the spec is
            built, as :attr:`rllib_config`).
        world_model: ``none`` (the policy trains in the real env: a model-free agent) or a registered world
            model (``simple``, ``simple_deterministic``) that the policy trains inside; ``model`` holds its
            settings (fields of its config class; the resolved config replaces it when the spec is built).
        intrinsic: rewards added to the extrinsic one while training (never to evaluation scores).
        features: the policy's encoder (``auto``/``nature``/``grid`` by observation, or ``cswm``).
        runtime: one process or Ray actors. ``loop``: the budgets.
    """

    learner: str = "sb3-ppo"
    world_model: str = "none"
    model: dict[str, Any] = field(default_factory=dict)
    intrinsic: tuple[IntrinsicTerm, ...] = ()
    features: PolicyConfig = field(default_factory=PolicyConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    ppo: PPOConfig = field(default_factory=_imagination_ppo)
    rllib: dict[str, Any] = field(default_factory=_imagination_rllib)
    dqn: DQNConfig = field(default_factory=DQNConfig)

    def __post_init__(self) -> None:
        entry = learner_entry(self.learner)
        if self.world_model != "none":
            model = world_model_entry(self.world_model)
            object.__setattr__(self, "model", model.resolved(self.model))
            if model.imagines == "latent":
                raise ValueError(f"world_model={self.world_model!r} imagines in latent space; training a policy "
                                 "there is not built yet (choose a world model that renders frames)")
        else:  # a preset's model settings do not apply to a model-free variant of it
            object.__setattr__(self, "model", {})
        if "algorithm" in self.rllib:
            raise ValueError(f"rllib.algorithm={self.rllib['algorithm']!r}: the learner names the algorithm "
                             f"(learner=rllib-<algorithm>); drop rllib.algorithm")
        # Built with the learner's algorithm, so an APPO or DQN learner is not held to PPO's batch rules.
        algorithm = entry.algorithm if entry.family == "rllib" else "ppo"
        rllib = from_dict(RLlibConfig, {**self.rllib, "algorithm": algorithm}, "rllib")
        object.__setattr__(self, "_rllib_config", rllib)
        object.__setattr__(self, "rllib", {k: v for k, v in to_dict(rllib).items() if k != "algorithm"})
        self._check_combination(entry)
        self._check_budgets(entry)

    @property
    def replay_rows(self) -> int:
        """Rows the ``dqn`` learner's replay holds: ``dqn.replay_capacity`` or the whole real-step budget, plus
        a row per game start."""
        steps = self.dqn.replay_capacity or self.loop.total_real_steps
        return int(steps * 1.05) + 1000

    @property
    def rllib_config(self) -> RLlibConfig:
        """The RLlib learner's settings, ``rllib`` resolved with the learner's algorithm."""
        return self._rllib_config

    @property
    def imagined(self) -> bool:
        """Whether the policy trains inside the world model (else in the real env)."""
        return self.world_model != "none"

    def _check_combination(self, entry: Any) -> None:
        names = [t.name for t in self.intrinsic]
        if len(set(names)) != len(names):
            raise ValueError(f"intrinsic names {names} repeat a reward; give each reward once, with its weight")
        if self.imagined and not entry.imagination:
            raise ValueError(f"learner={self.learner!r} cannot train in imagination: imagined rollouts are short "
                             f"on-policy rollouts restarted from real frames each iteration; use one of "
                             f"{[n for n in learner_names() if learner_entry(n).imagination]} or world_model=none")
        if self.features.features not in entry.encoders:
            raise ValueError(f"features.features={self.features.features!r} is not available to learner="
                             f"{self.learner!r} (it builds its own encoders: {list(entry.encoders)})")
        for term in self.intrinsic:
            if intrinsic_entry(term.name).needs_actions and not entry.passes_actions:
                raise ValueError(f"intrinsic {term.name!r} needs the actions taken, which learner="
                                 f"{self.learner!r} cannot pass to a reward")
            if term.start and entry.family == "rllib" and not self.imagined:
                raise ValueError(f"intrinsic {term.name!r} start={term.start}: an RLlib learner in the real env "
                                 "adds intrinsic rewards in its learner connector, fixed when it is built; use "
                                 "start=0, or sb3-ppo, or a world model")
        if not self.imagined and self.intrinsic and self.loop.random_steps == 0:
            raise ValueError("intrinsic rewards without a world model are fitted on the first collection; "
                             "set loop.random_steps > 0")

    def _check_budgets(self, entry: Any) -> None:
        loop = self.loop
        if loop.real_envs % self.runtime.collectors:
            raise ValueError(f"loop.real_envs={loop.real_envs} must split evenly over "
                             f"runtime.collectors={self.runtime.collectors}")
        if entry.family == "sb3":
            envs = loop.sim_envs if self.imagined else loop.real_envs
            rollout = self.ppo.n_steps * envs
            if self.imagined and self.ppo.n_steps != loop.rollout_length:
                raise ValueError(f"ppo.n_steps={self.ppo.n_steps} must equal loop.rollout_length="
                                 f"{loop.rollout_length} (one PPO rollout per imagined rollout)")
            if rollout % self.ppo.batch_size:
                raise ValueError(f"ppo.batch_size={self.ppo.batch_size} must divide the rollout ppo.n_steps x "
                                 f"{'loop.sim_envs' if self.imagined else 'loop.real_envs'} = {rollout}")
            if not self.imagined and loop.real_steps_per_iteration % rollout:
                raise ValueError(f"loop.real_steps_per_iteration={loop.real_steps_per_iteration} must be a multiple "
                                 f"of the rollout ppo.n_steps x loop.real_envs = {rollout}")
        elif entry.family == "torch":
            if self.dqn.replay_capacity is not None and self.dqn.replay_capacity < loop.total_real_steps:
                raise ValueError(f"dqn.replay_capacity={self.dqn.replay_capacity} is below the run's "
                                 f"{loop.total_real_steps} real steps; the replay keeps every step (no ring "
                                 "buffer), so leave it unset or raise it")
        elif self.imagined:
            if self.rllib_config.envs_per_env_runner != loop.sim_envs:
                raise ValueError(f"rllib.envs_per_env_runner={self.rllib_config.envs_per_env_runner} must equal "
                                 f"loop.sim_envs={loop.sim_envs} (the imagined envs each env runner steps)")
        elif loop.real_steps_per_iteration % self.rllib_config.steps_per_iteration:
            raise ValueError(f"loop.real_steps_per_iteration={loop.real_steps_per_iteration} must be a multiple of "
                             f"one RLlib iteration ({self.rllib_config.steps_per_iteration} agent steps)")

    def actor_resources(self) -> dict[str, list[dict[str, float]]]:
        """Ray resources of each actor the loop starts with ``runtime.kind=ray``, by kind, in start order (RLlib
        starts the env runners: :meth:`env_runner_bundles`)."""
        runtime = self.runtime
        return {"collectors": [{"CPU": runtime.collector_cpus}] * runtime.collectors,
                "world-model learner": [{"CPU": runtime.learner_cpus, "GPU": runtime.learner_gpus}]
                if self.imagined else [],
                "intrinsic learners": [{"CPU": runtime.intrinsic_cpus}] * (len(self.intrinsic)
                                                                           + self.features.cswm_fit)}

    def env_runner_bundles(self) -> list[dict[str, float]]:
        """One bundle per remote RLlib env runner (none for stable-baselines3)."""
        return self.rllib_config.env_runner_bundles() if learner_entry(self.learner).family == "rllib" else []

    def policy_steps(self, iteration: int) -> int:
        """Steps the policy learns in ``iteration``: imagined (updates x steps per update) or real."""
        if not self.imagined:
            return self.loop.real_steps_per_iteration
        per_update = (self.loop.sim_envs * self.loop.rollout_length if learner_entry(self.learner).family == "sb3"
                      else self.rllib_config.steps_per_iteration)
        return self.loop.ppo_updates(iteration) * per_update
