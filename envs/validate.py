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
