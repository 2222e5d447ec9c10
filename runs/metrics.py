"""Metrics as JSON lines (for people and scripts) and TensorBoard events (for curves)."""
from __future__ import annotations

import json
import math
from pathlib import Path


class MetricsLog:
    """Append ``{"step": ..., **metrics}`` lines to ``metrics.jsonl`` and scalars to ``tb/``.

    ``resume_step`` drops TensorBoard points past it, left by a run that crashed after its checkpoint.
    """

    def __init__(self, run_path: str | Path, resume_step: int | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.path = Path(run_path) / "metrics.jsonl"
        self._file = open(self.path, "a", encoding="utf-8")
        self._tb = SummaryWriter(str(Path(run_path) / "tb"), purge_step=resume_step)

    def log(self, metrics: dict[str, float], step: int) -> None:
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}
        self._file.write(json.dumps({"step": int(step), **clean}) + "\n")
        self._file.flush()
        for key, value in clean.items():
            if isinstance(value, (int, float)):
                self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        self._file.close()
        self._tb.close()


def read_metrics(run_path: str | Path) -> list[dict]:
    path = Path(run_path) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
