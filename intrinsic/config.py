"""Settings of the arrow-of-time potential and of the reward made from it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envs.validate import require_choice, require_range


@dataclass(frozen=True)
class ArrowOfTimeConfig:
    """Rahaman et al. (ICLR 2020): a potential h(s) trained so that it rises along trajectories.

    Attributes:
        objective: ``functional`` (the paper's J with its regularisers) or ``time_regression`` (h(s) fitted to
            the fraction t / T of its episode at which s occurred; finished episodes only). Jumps are then dh in
            episode fractions instead of ``2 * lambda * dh``.
        trajectory_lambda: weight of the trajectory regulariser ``lambda * mean(dh^2)``; with it,
            ``2 * lambda * dh`` tends to +1 on transitions that are never reversed and 0 on reversible ones.
        l2_lambda: optional ``l2_lambda * mean(h^2)`` regulariser.
        hidden, learning_rate, batch_size, steps: the network (MLP for vectors, conv net for images) and
            its Adam training on consecutive pairs.
        across_life_loss: also train on pairs whose transition lost a life (Atari).
        across_terminal: also train on transitions that end an episode (reaching a goal). They are never
            reversed in the data by construction, so h would learn to rise at every goal; off by default,
            and the reward wrappers give no intrinsic reward on those steps.
        mask: image regions zeroed before h sees them, as [row0, row1, col0, col1] in pixels (Atari score
            and lives displays are trivial clocks).
        mode: ``safety`` (r - beta * relu(dh - delta)) or ``curiosity`` (r + beta * (-dh)), dh in units of
            ``2 * lambda * dh``.
        beta, delta: reward scale and safety threshold; ``delta`` None sets it from the jumps of the training
            pairs, robustly to the rare events among them: median + 3 scaled median absolute deviations.
    """

    objective: Literal["functional", "time_regression"] = "functional"
    trajectory_lambda: float = 0.5
    l2_lambda: float = 0.0
    hidden: int = 128
    learning_rate: float = 1e-3
    batch_size: int = 256
    steps: int = 2000
    across_life_loss: bool = False
    across_terminal: bool = False
    mask: tuple[tuple[int, int, int, int], ...] = ()
    mode: Literal["safety", "curiosity"] = "safety"
    beta: float = 1.0
    delta: float | None = None

    def __post_init__(self) -> None:
        require_choice("objective", self.objective, ["functional", "time_regression"])
        require_range("trajectory_lambda", self.trajectory_lambda, 0.0)
        require_range("l2_lambda", self.l2_lambda, 0.0)
        if self.objective == "functional" and self.trajectory_lambda == 0 and self.l2_lambda == 0:
            raise ValueError("trajectory_lambda=0 and l2_lambda=0: J is unbounded without a regulariser; "
                             "set trajectory_lambda > 0 (or l2_lambda > 0)")
        require_choice("mode", self.mode, ["safety", "curiosity"])
        for name in ("hidden", "batch_size", "steps"):
            require_range(name, getattr(self, name), 1)
        require_range("beta", self.beta, 0.0)
