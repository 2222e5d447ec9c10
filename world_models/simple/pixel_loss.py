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
# Imagination's most likely frame on a CPU: with twice as many pixels the compiled frame was 2-12% faster over two
# runs of each size (fewer calls pay the compiled chunk's fixed cost, about 40 us each; 8192 was no better), the eager
# one no different beyond run-to-run noise (benchmarks/frame_head_speed.py). That was an AVX-512 CPU; on an AVX2
# AMD Zen 3 (512 KB L2 per core) 2048 was 16-20% faster compiled: the best chunk follows the caches.
FRAME_CPU_CHUNK = 4096
GPU_CHUNK = 65536  # on an accelerator: few enough kernel launches, 200 MB of float32 logits at most
# Inductor options for the compiled most likely frame: without them inductor cuts the value-by-value scan of
# most_likely_values_to_compile into several loops that store and reload their partial results (5-8% slower
# at the quick size and batch 128, 2% at the paper size).
FRAME_INDUCTOR_OPTIONS = {"realize_opcount_threshold": 10_000, "realize_reads_threshold": 10_000,
                          "max_fusion_size": 10_000}


def pixel_chunks(pixels: int, device: torch.device, cpu_chunk: int | None = None) -> Iterator[slice]:
    """Consecutive slices covering ``pixels`` rows, each at most one chunk of the frame head on ``device``:
    ``cpu_chunk`` pixels (default :data:`CPU_CHUNK`) on a CPU, :data:`GPU_CHUNK` on an accelerator."""
    chunk = (cpu_chunk or CPU_CHUNK) if device.type == "cpu" else GPU_CHUNK
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
    return logits_of(with_ones(x, matrix.dtype), matrix, channels)


def logits_of(x_ones: torch.Tensor, matrix: torch.Tensor, channels: int) -> torch.Tensor:
    """:func:`head_logits` of features that already carry their ones column (:func:`with_ones`)."""
    return (x_ones @ matrix.t()).view(len(x_ones), channels, 256)


def most_likely_values(x: torch.Tensor, matrix: torch.Tensor, channels: int) -> torch.Tensor:
    """(n, D) features -> (n, channels): each subpixel's most likely value (the first one, on ties)."""
    return head_logits(x, matrix, channels).max(-1).indices  # max's indices: faster than argmax on CPU


def most_likely_values_to_compile(x: torch.Tensor, matrix: torch.Tensor, channels: int,
                                  block_starts: torch.Tensor) -> torch.Tensor:
    """:func:`most_likely_values` written for ``torch.compile``, which fuses it into one vectorised pass over the
    logits (eager, it is much slower).

    The logits are laid out (channels, 256, n), pixels last (the head's matmul is faster that way too), and
    scanned value by value with elementwise max / compare / select, vectorised across pixels: first within
    blocks of 16 values, then across the 16 blocks. The max and then the first value to reach it, two reductions
    along each pixel's logits, made the quick-size frame at batch 128 1.4x slower (1.14x at the paper size);
    inductor's own argmax is slower still (``benchmarks/frame_head_speed.py``).

    block_starts: (16, 1) float32, 0, 16, ..., 240. An input rather than an ``arange`` made inside: inductor
    would rebuild the arange in every vector iteration.
    """
    logits = (matrix @ with_ones(x, matrix.dtype).t()).view(channels, 16, 16, len(x))  # (C, block, value, n)
    best, index = _first_max_over_dim1(logits.transpose(1, 2), None)  # within each block: (C, block, n)
    _, index = _first_max_over_dim1(best, index + block_starts)
    return index.t().to(torch.uint8)


def _first_max_over_dim1(values: torch.Tensor, index: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(C, R, n) values -> their max over R (C, n) and where it is (float32): ``index[:, r]`` of the first r to
    reach it, or r itself when ``index`` is None."""
    best = values[:, 0]
    where = index[:, 0] if index is not None else torch.zeros_like(best, dtype=torch.float32)
    for r in range(1, values.shape[1]):
        wins = values[:, r] > best  # strictly: a tie keeps the earlier value
        where = torch.where(wins, index[:, r] if index is not None else float(r), where)
        best = torch.maximum(best, values[:, r])
    return best, where


def compiled_most_likely_values(*args, **kwargs) -> Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]:  # noqa: ANN002, ANN003 (torch.compile's options)
    """:func:`most_likely_values`, computed by the compiled :func:`most_likely_values_to_compile` (with
    :data:`FRAME_INDUCTOR_OPTIONS` under inductor, unless ``options`` sets them)."""
    if kwargs.get("backend", "inductor") == "inductor":
        kwargs["options"] = {**FRAME_INDUCTOR_OPTIONS, **kwargs.get("options", {})}
    compiled = torch.compile(most_likely_values_to_compile, *args, **kwargs)

    def values(x: torch.Tensor, matrix: torch.Tensor, channels: int) -> torch.Tensor:
        block_starts = torch.arange(0, 256, 16, dtype=torch.float32, device=x.device)[:, None]
        return compiled(x, matrix, channels, block_starts)
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
                best, frame[part] = logits.max(-1)  # logsumexp would find the max again
                lse[part] = (logits - best[..., None]).exp_().sum(-1).log_().add_(best)
                xent = lse[part] - logits.gather(-1, target[part, :, None]).squeeze(-1)
                total += (xent - cutoff).clamp_min(0).sum()
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
                x_ones = with_ones(x[part], matrix.dtype)  # for both the logits and the weight's gradient
                logits = logits_of(x_ones, matrix, channels).float()  # the softmax in float32
                xent = lse[part] - logits.gather(-1, target[part, :, None]).squeeze(-1)
                # d xent / d logits = softmax - one_hot(target), only where the loss is above the cutoff
                grad = (logits - lse[part, :, None]).exp_()
                grad.scatter_add_(-1, target[part, :, None], grad.new_full((len(grad), channels, 1), -1.0))
                grad.mul_(((xent > ctx.cutoff) * scale)[..., None])
                grad = grad.view(len(grad), -1).to(matrix.dtype)
                grad_x[part] = grad @ weight
                grad_matrix += (grad.t() @ x_ones).float()
        return grad_x, grad_matrix.to(matrix.dtype), None, None
