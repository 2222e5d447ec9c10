"""``workbench train``: build an agent's config, open its run directory, train."""
from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    train_cmd = commands.add_parser(
        "train", help="train an agent; the same command on the same run directory resumes it",
        description="Presets apply in order, then flags, then key.sub=value overrides.",
    )
    train_cmd.add_argument("overrides", nargs="*", metavar="key.sub=value", help="e.g. ppo.learning_rate=1e-4")
    train_cmd.add_argument("--agent", help="ppo (model-free baseline), rllib, simple (SimPLe in one process), "
                                           "simple-ray (SimPLe on Ray actors) or composed (any combination)")
    train_cmd.add_argument("--game", help="Atari game (Pong, ms_pacman, ALE/Pong-v5) or a Gymnasium id")
    train_cmd.add_argument("--preset", action="append", default=[],
                           help="preset name or YAML path, repeatable; with --agent simple, quick means simple-quick")
    train_cmd.add_argument("--seed", type=int)
    train_cmd.add_argument("--steps", type=int, help="budget in real agent steps (loop.total_steps)")
    train_cmd.add_argument("--device", help="cpu, cuda, cuda:1, mps")
    train_cmd.add_argument("--out", help="run directory (default: runs-out/<agent>-<game>-seed<S>-<config hash>)")
    train_cmd.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    train_cmd.add_argument("--no-progress", action="store_true", help="no progress bar")
    train_cmd.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from runs.run_dir import configure_run
    from runs.train import agent_entry, agent_of_presets, agent_presets

    agent = args.agent or agent_of_presets(args.preset) or "ppo"
    entry = agent_entry(agent)
    flags = {"agent": agent, "seed": args.seed, "device": args.device,
             "env": {"game": args.game} if args.game else None}
    if args.steps is not None:
        flags["loop"] = {"total_steps": args.steps}
    config, run = configure_run(entry.config_type(), agent_presets(agent, args.preset), args.overrides, flags,
                                args.out, args.print_config)
    if run is None:
        return 0
    results = entry.train()(config, run, progress=not args.no_progress)
    final = results["final_eval"]
    print(f"done: {results['agent_steps']} real agent steps; final eval {final['score_mean']:.1f} "
          f"over {final['episodes']} games" + (f" (HNS {final['hns']:.3f})" if "hns" in final else ""))
    print(f"run directory: {run.path}")
    return 0
