"""The loop's checkpoint folders: each sealed with the checksums of its files and the progress record it
belongs to, the newest two kept, and on resume the newest intact one in force.

    checkpoints/iteration_NNN/   the learners' files, the store, policy.pt, progress.json (this folder's record),
                                 checksums.json (sha256 of every other file; written last, before the folder is
                                 adopted)
    progress.json                the record of the folder in force (``checkpoint``)
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from envs.files import atomic_write_text, read_json

CHECKSUMS = "checksums.json"
PROGRESS = "progress.json"
KEEP = 2  # the newest and one older, to fall back on when the newest is damaged


def seal(folder: Path, progress: dict[str, Any]) -> None:
    """Write ``folder``'s progress record, then the checksums of all its files (last)."""
    atomic_write_text(folder / PROGRESS, json.dumps(progress, indent=2))
    sums = {str(f.relative_to(folder)): _sha256(f) for f in sorted(folder.rglob("*")) if f.is_file()
            and f.name != CHECKSUMS}
    atomic_write_text(folder / CHECKSUMS, json.dumps(sums, indent=2))


def prune(checkpoints: Path, in_force: str) -> None:
    """Delete all folders but the newest ``KEEP`` (by iteration), never the one in force."""
    folders = sorted(p for p in checkpoints.glob("iteration_*") if p.is_dir())
    for old in folders[:-KEEP]:
        if old.name != in_force:
            shutil.rmtree(old, ignore_errors=True)


def damage(folder: Path) -> str | None:
    """What is wrong with ``folder`` (missing, or a file missing or changed), or None when it is intact. A
    folder without checksums is one written before folders were sealed: it cannot be checked, and is taken as
    it is (only sealed folders are ever adopted now, so no other folder a resume reads lacks them)."""
    if not folder.is_dir():
        return f"{folder.name} is missing"
    if not (folder / CHECKSUMS).exists():
        return None
    try:
        sums = read_json(folder / CHECKSUMS, "checksums")
    except ValueError as e:
        return str(e)
    for name, digest in sums.items():
        path = folder / name
        if not path.is_file():
            return f"{folder.name}/{name} is missing"
        if _sha256(path) != digest:
            return f"{folder.name}/{name} is damaged (its checksum differs from {CHECKSUMS})"
    return None


def recover(workdir: Path) -> str | None:
    """Put the newest intact checkpoint in force before a resume. When the one ``progress.json`` names is
    damaged, the newest older intact folder's record replaces it (said on stdout and recorded as
    ``fallbacks``); returns the checkpoint in force (None: a fresh start).

    Raises:
        ValueError: no intact checkpoint is left.
    """
    path = workdir / PROGRESS
    if not path.exists():
        return None
    progress = read_json(path, "progress")
    named = progress.get("checkpoint")
    if named is None:
        return None
    problem = damage(workdir / "checkpoints" / named)
    if problem is None:
        return named
    for folder in sorted((workdir / "checkpoints").glob("iteration_*"), reverse=True):
        if folder.name < named and damage(folder) is None:
            older = read_json(folder / PROGRESS, "progress")
            older["fallbacks"] = progress.get("fallbacks", []) + [
                {"from": named, "to": folder.name, "reason": problem}]
            atomic_write_text(path, json.dumps(older, indent=2))
            print(f"[agent] checkpoint {problem}; resuming from the older {folder.name} "
                  f"({older['real_steps']} real steps) instead", flush=True)
            return folder.name
    raise ValueError(f"{workdir}: checkpoint {problem}, and no older intact checkpoint is kept; "
                     "start a new run (--out with a new directory)")


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
