"""How well a world model predicts held-out real sequences, open loop with the real actions."""
from __future__ import annotations

import numpy as np
import torch


def rollout(model, frames: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Imagine ``T`` steps from the first ``K`` real frames with the real actions.

    frames: (B, K+T, H, W, C) uint8; actions: (B, K+T-1). Returns predicted frames (B, T, H, W, C) uint8 and
    rewards (B, T) in {-1, 0, 1}.
    """
    k = model.context_frames
    state = model.initial_state(frames[:, :k])
    predicted, rewards = [], []
    for t in range(frames.shape[1] - k):
        out = model.step(state, actions[:, k - 1 + t])
        predicted.append(out.frame.cpu())
        rewards.append(out.reward.cpu())
        state = out.state
    return torch.stack(predicted, dim=1), torch.stack(rewards, dim=1)


def psnr(predicted: torch.Tensor, real: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of uint8 frames (capped at 100 dB for identical frames)."""
    mse = (predicted.float() - real.float()).pow(2).mean().item()
    return 100.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def prediction_metrics(model, batch: dict[str, torch.Tensor], horizons: tuple[int, ...]) -> dict[str, float]:
    """Per-pixel accuracy (exact match of the quantised 0..255 values) and PSNR at each horizon,
    and reward accuracy over all predicted steps. ``batch`` as ``sequence_batch`` gives it."""
    frames, actions = batch["frames"], batch["action"]
    k = model.context_frames
    predicted, rewards = rollout(model, frames, actions)
    real = frames[:, k:]
    metrics = {}
    for h in horizons:
        metrics[f"pixel_accuracy@{h}"] = (predicted[:, h - 1] == real[:, h - 1]).float().mean().item()
        metrics[f"psnr@{h}"] = psnr(predicted[:, h - 1], real[:, h - 1])
    metrics["reward_accuracy"] = (rewards == batch["reward"][:, k - 1 :].round()).float().mean().item()
    return metrics


def comparison_frames(model, frames: torch.Tensor, actions: torch.Tensor) -> list[np.ndarray]:
    """Frames of a real | predicted | |difference| video of one sequence (1, K+T, H, W, C)."""
    k = model.context_frames
    predicted, _ = rollout(model, frames, actions)
    real = frames[0, k:].numpy()
    pred = predicted[0].numpy()
    diff = np.abs(real.astype(np.int16) - pred.astype(np.int16)).astype(np.uint8)
    gap = np.full((real.shape[1], 2, real.shape[-1]), 255, np.uint8)
    return [np.concatenate([r, gap, p, gap, d], axis=1) for r, p, d in zip(real, pred, diff)]
