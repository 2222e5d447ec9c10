"""Metrics as JSON lines (for people and scripts) and TensorBoard events (for curves)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from envs.files import atomic_write_text


class MetricsLog:
    """Append ``{"step": ..., **metrics}`` lines to ``metrics.jsonl`` and scalars to ``tb/``.

    On opening, a last line cut mid-write (a crash) is dropped. A resumed run passes what its checkpoint recorded:
    ``keep_lines`` (the lines written when the checkpoint was taken; later ones are dropped, since the run logs
    them again) and ``resume_step`` (TensorBoard points from that step on are purged, and the kept lines at or
    after it are written to TensorBoard again), so no (step, key) is logged twice. A job that checkpoints at a step
    after logging it passes ``keep_through_step`` instead of ``keep_lines``: the leading lines up to that step are
    kept. :attr:`lines` counts the lines of the file, for the next checkpoint to record.
    """

    def __init__(self, run_path: str | Path, resume_step: int | None = None, keep_lines: int | None = None,
                 keep_through_step: int | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.path = Path(run_path) / "metrics.jsonl"
        kept = self._reconcile(keep_lines, keep_through_step)
        self.lines = len(kept)
        self._file = open(self.path, "a", encoding="utf-8")
        self._tb = SummaryWriter(str(Path(run_path) / "tb"), purge_step=resume_step)
        for record in kept if resume_step is not None else []:
            if record["step"] >= resume_step:
                self._scalars(record, record["step"])

    def log(self, metrics: dict[str, float], step: int) -> None:
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}
        self._file.write(json.dumps({"step": int(step), **clean}) + "\n")
        self._file.flush()
        self.lines += 1
        self._scalars(clean, step)

    def close(self) -> None:
        self._file.close()
        self._tb.close()

    def _scalars(self, metrics: dict, step: int) -> None:
        for key, value in metrics.items():
            if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self._tb.add_scalar(key, value, step)

    def _reconcile(self, keep_lines: int | None, keep_through_step: int | None) -> list[dict]:
        """The records kept: the file's lines up to ``keep_lines`` (or the leading ones up to step
        ``keep_through_step``), without a cut last line; rewritten atomically when anything was dropped."""
        if not self.path.exists():
            return []
        text = self.path.read_text(encoding="utf-8")
        lines = text.splitlines()
        records = []
        for i, line in enumerate(lines):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if i != len(lines) - 1:
                    raise ValueError(f"{self.path}: line {i + 1} is not JSON ({line[:60]!r}); the file is "
                                     "corrupt beyond a cut last line") from None
        if keep_through_step is not None:
            keep_lines = next((i for i, r in enumerate(records) if r.get("step", 0) > keep_through_step), len(records))
        if keep_lines is not None:
            records = records[:keep_lines]
        if len(records) != len(lines) or (text and not text.endswith("\n")):
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in records))
        return records


def read_metrics(run_path: str | Path) -> list[dict]:
    path = Path(run_path) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
