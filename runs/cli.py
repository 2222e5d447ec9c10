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
    train_cmd.add_argument("--agent", help="agent to train: ppo (model-free baseline) or simple (SimPLe)")
    train_cmd.add_argument("--game", help="Atari game (Pong, ms_pacman, ALE/Pong-v5) or a Gymnasium id")
    train_cmd.add_argument("--preset", action="append", default=[],
                           help="preset name or YAML path, repeatable; with --agent simple, quick means simple-quick")
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


# agent -> (module, config class, train function, default preset)
AGENTS = {
    "ppo": ("runs.train", "TrainConfig", "train", "atari100k"),
    "simple": ("runs.train_simple", "SimPLeTrainConfig", "train_simple", "paper"),
}


def _train(args: argparse.Namespace) -> int:
    from importlib import import_module

    import yaml

    from runs.configs import build, load_preset, resolve_preset, to_dict
    from runs.run_dir import RunDir, default_run_path

    agent = args.agent or _agent_of_presets(args.preset, load_preset) or "ppo"
    if agent not in AGENTS:
        raise ValueError(f"--agent {agent!r} is not known; choose one of {sorted(AGENTS)}")
    module_name, config_name, train_name, default_preset = AGENTS[agent]
    module = import_module(module_name)
    presets = [resolve_preset(name, agent) for name in args.preset or [default_preset]]
    flags = {"agent": agent, "seed": args.seed, "device": args.device,
             "env": {"game": args.game} if args.game else None}
    if args.steps is not None:
        if agent != "ppo":
            raise ValueError(f"--steps sets the PPO budget; the {agent} agent's real steps come from its preset")
        flags["total_steps"] = args.steps
    config = build(getattr(module, config_name), presets, args.overrides,
                   {k: v for k, v in flags.items() if v is not None})
    data = to_dict(config)
    if args.print_config:
        print(yaml.safe_dump(data, sort_keys=False), end="")
        return 0
    run = RunDir(args.out or default_run_path(data, config.run_name), data, seeds={"seed": config.seed})
    print(f"run directory: {run.path}" + (" (resuming)" if run.resumed else ""), flush=True)
    results = getattr(module, train_name)(config, run, progress=not args.no_progress)
    final = results["final_eval"]
    print(f"done: {results['agent_steps']} real agent steps; final eval {final['score_mean']:.1f} "
          f"over {final['episodes']} games" + (f" (HNS {final['hns']:.3f})" if "hns" in final else ""))
    print(f"run directory: {run.path}")
    return 0


def _agent_of_presets(presets: list[str], load_preset) -> str | None:
    for name in reversed(presets):
        try:
            agent = load_preset(name).get("agent")
        except ValueError:
            continue  # e.g. "quick": only meaningful with --agent
        if agent:
            return agent
    return None


if __name__ == "__main__":
    sys.exit(main())
