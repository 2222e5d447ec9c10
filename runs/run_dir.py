"""A run directory: resolved config, manifest, metrics, atomic checkpoints, results.

The same command on the same directory resumes it; a finished run is never overwritten.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from pathlib import Path
from typing import Any

import yaml

from envs.files import atomic_write_text, read_json, read_yaml, require_writable_dir
from runs.manifest import machine_manifest
from runs.run_lock import LOCK_NAME, acquire, is_held, release

DEFAULT_ROOT = Path("runs-out")


def open_run(data: dict[str, Any], name: str, seed: int, out: str | Path | None) -> RunDir:
    """The run directory for a resolved config (``out`` or the default path), announced on stdout."""
    run = RunDir(out or default_run_path(data, name), data, seeds={"seed": seed})
    print(f"run directory: {run.path}" + (" (resuming)" if run.resumed else ""), flush=True)
    return run


def configure_run(cls: type, presets: list[str], overrides: list[str], flags: dict[str, Any], out: str | None,
                  print_only: bool = False) -> tuple[Any, RunDir | None]:
    """Build config ``cls`` (presets, then flags that are not None, then overrides) and open its run
    directory; with ``print_only``, print the resolved config as YAML and open nothing. Nothing is created
    before every value is checked, including what only this machine can answer (``config.check_runnable()``:
    the device, Ray's resources) and whether ``out`` can hold a run."""
    from runs.configs import build, to_dict

    config = build(cls, presets, overrides, {k: v for k, v in flags.items() if v is not None})
    data = to_dict(config)
    if print_only:
        print(yaml.safe_dump(data, sort_keys=False), end="")
        return config, None
    path = Path(out) if out else default_run_path(data, config.run_name)
    require_writable_dir(path, "--out")
    if hasattr(config, "check_runnable"):
        config.check_runnable()
    return config, open_run(data, config.run_name, config.seed, path)


class RunError(ValueError):
    """A run directory cannot be used as asked (finished, different config, not a run)."""


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]


def default_run_path(config: dict[str, Any], name: str) -> Path:
    """``runs-out/<name>-<hash>``: the same resolved config maps to the same directory, so it resumes."""
    return DEFAULT_ROOT / f"{name}-{config_hash(config)}"


class RunDir:
    """Open ``path`` for ``config``: create it, or resume it if it holds an unfinished run of the same config.
    The directory is locked for this process (``runs/run_lock.py``) until it finishes or exits; ``steal_lock``
    takes over any holder's lock (a restarted sweep trial).

    Raises:
        RunError: the directory holds a finished run, a run of another config, or other files.
        DirectoryInUse: another live process writes to it.
    """

    def __init__(self, path: str | Path, config: dict[str, Any], seeds: dict[str, int],
                 steal_lock: bool = False) -> None:
        self.path = Path(path)
        self.config = config
        if self.path.exists() and not self.path.is_dir():
            raise RunError(f"{self.path} is a file, not a run directory; choose another --out")
        was_held = is_held(self.path)
        try:
            self._open(seeds, steal_lock)
        except BaseException:
            if not was_held:  # a refused start leaves the directory as it found it
                release(self.path)
            raise

    def _open(self, seeds: dict[str, int], steal_lock: bool) -> None:
        saved = self.path / "config.yaml"
        if self.path.is_dir():  # one writer: refused at once while another live process holds the directory
            acquire(self.path, steal=steal_lock)
        if self.results_path.exists():
            raise RunError(f"{self.path} holds a finished run (results.json); pass --out with a new directory "
                           "or move the old one away")
        if saved.exists():
            self._require_same_config(read_yaml(saved, "run config"))
            self.resumed = True
            self._remove_partial_writes()
        elif self.path.exists() and any(p.name != LOCK_NAME for p in self.path.iterdir()):
            raise RunError(f"{self.path} exists and is not a run directory (no config.yaml); choose another --out")
        else:
            self.resumed = False
            self.checkpoints.mkdir(parents=True, exist_ok=True)
            acquire(self.path, steal=steal_lock)
            atomic_write_text(saved, yaml.safe_dump(self.config, sort_keys=False))
        self._record_start(seeds)

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def results_path(self) -> Path:
        return self.path / "results.json"

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints / f"step_{step:09d}.pt"

    def latest_checkpoint(self) -> Path | None:
        found = sorted(p for p in self.checkpoints.glob("step_*.pt") if re.fullmatch(r"step_\d{9}\.pt", p.name))
        return found[-1] if found else None

    def prune_checkpoints(self, keep: int = 2) -> None:
        """Delete all but the newest ``keep`` checkpoints."""
        for old in sorted(self.checkpoints.glob("step_*.pt"))[:-keep]:
            old.unlink()

    def finish(self, results: dict[str, Any]) -> Path:
        """Write ``results.json``, which marks the run finished, and let go of the directory."""
        written = atomic_write_text(self.results_path, json.dumps(results, indent=2))
        release(self.path)
        return written

    @property
    def resumed_from(self) -> str | None:
        """The checkpoint this start resumes from, as recorded in the manifest."""
        return self._manifest()["starts"][-1]["resumed_from"]

    def note_resumed_from(self, checkpoint: str | None) -> None:
        """Correct this start's ``resumed_from`` (the job fell back to an older checkpoint)."""
        manifest = self._manifest()
        manifest["starts"][-1]["resumed_from"] = checkpoint
        atomic_write_text(self.path / "manifest.json", json.dumps(manifest, indent=2))

    def _manifest(self) -> dict[str, Any]:
        return read_json(self.path / "manifest.json", "manifest")

    def _remove_partial_writes(self) -> None:
        """Temp files of atomic writes a killed run left behind (``.<name>.<random>.tmp<suffix>``): never
        renamed into place, so nothing reads them."""
        for partial in self.path.rglob(".*.tmp*"):
            if partial.is_file():
                partial.unlink()
                print(f"removed {partial.relative_to(self.path)}: a write the last run did not finish", flush=True)

    def _resume_point(self) -> str | None:
        """The checkpoint a start resumes from: the loop's adopted folder (``progress.json``), or the newest
        ``step_*.pt`` of jobs that checkpoint by step."""
        progress = self.path / "progress.json"
        if progress.exists():
            return read_json(progress, "progress").get("checkpoint")
        return _name(self.latest_checkpoint())

    def _require_same_config(self, saved: dict[str, Any]) -> None:
        if saved != self.config:
            diffs = sorted(config_differences(saved, self.config))
            raise RunError(f"{self.path} holds a run with a different config (differs at {diffs}); "
                           "pass --out with a new directory to start another run")

    def _record_start(self, seeds: dict[str, int]) -> None:
        manifest_path = self.path / "manifest.json"
        manifest = read_json(manifest_path, "manifest") if manifest_path.exists() else {
            "config_hash": config_hash(self.config), "seeds": seeds, "starts": []}
        manifest.update(machine_manifest())
        manifest["starts"].append({"time": manifest.pop("time"), "host": socket.gethostname(), "pid": os.getpid(),
                                   "resumed_from": self._resume_point()})
        atomic_write_text(manifest_path, json.dumps(manifest, indent=2))


def checkpoint_step(checkpoint: Path | None) -> int | None:
    """The agent step of a ``step_<N>.pt`` checkpoint (None for no checkpoint)."""
    return int(checkpoint.stem.split("_")[1]) if checkpoint else None


def _name(path: Path | None) -> str | None:
    return path.name if path else None


def config_differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys at which two plain configs differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in set(a) | set(b) for d in config_differences(a.get(k), b.get(k), f"{prefix}{k}.")]
    return [] if a == b else [prefix.rstrip(".")]
