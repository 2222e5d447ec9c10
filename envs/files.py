"""Atomic file writes: a crash leaves either the old file or the new one, never half of one."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temp file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temp name keeps the real suffix: some writers (OpenCV video) choose the format from it.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
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
