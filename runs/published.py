"""Published Atari 100k scores shipped with the workbench (see ``runs/data``), with sources and caveats."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np


@dataclass(frozen=True)
class PublishedAgent:
    """Raw game scores of a published agent: ``scores[game]`` holds one entry per run (or one mean)."""

    name: str
    source: str
    scores: dict[str, np.ndarray]
    per_run: bool
    flag: str = ""


# CSV column -> (label, source, flag)
_TABLE_COLUMNS = {
    "SimPLe_SPR_EZ_table": ("SimPLe (CURL/SPR table)", "as CURL/DrQ/SPR/EZ print it", "best of two result sets"),
    "DER": ("DER", "paper table", ""),
    "OTRainbow": ("OTRainbow", "paper table", ""),
    "CURL": ("CURL", "paper table", ""),
    "DrQ": ("DrQ", "paper table", "evaluated with epsilon 0.05"),
    "SPR": ("SPR", "paper table", ""),
    "MuZero_EZ": ("MuZero", "EfficientZero paper (re-run by its authors)", ""),
    "EfficientZero": ("EfficientZero", "EfficientZero paper", ""),
    "STORM": ("STORM", "official per-seed results, 5 seeds (means)", "sticky actions 0.25"),
    "BBF": ("BBF", "paper table", ""),
    "DreamerV3_derived_notpublished": ("DreamerV3", "derived from released training curves", "not a published table"),
    "DER_rliable100": ("DER (rliable)", "rliable 100-run re-runs (means)", ""),
    "OTRainbow_rliable100": ("OTRainbow (rliable)", "rliable 100-run re-runs (means)", ""),
    "CURL_rliable100": ("CURL (rliable)", "rliable 100-run re-runs (means)", ""),
    "DrQ_rliable100": ("DrQ (rliable)", "rliable 100-run re-runs (means)", ""),
}
# per-run files -> (label, source)
_RUN_FILES = {
    "SimPLe": ("SimPLe", "5 runs released with rliable"),
    "IRIS": ("IRIS", "official per-seed results, 5 seeds"),
    "DIAMOND": ("DIAMOND", "official per-seed results, 5 seeds"),
    "SPR": ("SPR (rliable)", "rliable 100-run re-runs"),
    "DrQ_eps": ("DrQ(eps) (rliable)", "rliable 100-run re-runs"),
}


@lru_cache(maxsize=1)
def published_agents() -> tuple[PublishedAgent, ...]:
    data = resources.files("runs").joinpath("data")
    rows = list(csv.DictReader(data.joinpath("published_scores.csv").read_text().splitlines()))
    agents = []
    for stem, (label, source) in _RUN_FILES.items():
        runs = json.loads(data.joinpath(f"published_runs/{stem}.json").read_text())
        agents.append(PublishedAgent(label, source, {g: np.asarray(v, float) for g, v in runs.items()}, True))
    for column, (label, source, flag) in _TABLE_COLUMNS.items():
        scores = {r["game"]: np.array([float(r[column])]) for r in rows if r.get(column) not in ("", None)}
        agents.append(PublishedAgent(label, source, scores, False, flag))
    return tuple(agents)
