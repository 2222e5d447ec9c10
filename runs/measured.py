"""What this workbench's own agents measured, shipped as data beside the published scores:
``runs/data/measured/<agent>/<game>-seed<S>.json``, each the final evaluation of one finished run with the
run's manifest (config, seeds, versions, commit, machine) and its wall time, so a user sees what the code
reached and how. The leaderboard shows them as ``rl-workbench <agent> (measured)``."""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from envs.files import atomic_write_text, read_json, read_yaml
from runs.evaluation import RESULTS_FORMAT
from runs.published import PublishedAgent

MEASURED_FORMAT = "rl-workbench/measured-v1"


def record_measured(run: Path, root: Path, evaluation: Path | None = None) -> Path:
    """Write ``root/<agent>/<game>-seed<S>.json`` from a finished run directory and its final evaluation
    (default: the run's only ``evaluation-seed*.json``); an existing file is never overwritten.

    Raises:
        ValueError: the run is unfinished, its evaluation is missing, ambiguous or not of the final policy.
    """
    if not (run / "results.json").exists():
        raise ValueError(f"{run} is not a finished run (no results.json)")
    found = [evaluation] if evaluation else sorted(run.glob("evaluation-seed*.json"))
    if len(found) != 1:
        raise ValueError(f"{run}: expected one evaluation-seed*.json, found {[p.name for p in found]}; pass one")
    result = read_json(found[0], "results")
    if result.get("format") != RESULTS_FORMAT or result.get("policy") != "final":
        raise ValueError(f"{found[0]} is not an evaluation of the final policy")
    results = read_json(run / "results.json", "results")
    config = read_yaml(run / "config.yaml", "run config")
    out = root / result["agent"] / f"{result['game']}-seed{config['seed']}.json"
    if out.exists():
        raise ValueError(f"{out} exists; measured results are never overwritten")
    record = {"format": MEASURED_FORMAT, "evaluation": result, "config": config,
              "manifest": read_json(run / "manifest.json", "manifest"), "agent_steps": results["agent_steps"],
              "wall_time_s": sum(results.get("phase_seconds", {}).values())}
    return atomic_write_text(out, json.dumps(record, indent=2))


def measured_base(root: Path | None = None) -> Path:
    """Where measured records are read from: ``root``, or the shipped ``runs/data/measured``."""
    return Path(str(resources.files("runs").joinpath("data/measured"))) if root is None else root


def measured_records(root: Path | None = None) -> list[tuple[str, Path, dict[str, Any]]]:
    """``(agent, file, record)`` of every measured run under ``root`` (default: the shipped ones), sorted."""
    base = measured_base(root)
    folders = sorted(p for p in base.glob("*") if p.is_dir()) if base.exists() else []
    return [(folder.name, path, _read(path)) for folder in folders for path in sorted(folder.glob("*-seed*.json"))]


def measured_agents(root: Path | None = None) -> list[PublishedAgent]:
    """One row per measured agent (per-run scores: one run per file), from ``root`` (default: the shipped
    ``runs/data/measured``)."""
    by_agent: dict[str, list[dict[str, Any]]] = {}
    for agent, _, record in measured_records(root):
        by_agent.setdefault(agent, []).append(record)
    agents = []
    for agent, records in by_agent.items():
        scores: dict[str, list[float]] = {}
        for record in records:
            scores.setdefault(record["evaluation"]["game"], []).append(float(record["evaluation"]["score_mean"]))
        commits = {(r["manifest"].get("git") or {}).get("commit") or "?" for r in records}
        source = f"measured here: {len(records)} runs, commit {', '.join(sorted(c[:8] for c in commits))}"
        agents.append(PublishedAgent(f"rl-workbench {agent} (measured)", source,
                                     {g: np.asarray(v) for g, v in scores.items()}, True))
    return agents


def _read(path: Path) -> dict[str, Any]:
    record = read_json(path, "measured result")
    if not isinstance(record, dict) or record.get("format") != MEASURED_FORMAT:
        raise ValueError(f"{path} is not a measured result of format {MEASURED_FORMAT!r}")
    return record
