"""One sweep trial, as it runs on a Ray worker: train in its run directory (resuming), evaluate, report."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def run_trial(params: dict[str, Any]) -> dict[str, Any]:
    """Train ``params["agent"]`` with the resolved ``params["config"]`` in ``params["run_dir"]``, then write
    ``evaluation-seed<S>.json`` there under ``params["eval"]`` (an :class:`runs.evaluation.EvalConfig`).

    Safe to call again after any crash: a finished run is not retrained and a written evaluation is reused.
    Returns (and reports to Tune) the final evaluation's mean score and HNS, and the run's real agent steps.
    """
    import torch

    torch.set_num_threads(params["threads"])
    run_dir = Path(params["run_dir"])
    results = _train(params, run_dir)
    evaluation = _evaluate(params, run_dir)
    summary = {"game": params["game"], "seed": params["seed"], "agent_steps": results["agent_steps"],
               "score_mean": evaluation["score_mean"], "hns": evaluation.get("hns")}
    _report(summary)
    return summary


def _train(params: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    from runs.configs import from_dict
    from runs.run_dir import RunDir
    from runs.train import agent_entry

    if (run_dir / "results.json").exists():
        return json.loads((run_dir / "results.json").read_text())
    entry = agent_entry(params["agent"])
    config = from_dict(entry.config_type(), params["config"])
    # Tune runs one copy of a trial at a time: a restarted trial takes over its dead predecessor's lock.
    run = RunDir(run_dir, params["config"], seeds={"seed": params["seed"]}, steal_lock=True)
    return entry.train()(config, run, progress=False)


def _evaluate(params: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    from agents import load
    from runs.evaluation import EvalConfig, evaluate_agent, write_results

    config = EvalConfig(**params["eval"])
    out = run_dir / f"evaluation-seed{config.seed}.json"
    if out.exists():
        return json.loads(out.read_text())
    results = evaluate_agent(load(run_dir), config, params["label"], progress=False)
    write_results(results, out)
    return results


def _report(summary: dict[str, Any]) -> None:
    from ray import tune

    tune.report({k: v for k, v in summary.items() if v is not None})


def tune_trainable(config: dict[str, Any]) -> None:
    """The Ray Tune function trainable: ``config["trial"]`` holds one entry of ``SweepConfig.trial_params()``."""
    run_trial(config["trial"])


def trial_name(trial: Any) -> str:
    """``<agent>-<game>-seed<S>``: Tune's name and folder for a trial, matching its run directory."""
    params = trial.config["trial"]
    return Path(params["run_dir"]).name
