"""Convolutions of small maps with large weights, as one matmul each on the CPU.

At the paper size's low resolutions (768 channels at 7x5 pixels and below, batch 16) oneDNN's convolutions and
transposed convolutions ran at 0.1-0.6 of the CPU's matmul rate, forward and backward, and the network has eight
of them per predicted frame. There the weight (37.7 MB) is far larger than the map, and written as
``patches @ weight`` (a convolution) or ``fold(pixels @ weight)`` (a transposed one) each is one large matmul
forward and two backward: forward and backward, the eight take 350 ms per paper-size frame where oneDNN took 650
(``benchmarks/low_res_conv_speed.py``). :func:`weight_bound` says where; elsewhere oneDNN is faster.

Maps are (B, C, H, W) in the channels-last memory format (any format is accepted, channels-last is what stays
cheap); weights are the convolution modules' own.
"""
from __future__ import annotations

import torch
from torch import nn


def weight_bound(conv: nn.Conv2d | nn.ConvTranspose2d, x: torch.Tensor) -> bool:
    """Whether ``conv`` on ``x`` runs faster as a matmul: on a CPU, for a plain (ungrouped, undilated) layer whose
    matmul has fewer rows (batch x pixels of the low-resolution side: the output of a convolution, the input of a
    transposed one) than the low-resolution side has channels."""
    if x.device.type != "cpu" or conv.groups != 1 or conv.dilation != (1, 1) or isinstance(conv.padding, str):
        return False
    if isinstance(conv, nn.ConvTranspose2d):
        return x.shape[0] * x.shape[-2] * x.shape[-1] <= conv.in_channels
    out_h, out_w = _window_counts(list(x.shape[-2:]), list(conv.kernel_size), list(conv.stride), list(conv.padding))
    return x.shape[0] * out_h * out_w <= conv.out_channels


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: tuple[int, int],
           padding: tuple[int, int]) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, stride, padding)`` as ``patches @ weight``. x: (B, C, H, W); weight: (O, C, kH, kW);
    returns (B, O, H', W'), channels-last."""
    out_channels = weight.shape[0]
    cols = patches(x, weight.shape[-2:], stride, padding)  # (B, H', W', kH, kW, C)
    matrix = weight.permute(0, 2, 3, 1).reshape(out_channels, -1)  # a view of a channels-last weight
    y = cols.flatten(3) @ matrix.t()
    return (y if bias is None else y + bias).permute(0, 3, 1, 2)


def conv_transpose2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: tuple[int, int],
                     padding: tuple[int, int], output_padding: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """``F.conv_transpose2d(x, weight, bias, stride, padding, output_padding)`` as ``fold(pixels @ weight)``: each
    input pixel's contribution to every output pixel its kernel reaches, summed where they land. x: (B, C, H, W);
    weight: (C, O, kH, kW); returns (B, O, H', W'), channels-last."""
    batch, channels, height, width = x.shape
    out_channels, (kh, kw) = weight.shape[1], weight.shape[-2:]
    size = tuple((n - 1) * s - 2 * p + k + extra
                 for n, s, p, k, extra in zip((height, width), stride, padding, (kh, kw), output_padding))
    pixels = x.permute(0, 2, 3, 1).reshape(-1, channels)
    cols = (pixels @ weight.permute(0, 2, 3, 1).reshape(channels, -1)).view(batch, height, width, kh, kw, out_channels)
    y = fold_patches(cols, size, stride, padding)
    return y if bias is None else y + bias[:, None, None]


def patches(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int],
            padding: tuple[int, int]) -> torch.Tensor:
    """Every window a convolution reads: (B, C, H, W) -> (B, H', W', kH, kW, C), zero-padded. Its gradient is
    :func:`fold_patches`."""
    return _patches(x, list(kernel), list(stride), list(padding))


def fold_patches(cols: torch.Tensor, size: tuple[int, int], stride: tuple[int, int],
                 padding: tuple[int, int]) -> torch.Tensor:
    """The adjoint of :func:`patches`: (B, H', W', kH, kW, C) windows -> (B, C, H, W) with ``size`` (H, W),
    channels-last, each window's values summed back where :func:`patches` read them. Its gradient is
    :func:`patches`."""
    return _fold_patches(cols, list(size), list(stride), list(padding))


# Both are custom operators so that torch.compile calls them as they are: traced, their strided copies and the
# fold's 16 in-place adds (forward, and in every convolution's backward) made a compiled training step take 7x
# longer to compile (255 s against 37 s at the quick size), for kernels no faster than these.
@torch.library.custom_op("world_models::patches", mutates_args=())
def _patches(x: torch.Tensor, kernel: list[int], stride: list[int], padding: list[int]) -> torch.Tensor:
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    pixels = torch.nn.functional.pad(x.permute(0, 2, 3, 1), (0, 0, pw, pw, ph, ph))  # (B, H + 2ph, W + 2pw, C)
    windows = pixels.unfold(1, kh, sh).unfold(2, kw, sw)  # a view: (B, H', W', C, kH, kW)
    return windows.permute(0, 1, 2, 4, 5, 3).clone(memory_format=torch.contiguous_format)


@torch.library.custom_op("world_models::fold_patches", mutates_args=())
def _fold_patches(cols: torch.Tensor, size: list[int], stride: list[int], padding: list[int]) -> torch.Tensor:
    batch, out_h, out_w, kh, kw, channels = cols.shape
    (sh, sw), (ph, pw) = stride, padding
    pixels = cols.new_zeros(batch, size[0] + 2 * ph, size[1] + 2 * pw, channels)
    for i in range(kh):  # one strided add per kernel position: 16 small passes, where col2im's (C k k, L) is slow
        for j in range(kw):
            pixels[:, i:i + sh * (out_h - 1) + 1:sh, j:j + sw * (out_w - 1) + 1:sw] += cols[:, :, :, i, j]
    cropped = pixels[:, ph:ph + size[0], pw:pw + size[1]].permute(0, 3, 1, 2)
    return cropped.clone(memory_format=torch.channels_last)


def _window_counts(size: list[int], kernel: list[int], stride: list[int], padding: list[int]) -> list[int]:
    """A convolution's output size (H', W'): the windows along each side."""
    return [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding)]


@_patches.register_fake
def _(x: torch.Tensor, kernel: list[int], stride: list[int], padding: list[int]) -> torch.Tensor:
    out_h, out_w = _window_counts(list(x.shape[-2:]), kernel, stride, padding)
    return x.new_empty(x.shape[0], out_h, out_w, *kernel, x.shape[1])


@_fold_patches.register_fake
def _(cols: torch.Tensor, size: list[int], stride: list[int], padding: list[int]) -> torch.Tensor:
    return torch.empty(cols.shape[0], cols.shape[-1], *size, dtype=cols.dtype, device=cols.device,
                       memory_format=torch.channels_last)


def _patches_context(ctx, inputs, output) -> None:  # noqa: ANN001 (torch.library's signature)
    x, ctx.kernel, ctx.stride, ctx.padding = inputs
    ctx.size = list(x.shape[-2:])


def _fold_patches_context(ctx, inputs, output) -> None:  # noqa: ANN001
    cols, ctx.size, ctx.stride, ctx.padding = inputs
    ctx.kernel = list(cols.shape[3:5])


_patches.register_autograd(lambda ctx, grad: (_fold_patches(grad, ctx.size, ctx.stride, ctx.padding), None, None,
                                              None), setup_context=_patches_context)
_fold_patches.register_autograd(lambda ctx, grad: (_patches(grad, ctx.kernel, ctx.stride, ctx.padding), None, None,
                                                   None), setup_context=_fold_patches_context)
