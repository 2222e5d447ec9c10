"""Speed of the SimPLe network's small-map convolutions, forward and backward, as oneDNN runs them and as one
matmul each (``world_models.simple.matmul_conv``), against oneDNN in the same process.

    python benchmarks/low_res_conv_speed.py [--size paper] [--batch 16] [--repeats 10]

The layers are the ones :func:`~world_models.simple.matmul_conv.weight_bound` sends to a matmul in one training
forward pass of the network at that size and batch (recorded as the network runs, with their input shapes); maps
are random and channels-last. Each layer's matmul path is checked against oneDNN before it is timed. A time is the
fastest of ``--repeats`` forward passes each with its backward pass (of a ones cotangent: gradients of the input,
weight and bias).
"""
from __future__ import annotations

import argparse
import contextlib
import functools
from collections.abc import Callable, Iterator

import torch
from torch import nn

from envs.host_memory import keep_freed_memory
from world_models.simple import layers, matmul_conv
from world_models.simple.network import SimPLeNetwork

from common import SIMPLE_PRESETS, fastest_ms, simple_model_config

Conv = nn.Conv2d | nn.ConvTranspose2d


@contextlib.contextmanager
def recorded_small_maps(found: dict[Conv, torch.Size]) -> Iterator[None]:
    """While open, every layer sent to a matmul lands in ``found`` (layer -> its input's shape)."""
    weight_bound = matmul_conv.weight_bound

    def recording(conv: Conv, x: torch.Tensor) -> bool:
        bound = weight_bound(conv, x)
        if bound:
            found.setdefault(conv, x.shape)
        return bound

    matmul_conv.weight_bound = recording
    try:
        yield
    finally:
        matmul_conv.weight_bound = weight_bound


def small_map_layers(size: str, batch: int) -> dict[str, tuple[Conv, torch.Size]]:
    """The network's matmul-path layers at ``size`` and ``batch``, from one training forward pass: module path ->
    (layer, input shape), in the order the pass met them."""
    config = simple_model_config(size)
    network = SimPLeNetwork(config, num_actions=6).train()
    context = torch.randint(0, 256, (batch, config.context_frames, config.frame_height, config.frame_width,
                                     config.channels), dtype=torch.uint8)
    found: dict[Conv, torch.Size] = {}
    with recorded_small_maps(found), torch.no_grad():
        network(context, torch.zeros(batch, dtype=torch.long), context[:, -1])
    names = {module: name for name, module in network.named_modules()}
    return {names[conv]: (conv, shape) for conv, shape in found.items()}


def forward_backward(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> None:
    y = fn(x)
    y.backward(torch.ones_like(y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="paper", choices=sorted(SIMPLE_PRESETS))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    keep_freed_memory()
    torch.manual_seed(0)
    found = small_map_layers(args.size, args.batch)
    if not found:
        parser.exit(message=f"no layer of the {args.size} size takes the matmul path at batch {args.batch}\n")
    print(f"\nSmall-map convolutions of the {args.size} size at batch {args.batch}, forward + backward, on cpu "
          f"({torch.get_num_threads()} threads)\n")
    print("| layer | kernel, stride | input | oneDNN ms | matmul ms | speed-up |\n|---|---|---|---|---|---|")
    total_onednn = total_matmul = 0.0
    for name, (conv, shape) in found.items():
        x = torch.randn(shape).to(memory_format=torch.channels_last).requires_grad_()
        with torch.no_grad():
            torch.testing.assert_close(layers.small_map_conv(conv, x), conv(x), atol=1e-3, rtol=1e-4)
        as_matmul = functools.partial(layers.small_map_conv, conv)
        onednn, matmul = (fastest_ms(functools.partial(forward_backward, fn, x), args.repeats, warmup=1,
                                     device=x.device) for fn in (conv, as_matmul))
        total_onednn, total_matmul = total_onednn + onednn, total_matmul + matmul
        kernel = f"{conv.kernel_size[0]}x{conv.kernel_size[1]}, {conv.stride[0]}"
        print(f"| {name} ({type(conv).__name__}) | {kernel} | {tuple(shape)} | {onednn:.1f} | {matmul:.1f} "
              f"| {onednn / matmul:.2f}x |")
    print(f"| all {len(found)} | | | {total_onednn:.1f} | {total_matmul:.1f} | {total_onednn / total_matmul:.2f}x |")


if __name__ == "__main__":
    main()
