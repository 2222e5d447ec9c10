"""``workbench sweep``: one Ray Tune trial per (agent, game, seed): train, then the final evaluation.

Each trial trains in its own run directory under the sweep directory, so the runs layer is its checkpoint: a
trial restarted after a failure (``FailureConfig``) reopens that directory and resumes from the last checkpoint,
and rerunning the same command after the driver died skips finished trials and resumes the others. Evaluation
files land in ``SWEEP/runs/*/``, where ``workbench leaderboard`` reads them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from envs import atari100k_games, check_env_id
from envs.files import atomic_write_text
from envs.validate import require_range
from runs.configs import to_dict
from runs.evaluation import EvalConfig
from runs.run_dir import DEFAULT_ROOT, RunError, config_differences, config_hash
from runs.run_lock import acquire
from runs.train import agent_entry, build_agent_config


@dataclass(frozen=True)
class SweepConfig:
    """A sweep: every game x seed of one agent, each trained then evaluated under the protocol.

    Attributes:
        agent: a ``workbench train`` agent (``ppo``, ``simple``...); ``presets`` and ``overrides`` configure it.
        games: game names, or ``atari100k`` for all 26.
        seeds: seeds 0 .. seeds-1 per game.
        address: None (embedded Ray on this machine), ``auto`` or ``host:port`` of a cluster's head.
        cpus_per_trial, gpus_per_trial: Ray resources reserved by each trial; a GPU trial trains on ``cuda``.
        max_failures: restarts of a failed trial (from its run directory's last checkpoint).
        eval_episodes, eval_envs, eval_max_frames, eval_epsilon: the final evaluation (evaluation protocol).
        name: the agent's name on the leaderboard (default: ``agent``).
    """

    agent: str = "ppo"
    games: tuple[str, ...] = ("atari100k",)
    seeds: int = 5
    presets: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    address: str | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_failures: int = 2
    eval_episodes: int = 100
    eval_envs: int = 8
    eval_max_frames: int = 108_000
    eval_epsilon: float = 0.001
    name: str | None = None
    leaderboard_reps: int = 10_000
    out: str | None = None

    def __post_init__(self) -> None:
        agent_entry(self.agent)
        require_range("seeds", self.seeds, 1)
        if self.cpus_per_trial <= 0:  # the trial's own process needs a share of a CPU (its placement bundle)
            raise ValueError(f"cpus_per_trial={self.cpus_per_trial:g} must be > 0, e.g. 0.5 or 1")
        require_range("gpus_per_trial", self.gpus_per_trial, 0.0)
        require_range("max_failures", self.max_failures, 0)
        require_range("eval_episodes", self.eval_episodes, 1)
        for game in self.game_names:
            check_env_id(game)
            # Builds each trial's config now, so a bad key or value fails before any Ray work starts.
            self.agent_config(game, 0)

    @property
    def game_names(self) -> list[str]:
        if list(self.games) == ["atari100k"]:
            return [g.name for g in atari100k_games()]
        return list(self.games)

    @property
    def label(self) -> str:
        return self.name or self.agent

    @property
    def path(self) -> Path:
        """The sweep directory (absolute: trials run in other processes, maybe on other machines)."""
        games = "atari100k" if list(self.games) == ["atari100k"] else "-".join(self.game_names)
        default = DEFAULT_ROOT / "sweeps" / f"{self.agent}-{games}-{self.seeds}seeds-{config_hash(self.identity())}"
        return Path(self.out or default).resolve()

    def identity(self) -> dict[str, Any]:
        """What decides the sweep's results (resources, address and output path do not)."""
        keep = ("agent", "games", "seeds", "presets", "overrides", "eval_episodes", "eval_envs", "eval_max_frames",
                "eval_epsilon", "name")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items() if k in keep}

    def agent_config(self, game: str, seed: int) -> Any:
        flags = {"seed": seed, "env": {"game": game}, "device": "cuda" if self.gpus_per_trial > 0 else None}
        return build_agent_config(self.agent, list(self.presets), list(self.overrides), flags)

    def trial_bundles(self) -> list[dict[str, float]]:
        """Ray resource bundles of one trial: its own process, then every actor its agent starts."""
        own = {"CPU": self.cpus_per_trial, **({"GPU": self.gpus_per_trial} if self.gpus_per_trial else {})}
        config = self.agent_config(self.game_names[0], 0)
        return [own, *getattr(config, "actor_bundles", list)()]

    def eval_config(self) -> EvalConfig:
        return EvalConfig(episodes=self.eval_episodes, seed=0, epsilon=self.eval_epsilon, num_envs=self.eval_envs,
                          max_episode_frames=self.eval_max_frames)

    def trial_params(self) -> list[dict[str, Any]]:
        """One plain dict per trial: what a Ray worker needs to run it (see :func:`runs.sweep.trial.run_trial`)."""
        return [{"agent": self.agent, "game": game, "seed": seed, "config": to_dict(self.agent_config(game, seed)),
                 "run_dir": str(self.path / "runs" / f"{self.agent}-{game.replace('/', '_')}-seed{seed}"),
                 "eval": dataclasses.asdict(self.eval_config()), "label": self.label,
                 "threads": max(1, int(self.cpus_per_trial))}
                for game in self.game_names for seed in range(self.seeds)]


def open_sweep(config: SweepConfig) -> Path:
    """Create the sweep directory, or reopen it for the same sweep; refuse one holding another sweep."""
    path = config.path
    saved = path / "sweep.yaml"
    if path.is_dir():
        acquire(path)  # one driver per sweep directory
    if saved.exists():
        differs = config_differences(yaml.safe_load(saved.read_text()), config.identity())
        if differs:
            raise RunError(f"{path} holds a different sweep (differs at {sorted(differs)}); pass --out")
    else:
        path.mkdir(parents=True, exist_ok=True)
        acquire(path)
        atomic_write_text(saved, yaml.safe_dump(config.identity(), sort_keys=False))
    return path
