"""How Ray work scales on this machine, all measured in this one run.

    python benchmarks/ray_scaling.py [--trial-steps 4096] [--collect-steps 4096]

1. The same small sweep (PPO, ``--games`` x 2 seeds) with 1 and with 2 concurrent trials (2 CPUs per trial
   vs 1): wall time and real agent steps per second over the whole sweep.
2. The distributed SimPLe agent's real-data collection with 1 and 2 collector actors: wall time of the
   collection phases and real steps per second while collecting.

Efficiency is the speed-up over the 1-worker row divided by the number of workers (1.0 = ideal scaling).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def sweep_row(workers: int, games: tuple[str, ...], steps: int, root: Path) -> dict[str, float]:
    from runs.sweep import SweepConfig
    from runs.sweep.driver import run_sweep

    config = SweepConfig(agent="ppo", games=games, seeds=2, presets=("tiny",), cpus_per_trial=2 / workers,
                         overrides=(f"loop.total_steps={steps}", f"loop.real_steps_per_iteration={steps}"),
                         eval_episodes=1, eval_envs=1,
                         eval_max_frames=400, leaderboard_reps=100, out=str(root / f"sweep-{workers}"))
    started = time.perf_counter()
    outcome = run_sweep(config, verbose=False)
    wall = time.perf_counter() - started
    real = sum(t["agent_steps"] for t in outcome.trials)
    return {"wall_s": wall, "real_steps": real, "steps_per_s": real / wall}


def collector_row(collectors: int, steps: int, root: Path) -> dict[str, float]:
    from runs.configs import to_dict
    from runs.run_dir import RunDir
    from runs.train import build_agent_config
    from runs.train.composed import train_composed

    overrides = [f"runtime.collectors={collectors}", "loop.real_envs=8", f"loop.random_steps={steps}",
                 f"loop.real_steps_per_iteration={steps}", "loop.iterations=1"]
    config = build_agent_config("simple-ray", ["simple-ray-tiny"], overrides, {})
    run = RunDir(root / f"simple-{collectors}", to_dict(config), seeds={"seed": 0})
    started = time.perf_counter()
    results = train_composed(config, run, progress=False)
    wall = time.perf_counter() - started
    collecting = results["phase_seconds"]["collect_random"] + results["phase_seconds"]["collect_0"]
    return {"wall_s": wall, "real_steps": results["agent_steps"], "collect_s": collecting,
            "steps_per_s": 2 * steps / collecting}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", default="Pong,Breakout")
    parser.add_argument("--trial-steps", type=int, default=4096, help="PPO agent steps per sweep trial")
    parser.add_argument("--collect-steps", type=int, default=4096, help="real steps per SimPLe collection")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()

    from runs.ray_cluster import connect

    cpus = connect("local", num_cpus=2)["CPU"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        games = tuple(args.games.split(","))
        for workers in (1, 2):
            rows.append(("sweep, concurrent trials", workers, sweep_row(workers, games, args.trial_steps, root)))
        for workers in (1, 2):
            rows.append(("SimPLe, collectors", workers, collector_row(workers, args.collect_steps, root)))
    print(f"\nRay scaling on {cpus:g} CPUs (embedded Ray; ratios against the 1-worker row of each block)\n")
    print(f"{'what':<26}{'workers':>8}{'wall s':>9}{'real steps':>12}{'steps/s':>10}{'speed-up':>10}{'efficiency':>12}")
    base: dict[str, float] = {}
    for what, workers, row in rows:
        base.setdefault(what, row["steps_per_s"])
        speedup = row["steps_per_s"] / base[what]
        print(f"{what:<26}{workers:>8}{row['wall_s']:>9.1f}{row['real_steps']:>12}{row['steps_per_s']:>10.1f}"
              f"{speedup:>9.2f}x{speedup / workers:>12.2f}")
    print("\nSimPLe steps/s counts the collection phases only: the other phases are not collectors' work.")
    if args.json:
        Path(args.json).write_text(json.dumps([{"what": w, "workers": n, **r} for w, n, r in rows], indent=2))


if __name__ == "__main__":
    main()
