"""What a sweep's driver prints while Tune runs the trials: one line per trial event with exact counts, and
every so often one status line per running trial, read from its run directory."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ray.tune import Callback

from envs.files import read_json


class SweepProgress(Callback):
    """A Tune callback printing ``[sweep] N/M done, R running, F failed: <event>`` per trial event and, every
    ``status_every`` seconds, :func:`trial_status` of each running trial. A failing trial's error (its last
    line and the file with the whole trace) is always printed."""

    def __init__(self, total: int, status_every: float = 30.0) -> None:
        self.total, self.status_every = total, status_every
        # Counted here: Tune sets a trial's status only after its callbacks ran, so statuses lag one event.
        self.started: set[str] = set()
        self.done: set[str] = set()
        self.failed: set[str] = set()
        self._last_status = time.monotonic()

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.started.add(trial.trial_id)
        self._line(trials, f"started {trial}")

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.done.add(trial.trial_id)
        self._line(trials, f"finished {trial}")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.failed.add(trial.trial_id)
        self._line(trials, f"failed {trial} (no restarts left): {_error(trial)}")

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.started.discard(trial.trial_id)  # until Tune starts it again
        self._line(trials, f"restarting {trial} from its run directory's last checkpoint after: {_error(trial)}")

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        if time.monotonic() - self._last_status < self.status_every:
            return
        self._last_status = time.monotonic()
        for trial in self._running(trials):
            print(f"[sweep]   {trial_status(Path(trial.config['trial']['run_dir']))}", flush=True)

    def _running(self, trials: list) -> list:
        return [t for t in trials if t.trial_id in self.started - self.done - self.failed]

    def _line(self, trials: list, event: str) -> None:
        print(f"[sweep] {len(self.done)}/{self.total} done, {len(self._running(trials))} running, "
              f"{len(self.failed)} failed: {event}", flush=True)


def trial_status(run_dir: Path) -> str:
    """``<run>: <phase> done at <time>, <real steps>/<budget> real steps, last eval <score>``, from the
    ``status.json`` the trial rewrites after each phase; on a cluster without shared storage a remote trial's
    files are not here, and its line says so."""
    status_path = run_dir / "status.json"
    if (run_dir / "results.json").exists():
        return f"{run_dir.name}: trained; evaluating"
    if not status_path.exists():
        return f"{run_dir.name}: starting (no phase done yet, or its files are on another node)"
    try:
        status = read_json(status_path, "status")
    except ValueError:  # a file replaced as it was read: the next status line shows it
        return f"{run_dir.name}: (status being written)"
    budget, score = status.get("budget"), status.get("last_eval")
    steps = f"{status['real_steps']:,}" + (f"/{budget:,}" if budget else "")
    since = time.time() - time.mktime(time.strptime(status["time"], "%Y-%m-%d %H:%M:%S"))
    return (f"{run_dir.name}: {status['phase']} done at {status['time']} (next phase running {since:.0f} s), "
            f"{steps} real steps" + (f", last eval {score:.1f}" if score is not None else ""))


def _error(trial: Any) -> str:
    """The last line of a trial's error trace and the file holding all of it (the sweep directory's copy, which
    outlives Ray's session folder, once Tune has synced it)."""
    name = trial.run_metadata.error_filename
    kept = Path(trial.path, name) if name and trial.path else None
    path = kept if kept is not None and kept.exists() else Path(trial.error_file or "")
    if not path.is_file():
        return "see the trial's run directory"
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    return f"{lines[-1].strip() if lines else 'error'} (trace: {path})"
