"""Aggregate scores over runs x games as rliable defines them (Agarwal et al., 2021), with stratified
bootstrap confidence intervals. A score table is ``{game: array of per-run scores}``, runs may differ per game.
"""
from __future__ import annotations

import numpy as np

AGGREGATES = ("mean", "median", "iqm", "optimality_gap")


def trimmed_mean(x: np.ndarray, cut: float = 0.25) -> np.ndarray:
    """Mean of each row after dropping ``int(cut * n)`` values from each end (scipy's ``trim_mean``)."""
    x = np.sort(x, axis=-1)
    low = int(cut * x.shape[-1])
    return x[..., low : x.shape[-1] - low].mean(axis=-1)


def aggregate(samples: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Each aggregate for each replicate. ``samples``: one (reps, runs_g) array per game.

    mean, IQM and optimality gap pool all runs x games; the median is over per-game mean scores.
    """
    pooled = np.concatenate(samples, axis=1)
    game_means = np.stack([s.mean(axis=1) for s in samples], axis=1)
    return {
        "mean": pooled.mean(axis=1),
        "median": np.median(game_means, axis=1),
        "iqm": trimmed_mean(pooled),
        "optimality_gap": 1.0 - np.minimum(pooled, 1.0).mean(axis=1),
    }


def point_estimates(table: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: float(v[0]) for k, v in aggregate([np.asarray(s, float)[None] for s in table.values()]).items()}


def bootstrap_intervals(table: dict[str, np.ndarray], reps: int = 50_000, seed: int = 0, chunk: int = 2_000,
                        confidence: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile intervals of each aggregate under the stratified bootstrap: runs are resampled with
    replacement within each game."""
    rng = np.random.default_rng(seed)
    scores = [np.asarray(s, float) for s in table.values()]
    draws: dict[str, list[np.ndarray]] = {k: [] for k in AGGREGATES}
    for start in range(0, reps, chunk):
        n = min(chunk, reps - start)
        samples = [s[rng.integers(len(s), size=(n, len(s)))] for s in scores]
        for k, v in aggregate(samples).items():
            draws[k].append(v)
    tail = (1 - confidence) / 2 * 100
    return {k: tuple(float(q) for q in np.percentile(np.concatenate(v), [tail, 100 - tail])) for k, v in draws.items()}


def probability_of_improvement(x: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> float:
    """P(X > Y): over the games both have, the chance a run of X beats a run of Y (ties count half), averaged."""
    games = sorted(set(x) & set(y))
    if not games:
        raise ValueError("the two agents share no game")
    per_game = []
    for g in games:
        a, b = np.asarray(x[g], float)[:, None], np.asarray(y[g], float)[None, :]
        per_game.append(((a > b) + 0.5 * (a == b)).mean())
    return float(np.mean(per_game))


def performance_profile(table: dict[str, np.ndarray], taus: np.ndarray) -> np.ndarray:
    """Fraction of runs scoring above each tau, averaged over games (rliable's score distribution)."""
    return np.mean([(np.asarray(s, float)[:, None] > taus[None, :]).mean(axis=0) for s in table.values()], axis=0)


def profile_intervals(table: dict[str, np.ndarray], taus: np.ndarray, reps: int = 2_000, seed: int = 0,
                      confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise percentile bands (low, high), each (len(taus),), of :func:`performance_profile` under the
    stratified bootstrap (runs resampled within each game), as rliable's ``create_performance_profile`` draws
    them."""
    rng = np.random.default_rng(seed)
    scores = [np.asarray(s, float) for s in table.values()]
    profiles = np.empty((reps, len(taus)))
    for r in range(reps):
        resampled = {i: s[rng.integers(len(s), size=len(s))] for i, s in enumerate(scores)}
        profiles[r] = performance_profile(resampled, taus)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(profiles, [tail, 100 - tail], axis=0)
    return low, high
