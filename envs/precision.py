"""Mixed precision, named the same way by every model: ``float32``, ``bfloat16`` or ``float16`` autocast."""
from __future__ import annotations

import torch

PRECISIONS = ("float32", "bfloat16", "float16")


def dtype(precision: str) -> torch.dtype:
    """The torch dtype a precision's matmuls run in."""
    return getattr(torch, precision)


def autocast(device: torch.device | str, precision: str) -> torch.autocast:
    """Autocast of convolutions and matmuls to ``precision`` on ``device`` (off for ``float32``); weights,
    optimiser states and whatever the caller casts back with ``.float()`` stay float32."""
    return torch.autocast(torch.device(device).type, dtype(precision), enabled=precision != "float32")


def grad_scaler(device: torch.device | str, precision: str) -> torch.amp.GradScaler:
    """A loss scaler where float16 gradients need one (a no-op for float32 and bfloat16)."""
    return torch.amp.GradScaler(torch.device(device).type, enabled=precision == "float16")
