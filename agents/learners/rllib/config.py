"""Settings of an RLlib policy learner (plain data: importing this module does not import Ray)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envs.validate import require_choice, require_range

ALGORITHMS = ["ppo", "appo", "dqn"]


@dataclass(frozen=True)
class RLlibConfig:
    """One RLlib algorithm on the new API stack, sampled by ``num_env_runners`` processes (0: in the learner's
    own process) of ``envs_per_env_runner`` envs each.

    Attributes:
        algorithm: ``ppo``, ``appo`` (asynchronous PPO) or ``dqn`` (double, dueling DQN).
        train_batch: PPO / APPO: env steps per training iteration (the rollout); DQN: transitions per
            replay minibatch.
        minibatch, epochs: PPO's SGD minibatch (env steps) and passes over each rollout.
        rollout_fragment_length: env steps per env per sample call; None: PPO ``train_batch / envs`` (so an
            iteration samples exactly ``train_batch``), APPO 50, DQN 4.
        fcnet_hiddens: MLP sizes for vector and grid observations.
        conv_filters: (channels, kernel, stride) per conv layer for images ("same" padding in RLlib); the default
            is the Nature DQN CNN, which fits every frame size we make. RLlib's own default for 84x84 ends in a
            256-channel 11x11 conv, about ten times the compute, slow on CPU.
        cpus_per_env_runner: CPUs Ray reserves for each remote env runner (fractions share a core).
        vf_share_layers: the value head reads the policy's encoder (as SB3's CnnPolicy) instead of its own copy.
        replay_capacity, learning_starts, target_update_every: DQN's buffer (transitions), random-ish warm-up
            (env steps before the first update) and target-network period (env steps sampled, RLlib's
            ``target_network_update_freq``; with one env step per iteration, 1 syncs after every update).
        grad_clip: global-norm clip (None: none; RLlib's DQN default is 40, PPO's config sets its own).
        replay: DQN's ``prioritized`` (RLlib's default) or ``uniform`` replay of episodes.
        n_step: DQN's return horizon; ``epsilon``: its ``(env step, value)`` schedule, piecewise linear;
            ``adam_eps``: Adam's epsilon (RLlib's DQN default 1e-8; PPO and APPO keep torch's).
        training_intensity: DQN's replayed / sampled env steps (None: RLlib's native ratio, one minibatch per
            sample call); ``train_batch`` x updates per env step.
        dueling, double_q: DQN's head and targets; ``head_hiddens``: the dense layers of each DQN stream (none:
            RLlib's default, linear heads on the encoder; RLlib has no layer shared by the value and advantage
            streams, unlike Dopamine's one 512-unit layer).
        drq_augment, augment_pad, intensity_scale: DrQ's augmentation of both observations of every replayed
            transition, as a learner connector (``agents/learners/rllib/augment.py``).

    Budgets are exact (:attr:`exact_budget`) with one env per env runner: RLlib's vector envs reset an ended
    episode on the *next* step without counting it, so with several envs a sample call overshoots by up to
    ``envs_per_env_runner - 1`` steps. APPO with remote env runners samples asynchronously and is never exact.
    """

    algorithm: Literal["ppo", "appo", "dqn"] = "ppo"
    learning_rate: float = 2.5e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    train_batch: int = 1024
    minibatch: int = 256
    epochs: int = 4
    clip_param: float = 0.1
    entropy_coeff: float = 0.01
    vf_loss_coeff: float = 0.5
    grad_clip: float | None = 0.5
    num_env_runners: int = 0
    envs_per_env_runner: int = 1
    cpus_per_env_runner: float = 1.0
    rollout_fragment_length: int | None = None
    fcnet_hiddens: tuple[int, ...] = (256, 256)
    conv_filters: tuple[tuple[int, int, int], ...] = ((32, 8, 4), (64, 4, 2), (64, 3, 1))
    vf_share_layers: bool = False
    replay_capacity: int = 100_000
    learning_starts: int = 1_600
    target_update_every: int = 2_000
    replay: Literal["prioritized", "uniform"] = "prioritized"
    n_step: int = 1
    epsilon: tuple[tuple[float, float], ...] = ((0, 1.0), (10_000, 0.05))
    adam_eps: float = 1e-8
    training_intensity: float | None = None
    dueling: bool = True
    double_q: bool = True
    head_hiddens: tuple[int, ...] = ()
    drq_augment: bool = False
    augment_pad: int = 4
    intensity_scale: float = 0.05

    def __post_init__(self) -> None:
        require_choice("algorithm", self.algorithm, ALGORITHMS)
        require_range("cpus_per_env_runner", self.cpus_per_env_runner, 0.0)
        for name in ("train_batch", "minibatch", "epochs", "envs_per_env_runner", "replay_capacity",
                     "target_update_every"):
            require_range(name, getattr(self, name), 1)
        require_choice("replay", self.replay, ["prioritized", "uniform"])
        require_range("n_step", self.n_step, 1)
        require_range("augment_pad", self.augment_pad, 0)
        if self.grad_clip is not None:
            require_range("grad_clip", self.grad_clip, 0.0)
        if not self.epsilon or any(len(p) != 2 or p[0] < 0 or not 0 <= p[1] <= 1 for p in self.epsilon):
            raise ValueError(f"epsilon={[list(p) for p in self.epsilon]} must be [[env step, value in [0, 1]], ...]")
        if self.training_intensity is not None:
            require_range("training_intensity", self.training_intensity, 0.0)
        if self.algorithm == "dqn" and self.fragment < self.n_step:
            raise ValueError(f"rollout_fragment_length={self.fragment} must be at least n_step={self.n_step} "
                             "(RLlib's DQN refuses shorter fragments); keep one update per env step with "
                             "training_intensity = train_batch")
        if self.drq_augment and self.algorithm != "dqn":
            raise ValueError("drq_augment=True is a DQN setting (it augments replayed transitions)")
        for name in ("num_env_runners", "learning_starts"):
            require_range(name, getattr(self, name), 0)
        require_range("learning_rate", self.learning_rate, 0.0)
        require_range("gamma", self.gamma, 0.0, 1.0)
        require_range("gae_lambda", self.gae_lambda, 0.0, 1.0)
        if self.rollout_fragment_length is not None:
            require_range("rollout_fragment_length", self.rollout_fragment_length, 1)
        if any(h < 1 for h in self.fcnet_hiddens):
            raise ValueError(f"fcnet_hiddens={list(self.fcnet_hiddens)} must hold positive layer sizes")
        if not self.conv_filters or any(len(f) != 3 or min(f) < 1 for f in self.conv_filters):
            raise ValueError(f"conv_filters={[list(f) for f in self.conv_filters]} must be a non-empty list of "
                             "[channels, kernel, stride] with positive entries")
        if self.algorithm == "ppo":
            self._check_ppo()

    def _check_ppo(self) -> None:
        if self.minibatch > self.train_batch:
            raise ValueError(f"minibatch={self.minibatch} must be at most train_batch={self.train_batch}")
        if self.train_batch % self.samplers:
            raise ValueError(f"train_batch={self.train_batch} must be a multiple of the envs sampling in parallel "
                             f"(max(1, num_env_runners) x envs_per_env_runner = {self.samplers})")
        if self.rollout_fragment_length is not None and self.fragment * self.samplers != self.train_batch:
            raise ValueError(f"rollout_fragment_length={self.rollout_fragment_length} x {self.samplers} envs must "
                             f"equal train_batch={self.train_batch} for PPO (or leave it None)")

    def model_config(self) -> dict[str, object]:
        """RLlib's ``model_config`` for the default RLModules."""
        filters = [[c, [k, k], s] for c, k, s in self.conv_filters]
        return {"fcnet_hiddens": list(self.fcnet_hiddens), "conv_filters": filters,
                "vf_share_layers": self.vf_share_layers}

    def env_runner_bundles(self) -> list[dict[str, float]]:
        """One Ray resource bundle per remote env runner (what a sweep trial must reserve for them)."""
        return [{"CPU": self.cpus_per_env_runner}] * self.num_env_runners if self.cpus_per_env_runner else []

    @property
    def samplers(self) -> int:
        """Envs stepping in parallel: ``max(1, num_env_runners) x envs_per_env_runner``."""
        return max(1, self.num_env_runners) * self.envs_per_env_runner

    @property
    def fragment(self) -> int:
        """Env steps per env per sample call."""
        if self.rollout_fragment_length is not None:
            return self.rollout_fragment_length
        return {"ppo": self.train_batch // self.samplers, "appo": 50, "dqn": 4}[self.algorithm]

    @property
    def steps_per_iteration(self) -> int:
        """Env steps one training iteration samples (exactly, when :attr:`exact_budget`)."""
        return self.train_batch if self.algorithm == "ppo" else self.fragment * self.samplers

    @property
    def exact_budget(self) -> bool:
        """Whether ``learn(steps)`` samples exactly ``steps`` (see the class docstring)."""
        return self.envs_per_env_runner == 1 and not (self.algorithm == "appo" and self.num_env_runners > 0)
