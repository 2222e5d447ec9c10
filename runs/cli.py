"""The ``workbench`` command. Heavy imports happen inside each subcommand, so ``--help`` is instant."""
from __future__ import annotations

import argparse
import sys

from runs import cli_world_model


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
    train_cmd.add_argument("--agent", help="ppo (model-free baseline), rllib, simple (SimPLe in one process), "
                                           "simple-ray (SimPLe on Ray actors) or composed (any combination)")
    train_cmd.add_argument("--game", help="Atari game (Pong, ms_pacman, ALE/Pong-v5) or a Gymnasium id")
    train_cmd.add_argument("--preset", action="append", default=[],
                           help="preset name or YAML path, repeatable; with --agent simple, quick means simple-quick")
    train_cmd.add_argument("--seed", type=int)
    train_cmd.add_argument("--steps", type=int, help="budget in real agent steps (loop.total_steps)")
    train_cmd.add_argument("--device", help="cpu, cuda, cuda:1, auto")
    train_cmd.add_argument("--out", help="run directory (default: runs-out/<agent>-<game>-seed<S>-<config hash>)")
    train_cmd.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    train_cmd.add_argument("--no-progress", action="store_true", help="no progress bar")
    train_cmd.set_defaults(handler=_train)

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

    board_cmd = commands.add_parser("leaderboard", help="aggregate evaluation results next to published agents")
    board_cmd.add_argument("results", nargs="+", metavar="RESULTS", help="evaluation files or folders holding them")
    board_cmd.add_argument("--reps", type=int, default=50_000, help="bootstrap replicates")
    board_cmd.add_argument("--seed", type=int, default=0)
    board_cmd.add_argument("--baseline", help="agent for the probability of improvement (default: SimPLe)")
    board_cmd.add_argument("--no-published", action="store_true", help="leave the published agents out")
    board_cmd.add_argument("--out", default="runs-out/leaderboard", help="folder for leaderboard.md/.html/.png")
    board_cmd.set_defaults(handler=_leaderboard)

    replay_cmd = commands.add_parser("replay", help="play a saved agent (or an action log) and write a video")
    replay_cmd.add_argument("agent", metavar="RUN_OR_AGENT", nargs="?", help="not needed with --actions")
    replay_cmd.add_argument("--episodes", type=int, default=1)
    replay_cmd.add_argument("--seed", type=int, default=0)
    replay_cmd.add_argument("--epsilon", type=float, default=0.0)
    replay_cmd.add_argument("--max-frames", type=int, default=108_000)
    replay_cmd.add_argument("--video", help="mp4 to write, score overlaid")
    replay_cmd.add_argument("--actions", help="replay this action log instead of a policy")
    replay_cmd.add_argument("--log", help="where to write the action log (default: beside the video)")
    replay_cmd.add_argument("--watch", action="store_true", help="show the game in a window (needs a display)")
    replay_cmd.add_argument("--dream", action="store_true",
                            help="world-model agents: write real | imagined side by side from the same start")
    replay_cmd.add_argument("--dream-steps", type=int, default=100)
    replay_cmd.set_defaults(handler=_replay)

    compare_cmd = commands.add_parser("compare", help="finished SimPLe runs side by side: model quality and score")
    compare_cmd.add_argument("runs", nargs="+", metavar="RUN", help="run directories (e.g. two world models)")
    compare_cmd.add_argument("--out", help="also write the table to this Markdown file (never overwritten)")
    compare_cmd.set_defaults(handler=_compare)

    intrinsic_cmd = commands.add_parser("intrinsic", help="intrinsic rewards: fit an arrow-of-time potential")
    intrinsic_sub = intrinsic_cmd.add_subparsers(dest="intrinsic_command", required=True)
    fit_cmd = intrinsic_sub.add_parser("fit", help="random play, potential, control and diagnostics in a run dir")
    fit_cmd.add_argument("overrides", nargs="*", metavar="key.sub=value", help="e.g. arrow.trajectory_lambda=1.0")
    fit_cmd.add_argument("--env", default="workbench/VaseWorld-v0", help="Gymnasium id or Atari game")
    fit_cmd.add_argument("--steps", type=int, help="random agent steps (data_steps)")
    fit_cmd.add_argument("--seed", type=int)
    fit_cmd.add_argument("--out", help="run directory")
    fit_cmd.set_defaults(handler=_intrinsic_fit)

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
    sweep_cmd.set_defaults(handler=_sweep)

    cli_world_model.add_parser(commands)

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
    from runs.agent_registry import agent_entry, agent_of_presets, agent_presets
    from runs.run_dir import configure_run

    agent = args.agent or agent_of_presets(args.preset) or "ppo"
    entry = agent_entry(agent)
    flags = {"agent": agent, "seed": args.seed, "device": args.device,
             "env": {"game": args.game} if args.game else None}
    if args.steps is not None:
        if agent == "simple":
            raise ValueError(f"--steps sets the budget of step-budgeted agents; the {agent} agent's real steps "
                             "come from its preset")
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


