"""``workbench leaderboard``: our evaluation results next to published agents, rliable-style."""
from __future__ import annotations

import base64
import html
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from envs import atari100k_games, find_game
from envs.files import atomic_write_text, read_json
from runs.aggregates import (
    bootstrap_intervals,
    performance_profile,
    point_estimates,
    probability_of_improvement,
    profile_intervals,
)
from runs.evaluation import RESULTS_FORMAT
from runs.measured import measured_agents
from runs.published import published_agents
from runs.shared_games import SharedGames, as_plain, format_cell, plain_intervals, shared_rows

PROFILE_REPS = 1_000  # bootstrap replicates of the performance-profile bands
# Settings that must agree for scores to be comparable.
_PROTOCOL_KEYS = ("sticky_actions", "frame_skip", "noop_max", "max_episode_frames", "full_action_space")


@dataclass
class Entry:
    """One leaderboard row: HNS per game (one value per run), aggregates, intervals (None: means only)."""

    name: str
    source: str
    hns: dict[str, np.ndarray]
    per_run: bool
    flag: str = ""
    ours: bool = False  # produced by this workbench (given results, or shipped measured ones)
    estimates: dict[str, float] | None = None
    intervals: dict[str, tuple[float, float]] | None = None


def load_results(paths: list[str | Path]) -> dict[str, dict[str, list[float]]]:
    """``{agent: {game: [mean score of each run]}}`` from evaluation files (or directories holding them).

    Raises:
        ValueError: a missing or foreign file, a result not from the final policy, or mixed protocols.
    """
    files = _expand(paths)
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    protocols: dict[tuple, str] = {}
    sources: dict[tuple, Path] = {}
    for f in files:
        result = read_json(f, "results")
        if not isinstance(result, dict) or result.get("format") != RESULTS_FORMAT:
            raise ValueError(f"{f} is not an evaluation results file ({RESULTS_FORMAT}); run `workbench evaluate`")
        if result.get("policy") != "final":
            raise ValueError(f"{f} evaluates a {result.get('policy')!r} policy; the leaderboard takes final policies "
                             "only (a training-time best checkpoint overstates the score)")
        protocol = (result["protocol"], result["eval"]["epsilon"], *(result["env"][k] for k in _PROTOCOL_KEYS))
        protocols.setdefault(protocol, str(f))
        if len(protocols) > 1:
            first, second = list(protocols.items())[:2]
            raise ValueError(f"mixed protocols in one leaderboard: {first[1]} used {_describe(first[0])} but "
                             f"{second[1]} used {_describe(second[0])}")
        key = (result["agent"], result["game"], result.get("source") or str(f))
        if key in sources:
            raise ValueError(f"{sources[key]} and {f} evaluate the same trained run; a run counts once on a "
                             "leaderboard (evaluate it once, with enough episodes)")
        sources[key] = f
        table[result["agent"]][result["game"]].append(float(result["score_mean"]))
    return {agent: dict(games) for agent, games in table.items()}


def build(ours: dict[str, dict[str, list[float]]], reps: int = 50_000, seed: int = 0,
          include_published: bool = True, measured: Path | None = None) -> list[Entry]:
    """Rows with aggregates of human-normalised scores; intervals for agents with per-run scores. With
    ``include_published``, the published agents and what this workbench measured (``runs/data/measured``, or
    ``measured``) follow the given results."""
    entries = [Entry(name, "this workbench", _normalise(games), True, ours=True) for name, games in ours.items()]
    if include_published:
        entries += [Entry(a.name, a.source, _normalise(a.scores), True, ours=True) for a in measured_agents(measured)]
        entries += [Entry(a.name, a.source, _normalise(a.scores), a.per_run, a.flag) for a in published_agents()]
    for e in entries:
        e.estimates = point_estimates(e.hns)
        if e.per_run:
            e.intervals = bootstrap_intervals(e.hns, reps=reps, seed=seed)
    return entries


def terminal_table(entries: list[Entry], shared: list[SharedGames] = ()) -> str:
    """The summary table, then each shared-games comparison, aligned for the terminal."""
    return "\n\n".join([_aligned(summary_rows(entries)), *(f"{_shared_title(s)}:\n{_aligned(shared_rows(s))}"
                                                            for s in shared)])


