"""``workbench leaderboard``: evaluation results beside published agents."""
from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    board_cmd = commands.add_parser("leaderboard", help="aggregate evaluation results next to published agents")
    board_cmd.add_argument("results", nargs="+", metavar="RESULTS", help="evaluation files or folders holding them")
    board_cmd.add_argument("--reps", type=int, default=50_000, help="bootstrap replicates")
    board_cmd.add_argument("--seed", type=int, default=0)
    board_cmd.add_argument("--baseline", help="agent for the probability of improvement (default: SimPLe)")
    board_cmd.add_argument("--no-published", action="store_true", help="leave the published agents out")
    board_cmd.add_argument("--out", default="runs-out/leaderboard", help="folder for leaderboard.md/.html/.png")
    board_cmd.set_defaults(handler=_leaderboard)


def _leaderboard(args: argparse.Namespace) -> int:
    from pathlib import Path

    from envs.files import require_writable_dir
    from envs.validate import require_range
    from runs.leaderboard import build, load_results, terminal_table, write_reports
    from runs.shared_games import shared_comparisons

    require_range("--reps", args.reps, 1)
    require_writable_dir(Path(args.out), "--out")
    entries = build(load_results(args.results), reps=args.reps, seed=args.seed,
                    include_published=not args.no_published)
    baseline = args.baseline or ("SimPLe" if not args.no_published else entries[0].name)
    shared = shared_comparisons(entries, reps=args.reps, seed=args.seed)
    improvement, written = write_reports(entries, baseline, Path(args.out), shared)
    print(terminal_table(entries, shared))
    print(f"\nprobability of improvement over {baseline} (over the games both report): "
          + ", ".join(f"{name} {v['p']:.2f} ({v['games']} games)" for name, v in improvement.items()))
    print(f"written: {', '.join(map(str, written))}")
    return 0