def _sweep(args: argparse.Namespace) -> int:
    from runs.sweep import SweepConfig

    config = SweepConfig(
        agent=args.agent, games=tuple(g.strip() for g in args.games.split(",") if g.strip()), seeds=args.seeds,
        presets=tuple(args.preset), overrides=tuple(args.overrides), address=args.address,
        cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial, max_failures=args.max_failures,
        eval_episodes=args.eval_episodes, eval_envs=args.eval_envs, eval_max_frames=args.eval_max_frames,
        name=args.name, leaderboard_reps=args.reps, out=args.out)
    print(f"sweep directory: {config.path} ({len(config.game_names)} games x {config.seeds} seeds)", flush=True)
    from runs.sweep_driver import run_sweep

    outcome = run_sweep(config)
    for t in outcome.trials:
        hns = f", HNS {t['hns']:.3f}" if t["hns"] is not None else ""
        print(f"{t['run']}: {t['agent_steps']} real steps, score {t['score_mean']:.1f}{hns}")
    if outcome.leaderboard:
        print(f"\n{outcome.leaderboard}\nwritten: {', '.join(map(str, outcome.written))}")
    if outcome.failed:
        print(f"failed trials (rerun the same command to retry them): {', '.join(outcome.failed)}", file=sys.stderr)
        return 1
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agents import load
    from runs.evaluation import EvalConfig, evaluate_agent, write_results

    config = EvalConfig(episodes=args.episodes, seed=args.seed, epsilon=args.epsilon, num_envs=args.envs,
                        max_episode_frames=args.max_frames, deterministic=args.deterministic)
    target = Path(args.agent)
    folder = target if target.is_dir() else target.parent
    out = Path(args.out) if args.out else folder / f"evaluation-seed{args.seed}.json"
    if out.exists():
        raise ValueError(f"{out} exists; evaluations are never overwritten (pass --out with a new file)")
    agent = load(target)
    label = args.name or agent.meta.get("agent", agent.meta.get("learner", "agent"))
    results = evaluate_agent(agent, config, label, progress=not args.no_progress)
    write_results(results, out)
    hns = f" (HNS {results['hns']:.3f})" if "hns" in results else ""
    print(f"{label} on {results['game']}: {results['score_mean']:.1f} mean raw score over {config.episodes} games{hns}")
    print(f"results: {out}")
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runs.leaderboard import build, load_results, terminal_table, write_reports

    entries = build(load_results(args.results), reps=args.reps, seed=args.seed,
                    include_published=not args.no_published)
    baseline = args.baseline or ("SimPLe" if not args.no_published else entries[0].name)
    improvement, written = write_reports(entries, baseline, Path(args.out))
    print(terminal_table(entries))
    print(f"\nprobability of improvement over {baseline}: "
          + ", ".join(f"{name} {p:.2f}" for name, p in improvement.items()))
    print(f"written: {', '.join(map(str, written))}")
    return 0


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


