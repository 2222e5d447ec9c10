"""Speed of imagination's most likely frame (the frame head and each subpixel's argmax over its 256 logits), per
way of computing it and chunk size, against the eager ``max(-1)`` in the same process.

    python benchmarks/frame_head_speed.py [--sizes quick paper] [--device cpu] [--repeats 4]

Features are random, shaped as one imagined step's: the quick size at batch 128 (64x64 pixels, 32 channels), the
paper size at batch 16 (105x80, 96). Every way is checked to give the eager frame exactly before it is timed.
"amax + first index" is the compiled head before the value-by-value scan: the max, then the first value that
reaches it, both reduced along each pixel's 256 logits.
"""
from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

import torch
import torch._inductor.config as inductor_config

from envs.host_memory import keep_freed_memory
from world_models.simple import pixel_loss

SIZES = {"quick": (128 * 64 * 64, 32), "paper": (16 * 105 * 80, 96)}  # (pixels per step, feature channels)
Values = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]


def amax_then_first_index(x: torch.Tensor, matrix: torch.Tensor, channels: int, classes: torch.Tensor) -> torch.Tensor:
    logits = pixel_loss.head_logits(x, matrix, channels)
    top = logits.amax(-1, keepdim=True)
    return torch.where(logits >= top, classes, 256.0).amin(-1).to(torch.uint8)


def ways(device: torch.device) -> list[tuple[str, int, Values]]:
    """(name, CPU chunk, values function): eager, the compiled formulations, the scan with and without its options."""
    classes = torch.arange(256, dtype=torch.float32, device=device)
    first_index = torch.compile(amax_then_first_index)
    inductor_defaults = {key: getattr(inductor_config, key) for key in pixel_loss.FRAME_INDUCTOR_OPTIONS}
    return [("eager max(-1)", pixel_loss.CPU_CHUNK, pixel_loss.most_likely_values),
            ("eager max(-1)", pixel_loss.FRAME_CPU_CHUNK, pixel_loss.most_likely_values),
            ("compiled amax + first index", pixel_loss.CPU_CHUNK, lambda x, m, c: first_index(x, m, c, classes)),
            ("compiled scan, inductor's defaults", pixel_loss.CPU_CHUNK,
             pixel_loss.compiled_most_likely_values(options=inductor_defaults)),
            ("compiled scan, FRAME_INDUCTOR_OPTIONS", pixel_loss.CPU_CHUNK, pixel_loss.compiled_most_likely_values()),
            ("compiled scan, FRAME_INDUCTOR_OPTIONS", pixel_loss.FRAME_CPU_CHUNK,
             pixel_loss.compiled_most_likely_values())]


def frame(features: torch.Tensor, matrix: torch.Tensor, values: Values, chunk: int) -> torch.Tensor:
    """(pixels, 3) uint8, as ``SimPLeNetwork.most_likely_frame`` computes it."""
    out = torch.empty(len(features), 3, dtype=torch.uint8, device=features.device)
    for part in pixel_loss.pixel_chunks(len(features), features.device, chunk):
        out[part] = values(features[part], matrix, 3)
    return out


def milliseconds(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    fn()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / repeats * 1e3


def print_table(size: str, device: torch.device, repeats: int) -> None:
    """One markdown table: each way's milliseconds per imagined step of ``size``, and its ratio to the first."""
    pixels, channels = SIZES[size]
    features = torch.randn(pixels, channels, device=device)
    with torch.no_grad():
        matrix = pixel_loss.head_matrix(torch.nn.Linear(channels, 3 * 256, device=device))
    expected = frame(features, matrix, pixel_loss.most_likely_values, pixel_loss.CPU_CHUNK)
    print(f"\n| {size}: {pixels:,} pixels x {channels} channels, {device} | CPU chunk | ms per step | vs first |")
    print("|---|---|---|---|")
    first = None
    for name, chunk, values in ways(device):
        if not torch.equal(frame(features, matrix, values, chunk), expected):
            raise AssertionError(f"{name} (chunk {chunk}) does not give the eager frame")
        ms = milliseconds(functools.partial(frame, features, matrix, values, chunk), device, repeats)
        first = first or ms
        print(f"| {name} | {chunk:,} | {ms:.1f} | {ms / first:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=4, help="timed steps per row, after two warm-up steps")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cpu":
        keep_freed_memory()
    torch.manual_seed(0)
    for size in args.sizes:
        print_table(size, device, args.repeats)


if __name__ == "__main__":
    main()
