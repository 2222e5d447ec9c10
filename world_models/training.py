"""Fitting a world model on real sequences from the experience store."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from envs import ExperienceStore


def sequence_batch(store: ExperienceStore, k: int, t: int, batch: int, rng: np.random.Generator,
                   where: np.ndarray | None = None) -> dict[str, torch.Tensor]:
    """A ``store.sequences`` batch as tensors (frames stay uint8)."""
    return {key: torch.from_numpy(value) for key, value in store.sequences(k, t, batch, rng, where).items()}


def heldout_mask(store: ExperienceStore, every: int) -> np.ndarray:
    """(size,) bool: rows of the episodes kept out of training, those whose id is 1 modulo ``every`` (>= 2).

    The first episode always trains, so a run that plays one long game at a time has data from the start, and
    the second is held out, so model quality is measured from the first iteration on as soon as two games
    have been played (or two envs play side by side)."""
    return store.episode[: store.size] % every == 1


def train_world_model(
    model, optimizer: torch.optim.Optimizer, store: ExperienceStore, steps: int, rng: np.random.Generator,
    where: np.ndarray | None = None, log: Callable[[dict[str, float], int], None] | None = None,
    log_every: int = 50, progress: bool = False,
) -> dict[str, float]:
    """``steps`` Adam steps on ``model.loss`` with linear warm-up and gradient clipping; returns the last losses."""
    from tqdm import tqdm

    config = model.config
    model.train()
    last: dict[str, float] = {}
    for i in tqdm(range(steps), desc="world model", disable=not progress, leave=False, dynamic_ncols=True):
        batch = sequence_batch(store, config.context_frames, config.target_frames, config.batch_size, rng, where)
        losses = model.loss(batch)
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * min(1.0, (int(model.train_steps) + 1) / config.warmup_steps)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        model.train_steps += 1
        last = {f"world_model/{k}": float(v.detach()) for k, v in losses.items()}
        if log and (int(model.train_steps) % log_every == 0 or i == steps - 1):
            log({**last, "world_model/sampling_probability": model.sampling_probability()}, int(model.train_steps))
    return last
