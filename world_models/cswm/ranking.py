"""C-SWM evaluation: open-loop latent rollouts; each encoded target is ranked among all the predictions."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from envs.episodes import EpisodeDataset
from world_models.cswm.model import CSWM


def ranks(predicted: torch.Tensor, targets: torch.Tensor, max_elements: int = 2**24) -> torch.Tensor:
    """0-based rank of each encoded target's own prediction among all predictions, as the reference ranks
    (tkipf/c-swm ``eval.py``: ``d[i, j] = ||t_i - p_j||^2``, rows are targets).

    predicted, targets: (N, F), row i of each from the same eval episode; the true pair wins ties, so
    rank i = #{j : d(t_i, p_j) < d(t_i, p_i)}. Rows are done in chunks of at most ``max_elements``
    differences (64 MB of float32), so 10,000 candidates never need the full N x N x F tensor. Returns (N,) int64.
    """
    n, features = predicted.shape
    rows = max(1, max_elements // (n * features))
    out = torch.empty(n, dtype=torch.long)
    for start in range(0, n, rows):
        chunk = targets[start:start + rows]
        distances = (chunk[:, None, :] - predicted[None, :, :]).pow(2).sum(-1)  # (rows, N): target x prediction
        own = distances[torch.arange(len(chunk)), torch.arange(start, start + len(chunk))]
        out[start:start + len(chunk)] = (distances < own[:, None]).sum(1).cpu()
    return out


def hits_and_mrr(rank: torch.Tensor, ks: Sequence[int] = (1,)) -> dict[str, float]:
    """``hits_at_k`` (share of rank < k) and ``mrr`` (mean of 1 / (rank + 1)) from 0-based ranks."""
    metrics = {f"hits_at_{k}": float((rank < k).double().mean()) for k in ks}
    metrics["mrr"] = float((1.0 / (rank.double() + 1)).mean())
    return metrics


@torch.no_grad()
def evaluate_rollouts(model: CSWM, data: EpisodeDataset, horizons: Sequence[int] = (1, 5, 10),
                      batch_size: int = 1000) -> list[dict[str, float]]:
    """For each horizon: encode the first observation of every episode, step the latent ``horizon`` times with
    the recorded actions, and rank each encoded target against the predictions of all episodes.
    Returns one entry per horizon: ``horizon``, ``hits_at_1``, ``mrr``, ``candidates``."""
    was_training = model.training
    model.eval()
    results = []
    for horizon in horizons:
        paths = data.paths(horizon)
        predicted, targets = [], []
        for start in range(0, data.num_episodes, batch_size):
            part = slice(start, start + batch_size)
            z = model.encode(torch.as_tensor(paths["obs"][part]))
            for action in torch.as_tensor(np.ascontiguousarray(paths["actions"][part].T)):
                z = model.predict(z, action)
            predicted.append(z.flatten(1).cpu())
            targets.append(model.encode(torch.as_tensor(paths["target"][part])).flatten(1).cpu())
        rank = ranks(torch.cat(predicted), torch.cat(targets))
        results.append({"horizon": horizon, **hits_and_mrr(rank), "candidates": len(rank)})
    model.train(was_training)
    return results
