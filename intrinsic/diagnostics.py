"""How well a potential tells the arrow of time: J on held-out pairs, reversed pairs, event detection."""
from __future__ import annotations

import numpy as np

from envs import ExperienceStore


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` separating ``labels`` (Mann-Whitney, ties count half)."""
    labels = labels.astype(bool)
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError(f"AUROC needs both classes; got {len(pos)} events and {len(neg)} non-events")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    values = np.concatenate([pos, neg])[order]
    ranks[order] = _average_ranks(values)
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = np.sqrt((rx**2).sum() * (ry**2).sum())
    return float((rx * ry).sum() / denominator) if denominator else 0.0


def report(model, store: ExperienceStore, events: np.ndarray, where: np.ndarray | None = None,
           rng: np.random.Generator | None = None, pairs: int = 4096) -> dict[str, float]:
    """Diagnostics on the transitions arriving at rows ``where`` (e.g. held-out episodes).

    ``events``: bool per store row, True where the transition arriving at that row is a labelled event
    (a vase break, a life loss). Jumps are in the model's units (:attr:`ArrowOfTime.jump_scale` x dh).
    """
    rows = np.flatnonzero((store.step[: store.size] > 0) & (where[: store.size] if where is not None else True))
    jumps = model.jump(store.observations(store.prev[rows]), store.observations(rows))
    labels = events[rows]
    reverse = model.jump(store.observations(rows), store.observations(store.prev[rows]))
    out = {
        "J": float(jumps.mean() / model.jump_scale),
        "J_reversed": float(reverse.mean() / model.jump_scale),
        "jump_at_events": float(jumps[labels].mean()) if labels.any() else float("nan"),
        "jump_elsewhere": float(jumps[~labels].mean()),
        "events": int(labels.sum()),
        "transitions": len(rows),
        "median_episode_spearman": _median_episode_spearman(model, store, where),
    }
    if labels.any():
        out["auroc"] = auroc(jumps, labels)
        # A jump of either sign: a potential that falls at an event (e.g. a death that looks like a
        # restart) still marks it, though the target reads the signed jump.
        out["auroc_abs"] = auroc(np.abs(jumps - np.median(jumps)), labels)
    return out


def _median_episode_spearman(model, store: ExperienceStore, where: np.ndarray | None) -> float:
    correlations = []
    episodes = np.unique(store.episode[: store.size][where[: store.size]] if where is not None
                         else store.episode[: store.size])
    for episode in episodes[:200]:
        rows = np.flatnonzero(store.episode[: store.size] == episode)
        if len(rows) >= 3:
            h = model.h(store.observations(rows)).detach().cpu().numpy()
            correlations.append(spearman(h, store.step[rows]))
    return float(np.median(correlations)) if correlations else float("nan")


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = _average_ranks(np.asarray(x)[order])
    return ranks


def _average_ranks(sorted_values: np.ndarray) -> np.ndarray:
    """1-based ranks of already sorted values, ties sharing their average rank."""
    ranks = np.arange(1, len(sorted_values) + 1, dtype=float)
    _, start, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    for s, c in zip(start, counts):
        if c > 1:
            ranks[s : s + c] = ranks[s : s + c].mean()
    return ranks
