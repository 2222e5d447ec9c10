"""Where each measured run lands among the published runs of the same agent (``runs/data/measured`` against
``runs/data/published_runs``): the reproduction check of a published agent, as a Markdown table."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from runs.measured import measured_records
from runs.published import published_agents

# Our agent -> the published agent whose per-run scores it reproduces.
COUNTERPARTS = {"drq-eps": "DrQ(eps) (rliable)"}


def standing_rows(root: Path | None = None) -> list[dict[str, object]]:
    """One row per measured run that has a published counterpart: its score, the percentile of the published
    runs it beats, the published 5th / 50th / 95th percentiles, and whether it lies within 5th-95th."""
    published = {a.name: a for a in published_agents()}
    rows = []
    for agent, path, record in measured_records(root):
        counterpart = published.get(COUNTERPARTS.get(agent, ""))
        game = record["evaluation"]["game"]
        if counterpart is None or game not in counterpart.scores:
            continue
        runs, score = counterpart.scores[game], float(record["evaluation"]["score_mean"])
        low, median, high = np.percentile(runs, [5, 50, 95])
        rows.append({"agent": agent, "game": game, "seed": record["config"]["seed"], "score": score,
                     "episodes": record["evaluation"]["episodes"], "percentile": float(100 * np.mean(runs < score)),
                     "p5": float(low), "p50": float(median), "p95": float(high), "within": bool(low <= score <= high),
                     "published": f"{counterpart.name}, {len(runs)} runs", "file": path.name,
                     "hours": record["wall_time_s"] / 3600})
    return rows


def standing_markdown(root: Path | None = None) -> str:
    """The rows of :func:`standing_rows` as a Markdown table (what the README's reproduction table is)."""
    lines = ["| agent | game | seed | score (games) | beats published runs | published 5th / median / 95th | "
             "within 5th-95th | train hours |", "|---|---|---|---|---|---|---|---|"]
    for r in standing_rows(root):
        lines.append(f"| {r['agent']} | {r['game']} | {r['seed']} | {r['score']:,.1f} ({r['episodes']}) | "
                     f"{r['percentile']:.0f}% of {r['published']} | {r['p5']:,.0f} / {r['p50']:,.0f} / "
                     f"{r['p95']:,.0f} | {'yes' if r['within'] else 'no'} | {r['hours']:.2f} |")
    return "\n".join(lines)
