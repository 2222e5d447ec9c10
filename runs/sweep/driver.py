"""Running a :class:`runs.sweep.SweepConfig` on Ray Tune, with one-line progress and a closing leaderboard.

Imported only by ``workbench sweep`` (it imports Ray Tune).
"""
from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envs import find_game, is_atari
from runs.sweep.config import SweepConfig, open_sweep
from runs.sweep.progress import SweepProgress


@dataclass
class SweepOutcome:
    """What a sweep produced: per-trial summaries, the trials that failed for good, the leaderboard files."""

    path: Path
    trials: list[dict[str, Any]]
    failed: list[str]
    leaderboard: str | None
    written: list[Path]


def run_sweep(config: SweepConfig, verbose: bool = False, status_every: float = 30.0) -> SweepOutcome:
    """Run every trial not yet finished (a rerun of the same sweep resumes it), then build the leaderboard.
    Progress is ours (:class:`SweepProgress`, a status line per running trial every ``status_every`` s); Tune's
    own tables and the trials' logs reach the terminal only with ``verbose``."""
    from ray import tune

    from runs.ray_cluster import connect, require_resources
    from runs.sweep.trial import trial_name, tune_trainable

    bundles = config.trial_bundles()
    what = "each trial" + (" with its agent's actors" if len(bundles) > 1 else "")
    cpus, gpus = (sum(b.get(kind, 0.0) for b in bundles) for kind in ("CPU", "GPU"))
    require_resources(connect(config.address, log_to_driver=verbose), cpus, gpus, what)
    path = open_sweep(config)
    params = config.trial_params()
    # The trial's process takes the first bundle; actors its agent starts (collectors, env runners) the others.
    trainable = tune.with_resources(tune_trainable, tune.PlacementGroupFactory(bundles))
    # A fresh Tune experiment per driver start: trials whose run directories are finished return at once,
    # the others resume from their own checkpoints, so nothing depends on restoring Tune's own state.
    attempt = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    tuner = tune.Tuner(
        trainable, param_space={"trial": tune.grid_search(params)},
        tune_config=tune.TuneConfig(trial_name_creator=trial_name, trial_dirname_creator=trial_name),
        run_config=tune.RunConfig(name=f"attempt-{attempt}", storage_path=str(path / "tune"),
                                  verbose=1 if verbose else 0,
                                  failure_config=tune.FailureConfig(max_failures=config.max_failures),
                                  callbacks=[SweepProgress(len(params), status_every)]),
    )
    with _tune_console(verbose):
        grid = tuner.fit()
    failed = [trial_name_of(r) for r in grid if r.error is not None]
    trials = [t for t in (_summary(Path(p["run_dir"])) for p in params) if t is not None]
    board, written = _leaderboard(config, path, trials)
    return SweepOutcome(path, trials, failed, board, written)


@contextmanager
def _tune_console(verbose: bool) -> Iterator[None]:
    """Without ``verbose``, Tune's console output off: its newer output prints boxes at every verbosity, the
    legacy one at verbosity 0 nothing (``RAY_AIR_NEW_OUTPUT=0``, as RLlib's examples set it), and a failing
    trial's whole trace is left to its error file (``SweepProgress`` prints its last line)."""
    quiet = {"RAY_AIR_NEW_OUTPUT": "0", "TUNE_PRINT_ALL_TRIAL_ERRORS": "0"}
    previous = {k: os.environ.get(k) for k in quiet}
    if not verbose:
        os.environ.update(quiet)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


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
    from runs.shared_games import shared_comparisons

    if not trials or not all(is_atari(g) and find_game(g).in_atari100k for g in config.game_names):
        return None, []
    entries = build(load_results([path / "runs"]), reps=config.leaderboard_reps)
    shared = shared_comparisons(entries, reps=config.leaderboard_reps, seed=0)
    _, written = write_reports(entries, "SimPLe", path / "leaderboard", shared)
    return terminal_table(entries, shared), written
