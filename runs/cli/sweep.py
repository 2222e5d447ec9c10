"""``workbench sweep``: one Ray Tune trial per (agent, game, seed), then the leaderboard."""
from __future__ import annotations

import argparse
import sys


def add_parser(commands: argparse._SubParsersAction) -> None:
    sweep_cmd = commands.add_parser(
        "sweep", help="one Ray Tune trial per (agent, game, seed): train, evaluate, then the leaderboard",
        description="The same command resumes a sweep whose driver died: finished trials are skipped.")
    sweep_cmd.add_argument("overrides", nargs="*", metavar="key.sub=value", help="agent config overrides")
    sweep_cmd.add_argument("--agent", default="ppo", help="ppo, simple, rllib (as in `workbench train`)")
    sweep_cmd.add_argument("--games", default="atari100k", help="comma-separated games, or atari100k (all 26)")
    sweep_cmd.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per game")
    sweep_cmd.add_argument("--preset", action="append", default=[], help="agent preset, repeatable")
    sweep_cmd.add_argument("--address", help="Ray cluster: auto or host:port (default: RAY_ADDRESS, else local)")
    sweep_cmd.add_argument("--cpus-per-trial", type=float, default=1.0)
    sweep_cmd.add_argument("--gpus-per-trial", type=float, default=0.0, help="> 0 trains on cuda")
    sweep_cmd.add_argument("--max-failures", type=int, default=2, help="restarts of a failed trial")
    sweep_cmd.add_argument("--eval-episodes", type=int, default=100, help="final evaluation games per trial")
    sweep_cmd.add_argument("--eval-envs", type=int, default=8)
    sweep_cmd.add_argument("--eval-max-frames", type=int, default=108_000)
    sweep_cmd.add_argument("--name", help="the agent's name on the leaderboard (default: --agent)")
    sweep_cmd.add_argument("--out", help="sweep directory (default: runs-out/sweeps/<agent>-<games>-<N>seeds-<hash>)")
    sweep_cmd.add_argument("--reps", type=int, default=10_000, help="bootstrap replicates of the leaderboard")
    sweep_cmd.add_argument("--status-every", type=float, default=30.0,
                           help="seconds between status lines of the running trials")
    sweep_cmd.add_argument("--verbose", action="store_true",
                           help="also Tune's tables and the trials' own output (warnings, deprecations)")
    sweep_cmd.set_defaults(handler=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    from runs.sweep import SweepConfig

    config = SweepConfig(
        agent=args.agent, games=tuple(g.strip() for g in args.games.split(",") if g.strip()), seeds=args.seeds,
        presets=tuple(args.preset), overrides=tuple(args.overrides), address=args.address,
        cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial, max_failures=args.max_failures,
        eval_episodes=args.eval_episodes, eval_envs=args.eval_envs, eval_max_frames=args.eval_max_frames,
        name=args.name, leaderboard_reps=args.reps, out=args.out)
    print(f"sweep directory: {config.path} ({len(config.game_names)} games x {config.seeds} seeds)", flush=True)
    from runs.sweep.driver import run_sweep

    outcome = run_sweep(config, verbose=args.verbose, status_every=args.status_every)
    for t in outcome.trials:
        hns = f", HNS {t['hns']:.3f}" if t["hns"] is not None else ""
        print(f"{t['run']}: {t['agent_steps']} real steps, score {t['score_mean']:.1f}{hns}")
    if outcome.leaderboard:
        print(f"\n{outcome.leaderboard}\nwritten: {', '.join(map(str, outcome.written))}")
    if outcome.failed:
        print(f"failed trials (rerun the same command to retry them): {', '.join(outcome.failed)}", file=sys.stderr)
        return 1
    return 0
