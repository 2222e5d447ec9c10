"""Settings of the PyTorch DQN learner (plain data)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envs.validate import require_choice, require_range


@dataclass(frozen=True)
class DQNConfig:
    """Double, dueling, n-step DQN with DrQ augmentation; the defaults are Dopamine's ``DrQ_eps.gin``
    (``dopamine/labs/atari_100k/configs``), each named after the gin binding it follows.

    Attributes:
        gamma, n_step: discount and return horizon (``update_horizon = 10``); the bootstrap is discounted by
            ``gamma ** n_step`` (less where the game data ends first, see ``replay.py``).
        learning_starts: transitions stored before the first update (``min_replay_history = 1600``).
        update_period, updates_per_step: an update every this many agent steps, of this many minibatches
            (``update_period = 1``, ``num_updates_per_train_step = 1``).
        target_update_period: agent steps between target-network syncs (1: the target is the online network
            before this update, as Dopamine's sync after every update makes it).
        epsilon_train, epsilon_eval, epsilon_decay_steps: epsilon falls linearly from 1 to ``epsilon_train``
            over this many agent steps after the warm-up (Dopamine's ``linearly_decaying_epsilon``).
            ``epsilon_eval`` is Dopamine's evaluation epsilon, kept to show the value: evaluations here apply the
            protocol's (``runs.evaluation.EvalConfig.epsilon``, the same 0.001) on top of the greedy policy.
        learning_rate, adam_eps: Adam (``create_optimizer``: 1e-4, 1.5e-4); ``grad_clip``: global norm clip
            (None: none, as Dopamine).
        batch_size: transitions per minibatch; ``hidden``: units of the dense layer after the CNN.
        dueling, double: the value/advantage head, and double-Q targets.
        loss: ``huber`` (delta 1, Dopamine's) or ``mse``.
        augment, augment_pad, intensity_scale: DrQ augmentation of both observations of every sampled
            transition (``Atari100kRainbowAgent.data_augmentation = True``).
        replay_capacity: transitions kept (None: the whole run's budget; Dopamine's 1M is "unbounded").
        padding: the CNN's padding: ``same`` (Dopamine's Flax convolutions) or ``valid`` (the Nature DQN paper's,
            1.7x less compute: what the 2-core reproduction runs use, see the README).
        precision: ``float32``, or ``bfloat16`` (autocast of convolutions and matmuls; weights, optimiser and
            loss stay float32): ~1.3x faster on CPUs with AVX-512 BF16 and on GPUs.
        threads: torch CPU threads of this learner (0: leave torch's setting).
    """

    gamma: float = 0.99
    n_step: int = 10
    learning_starts: int = 1600
    update_period: int = 1
    updates_per_step: int = 1
    target_update_period: int = 1
    epsilon_train: float = 0.01
    epsilon_eval: float = 0.001
    epsilon_decay_steps: int = 5000
    learning_rate: float = 1e-4
    adam_eps: float = 1.5e-4
    grad_clip: float | None = None
    batch_size: int = 32
    hidden: int = 512
    dueling: bool = True
    double: bool = True
    loss: Literal["huber", "mse"] = "huber"
    augment: bool = True
    augment_pad: int = 4
    intensity_scale: float = 0.05
    replay_capacity: int | None = None
    padding: Literal["same", "valid"] = "same"
    precision: Literal["float32", "bfloat16"] = "float32"
    threads: int = 0

    def __post_init__(self) -> None:
        require_range("gamma", self.gamma, 0.0, 1.0)
        for name in ("n_step", "update_period", "updates_per_step", "target_update_period", "epsilon_decay_steps",
                     "batch_size", "hidden"):
            require_range(name, getattr(self, name), 1)
        for name in ("learning_starts", "augment_pad", "threads"):
            require_range(name, getattr(self, name), 0)
        for name in ("epsilon_train", "epsilon_eval"):
            require_range(name, getattr(self, name), 0.0, 1.0)
        for name in ("learning_rate", "adam_eps", "intensity_scale"):
            require_range(name, getattr(self, name), 0.0)
        if self.grad_clip is not None:
            require_range("grad_clip", self.grad_clip, 0.0)
        if self.replay_capacity is not None:
            require_range("replay_capacity", self.replay_capacity, self.batch_size)
        require_choice("loss", self.loss, ["huber", "mse"])
        require_choice("padding", self.padding, ["same", "valid"])
        require_choice("precision", self.precision, ["float32", "bfloat16"])

    def epsilon(self, step: int) -> float:
        """Exploration at agent step ``step``: 1 through the warm-up, then linear down to ``epsilon_train``."""
        left = self.epsilon_decay_steps + self.learning_starts - step
        bonus = (1.0 - self.epsilon_train) * left / self.epsilon_decay_steps
        return self.epsilon_train + min(max(bonus, 0.0), 1.0 - self.epsilon_train)
