"""Building blocks of the SimPLe network."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from world_models.simple import matmul_conv


def belu(x: torch.Tensor, sign: torch.Tensor | None = None) -> torch.Tensor:
    """Bipolar ELU of a (B, C, H, W) map: ELU on the first half of the channels (``x.chunk(2, dim=1)``'s
    halves), mirrored ELU (``-elu(-x)``) on the second, written as ``sign * elu(sign * x)``: three passes over
    the map where splitting and concatenating the halves took five (2.7x faster on a channels-last map).
    sign: (C,) :func:`bipolar_sign`, made here when not given."""
    sign = (bipolar_sign(x.shape[1], x.dtype, x.device) if sign is None else sign.to(x.dtype))[:, None, None]
    return sign * F.elu(sign * x)


def with_bipolar_sign(conv: nn.Conv2d | nn.ConvTranspose2d) -> nn.Conv2d | nn.ConvTranspose2d:
    """``conv`` carrying its output's :func:`bipolar_sign` as a buffer (``belu_sign``, not saved in the state dict),
    which :func:`conv_belu` needs. Compiled, a sign made inside the graph from an ``arange`` is recomputed, in int64
    vectors, at every element of every map it touches; a buffer is one load (the quick size's elementwise kernels
    took a third less time in a compiled step at batch 128, with the one-pass :class:`ChannelNorm`)."""
    conv.register_buffer("belu_sign", bipolar_sign(conv.out_channels, torch.float32, conv.weight.device),
                         persistent=False)
    return conv


def conv_belu(conv: nn.Conv2d | nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    """``belu(conv(x))``, exactly, for a conv made by :func:`with_bipolar_sign`. When the input map is larger than
    the conv's weight, belu's inner sign rides in the weight and bias (negating a conv's weights negates its output
    exactly), which saves a pass over the map forward and another backward; smaller maps (low resolutions, large
    weights) keep the multiply on the map."""
    if x.numel() <= conv.weight.numel():
        return belu(small_map_conv(conv, x), conv.belu_sign)
    sign = conv.belu_sign.to(conv.weight.dtype)
    bias = None if conv.bias is None else conv.bias * sign
    if isinstance(conv, nn.ConvTranspose2d):  # weight: (in, out, kH, kW)
        y = F.conv_transpose2d(x, conv.weight * sign[:, None, None], bias, conv.stride, conv.padding,
                               conv.output_padding, conv.groups, conv.dilation)
    else:  # weight: (out, in, kH, kW)
        y = conv._conv_forward(x, conv.weight * sign[:, None, None, None], bias)
    return sign.to(y.dtype)[:, None, None] * F.elu(y)


def small_map_conv(conv: nn.Conv2d | nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)``, as a matmul where the weight dwarfs the map
    (:func:`~world_models.simple.matmul_conv.weight_bound`)."""
    if not matmul_conv.weight_bound(conv, x):
        return conv(x)
    if isinstance(conv, nn.ConvTranspose2d):
        return matmul_conv.conv_transpose2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.output_padding)
    return matmul_conv.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding)


