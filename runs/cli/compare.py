"""``workbench compare``: finished SimPLe runs side by side."""
from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    compare_cmd = commands.add_parser("compare", help="finished SimPLe runs side by side: model quality and score")
    compare_cmd.add_argument("runs", nargs="+", metavar="RUN", help="run directories (e.g. two world models)")
    compare_cmd.add_argument("--out", help="also write the table to this Markdown file (never overwritten)")
    compare_cmd.set_defaults(handler=_compare)


def _compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from envs.files import atomic_write_text
    from runs.compare import comparison_table

    table = comparison_table([Path(run) for run in args.runs])
    print(table)
    if args.out:
        if Path(args.out).exists():
            raise ValueError(f"{args.out} exists; tables are never overwritten (pass --out with a new file)")
        atomic_write_text(Path(args.out), table + "\n")
    return 0
