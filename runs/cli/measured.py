"""``workbench measured``: record finished runs' final evaluations as shipped data (``runs/data/measured``)."""
from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    measured_cmd = commands.add_parser(
        "measured", help="record finished runs' final evaluations (with manifest) as data the leaderboard shows")
    measured_cmd.add_argument("runs", nargs="*", metavar="RUN", help="finished run directories, each evaluated once")
    measured_cmd.add_argument("--root", default="runs/data/measured", help="where the records go (commit them)")
    measured_cmd.add_argument("--table", action="store_true",
                              help="print where every record under --root lands among the published runs of the "
                                   "same agent (Markdown)")
    measured_cmd.set_defaults(handler=_measured)


def _measured(args: argparse.Namespace) -> int:
    from pathlib import Path

    from envs.files import require_writable_dir
    from runs.measured import record_measured
    from runs.standing import standing_markdown

    if not args.runs and not args.table:
        raise ValueError("give finished run directories to record, or --table")
    root = require_writable_dir(Path(args.root), "--root")
    for run in args.runs:
        print(f"recorded {record_measured(Path(run), root)}")
    if args.table:
        print(standing_markdown(root))
    return 0
