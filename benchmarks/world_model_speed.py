"""Imagination speed of the SimPLe world model at each preset size, against a plain matmul in the same run.

    python benchmarks/world_model_speed.py [--batch 16] [--device cpu] [--seconds 10]

For each size: imagined frames per second (``model.step`` on a batch), FLOPs per frame counted by
``torch.utils.flop_counter`` (convolutions, transposed convolutions and matmuls), the achieved FLOP/s and
its fraction of a large float32 matmul's FLOP/s measured here. Target on CPU: >= 40% for the paper size.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from runs.configs import from_dict, load_preset
from world_models import SimPLeModelConfig, SimPLeWorldModel

SIZES = {"paper": "simple-paper", "quick": "simple-quick", "tiny": "simple-tiny"}


def matmul_flops_per_second(device: torch.device, seconds: float, n: int = 2048) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    return 2 * n**3 * _repeat(lambda: a @ b, device, seconds)


def _repeat(fn, device: torch.device, seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (after one warm-up call)."""
    fn()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        calls += 1
        if device.type == "cuda":
            torch.cuda.synchronize()
    return calls / (time.perf_counter() - start)


def measure(size: str, batch: int, device: torch.device, seconds: float) -> dict[str, float]:
    config = from_dict(SimPLeModelConfig, load_preset(SIZES[size])["model"])
    model = SimPLeWorldModel(config, num_actions=6, device=device)
    context = torch.randint(0, 256, (batch, config.context_frames, config.frame_height, config.frame_width,
                                     config.channels), dtype=torch.uint8, device=device)
    actions = torch.randint(0, 6, (batch,), device=device)
    state = model.initial_state(context)
    with FlopCounterMode(display=False) as counter:
        model.step(state, actions)
    flops_per_frame = counter.get_total_flops() / batch
    steps_per_second = _repeat(lambda: model.step(state, actions), device, seconds)
    params = sum(p.numel() for p in model.parameters())
    return {"params": params, "frames_per_s": steps_per_second * batch, "flops_per_frame": flops_per_frame,
            "flops_per_s": steps_per_second * batch * flops_per_frame}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    args = parser.parse_args()
    device = torch.device(args.device)
    peak = matmul_flops_per_second(device, args.seconds)
    print(f"plain float32 matmul (2048^2): {peak / 1e9:,.1f} GFLOP/s on {device} ({torch.get_num_threads()} threads)")
    rows = {}
    for size in args.sizes:
        rows[size] = measure(size, args.batch, device, args.seconds)
        print(f"  measured {size}", flush=True)
    print(f"\nSimPLe world model, model.step on a batch of {args.batch}\n")
    print("| size  | params | imagined frames/s | GFLOP/frame | GFLOP/s | vs matmul |")
    print("|-------|--------|-------------------|-------------|---------|-----------|")
    for size, r in rows.items():
        print(f"| {size:<5} | {r['params'] / 1e6:5.1f}M | {r['frames_per_s']:17,.1f} "
              f"| {r['flops_per_frame'] / 1e9:11.3f} "
              f"| {r['flops_per_s'] / 1e9:7.1f} | {r['flops_per_s'] / peak:8.0%} |")


if __name__ == "__main__":
    main()