def _replay(args: argparse.Namespace) -> int:
    import dataclasses
    import os
    from pathlib import Path

    from envs import AtariConfig
    from runs.replay import load_log, replay, write_outputs

    if args.watch and not os.environ.get("DISPLAY"):
        raise ValueError("--watch needs a display (DISPLAY is not set); write a --video instead")
    log = load_log(args.actions) if args.actions else None
    if log:
        env_id, env_config, agent = log["env_id"], AtariConfig(**log["env"]), None
    elif args.agent:
        from agents import load

        agent = load(args.agent)
        env_id, env_config = agent.env_id, agent.env_config
    else:
        raise ValueError("give RUN_OR_AGENT to play, or --actions LOG to replay")
    env_config = dataclasses.replace(env_config, max_episode_frames=args.max_frames) if not log else env_config
    if args.dream:
        return _dream(args, agent, env_id, env_config)
    new_log, frames = replay(env_id, env_config, args.episodes, args.seed, agent, log, args.epsilon, args.watch)
    video = Path(args.video) if args.video else None
    log_path = Path(args.log) if args.log else (video.with_suffix(".actions.json") if video else Path("actions.json"))
    if log:
        for i, (old, new) in enumerate(zip(log["episodes"], new_log["episodes"])):
            same = old["frames_sha256"] == new["frames_sha256"]
            verdict = "identical to" if same else "DIFFER from"
            print(f"episode {i + 1}: score {new['score']:g}; frames {verdict} the log")
    else:
        for i, episode in enumerate(new_log["episodes"]):
            steps = len(episode["actions"])
            print(f"episode {i + 1} (seed {episode['seed']}): score {episode['score']:g}, {steps} steps")
    write_outputs(new_log, frames, video, log_path)
    print(f"action log: {log_path}" + (f"\nvideo: {video}" if video else ""))
    return 0


def _dream(args: argparse.Namespace, agent, env_id: str, env_config) -> int:
    from pathlib import Path

    from envs.video import write_mp4
    from runs.replay import dream
    from world_models import SimPLeWorldModel

    if agent is None or "world_model" not in agent.meta:
        raise ValueError("--dream needs an agent trained with a world model (e.g. --agent simple)")
    model = SimPLeWorldModel.from_checkpoint(Path(agent.meta["path"]) / agent.meta["world_model"])
    frames = dream(agent, model, env_id, env_config, args.seed, args.dream_steps)
    video = Path(args.video or "dream.mp4")
    write_mp4(frames, video, fps=8)
    print(f"real | imagined, {len(frames)} steps: {video}")
    return 0


def _intrinsic_fit(args: argparse.Namespace) -> int:
    from runs.intrinsic_fit import IntrinsicFitConfig, fit_and_report
    from runs.run_dir import configure_run

    flags = {"env": {"game": args.env}, "data_steps": args.steps, "seed": args.seed}
    config, run = configure_run(IntrinsicFitConfig, [], args.overrides, flags, args.out)
    results = fit_and_report(config, run)
    print(f"{'objective':<16} {'J':>8} {'J rev':>8} {'AUROC':>6} {'|dh|':>6} {'jump@ev':>8} {'else':>8} "
          f"{'Spearman':>8} {'ctrl AUROC':>10}")
    for objective, entry in results["objectives"].items():
        held, control = entry["heldout"], entry["control_shuffled_order"]
        print(f"{objective:<16} {held['J']:>8.4f} {held['J_reversed']:>8.4f} {held.get('auroc', float('nan')):>6.3f} "
              f"{held.get('auroc_abs', float('nan')):>6.3f} {held['jump_at_events']:>8.3f} "
              f"{held['jump_elsewhere']:>8.3f} {held['median_episode_spearman']:>8.3f} "
              f"{control.get('auroc', float('nan')):>10.3f}")
    print("jumps: 2*lambda*dh (functional), dh in episode fractions (time_regression); held-out episodes")
    print(f"run directory: {run.path} (report.json, potential*.pt, h_around_events*.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
