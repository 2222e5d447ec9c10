"""``workbench intrinsic fit``: an arrow-of-time potential, its control and diagnostics."""
from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    intrinsic_cmd = commands.add_parser("intrinsic", help="intrinsic rewards: fit an arrow-of-time potential")
    intrinsic_sub = intrinsic_cmd.add_subparsers(dest="intrinsic_command", required=True)
    fit_cmd = intrinsic_sub.add_parser("fit", help="random play, potential, control and diagnostics in a run dir")
    fit_cmd.add_argument("overrides", nargs="*", metavar="key.sub=value", help="e.g. arrow.trajectory_lambda=1.0")
    fit_cmd.add_argument("--env", default="workbench/VaseWorld-v0", help="Gymnasium id or Atari game")
    fit_cmd.add_argument("--steps", type=int, help="random agent steps (data_steps)")
    fit_cmd.add_argument("--seed", type=int)
    fit_cmd.add_argument("--out", help="run directory")
    fit_cmd.set_defaults(handler=_intrinsic_fit)



def _intrinsic_fit(args: argparse.Namespace) -> int:
    from runs.run_dir import configure_run
    from runs.train.intrinsic_fit import IntrinsicFitConfig, fit_and_report

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
