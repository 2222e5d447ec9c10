"""``workbench evaluate``: a saved agent's final policy under the evaluation protocol."""
from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    eval_cmd = commands.add_parser("evaluate", help="play a saved agent's final policy under the evaluation protocol")
    eval_cmd.add_argument("agent", metavar="RUN_OR_AGENT", help="run directory, saved-agent directory or checkpoint")
    eval_cmd.add_argument("--episodes", type=int, default=100)
    eval_cmd.add_argument("--seed", type=int, default=0)
    eval_cmd.add_argument("--epsilon", type=float, default=0.001, help="random-action probability (protocol: 0.001)")
    eval_cmd.add_argument("--envs", type=int, default=8, help="parallel envs the episodes are spread over")
    eval_cmd.add_argument("--max-frames", type=int, default=108_000, help="episode cap in frames")
    eval_cmd.add_argument("--deterministic", action="store_true", help="most likely action instead of sampling")
    eval_cmd.add_argument("--name", help="agent name on the leaderboard (default: the agent's type)")
    eval_cmd.add_argument("--out", help="results file (default: RUN/evaluation-seed<S>.json)")
    eval_cmd.add_argument("--no-progress", action="store_true")
    eval_cmd.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agents import load
    from envs.files import require_writable_file
    from runs.evaluation import EvalConfig, evaluate_agent, write_results

    config = EvalConfig(episodes=args.episodes, seed=args.seed, epsilon=args.epsilon, num_envs=args.envs,
                        max_episode_frames=args.max_frames, deterministic=args.deterministic)
    target = Path(args.agent)
    folder = target if target.is_dir() else target.parent
    out = Path(args.out) if args.out else folder / f"evaluation-seed{args.seed}.json"
    if out.exists():
        raise ValueError(f"{out} exists; evaluations are never overwritten (pass --out with a new file)")
    require_writable_file(out, "--out")
    agent = load(target)
    label = args.name or agent.meta.get("agent", agent.meta.get("learner", "agent"))
    results = evaluate_agent(agent, config, label, progress=not args.no_progress)
    write_results(results, out)
    hns = f" (HNS {results['hns']:.3f})" if "hns" in results else ""
    print(f"{label} on {results['game']}: {results['score_mean']:.1f} mean raw score over {config.episodes} games{hns}")
    print(f"results: {out}")
    return 0
