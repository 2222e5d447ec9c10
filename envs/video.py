"""Writing frames to mp4 with OpenCV."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from envs.files import atomic_write


def write_mp4(frames: Iterable[np.ndarray], path: str | Path, fps: int = 15, scale: int = 1) -> Path:
    """Write RGB (H, W, 3) or gray (H, W) uint8 frames as an mp4 (atomically), each pixel ``scale`` x ``scale``.

    Raises:
        ValueError: ``path`` does not end in ``.mp4`` (the file would not be what its name says), or no frames.
    """
    path = require_mp4(path)
    frames = [np.asarray(f) for f in frames]
    if not frames:
        raise ValueError(f"no frames to write to {path}")

    def write(tmp: Path) -> None:
        height, width = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width * scale, height * scale))
        for frame in frames:
            rgb = frame if frame.ndim == 3 else np.repeat(frame[..., None], 3, axis=2)
            big = cv2.resize(rgb, (width * scale, height * scale), interpolation=cv2.INTER_NEAREST)
            writer.write(cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
        writer.release()

    return atomic_write(path, write)


def require_mp4(path: str | Path, flag: str = "video") -> Path:
    """``path`` as a Path, when it names an ``.mp4`` file."""
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise ValueError(f"{flag} {path}: videos are written as mp4; give a path ending in .mp4")
    return path
