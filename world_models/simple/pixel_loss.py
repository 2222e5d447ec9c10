"""SimPLe's clipped per-subpixel softmax loss fused with the frame head, computed a few thousand pixels at a time.

Per subpixel (one colour channel of one pixel) the head gives 256 logits and the loss is
``relu(cross_entropy - cutoff)``, averaged over all subpixels. Written as ``F.cross_entropy`` on the head's output
it materialises (B, H, W, C, 256) logits, their log-softmax and both gradients: at batch 16 and 105x80x3, four
413 MB float32 tensors per predicted frame, which cost more time than the head's matmul. Here each chunk's logits
live only while the chunk is processed, and the backward pass recomputes them (one more head matmul).

The head's chunk helpers live here too (:func:`head_logits`, :func:`most_likely_values`), so that imagination's
most likely frame and the loss compute the same logits the same way.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

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
    matrix = head_matrix(head)
    loss, frame = _ClippedPixelLoss.apply(features.reshape(-1, features.shape[-1]), matrix,
                                          target.reshape(-1, channels).long(), cutoff)
    return loss, frame.view(target.shape)


def head_matrix(head: torch.nn.Linear) -> torch.Tensor:
    """The head's (C * 256, D + 1) weight with its bias as the last column (see :func:`head_logits`), in the
    autocast dtype when autocast is on for the head's device, else float32."""
    device = head.weight.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else torch.float32
    return torch.cat([head.weight, head.bias[:, None]], dim=1).to(dtype)


def with_ones(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(n, D) -> (n, D + 1) in ``dtype``, the last column ones: the input that :func:`head_matrix` expects."""
    return torch.cat([x.to(dtype), x.new_ones(len(x), 1, dtype=dtype)], dim=1)


def head_logits(x: torch.Tensor, matrix: torch.Tensor, channels: int) -> torch.Tensor:
    """(n, D) features -> (n, channels, 256) logits, in ``matrix``'s dtype.

    The bias rides in the matmul as a ones column: ``addmm`` first copies the broadcast bias into the output, a
    pass over the logits that costs about as much as the matmul itself when D is small (32 at the quick size).
    """
    return (with_ones(x, matrix.dtype) @ matrix.t()).view(len(x), channels, 256)


def most_likely_values(x: torch.Tensor, matrix: torch.Tensor, channels: int) -> torch.Tensor:
    """(n, D) features -> (n, channels): each subpixel's most likely value (the first one, on ties)."""
    return head_logits(x, matrix, channels).max(-1).indices  # max's indices: faster than argmax on CPU


def most_likely_values_to_compile(x: torch.Tensor, matrix: torch.Tensor, channels: int,
                                  classes: torch.Tensor) -> torch.Tensor:
    """:func:`most_likely_values` as two reductions that ``torch.compile`` vectorises and fuses (the max, then
    the first index that reaches it); its argmax kernel is scalar, as is eager's. Eager, this is slower.

    classes: (256,) float32, 0 to 255. An input rather than an ``arange`` made inside: inductor would rebuild
    the arange in every vector iteration, which made the compiled chunk 1.5x slower on a CPU.
    """
    logits = head_logits(x, matrix, channels)
    top = logits.amax(-1, keepdim=True)
    return torch.where(logits >= top, classes, 256.0).amin(-1).to(torch.uint8)


def compiled_most_likely_values(*args, **kwargs) -> Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]:  # noqa: ANN002, ANN003 (torch.compile's options)
    """:func:`most_likely_values`, computed by the compiled :func:`most_likely_values_to_compile`."""
    compiled = torch.compile(most_likely_values_to_compile, *args, **kwargs)

    def values(x: torch.Tensor, matrix: torch.Tensor, channels: int) -> torch.Tensor:
        return compiled(x, matrix, channels, torch.arange(256, dtype=torch.float32, device=x.device))
    return values


class _ClippedPixelLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, matrix, target, cutoff):  # noqa: ANN001, ANN205 (autograd's signature)
        channels = target.shape[1]
        total = x.new_zeros((), dtype=torch.float32)
        lse = torch.empty(target.shape, device=x.device)
        frame = torch.empty(target.shape, dtype=torch.uint8, device=x.device)
        with torch.autocast(x.device.type, enabled=False):
            for part in pixel_chunks(len(x), x.device):
                logits = head_logits(x[part], matrix, channels).float()  # the softmax in float32
                lse[part] = logits.logsumexp(-1)
                xent = lse[part] - logits.gather(-1, target[part, :, None]).squeeze(-1)
                total += (xent - cutoff).clamp_min(0).sum()
                frame[part] = logits.max(-1).indices
        ctx.save_for_backward(x, matrix, target, lse)
        ctx.cutoff = cutoff
        ctx.mark_non_differentiable(frame)
        return total / target.numel(), frame

    @staticmethod
    def backward(ctx, grad_loss, _grad_frame):  # noqa: ANN001, ANN205
        x, matrix, target, lse = ctx.saved_tensors
        channels, weight = target.shape[1], matrix[:, :-1]
        grad_x = torch.empty_like(x)
        grad_matrix = torch.zeros_like(matrix, dtype=torch.float32)  # the bias's gradient is its last column
        scale = grad_loss / target.numel()
        with torch.autocast(x.device.type, enabled=False):
            for part in pixel_chunks(len(x), x.device):
                logits = head_logits(x[part], matrix, channels).float()  # the softmax in float32
                xent = lse[part] - logits.gather(-1, target[part, :, None]).squeeze(-1)
                # d xent / d logits = softmax - one_hot(target), only where the loss is above the cutoff
                grad = (logits - lse[part, :, None]).exp_()
                grad.scatter_add_(-1, target[part, :, None], grad.new_full((len(grad), channels, 1), -1.0))
                grad.mul_(((xent > ctx.cutoff) * scale)[..., None])
                grad = grad.view(len(grad), -1).to(matrix.dtype)
                grad_x[part] = grad @ weight
                grad_matrix += (grad.t() @ with_ones(x[part], matrix.dtype)).float()
        return grad_x, grad_matrix.to(matrix.dtype), None, None
