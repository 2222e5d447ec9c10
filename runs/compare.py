"""``workbench compare``: finished SimPLe runs side by side, world-model quality and score in one table."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from envs.files import read_json, read_yaml
from runs.leaderboard import markdown_table


def run_row(path: Path) -> dict[str, Any]:
    """What one finished SimPLe run (``results.json`` + ``config.yaml``) contributes to the table."""
    results_path, config_path = path / "results.json", path / "config.yaml"
    if not results_path.exists() or not config_path.exists():
        raise ValueError(f"{path} is not a finished run directory (needs results.json and config.yaml)")
    results, config = read_json(results_path, "results"), read_yaml(config_path, "run config")
    if not results.get("model_quality"):
        raise ValueError(f"{path} is a {results.get('agent')!r} run; compare takes "
                         "world-model agents (simple, simple-ray, composed)")
    world_model = results.get("world_model") or config.get("simple", {}).get("world_model", "simple")
    return {"run": path.name, "world_model": world_model, "game": results["game"],
            "seed": results["seed"], "agent_steps": results["agent_steps"], "quality": results["model_quality"][-1],
            "score": results["final_eval"]["score_mean"], "score_std": results["final_eval"]["score_std"],
            "episodes": results["final_eval"]["episodes"]}


def comparison_table(paths: list[Path]) -> str:
    """Markdown table: one row per run, held-out model quality at the last iteration's horizons, final score."""
    rows = [run_row(p) for p in paths]
    horizons = sorted({int(k.split("@")[1]) for row in rows for k in row["quality"] if "@" in k})
    quality = [f"pixel acc @{h}" for h in horizons] + [f"PSNR @{h}" for h in horizons] + ["reward acc"]
    header = ["run", "world model", "game", "seed", "real steps", *quality, "score (mean ± std, episodes)"]
    table = [header]
    for row in rows:
        q = row["quality"]
        table.append([row["run"], row["world_model"], row["game"], str(row["seed"]), f"{row['agent_steps']:,}",
                      *(_number(q.get(f"pixel_accuracy@{h}")) for h in horizons),
                      *(_number(q.get(f"psnr@{h}"), 2) for h in horizons), _number(q.get("reward_accuracy")),
                      f"{row['score']:.1f} ± {row['score_std']:.1f} ({row['episodes']})"])
    return markdown_table(table)

def _number(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"
