"""What the SimPLe benchmarks share: the model presets by size, and the fastest of repeated timed calls.

The benchmarks run as scripts (``python benchmarks/NAME.py``), so this folder is on ``sys.path`` and they import
it as ``common``.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import torch

from runs.configs import from_dict, load_preset
from world_models import SimPLeModelConfig

SIMPLE_PRESETS = {"paper": "simple-paper", "quick": "simple-quick", "tiny": "simple-tiny"}


def simple_model_config(size: str) -> SimPLeModelConfig:
    """The model config of the SimPLe preset of ``size`` (a key of :data:`SIMPLE_PRESETS`)."""
    return from_dict(SimPLeModelConfig, load_preset(SIMPLE_PRESETS[size])["model"])


def fastest_ms(call: Callable[[], object], repeats: int, warmup: int, device: torch.device) -> float:
    """The fastest of ``repeats`` calls in milliseconds, after ``warmup`` untimed ones (a compiled call's first
    compiles), waiting for ``device`` to finish each call."""
    times = []
    for _ in range(warmup + repeats):
        start = time.perf_counter()
        call()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times[warmup:]) * 1e3
