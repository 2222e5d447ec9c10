"""Checks shared by every config dataclass: each error names the field, the bad value and what is allowed."""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


def closest(name: str, valid: Iterable[str], n: int = 5) -> list[str]:
    """Up to ``n`` entries of ``valid`` that look most like ``name`` (case-insensitive)."""
    valid = list(valid)
    lowered = {v.lower(): v for v in valid}
    return [lowered[m] for m in difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.4)]


def require_choice(field: str, value: Any, allowed: Iterable[Any]) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"{field}={value!r} is not allowed; choose one of {allowed}")


def require_range(field: str, value: float, low: float | None = None, high: float | None = None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ValueError(f"{field}={value!r} is out of range; allowed: {bounds}")


DEVICE_PATTERN = r"cpu|cuda(:\d+)?|mps"


def require_device(field: str, value: str) -> None:
    """A torch device name this workbench runs on: ``cpu``, ``cuda``, ``cuda:N`` or ``mps``."""
    import re

    if not isinstance(value, str) or not re.fullmatch(DEVICE_PATTERN, value):
        raise ValueError(f"{field}={value!r} is not a device; allowed: cpu, cuda, cuda:N (e.g. cuda:1), mps")


def require_device_available(field: str, value: str) -> None:
    """Refuse a device this machine lacks (checked where the work runs, before anything is written)."""
    import torch

    require_device(field, value)
    if value.startswith("cuda"):
        index = int(value.partition(":")[2] or 0)
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if index >= count:
            raise ValueError(f"{field}={value!r} but this machine has {count} CUDA device(s); use cpu"
                             + (f" or cuda:0..cuda:{count - 1}" if count else ""))
    elif value == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{field}='mps' but this machine has no MPS device; use cpu")
