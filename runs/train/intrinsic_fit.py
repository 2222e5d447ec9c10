"""``workbench intrinsic fit``: learn an arrow-of-time potential from random play and report diagnostics."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import numpy as np
import torch

from envs import AtariConfig, check_env_id
from envs.files import atomic_write_text
from envs.validate import require_range
from intrinsic import ArrowOfTime, ArrowOfTimeConfig
from intrinsic.data import collect_random
from intrinsic.diagnostics import report
from runs.run_dir import RunDir


@dataclass(frozen=True)
class IntrinsicFitConfig:
    """Random-play data, a potential, a shuffled-order control, and diagnostics on held-out episodes.

    Attributes:
        env: the env (``env.game``: an Atari game or a Gymnasium id such as ``workbench/VaseWorld-v0``).
        data_steps: random agent steps collected; ``heldout_every``: episodes with id % this == 0 are held out.
        event_key: ``info`` flag that labels events in non-Atari envs (Atari events are life losses).
        compare_objectives: also fit the other objective (``arrow.objective`` is the one saved as
            ``potential.pt``) on the same data and report both side by side.
    """

    env: AtariConfig = field(default_factory=lambda: AtariConfig(game="workbench/VaseWorld-v0"))
    arrow: ArrowOfTimeConfig = field(default_factory=ArrowOfTimeConfig)
    data_steps: int = 40_000
    num_envs: int = 8
    seed: int = 0
    heldout_every: int = 5
    event_key: str = "vase_broken"
    compare_objectives: bool = True

    def __post_init__(self) -> None:
        check_env_id(self.env.game)
        require_range("data_steps", self.data_steps, self.num_envs)
        require_range("heldout_every", self.heldout_every, 2)

    @property
    def run_name(self) -> str:
        return f"arrow-{self.env.game.replace('/', '_')}-seed{self.seed}"


OBJECTIVES = ("functional", "time_regression")


def fit_and_report(config: IntrinsicFitConfig, run: RunDir) -> dict:
    """Random play, then per objective a potential and its shuffled-order control, judged on held-out episodes.
    The configured objective's figures are also at the top level of the results."""
    torch.manual_seed(config.seed)
    store, events = collect_random(config.env.game, config.data_steps, config.num_envs, config.seed, config.env,
                                   config.event_key)
    heldout = store.episode[: store.size] % config.heldout_every == 0
    objectives = [config.arrow.objective] + [o for o in OBJECTIVES if config.compare_objectives
                                             and o != config.arrow.objective]
    by_objective = {}
    for objective in objectives:
        arrow = dataclasses.replace(config.arrow, objective=objective)
        model, control = ArrowOfTime(arrow, store.obs_shape), ArrowOfTime(arrow, store.obs_shape)
        fit = model.fit(store, np.random.default_rng(config.seed), where=~heldout)
        control.fit(store, np.random.default_rng(config.seed), where=~heldout, shuffle_order=True)
        by_objective[objective] = {"fit": fit, "heldout": report(model, store, events, heldout),
                                   "control_shuffled_order": report(control, store, events, heldout),
                                   "units": _UNITS[objective]}
        suffix = "" if objective == config.arrow.objective else f"-{objective}"
        model.save(run.path / f"potential{suffix}.pt")
        _plot_around_events(model, store, events, heldout, run.path / f"h_around_events{suffix}.png")
    results = {"env": config.env.game, "events": config.event_key if "/" in config.env.game else "life_lost",
               **by_objective[config.arrow.objective], "objectives": by_objective}
    atomic_write_text(run.path / "report.json", json.dumps(results, indent=2))
    run.finish(results)
    return results


_UNITS = {"functional": "jumps are 2 * lambda * (h(s') - h(s))",
          "time_regression": "jumps are h(s') - h(s), h fitted to t / T (fractions of an episode)"}


def _plot_around_events(model, store, events, heldout, path, window: int = 8, most: int = 30) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for row in np.flatnonzero(events & heldout & (store.step[: store.size] > window))[:most]:
        rows = [row]
        while len(rows) <= window and store.prev[rows[0]] >= 0:
            rows.insert(0, int(store.prev[rows[0]]))
        h = model.h(store.observations(np.array(rows))).detach().cpu().numpy()
        ax.plot(np.arange(-len(rows) + 1, 1), model.jump_scale * (h - h[-2]), alpha=0.4)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("steps, event at 0")
    ax.set_ylabel(("2 * lambda * " if model.config.objective == "functional" else "") + "(h - h before the event)")
    ax.set_title(f"potential around labelled events (held-out), {model.config.objective}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
