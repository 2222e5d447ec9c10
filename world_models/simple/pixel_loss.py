"""SimPLe's clipped per-subpixel softmax loss fused with the frame head, computed a few thousand pixels at a time.

Per subpixel (one colour channel of one pixel) the head gives 256 logits and the loss is
``relu(cross_entropy - cutoff)``, averaged over all subpixels. Written as ``F.cross_entropy`` on the head's output
it materialises (B, H, W, C, 256) logits, their log-softmax and both gradients: at batch 16 and 105x80x3, four
413 MB float32 tensors per predicted frame, which cost more time than the head's matmul. Here each chunk's logits
live only while the chunk is processed, and the backward pass recomputes them (one more head matmul).
"""
from __future__ import annotations

from collections.abc import Iterator

import torch

CPU_CHUNK = 2048  # pixels per chunk on a CPU: 2048 x 768 float32 logits are 6 MB, about what its caches hold
GPU_CHUNK = 65536  # on an accelerator: few enough kernel launches, 200 MB of float32 logits at most


def pixel_chunks(pixels: int, device: torch.device) -> Iterator[slice]:
    """Consecutive slices covering ``pixels`` rows, each at most one chunk of the frame head on ``device``."""
    chunk = CPU_CHUNK if device.type == "cpu" else GPU_CHUNK
    return (slice(start, start + chunk) for start in range(0, pixels, chunk))


def clipped_pixel_loss(features: torch.Tensor, head: torch.nn.Linear, target: torch.Tensor,
                       cutoff: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of ``relu(xent - cutoff)`` over subpixels, and the most likely frame.

    features: (B, H, W, D) what the head reads; head: ``Linear(D, C * 256)``, classes last; target: (B, H, W, C)
    uint8. Returns (scalar float32 loss, differentiable in ``features`` and the head; (B, H, W, C) uint8 argmax
    frame). Under autocast the head's matmuls run in the autocast dtype, the softmax in float32.
    """
    channels = target.shape[-1]
    loss, frame = _ClippedPixelLoss.apply(features.reshape(-1, features.shape[-1]), head.weight, head.bias,
                                          target.reshape(-1, channels).long(), cutoff)
    return loss, frame.view(target.shape)


def _matmul_dtype(device: torch.device) -> torch.dtype:
    return torch.get_autocast_dtype(device.type) if torch.is_autocast_enabled(device.type) else torch.float32


def _logits(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, channels: int,
            dtype: torch.dtype) -> torch.Tensor:
    """(n, D) -> (n, channels, 256) float32 logits, the matmul in ``dtype``."""
    out = torch.addmm(bias.to(dtype), x.to(dtype), weight.to(dtype).t())
    return out.float().view(len(x), channels, 256)


class _ClippedPixelLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, target, cutoff):  # noqa: ANN001, ANN205 (autograd's signature)
        dtype, channels = _matmul_dtype(x.device), target.shape[1]
        total = x.new_zeros((), dtype=torch.float32)
        lse = torch.empty(target.shape, device=x.device)
        frame = torch.empty(target.shape, dtype=torch.uint8, device=x.device)
        with torch.autocast(x.device.type, enabled=False):
            for part in pixel_chunks(len(x), x.device):
                logits = _logits(x[part], weight, bias, channels, dtype)
                lse[part] = logits.logsumexp(-1)
                xent = lse[part] - logits.gather(-1, target[part, :, None]).squeeze(-1)
                total += (xent - cutoff).clamp_min(0).sum()
                frame[part] = logits.max(-1).indices
        ctx.save_for_backward(x, weight, bias, target, lse)
        ctx.dtype, ctx.cutoff = dtype, cutoff
        ctx.mark_non_differentiable(frame)
        return total / target.numel(), frame

    @staticmethod
    def backward(ctx, grad_loss, _grad_frame):  # noqa: ANN001, ANN205
        x, weight, bias, target, lse = ctx.saved_tensors
        dtype, channels = ctx.dtype, target.shape[1]
        grad_x = torch.empty_like(x)
        grad_weight = torch.zeros_like(weight, dtype=torch.float32)
        grad_bias = torch.zeros_like(bias, dtype=torch.float32)
        scale = grad_loss / target.numel()
        with torch.autocast(x.device.type, enabled=False):
            for part in pixel_chunks(len(x), x.device):
                logits = _logits(x[part], weight, bias, channels, dtype)
                xent = lse[part] - logits.gather(-1, target[part, :, None]).squeeze(-1)
                # d xent / d logits = softmax - one_hot(target), only where the loss is above the cutoff
                grad = (logits - lse[part, :, None]).exp_()
                grad.scatter_add_(-1, target[part, :, None], grad.new_full((len(grad), channels, 1), -1.0))
                grad.mul_(((xent > ctx.cutoff) * scale)[..., None])
                grad = grad.view(len(grad), -1).to(dtype)
                grad_x[part] = grad @ weight.to(dtype)
                grad_weight += (grad.t() @ x[part].to(dtype)).float()
                grad_bias += grad.float().sum(0)
        return grad_x, grad_weight.to(weight.dtype), grad_bias.to(bias.dtype), None, None
