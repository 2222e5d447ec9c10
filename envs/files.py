"""Files a run writes and reads: atomic writes (a crash leaves the old file or the new one, never half of one),
checkpoints that load no pickled code, and reads and output paths whose errors name the file."""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temp file beside ``path``, then rename it over ``path``. The file gets the
    mode any other new file gets (0666 less the umask), not mkstemp's private 0600, so a team can read it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temp name keeps the real suffix: some writers (OpenCV video) choose the format from it.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def save_torch(state: dict[str, Any], path: str | Path) -> Path:
    """``torch.save`` atomically. Written through a file object, whose zip records carry a fixed name (a path
    would put the temp file's random name inside the archive), so identical states give identical bytes."""
    import torch

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            torch.save(state, f)

    return atomic_write(path, write)


def save_npz(path: str | Path, arrays: dict[str, Any], compress: bool = False) -> Path:
    """``np.savez`` (``compress``: ``np.savez_compressed``) atomically, and byte for byte the same for the same
    arrays: numpy stamps each entry with the current time, this writes a fixed one."""
    import zipfile

    import numpy as np

    def write(tmp: Path) -> None:
        method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        with zipfile.ZipFile(tmp, "w", method, allowZip64=True) as archive:
            for name, array in arrays.items():
                entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                entry.compress_type = method
                with archive.open(entry, "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)

    return atomic_write(path, write)


def read_checkpoint(path: str | Path, expected_format: str | None, what: str) -> dict[str, Any]:
    """Load a torch checkpoint with ``weights_only=True`` (no pickled code runs) and check its ``format`` tag
    (None: any mapping; its reader checks the contents).

    Raises:
        ValueError: the file is missing, truncated, foreign, or of another format; the message names ``what``.
    """
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for truncated or foreign files
        raise ValueError(f"{path} is not a readable {what} checkpoint (corrupt, truncated or foreign): {e}") from e
    if not isinstance(state, dict) or (expected_format is not None and state.get("format") != expected_format):
        raise ValueError(f"{path} is not a {what} checkpoint of format {expected_format!r}")
    return state


def read_json(path: str | Path, what: str = "JSON") -> Any:
    """Parse a JSON file; a missing, unreadable or garbled one is a ``ValueError`` naming the file."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not a readable {what} file: {e}") from e


def read_yaml(path: str | Path, what: str = "YAML") -> Any:
    """Parse a YAML file; a missing, unreadable or garbled one is a ``ValueError`` naming the file."""
    import yaml

    try:
        return yaml.safe_load(Path(path).read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ValueError(f"{path} is not a readable {what} file: {_one_line(e)}") from e


def require_writable_file(path: str | Path, flag: str) -> Path:
    """Check, before any work, that ``path`` can be written as a file: not a directory, and its nearest
    existing parent a writable directory. ``flag`` names the option in the error (e.g. ``--out``)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a directory; give a file path")
    require_writable_dir(path.parent, flag, path)
    return path


def require_writable_dir(path: str | Path, flag: str, asked: str | Path | None = None) -> Path:
    """Check that directory ``path`` exists writable or can be created (its nearest existing ancestor is a
    writable directory)."""
    path = Path(path)
    asked = path if asked is None else asked
    existing = next(p for p in [path, *path.parents] if p.exists())  # "." or "/" at the latest
    if not existing.is_dir():
        raise ValueError(f"{flag} {asked}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {asked}: {existing} is not writable")
    return path


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _umask() -> int:
    """The process's umask: from /proc on Linux (reading it with ``os.umask`` means setting it, which races
    with other threads creating files), else by setting it and straight back."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
