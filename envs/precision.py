"""Mixed precision, named the same way by every model: ``float32``, ``bfloat16`` or ``float16`` autocast."""
from __future__ import annotations

import warnings

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


def native_on(device: torch.device | str, precision: str) -> bool:
    """Whether ``device`` computes ``precision`` with instructions of its own: always on an accelerator; on a CPU
    only with oneDNN's bfloat16 (AVX-512 BF16, AMX) or float16 (AVX-512 FP16, AMX-FP16) support."""
    if torch.device(device).type != "cpu" or precision == "float32":
        return True
    supported = {"bfloat16": torch.ops.mkldnn._is_mkldnn_bf16_supported,
                 "float16": torch.ops.mkldnn._is_mkldnn_fp16_supported}[precision]
    return bool(supported())


def warn_if_emulated(device: torch.device | str, precision: str, name: str) -> None:
    """A warning, naming the setting ``name``, when ``precision`` would be emulated on ``device`` (see
    :func:`native_on`): it runs, but bfloat16 imagination at SimPLe's tiny size was 26x slower than float32 on
    an AVX2 CPU (AMD Zen 3), training 8x."""
    if not native_on(device, precision):
        warnings.warn(f"{name}={precision} on this CPU ({torch.backends.cpu.get_cpu_capability()}, no {precision} "
                      f"instructions) is emulated, many times slower than float32 (26x for bfloat16 imagination "
                      f"measured on an AVX2 CPU); use {name}=float32 on this CPU", UserWarning, stacklevel=3)
