"""Compiled speed of the SimPLe network's elementwise layers on a full map: the bipolar ELU and the ChannelNorm after
it, the ELU's sign made inside the graph (from an ``arange``) or loaded from a buffer, LayerNorm's moments in two
passes (``F.layer_norm``, as inductor lowers it) or in one (``layers.one_pass_layer_norm``), each against the first
way, in one process.

    python benchmarks/channel_norm_speed.py [--device cpu] [--repeats 20]

Maps are random, shaped as one imagined step's: the quick size at batch 128 (64x64 with 32 channels, and the first
down step's 32x32 with 64), the paper size at batch 16 (105x80 with 96). Every way is checked against the eager
layers before it is timed.
"""
from __future__ import annotations

import argparse
import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F

from envs.host_memory import keep_freed_memory
from world_models.simple import layers

from common import fastest_ms

SIZES = {"quick, 64x64x32": (128, 32, 64, 64), "quick, 32x32x64": (128, 64, 32, 32),
         "paper, 105x80x96": (16, 96, 105, 80)}
Layers = Callable[[torch.Tensor], torch.Tensor]


def ways(norm: layers.ChannelNorm) -> dict[str, Layers]:
    """belu then the norm, three ways (the first is the code before the sign buffer and the one-pass moments)."""
    sign = layers.bipolar_sign(norm.weight.numel(), torch.float32, norm.weight.device)

    def two_pass(x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x.permute(0, 2, 3, 1), norm.normalized_shape, norm.weight, norm.bias, norm.eps)

    def one_pass(x: torch.Tensor) -> torch.Tensor:
        return layers.one_pass_layer_norm(x.permute(0, 2, 3, 1), norm.weight, norm.bias, norm.eps)

    return {"sign from arange, two-pass moments": lambda x: two_pass(layers.belu(x)),
            "sign buffer, two-pass moments": lambda x: two_pass(layers.belu(x, sign)),
            "sign buffer, one-pass moments": lambda x: one_pass(layers.belu(x, sign))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    if args.device == "cpu":
        keep_freed_memory()
    print(f"\nbelu + ChannelNorm compiled, on {args.device} ({torch.get_num_threads()} threads)\n")
    print("| map (B, C, H, W) | way | ms | speed-up |\n|---|---|---|---|")
    torch.manual_seed(0)
    for name, shape in SIZES.items():
        norm = layers.ChannelNorm(shape[1]).to(args.device)
        x = torch.randn(shape, device=args.device).to(memory_format=torch.channels_last)
        with torch.no_grad():
            norm.weight.uniform_(0.5, 1.5), norm.bias.uniform_(-0.5, 0.5)
            expected = norm(layers.belu(x))
            first = None
            for way, fn in ways(norm).items():
                compiled = torch.compile(fn)
                torch.testing.assert_close(compiled(x).permute(0, 3, 1, 2), expected, atol=1e-4, rtol=0)
                ms = fastest_ms(functools.partial(compiled, x), args.repeats, warmup=2, device=x.device)
                first = first or ms
                print(f"| {name} {tuple(shape)} | {way} | {ms:.2f} | {first / ms:.2f}x |")


if __name__ == "__main__":
    main()
