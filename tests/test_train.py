"""A real tiny PPO run through `workbench train`: run directory, resume after a kill, no silent overwrite."""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from agents import load_checkpoint
from runs.cli import main
from runs.metrics import read_metrics

TINY = ["train", "--preset", "ppo-tiny", "--no-progress"]


def test_tiny_run_writes_a_complete_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TINY, "--out", str(out), "--seed", "3"]) == 0
    assert f"run directory: {out}" in capsys.readouterr().out
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["seed"] == 3 and config["env"]["game"] == "Pong" and config["loop"]["total_steps"] == 256
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == {"seed": 3} and manifest["versions"]["torch"].startswith("2.")
    assert manifest["versions"]["ale-py"] and "commit" in manifest["git"] and manifest["machine"]["cpus"]
    results = json.loads((out / "results.json").read_text())
    assert results["agent_steps"] == 256 and results["policy"] == "final"
    assert len(results["final_eval"]["scores"]) == 2 and -21 <= results["final_eval"]["score_mean"] <= 21
    metrics = read_metrics(out)
    assert [m["step"] for m in metrics if "eval/score_mean" in m] == [128, 256]
    assert any("train/value_loss" in m for m in metrics)
    assert list((out / "tb").iterdir())
    state = load_checkpoint(out / results["checkpoint"] / "policy.pt")
    assert state["num_timesteps"] == 256 and any(k.startswith("features_extractor") for k in state["policy"])


def test_finished_run_is_never_overwritten_and_other_configs_are_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TINY, "--out", str(out)]) == 0
    before = (out / "results.json").read_text()
    assert main([*TINY, "--out", str(out)]) == 2
    assert "holds a finished run" in capsys.readouterr().err
    assert (out / "results.json").read_text() == before

    (out / "results.json").unlink()
    assert main([*TINY, "--out", str(out), "ppo.gamma=0.9"]) == 2
    assert "different config (differs at ['ppo.gamma'])" in capsys.readouterr().err


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "runs.cli", *TINY, "--out", str(out), "loop.total_steps=384"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=Path(__file__).parent.parent)
    first = out / "checkpoints" / "iteration_001" / "policy.pt"
    deadline = time.time() + 120
    while not first.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert first.exists() and not (out / "results.json").exists()

    assert main([*TINY, "--out", str(out), "loop.total_steps=384"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    resumed_from = manifest["starts"][-1]["resumed_from"]
    assert len(manifest["starts"]) == 2 and resumed_from and resumed_from.startswith("iteration_")
    assert json.loads((out / "results.json").read_text())["agent_steps"] == 384
    assert not [p for p in (out / "checkpoints").rglob("*") if ".tmp" in p.name]


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "step_000000128.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable PPO checkpoint"):
        load_checkpoint(bad)


def test_same_seed_gives_the_same_run(tmp_path):
    import torch

    runs = []
    for name in ("a", "b"):
        assert main([*TINY, "--out", str(tmp_path / name), "--seed", "5"]) == 0
        results = json.loads((tmp_path / name / "results.json").read_text())
        runs.append((results["final_eval"]["scores"],
                     load_checkpoint(tmp_path / name / results["checkpoint"] / "policy.pt")))
    (scores_a, state_a), (scores_b, state_b) = runs
    assert scores_a == scores_b
    assert all(torch.equal(state_a["policy"][k], state_b["policy"][k]) for k in state_a["policy"])
    # identical runs give identical checkpoint and agent files, byte for byte
    saved = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.suffix in (".pt", ".npz"))
    assert len(saved) >= 3
    assert all((tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes() for p in saved)


def test_run_files_are_readable_by_the_team_and_hold_no_absolute_paths(tmp_path):
    out = tmp_path / "run"
    mask = os.umask(0o002)  # a group-writable team setting: files must follow it, not mkstemp's 0600
    try:
        assert main([*TINY, "--out", str(out)]) == 0
    finally:
        os.umask(mask)
    modes = {str(p.relative_to(out)): stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file()
             and p.parent.name != "tb"}
    assert modes and all(m == 0o664 for m in modes.values()), modes
    assert str(tmp_path) not in (out / "agent" / "agent.json").read_text()


def test_a_damaged_newest_checkpoint_is_passed_over_for_the_older_one(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TINY, "--out", str(out)]) == 0
    finished = json.loads((out / "results.json").read_text())
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["iteration_001", "iteration_002"]
    (out / "results.json").unlink()  # as if killed after its last checkpoint, and that checkpoint then damaged
    shutil.rmtree(out / "agent")
    policy = out / "checkpoints" / "iteration_002" / "policy.pt"
    policy.write_bytes(policy.read_bytes()[:-100])
    capsys.readouterr()
    assert main([*TINY, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "iteration_002/policy.pt is damaged" in said and "resuming from the older iteration_001" in said
    progress = json.loads((out / "progress.json").read_text())
    assert progress["fallbacks"][0]["to"] == "iteration_001" and progress["checkpoint"] == "iteration_002"
    assert json.loads((out / "manifest.json").read_text())["starts"][-1]["resumed_from"] == "iteration_001"
    results = json.loads((out / "results.json").read_text())
    assert results["agent_steps"] == 256 == finished["agent_steps"]
    logged = [(m["step"], k) for m in read_metrics(out) for k in m if k != "step"]
    assert len(logged) == len(set(logged))  # iteration 1 redone: its lines logged once

    for folder in (out / "checkpoints").iterdir():  # nothing intact is left: a clear error, not a traceback
        (folder / "policy.pt").write_bytes(b"garbage")
    (out / "results.json").unlink()
    assert main([*TINY, "--out", str(out)]) == 2
    assert "no older intact checkpoint is kept" in capsys.readouterr().err


def test_metrics_log_drops_what_followed_the_checkpoint_and_repairs_a_cut_line(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from runs.metrics import MetricsLog

    log = MetricsLog(tmp_path)
    log.log({"a": 1.0}, 10)
    log.log({"a": 2.0}, 20)
    at_checkpoint = log.lines
    log.log({"a": 3.0}, 30)  # logged after the checkpoint: the resumed run logs step 30 again
    log.close()
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 40, "a"')
    resumed = MetricsLog(tmp_path, resume_step=20, keep_lines=at_checkpoint)
    resumed.log({"a": 4.0}, 30)
    resumed.close()
    assert read_metrics(tmp_path) == [{"step": 10, "a": 1.0}, {"step": 20, "a": 2.0}, {"step": 30, "a": 4.0}]
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("a")] == [(10, 1.0), (20, 2.0), (30, 4.0)]


def test_a_second_writer_is_refused_at_once_and_a_dead_ones_lock_taken_over(tmp_path, capsys):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "runs.cli", *TINY, "--out", str(out), "loop.total_steps=384"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=Path(__file__).parent.parent)
    deadline = time.time() + 120
    while not (out / "config.yaml").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert main([*TINY, "--out", str(out), "loop.total_steps=384"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"is in use by pid {proc.pid} on" in err and len(err.splitlines()) == 1
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert main([*TINY, "--out", str(out), "loop.total_steps=384"]) == 0
    assert f"took over the lock of {out} from pid {proc.pid}" in capsys.readouterr().out
    assert json.loads((out / "results.json").read_text())["agent_steps"] == 384
    assert not (out / ".lock").exists()  # a finished run lets go of its directory
