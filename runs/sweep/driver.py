"""Running a :class:`runs.sweep.SweepConfig` on Ray Tune, with one-line progress and a closing leaderboard.

Imported only by ``workbench sweep`` (it imports Ray Tune).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray.tune import Callback

from envs import find_game, is_atari
from runs.sweep.config import SweepConfig, open_sweep


@dataclass
class SweepOutcome:
    """What a sweep produced: per-trial summaries, the trials that failed for good, the leaderboard files."""

    path: Path
    trials: list[dict[str, Any]]
    failed: list[str]
    leaderboard: str | None
    written: list[Path]


def run_sweep(config: SweepConfig, verbose: bool = True) -> SweepOutcome:
    """Run every trial not yet finished (a rerun of the same sweep resumes it), then build the leaderboard."""
    from ray import tune

    from runs.ray_cluster import connect, require_resources
    from runs.sweep.trial import trial_name, tune_trainable

    path = open_sweep(config)
    bundles = config.trial_bundles()
    what = "each trial" + (" with its agent's actors" if len(bundles) > 1 else "")
    cpus, gpus = (sum(b.get(kind, 0.0) for b in bundles) for kind in ("CPU", "GPU"))
    require_resources(connect(config.address), cpus, gpus, what)
    params = config.trial_params()
    # The trial's process takes the first bundle; actors its agent starts (collectors, env runners) the others.
    trainable = tune.with_resources(tune_trainable, tune.PlacementGroupFactory(bundles))
    # A fresh Tune experiment per driver start: trials whose run directories are finished return at once,
    # the others resume from their own checkpoints, so nothing depends on restoring Tune's own state.
    attempt = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    tuner = tune.Tuner(
        trainable, param_space={"trial": tune.grid_search(params)},
        tune_config=tune.TuneConfig(trial_name_creator=trial_name, trial_dirname_creator=trial_name),
        run_config=tune.RunConfig(name=f"attempt-{attempt}", storage_path=str(path / "tune"), verbose=0,
                                  failure_config=tune.FailureConfig(max_failures=config.max_failures),
                                  callbacks=[SweepProgress(len(params), verbose)]),
    )
    grid = tuner.fit()
    failed = [trial_name_of(r) for r in grid if r.error is not None]
    trials = [t for t in (_summary(Path(p["run_dir"])) for p in params) if t is not None]
    board, written = _leaderboard(config, path, trials)
    return SweepOutcome(path, trials, failed, board, written)


def trial_name_of(result: Any) -> str:
    return Path(result.config["trial"]["run_dir"]).name


def _summary(run_dir: Path) -> dict[str, Any] | None:
    evaluations = sorted(run_dir.glob("evaluation-seed*.json"))
    if not evaluations or not (run_dir / "results.json").exists():
        return None
    results, evaluation = (json.loads(f.read_text()) for f in (run_dir / "results.json", evaluations[0]))
    return {"run": run_dir.name, "game": evaluation["game"], "seed": results["seed"],
            "agent_steps": results["agent_steps"], "score_mean": evaluation["score_mean"],
            "hns": evaluation.get("hns")}


def _leaderboard(config: SweepConfig, path: Path, trials: list[dict[str, Any]]) -> tuple[str | None, list[Path]]:
    """The leaderboard of the finished trials beside the published agents (Atari 100k games only)."""
    from runs.leaderboard import build, load_results, terminal_table, write_reports

    if not trials or not all(is_atari(g) and find_game(g).in_atari100k for g in config.game_names):
        return None, []
    entries = build(load_results([path / "runs"]), reps=config.leaderboard_reps)
    _, written = write_reports(entries, "SimPLe", path / "leaderboard")
    return terminal_table(entries), written


class SweepProgress(Callback):
    """A Tune callback printing one line per trial event, with the done, running and failed counts."""

    def __init__(self, total: int, verbose: bool = True) -> None:
        self.total, self.verbose = total, verbose

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._line(trials, f"started {trial}")

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._line(trials, f"finished {trial}")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._line(trials, f"failed {trial} (no restarts left)")

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._line(trials, f"restarting {trial} from its run directory's last checkpoint after a failure")

    def _line(self, trials: list, event: str) -> None:
        if self.verbose:
            counts = {s: sum(t.status == s for t in trials) for s in ("TERMINATED", "RUNNING", "ERROR")}
            print(f"[sweep] {counts['TERMINATED']}/{self.total} done, {counts['RUNNING']} running, "
                  f"{counts['ERROR']} failed: {event}", flush=True)
