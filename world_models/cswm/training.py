"""One epoch of C-SWM training: every transition of the dataset once, in random order."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from envs.episodes import EpisodeDataset
from world_models.cswm.model import CSWM


def train_epoch(model: CSWM, optimizer: torch.optim.Optimizer, data: EpisodeDataset, rng: np.random.Generator,
                generator: torch.Generator | None = None,
                on_batch: Callable[[int], None] | None = None) -> dict[str, float]:
    """Adam steps on minibatches of ``model.config.batch_size`` transitions (the last one may be smaller);
    negatives are drawn with ``generator``. Returns the mean ``loss``, ``positive`` and ``negative``."""
    model.train()
    order = rng.permutation(data.num_transitions)
    sums: dict[str, float] = {}
    for start in range(0, len(order), model.config.batch_size):
        index = np.sort(order[start:start + model.config.batch_size])  # sorted reads are faster; order is irrelevant
        batch = {k: torch.as_tensor(v) for k, v in data.transitions(index).items()}
        losses = model.loss(batch, generator)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        optimizer.step()
        for name, value in losses.items():
            sums[name] = sums.get(name, 0.0) + float(value.detach()) * len(index)
        if on_batch:
            on_batch(len(index))
    return {name: total / len(order) for name, total in sums.items()}