def _aligned(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def summary_rows(entries: list[Entry]) -> list[list[str]]:
    """Header + one row per agent: aggregates with 95% bootstrap intervals, source and caveats."""
    rows = [["agent", "games", "runs/game", "mean", "median", "IQM", "optimality gap", "source"]]
    for e in entries:
        flag = f" ({e.flag})" if e.flag else ""
        cells = [format_cell(e.estimates, e.intervals, k) for k in ("mean", "median", "iqm", "optimality_gap")]
        rows.append([e.name, str(len(e.hns)), str(max(len(v) for v in e.hns.values())), *cells, e.source + flag])
    return rows


def per_game_rows(entries: list[Entry]) -> list[list[str]]:
    """Header + one row per game: mean HNS over runs, ``-`` where an agent has no score."""
    rows = [["game", *(e.name for e in entries)]]
    for g in (game.name for game in atari100k_games()):
        rows.append([g, *(f"{e.hns[g].mean():.3f}" if g in e.hns else "-" for e in entries)])
    return rows


def markdown(entries: list[Entry], improvement: dict[str, dict[str, float]], baseline: str,
             shared: list[SharedGames] = ()) -> str:
    parts = [markdown_table(summary_rows(entries))]
    parts += [f"{_shared_title(s)}:\n\n{markdown_table(shared_rows(s))}" for s in shared]
    if improvement:
        parts.append(f"Probability of improvement over {baseline} (over the games both report):\n\n"
                     + "\n".join(f"- {name}: {v['p']:.3f} ({v['games']} games)" for name, v in improvement.items()))
    parts.append("Per-game human-normalised scores (mean over runs; - = not reported):\n\n"
                 + markdown_table(per_game_rows(entries)))
    return "\n\n".join(parts) + "\n"


def profile_png(entries: list[Entry], path: Path) -> Path:
    """Performance profiles (fraction of runs with HNS > tau, tau in [0, 2]) of agents with per-run scores, with
    95% stratified-bootstrap bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    taus = np.linspace(0.0, 2.0, 81)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for e in entries:
        if e.per_run:
            line, = ax.plot(taus, performance_profile(e.hns, taus), label=e.name)
            low, high = profile_intervals(e.hns, taus, reps=PROFILE_REPS)
            ax.fill_between(taus, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("human-normalised score tau")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.set_title("Atari 100k performance profiles")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def html_report(entries: list[Entry], improvement: dict[str, dict[str, float]], baseline: str, png: Path,
                shared: list[SharedGames] = ()) -> str:
    """One self-contained page: the tables and the performance profiles (PNG inlined)."""
    image = base64.b64encode(png.read_bytes()).decode()
    improvement_html = "".join(f"<li>{html.escape(n)}: {v['p']:.3f} ({v['games']} games)</li>"
                               for n, v in improvement.items())
    shared_html = "".join(f"<h2>{html.escape(_shared_title(s))}</h2>{_html_table(shared_rows(s))}" for s in shared)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Atari 100k leaderboard</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}</style></head><body>"
        "<h1>Atari 100k leaderboard</h1><p>Human-normalised scores; 95% stratified-bootstrap intervals.</p>"
        f"{_html_table(summary_rows(entries))}{shared_html}"
        + (f"<h2>Probability of improvement over {html.escape(baseline)}</h2><ul>{improvement_html}</ul>"
           if improvement else "")
        + f"<h2>Performance profiles</h2><img alt='performance profiles' src='data:image/png;base64,{image}'>"
        f"<h2>Per game</h2>{_html_table(per_game_rows(entries))}</body></html>"
    )


def markdown_table(rows: list[list[str]]) -> str:
    """A Markdown table: the first row is the header."""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows[1:]])


def _html_table(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
    return f"<table><tr>{head}</tr>{body}</table>"


def write_reports(entries: list[Entry], baseline: str, out: Path, shared: list[SharedGames] = ()
                  ) -> tuple[dict[str, dict[str, float]], list[Path]]:
    """Write ``leaderboard.md``, ``leaderboard.html``, ``leaderboard.json`` and ``profiles.png`` into ``out``;
    returns the probability of improvement of each agent over ``baseline`` and the files written."""
    improvement = improvement_over(entries, baseline)
    out.mkdir(parents=True, exist_ok=True)
    png = profile_png(entries, out / "profiles.png")
    md = atomic_write_text(out / "leaderboard.md", markdown(entries, improvement, baseline, shared))
    page = atomic_write_text(out / "leaderboard.html", html_report(entries, improvement, baseline, png, shared))
    data = atomic_write_text(out / "leaderboard.json", json.dumps(as_json(entries, improvement, baseline, shared),
                                                                  indent=2))
    return improvement, [md, page, data, png]


def as_json(entries: list[Entry], improvement: dict[str, dict[str, float]], baseline: str,
            shared: list[SharedGames] = ()) -> dict:
    """Everything the tables print, as data: per agent its games, runs, per-game mean HNS, aggregates and 95%
    intervals; the shared-games comparisons; the probability of improvement over ``baseline``."""
    agents = [{"name": e.name, "source": e.source, "flag": e.flag, "games": sorted(e.hns),
               "runs_per_game": {g: len(v) for g, v in e.hns.items()},
               "mean_hns_per_game": {g: float(v.mean()) for g, v in e.hns.items()},
               "estimates": e.estimates, "intervals": plain_intervals(e.intervals)} for e in entries]
    return {"format": "rl-workbench/leaderboard-v1", "score": "human-normalised", "confidence": 0.95,
            "agents": agents, "shared_games": [as_plain(s) for s in shared],
            "probability_of_improvement": {"baseline": baseline, "over": improvement}}


def improvement_over(entries: list[Entry], baseline: str) -> dict[str, dict[str, float]]:
    """``{agent: {"p": P(agent > baseline), "games": shared games}}``: over the games both report only."""
    by_name = {e.name: e for e in entries}
    if baseline not in by_name:
        raise ValueError(f"baseline {baseline!r} is not on the leaderboard; choose one of {sorted(by_name)}")
    base = by_name[baseline].hns
    return {e.name: {"p": probability_of_improvement(e.hns, base), "games": len(set(e.hns) & set(base))}
            for e in entries if e.name != baseline and set(e.hns) & set(base)}


def _shared_title(shared: SharedGames) -> str:
    return (f"On the {len(shared.games)} games {shared.subject} reports ({', '.join(shared.games)}), "
            "every agent that reports them all")


def _normalise(scores: dict[str, np.ndarray | list[float]]) -> dict[str, np.ndarray]:
    return {find_game(g).name: np.array([find_game(g).human_normalized(s) for s in v]) for g, v in scores.items()}


def _describe(protocol: tuple) -> str:
    names = ("protocol", "epsilon", *_PROTOCOL_KEYS)
    return ", ".join(f"{n}={v}" for n, v in zip(names, protocol))


def _expand(paths: list[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.rglob("evaluation*.json"))
            if not found:
                raise ValueError(f"{p} holds no evaluation*.json results; run `workbench evaluate` first")
            files += found
        elif p.exists():
            files.append(p)
        else:
            raise ValueError(f"{p} does not exist")
    return files
