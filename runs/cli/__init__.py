"""The ``workbench`` command: one module per subcommand (its arguments and handler). Heavy imports happen inside
each handler, so ``--help`` is instant."""
from __future__ import annotations

import argparse
import sys

from runs.cli import compare, envs, evaluate, intrinsic, leaderboard, measured, replay, sweep, train, world_model

COMMANDS = [envs, train, evaluate, leaderboard, measured, replay, compare, intrinsic, sweep, world_model]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workbench", description="Sample-efficient Atari agents from world models.")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(commands)

    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as e:  # bad input: one clear line, no traceback
        print(f"workbench {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
