"""The ``workbench`` command. Heavy imports happen inside each subcommand, so ``--help`` is instant."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workbench", description="Sample-efficient Atari agents from world models.")
    commands = parser.add_subparsers(dest="command", required=True)

    envs_cmd = commands.add_parser("envs", help="the 26 Atari 100k games, their scores and the protocol in force")
    envs_cmd.set_defaults(handler=_envs)

    train_cmd = commands.add_parser(
        "train", help="train an agent; the same command on the same run directory resumes it",
        description="Presets apply in order, then flags, then key.sub=value overrides.",
    )
    train_cmd.add_argument("overrides", nargs="*", metavar="key.sub=value", help="e.g. ppo.learning_rate=1e-4")
    train_cmd.add_argument("--agent", help="agent to train (ppo)")
    train_cmd.add_argument("--game", help="Atari game (Pong, ms_pacman, ALE/Pong-v5) or a Gymnasium id")
    train_cmd.add_argument("--preset", action="append", default=[], help="preset name or YAML path (repeatable)")
    train_cmd.add_argument("--seed", type=int)
    train_cmd.add_argument("--steps", type=int, help="budget in agent steps (total_steps)")
    train_cmd.add_argument("--device", help="cpu, cuda, cuda:1, auto")
    train_cmd.add_argument("--out", help="run directory (default: runs-out/<agent>-<game>-seed<S>-<config hash>)")
    train_cmd.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    train_cmd.add_argument("--no-progress", action="store_true", help="no progress bar")
    train_cmd.set_defaults(handler=_train)

    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as e:  # bad input: one clear line, no traceback
        print(f"workbench {args.command}: error: {e}", file=sys.stderr)
        return 2


def _envs(args: argparse.Namespace) -> int:
    import dataclasses

    from envs import PROTOCOL_VERSION, AtariConfig, atari100k_games

    print(f"{'game':<16}{'ALE ROM':<18}{'random':>10}{'human':>10}")
    for g in atari100k_games():
        print(f"{g.name:<16}{g.rom:<18}{g.random:>10.1f}{g.human:>10.1f}")
    print(f"\nprotocol {PROTOCOL_VERSION} (AtariConfig defaults; override with env.<field>=...):")
    for f in dataclasses.fields(AtariConfig):
        if f.name != "game":
            print(f"  {f.name:<20}{getattr(AtariConfig(), f.name)!r}")
    print("  ALE frameskip       1 (the skip above is ours, with max-pool)\n"
          "  life-loss terminal  train mode only\n  reward clipping     train mode only\n"
          "  info                raw_reward, score, lives, life_lost, game_over")
    return 0


def _train(args: argparse.Namespace) -> int:
    import yaml

    from runs.configs import build, to_dict
    from runs.run_dir import RunDir, default_run_path
    from runs.train import TrainConfig, train

    flags = {"agent": args.agent, "seed": args.seed, "total_steps": args.steps, "device": args.device,
             "env": {"game": args.game} if args.game else None}
    config = build(TrainConfig, args.preset or ["atari100k"], args.overrides,
                   {k: v for k, v in flags.items() if v is not None})
    data = to_dict(config)
    if args.print_config:
        print(yaml.safe_dump(data, sort_keys=False), end="")
        return 0
    run = RunDir(args.out or default_run_path(data, config.run_name), data, seeds={"seed": config.seed})
    print(f"run directory: {run.path}" + (" (resuming)" if run.resumed else ""), flush=True)
    results = train(config, run, progress=not args.no_progress)
    final = results["final_eval"]
    print(f"done: {results['agent_steps']} agent steps; final eval {final['score_mean']:.1f} "
          f"over {final['episodes']} games" + (f" (HNS {final['hns']:.3f})" if "hns" in final else ""))
    print(f"run directory: {run.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
