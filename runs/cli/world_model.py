"""``workbench world-model collect|train|eval``: world models trained and judged on their own (C-SWM)."""
from __future__ import annotations

import argparse

DATA_NAMES = ["shapes", "cubes", "pong", "spaceinvaders", "physics"]


def add_parser(commands: argparse._SubParsersAction) -> None:
    world = commands.add_parser("world-model", help="C-SWM: collect its datasets, train it, evaluate Hits@1/MRR")
    sub = world.add_subparsers(dest="world_model_command", required=True)

    collect = sub.add_parser("collect", help="random-policy datasets of the paper (cached; never overwritten)")
    collect.add_argument("--data", required=True, choices=DATA_NAMES)
    collect.add_argument("--split", choices=["train", "eval", "both"], default="both")
    collect.add_argument("--train-episodes", type=int, help="default: the paper's (1,000; 5,000 physics)")
    collect.add_argument("--train-steps", type=int, help="steps per train episode (default: the paper's)")
    collect.add_argument("--eval-episodes", type=int,
                         help="default: the paper's (10,000 shapes/cubes, 100 Atari, 1,000 physics)")
    collect.add_argument("--dir", default=None, help="dataset folder (default: runs-out/data)")
    collect.set_defaults(handler=_collect)

    train = sub.add_parser("train", help="train a world model in a run directory (same command resumes it)",
                           description="Presets apply in order, then flags, then key.sub=value overrides.")
    train.add_argument("overrides", nargs="*", metavar="key.sub=value", help="e.g. cswm.epochs=20")
    train.add_argument("--model", default="cswm", choices=["cswm"])
    train.add_argument("--data", choices=DATA_NAMES, help="dataset; its preset (cswm-<data>) applies first")
    train.add_argument("--preset", action="append", default=[], help="preset name or YAML path, repeatable")
    train.add_argument("--epochs", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument("--device", help="cpu, cuda, cuda:1")
    train.add_argument("--out", help="run directory (default: runs-out/cswm-<data>-seed<S>-<config hash>)")
    train.add_argument("--extend", metavar="RUN", help="start from RUN's last checkpoint (same config, more epochs)")
    train.add_argument("--print-config", action="store_true")
    train.add_argument("--no-progress", action="store_true")
    train.set_defaults(handler=_train)

    evaluate = sub.add_parser("eval", help="Hits@1 and MRR at 1/5/10 steps of a saved C-SWM")
    evaluate.add_argument("model", metavar="RUN_OR_CHECKPOINT")
    evaluate.add_argument("--data", choices=DATA_NAMES, help="default: the run's dataset")
    evaluate.add_argument("--eval-episodes", type=int, help="default: the run's (or the paper's)")
    evaluate.add_argument("--horizons", type=int, nargs="+", default=[1, 5, 10])
    evaluate.add_argument("--device", default="cpu")
    evaluate.add_argument("--out", help="results file (default: beside the checkpoint, evaluation-<data>.json)")
    evaluate.set_defaults(handler=_evaluate)


def _collect(args: argparse.Namespace) -> int:
    from runs.train.cswm import DataConfig

    fields = {"name": args.data, "train_episodes": args.train_episodes, "train_steps": args.train_steps,
              "eval_episodes": args.eval_episodes}
    data = DataConfig(**{k: v for k, v in fields.items() if v is not None},
                      **({"directory": args.dir} if args.dir else {}))
    for split in ("train", "eval") if args.split == "both" else (args.split,):
        path = data.path(split)
        existed = path.exists()
        dataset = data.load_or_collect(split)
        print(f"{split}: {dataset.num_episodes} episodes x {dataset.length} steps, obs {dataset.obs_shape} uint8 "
              f"-> {path}" + (" (already there, kept)" if existed else ""))
    return 0


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runs.configs import resolve_preset
    from runs.run_dir import configure_run
    from runs.train.cswm import CSWMTrainConfig, extend_from, train_cswm

    presets = [f"cswm-{args.data}"] if args.data else []
    presets += [resolve_preset(name, "cswm") for name in args.preset]
    epochs = {"epochs": args.epochs} if args.epochs is not None else None
    flags = {"seed": args.seed, "device": args.device, "cswm": epochs}
    config, run = configure_run(CSWMTrainConfig, presets or ["cswm-shapes"], args.overrides, flags, args.out,
                                args.print_config)
    if run is None:
        return 0
    if args.extend:
        extend_from(Path(args.extend), run, config)
    results = train_cswm(config, run, not args.no_progress)
    for entry in results["evaluation"]:
        print(f"{entry['horizon']:>2} steps: Hits@1 {entry['hits_at_1']:.4f}  MRR {entry['mrr']:.4f}  "
              f"({entry['candidates']} candidates)")
    print(f"run directory: {results['run']}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from envs.files import read_yaml, require_writable_file
    from envs.validate import require_device_available
    from runs.configs import from_dict
    from runs.train.cswm import DataConfig, chosen_checkpoint, evaluate_checkpoint

    require_device_available("--device", args.device)
    target = Path(args.model)
    saved = target / "config.yaml"
    run_config = read_yaml(saved, "run config") if saved.exists() else None
    if run_config is not None and run_config.get("model") != "cswm":
        raise ValueError(f"{target} is a run of agent {run_config.get('agent', '?')!r}, not a C-SWM run; "
                         "world-model eval judges C-SWM runs (workbench world-model train)")
    checkpoint = chosen_checkpoint(target)
    data = from_dict(DataConfig, run_config["data"], "data") if run_config is not None else None
    if data is None and not args.data:
        raise ValueError(f"{target} is a checkpoint file; pass --data to choose the eval dataset")
    if args.data and (data is None or args.data != data.name):
        data = DataConfig(name=args.data)
    if args.eval_episodes:
        data = dataclasses.replace(data, eval_episodes=args.eval_episodes)
    folder = target if target.is_dir() else target.parent
    out = Path(args.out) if args.out else folder / f"evaluation-{data.name}-{data.path('eval').stem}.json"
    require_writable_file(out, "--out")
    results = evaluate_checkpoint(checkpoint, data, tuple(args.horizons), out, args.device)
    for entry in results["evaluation"]:
        print(f"{entry['horizon']:>2} steps: Hits@1 {entry['hits_at_1']:.4f}  MRR {entry['mrr']:.4f}  "
              f"({entry['candidates']} candidates)")
    print(f"checkpoint: {checkpoint}\nresults: {out}")
    return 0
