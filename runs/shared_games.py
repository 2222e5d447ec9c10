"""Like with like: when an agent of ours covers fewer games than the published ones, every agent's aggregates
are also computed on just the games it covers, so a 5-game score is never read against 26-game ones."""
from __future__ import annotations

from dataclasses import dataclass

from runs.aggregates import bootstrap_intervals, point_estimates


@dataclass
class SharedGames:
    """Aggregates of every agent that reports all of ``games``, restricted to them.

    Attributes:
        subject: the agent whose games these are; ``games``: sorted game names.
        rows: ``(agent, estimates, intervals or None for means-only agents)``, in leaderboard order.
    """

    subject: str
    games: tuple[str, ...]
    rows: list[tuple[str, dict[str, float], dict[str, tuple[float, float]] | None]]


def shared_comparisons(entries: list, reps: int, seed: int) -> list[SharedGames]:
    """One :class:`SharedGames` per agent of ours (``Entry.ours``: given or measured results) covering fewer
    games than the widest entry (``entries`` are :class:`runs.leaderboard.Entry`)."""
    widest = max(len(e.hns) for e in entries)
    comparisons = []
    for subject in (e for e in entries if e.ours and len(e.hns) < widest):
        games = tuple(sorted(subject.hns))
        rows = []
        for e in entries:
            if set(games) <= set(e.hns):
                table = {g: e.hns[g] for g in games}
                rows.append((e.name, point_estimates(table),
                             bootstrap_intervals(table, reps=reps, seed=seed) if e.per_run else None))
        comparisons.append(SharedGames(subject.name, games, rows))
    return comparisons


def shared_rows(shared: SharedGames) -> list[list[str]]:
    """Header + one row per agent of a shared-games comparison (the leaderboard's number format)."""
    rows = [["agent", "games", "mean", "median", "IQM", "optimality gap"]]
    for name, estimates, intervals in shared.rows:
        rows.append([name, str(len(shared.games)), *(format_cell(estimates, intervals, k)
                                                     for k in ("mean", "median", "iqm", "optimality_gap"))])
    return rows


def format_cell(estimates: dict[str, float], intervals: dict[str, tuple[float, float]] | None, key: str) -> str:
    """``0.123 [0.100, 0.150]`` (95% interval), or ``0.123 (means only)``."""
    value = f"{estimates[key]:.3f}"
    if intervals is None:
        return f"{value} (means only)"
    low, high = intervals[key]
    return f"{value} [{low:.3f}, {high:.3f}]"


def as_plain(shared: SharedGames) -> dict:
    """A JSON-ready dict of a comparison."""
    return {"subject": shared.subject, "games": list(shared.games),
            "agents": [{"name": n, "estimates": est, "intervals": plain_intervals(ci)} for n, est, ci in shared.rows]}


def plain_intervals(intervals: dict[str, tuple[float, float]] | None) -> dict[str, list[float]] | None:
    """Intervals as JSON lists (None stays None: means-only agents)."""
    return {k: list(v) for k, v in intervals.items()} if intervals else None