def bipolar_sign(channels: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(channels,): +1 on the first half (the larger one, for an odd count), -1 on the second."""
    first_half = torch.arange(channels, device=device) < (channels + 1) // 2
    return torch.where(first_half, 1.0, -1.0).to(dtype)  # no in-place write: compiles better


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channels of each pixel of a (B, C, H, W) map.

    Compiled, the moments come from one pass, the sums of x and x^2 (:func:`one_pass_layer_norm`): inductor builds
    LayerNorm's two-pass moments as three loops over the map, each recomputing it from the layers before (the
    bipolar ELU's exp three times per value, and the output's once more), and one pass needs two. The price is
    precision where a pixel's channel mean is far from zero next to their spread (see the function); eager, the
    native LayerNorm runs.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pixels = x.permute(0, 2, 3, 1)
        if torch.compiler.is_compiling():
            return one_pass_layer_norm(pixels, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)
        return super().forward(pixels).permute(0, 3, 1, 2)


def one_pass_layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float) -> torch.Tensor:
    """``F.layer_norm`` over the last dim of ``x``, its variance ``E[x^2] - E[x]^2``. In float32 that loses about
    1e-7 (mean / std)^2 of the variance to cancellation, half of that relatively in the output: float32 rounding at
    the network's maps, bipolar ELUs whose two halves pull the mean towards zero (under one std at every norm of the
    quick and paper sizes at initialisation), 1e-4 at a mean of 30 std (a test holds both). Never negative:
    cancellation is clamped at zero, where ``eps`` takes over. In float32 whatever ``x`` is, as autocast runs
    LayerNorm."""
    x = x.float()
    mean = x.mean(-1, keepdim=True)
    variance = (x.square().mean(-1, keepdim=True) - mean.square()).clamp_min(0)
    return (x - mean) * torch.rsqrt(variance + eps) * weight + bias


class Modulation(nn.Module):
    """``x * sigmoid(W_m v) + W_a v``: conditions a (B, C, H, W) map on a vector (action embedding or bits)."""

    def __init__(self, vector_size: int, channels: int) -> None:
        super().__init__()
        self.multiply = nn.Linear(vector_size, channels)
        self.add = nn.Linear(vector_size, channels)

    def forward(self, x: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.multiply(vector))[:, :, None, None] + self.add(vector)[:, :, None, None]


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """``F.dropout`` (zero with probability ``p``, scale the rest by 1 / (1 - p)). The scaled mask is made in
    place from uniform floats (``F.dropout``'s ``bernoulli_`` is slower on the CPU), so the backward pass is one
    multiply: forward and backward 1.5x faster than with a boolean mask and a separate scaling, on the paper's
    full-resolution maps."""
    if not training or p == 0:
        return x
    return x * torch.rand_like(x).ge_(p).mul_(1.0 / (1.0 - p))


def spatial_mean(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C): the mean over pixels, as a sum: ``mean``'s gradient writes a full map, ``sum``'s
    is a broadcast view."""
    return x.sum(dim=(-2, -1)) / (x.shape[-2] * x.shape[-1])


def pad_even(x: torch.Tensor) -> torch.Tensor:
    """Zero-pad height and width to even sizes, so a stride-2 step halves them exactly (``F.pad`` copies the
    map even when it adds nothing, so an even map is returned as it is)."""
    pad_width, pad_height = x.shape[-1] % 2, x.shape[-2] % 2
    return F.pad(x, (0, pad_width, 0, pad_height)) if pad_width or pad_height else x


def crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``x[..., :height, :width]`` of a (B, C, H, W) map, whose gradient keeps the map's memory format: a slice's
    gradient is written into a fresh contiguous map, which on a channels-last map is a transposing copy that the
    convolution's backward pass before it then converts back. A map of that size already is returned as it is."""
    return x if tuple(x.shape[-2:]) == (height, width) else _Crop.apply(x, height, width)


class _Crop(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, height, width):  # noqa: ANN001, ANN205 (autograd's signature)
        ctx.padding = (0, x.shape[-1] - width, 0, x.shape[-2] - height)
        return x[..., :height, :width]

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001, ANN205
        return F.pad(grad, ctx.padding), None, None


def standardize(frames: torch.Tensor) -> torch.Tensor:
    """Per image and channel: zero mean, unit variance (std floored at 1/sqrt(pixels)). frames: (B, C, H, W).

    Mean, then the mean square of the centred frames, each reduced over a (B, H * W, C) view of the pixels:
    4x faster than ``std_mean`` over (H, W) on a channels-last map (26 ms -> 7 ms at the quick size, batch 128,
    2 CPU cores) and as exact. ``E[x^2] - E[x]^2`` would be faster still, but it cancels on the near-constant
    frames Atari is full of (an error of 44 on outputs up to 20, for a flat frame with 10 pixels one level off).
    """
    frames = frames.float()
    centred = frames - _pixels_view(frames).mean(1)[:, :, None, None]
    std = _pixels_view(centred).square().mean(1).sqrt().clamp_min((frames.shape[-1] * frames.shape[-2]) ** -0.5)
    return centred.div_(std[:, :, None, None])


def _pixels_view(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H * W, C), a view when ``x`` is channels-last (else a copy)."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, x.shape[1])
