"""The report of ``benchmarks/gpu_check.sh``: device facts, the benchmark's figures and the cut-short run's phase
times in one JSON file (``OUT/gpu_check.json``), and a table. Exits 1 when a part is missing.

    python benchmarks/gpu_check_report.py OUT [--run-dir RUN] [--device cuda] [--size paper]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import torch
import yaml


def device_facts(device: torch.device, out: Path) -> dict:
    facts = {"device": str(device), "torch": torch.__version__, "python": platform.python_version(),
             "cpu_threads": torch.get_num_threads()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        facts.update(name=props.name, memory_gib=round(props.total_memory / 2**30, 1),
                     capability=f"{props.major}.{props.minor}", multiprocessors=props.multi_processor_count,
                     cuda=torch.version.cuda, bf16=torch.cuda.is_bf16_supported())
    else:
        facts["name"] = platform.processor() or platform.machine()
    smi = out / "nvidia-smi.csv"
    if smi.exists():
        facts["nvidia_smi"] = smi.read_text().strip()
    return facts


def run_phases(run: Path) -> dict | None:
    """The cut-short run's phase seconds and what each phase did per second."""
    results = run / "results.json"
    if not results.exists():
        return None
    record = json.loads(results.read_text())
    loop = yaml.safe_load((run / "config.yaml").read_text())["loop"]
    seconds = record["phase_seconds"]
    work = {"collect_random": loop.get("random_steps"), "fit_0": loop.get("model_steps_first"),
            "policy_0": record.get("simulated_steps"), "collect_0": loop.get("real_steps_per_iteration")}
    units = {"collect_random": "real steps/s", "fit_0": "model updates/s", "policy_0": "imagined steps/s",
             "collect_0": "real steps/s"}
    phases = {name: {"seconds": s, "work": work.get(name), "unit": units.get(name, ""),
                     "rate": round(work[name] / s, 2) if work.get(name) and s else None}
              for name, s in seconds.items()}
    return {"phases": phases, "agent_steps": record["agent_steps"], "simulated_steps": record["simulated_steps"]}


def print_report(report: dict) -> None:
    facts = report["facts"]
    print(f"\ngpu_check: {facts.get('name')} ({facts['device']}, torch {facts['torch']})")
    bench = report.get("benchmark")
    if bench:
        print("\n| size | precision | layout | matmul TFLOP/s | imagined frames/s | vs matmul | trained frames/s "
              "| vs matmul | paper schedule (h) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in bench["rows"]:
            print(f"| {r['size']} | {r['precision']} | {r['layout']} | {r['matmul_flops_per_s'] / 1e12:,.1f} "
                  f"| {r['imagined_frames_per_s']:,.1f} "
                  f"| {r['imagine_vs_matmul']:.2f} | {r['trained_frames_per_s']:,.1f} | {r['train_vs_matmul']:.2f} "
                  f"| {r['projection_hours']['total']:,.2f} |")
    run = report.get("run")
    if run:
        print(f"\ncut-short run: {run['agent_steps']} real steps, {run['simulated_steps']} imagined steps\n")
        print("| phase | seconds | rate |")
        print("|---|---|---|")
        for name, p in run["phases"].items():
            rate = f"{p['rate']:,.1f} {p['unit']}" if p["rate"] else ""
            print(f"| {name} | {p['seconds']:,.1f} | {rate} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--run-dir", type=Path, help="the cut-short run's directory (default: OUT/run)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", default="paper")
    args = parser.parse_args()
    bench_file = args.out / "benchmark.json"
    report = {"size": args.size, "facts": device_facts(torch.device(args.device), args.out),
              "benchmark": json.loads(bench_file.read_text()) if bench_file.exists() else None,
              "run": run_phases(args.run_dir or args.out / "run")}
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=1))
    print_report(report)
    missing = [part for part in ("benchmark", "run") if report[part] is None]
    if missing:
        print(f"gpu_check: missing {', '.join(missing)}", file=sys.stderr)
        sys.exit(1)
    print(f"\n{args.out / 'gpu_check.json'}")


if __name__ == "__main__":
    main()
