"""``benchmarks/gpu_check.sh`` as a GPU machine runs it, dry on the CPU at the tiny size."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_gpu_check_dry_run_writes_one_report_with_benchmark_projection_and_phase_times(tmp_path):
    out = tmp_path / "check"
    run_dir = tmp_path / "elsewhere" / "run"  # as on the GPU machine: the run's files stay out of OUT
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable, "RUN_DIR": str(run_dir)}
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--device", "cpu", "--size", "tiny"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["facts"]["device"] == "cpu" and report["size"] == "tiny"
    rows = report["benchmark"]["rows"]
    assert {(r["precision"], r["layout"]) for r in rows} == {
        (p, layout) for p in ("float32", "bfloat16") for layout in ("channels_last", "contiguous")}
    for r in rows:
        assert r["imagined_frames_per_s"] > 0 and r["trained_frames_per_s"] > 0
        assert r["matmul_flops_per_s"] == pytest.approx(sum(r["matmul_flops_per_s_before_after"]) / 2)
        assert 0.05e9 < r["imagine_flops_per_frame"] < 0.08e9  # tiny size: 0.065 GFLOP per imagined frame
        hours = r["projection_hours"]
        assert hours["total"] == pytest.approx(sum(v for k, v in hours.items() if k != "total"))
    schedule = report["benchmark"]["schedule"]
    assert schedule == {"model_updates": 255_000, "predicted_frames": 255_000 * 24, "imagined_steps": 15_200_000,
                        "real_steps": 102_400}
    phases = report["run"]["phases"]
    assert list(phases) == ["collect_random", "fit_0", "policy_0", "collect_0"]
    assert phases["fit_0"]["work"] == 4 and phases["fit_0"]["rate"] > 0
    assert report["run"]["agent_steps"] == 128 and report["run"]["simulated_steps"] == 2 * 4 * 8
    assert "| fit_0 |" in done.stdout and "| tiny | bfloat16 | channels_last |" in done.stdout
    assert (run_dir / "results.json").exists() and not (out / "run").exists()
    assert sorted(p.name for p in out.iterdir()) == ["benchmark.json", "benchmark.txt", "gpu_check.json", "run.log"]


def test_gpu_check_refuses_an_unknown_size_before_running_anything(tmp_path):
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--size", "huge"],
                          env={**os.environ, "OUT": str(tmp_path / "x")}, capture_output=True, text=True)
    assert done.returncode == 2 and "unknown --size huge (allowed: paper, quick, tiny)" in done.stderr
    assert not (tmp_path / "x").exists()
