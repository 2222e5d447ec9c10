"""Fitting a world model on real sequences from the experience store."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from envs import ExperienceStore
from envs.precision import grad_scaler
from world_models.device_sequences import sequence_source
from world_models.protocols import WorldModel


def heldout_mask(store: ExperienceStore, every: int) -> np.ndarray:
    """(size,) bool: rows of the episodes kept out of training, those whose id is 1 modulo ``every`` (>= 2).

    The first episode always trains, so a run that plays one long game at a time has data from the start, and
    the second is held out, so model quality is measured from the first iteration on as soon as two games
    have been played (or two envs play side by side)."""
    return store.episode[: store.size] % every == 1


def train_world_model(
    model: WorldModel, optimizer: torch.optim.Optimizer | None, store: ExperienceStore, steps: int,
    rng: np.random.Generator, where: np.ndarray | None = None,
    log: Callable[[dict[str, float], int], None] | None = None, log_every: int = 50, progress: bool = False,
) -> dict[str, float]:
    """``steps`` Adam steps on ``model.loss`` (batches drawn on the model's device, see
    :func:`~world_models.device_sequences.sequence_source`) with linear warm-up (``config.warmup_steps``, where
    the model has one) and gradient clipping (``config.grad_clip``); returns the last losses. A model without
    parameters (``optimizer`` None) is only evaluated. Steps are counted in ``model.train_steps`` when it keeps them."""
    from tqdm import tqdm

    if steps == 0:
        return {}
    config = model.config
    warmup, clip = getattr(config, "warmup_steps", 0), getattr(config, "grad_clip", None)
    scaler = grad_scaler(model.device, getattr(config, "precision", "float32"))
    counted = hasattr(model, "train_steps")
    next_batch = sequence_source(store, config.context_frames, config.target_frames, config.batch_size,
                                 model.device, rng, where)
    model.train()
    first = int(model.train_steps) if counted else 0  # read once: on a GPU every read waits for the device
    losses: dict[str, torch.Tensor] = {}
    for i in tqdm(range(steps), desc="world model", disable=not progress, leave=False, dynamic_ncols=True):
        batch = next_batch()
        losses = model.loss(batch)
        done = first + i
        if optimizer is not None:
            for group in optimizer.param_groups:
                group["lr"] = config.learning_rate * min(1.0, (done + 1) / max(warmup, 1))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(losses["loss"]).backward()
            if clip:
                scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            scaler.step(optimizer)
            scaler.update()
        if counted:
            model.train_steps += 1
        if log and ((done + 1) % log_every == 0 or i == steps - 1):
            extra = {"world_model/sampling_probability": model.sampling_probability()} if hasattr(
                model, "sampling_probability") else {}
            log({**_floats(losses), **extra}, done + 1)
    return _floats(losses)


def _floats(losses: dict[str, torch.Tensor]) -> dict[str, float]:
    return {f"world_model/{k}": float(v.detach()) for k, v in losses.items()}
