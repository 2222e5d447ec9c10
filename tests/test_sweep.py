"""Ray Tune sweeps: trials train and evaluate into run directories, survive a killed worker, reruns resume."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runs.cli import main
from runs.sweep import SweepConfig

TINY = ("tiny",)
EVAL = {"eval_episodes": 2, "eval_envs": 2, "eval_max_frames": 2000}


def test_two_trial_sweep_writes_leaderboard_ready_results_and_a_rerun_trains_nothing(tmp_path, ray_local, capsys):
    from runs.leaderboard import load_results
    from runs.sweep.driver import run_sweep

    config = SweepConfig(agent="ppo", games=("Pong",), seeds=2, presets=TINY, out=str(tmp_path / "sweep"),
                         leaderboard_reps=200, **EVAL)
    outcome = run_sweep(config, status_every=0.5)
    assert outcome.failed == []
    assert [(t["run"], t["agent_steps"]) for t in outcome.trials] == [("ppo-Pong-seed0", 256), ("ppo-Pong-seed1", 256)]
    said = capsys.readouterr()
    lines = said.out.splitlines()
    finished = [line.split()[1] for line in lines if line.startswith("[sweep] ") and ": finished" in line]
    assert finished == ["1/2", "2/2"]  # the counts include the event they report
    assert "real steps" in said.out and "[sweep]   ppo-Pong-seed" in said.out  # status of running trials
    assert "╭" not in said.out + said.err and "Configuration for experiment" not in said.out  # no Tune boxes
    assert len(load_results([outcome.path / "runs"])["ppo"]["Pong"]) == 2
    assert outcome.leaderboard.splitlines()[1].startswith("ppo ")
    assert (outcome.path / "leaderboard" / "leaderboard.md").exists()

    again = run_sweep(config)
    assert again.trials == outcome.trials
    for seed in (0, 1):
        manifest = json.loads((outcome.path / "runs" / f"ppo-Pong-seed{seed}" / "manifest.json").read_text())
        assert len(manifest["starts"]) == 1  # the rerun found both runs finished and trained nothing


def test_a_killed_trial_worker_restarts_from_its_checkpoint_with_exact_steps(tmp_path):
    out = tmp_path / "sweep"
    run = out / "runs" / "ppo-Pong-seed0"
    command = [sys.executable, "-m", "runs.cli", "sweep", "--games", "Pong", "--seeds", "1", "--preset", "tiny",
               "--eval-episodes", "2", "--eval-envs", "2", "--eval-max-frames", "2000", "--out", str(out),
               "--reps", "200", "loop.total_steps=512", "loop.real_steps_per_iteration=128",
               "iteration_eval_episodes=1", "eval_episodes=1", "eval_max_episode_frames=400"]
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    victim = _worker_after_first_checkpoint(run, timeout=180)
    assert victim != driver.pid
    os.kill(victim, signal.SIGKILL)
    output, _ = driver.communicate(timeout=300)
    assert driver.returncode == 0, output
    assert "restarting ppo-Pong-seed0" in output and "[sweep] 1/1 done, 0 running, 0 failed: finished" in output
    assert "╭" not in output and "Trial status" not in output and "eprecat" not in output  # quiet without --verbose
    starts = json.loads((run / "manifest.json").read_text())["starts"]
    assert len(starts) == 2 and starts[0]["pid"] == victim
    assert starts[1]["resumed_from"] is not None and starts[1]["resumed_from"].startswith("iteration_")
    assert json.loads((run / "results.json").read_text())["agent_steps"] == 512
    assert (run / "evaluation-seed0.json").exists()


def _worker_after_first_checkpoint(run: Path, timeout: float) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any((run / "checkpoints").glob("iteration_*/policy.pt")):
            return json.loads((run / "manifest.json").read_text())["starts"][-1]["pid"]
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint in {run} after {timeout} s")


def test_a_failing_trial_is_one_line_naming_its_error_and_trace(tmp_path, ray_local, capsys):
    run = tmp_path / "s" / "runs" / "ppo-Pong-seed0"
    run.mkdir(parents=True)
    (run / "notes.txt").write_text("not a run directory")  # the trial's RunDir refuses it at once
    assert main(["sweep", "--games", "Pong", "--seeds", "1", "--preset", "tiny", "--max-failures", "0",
                 "--out", str(tmp_path / "s")]) == 1
    said = capsys.readouterr()
    failed = [line for line in said.out.splitlines() if "failed ppo-Pong-seed0" in line]
    assert len(failed) == 1 and "[sweep] 0/1 done, 0 running, 1 failed" in failed[0]
    assert "exists and is not a run directory" in failed[0] and "(trace: " in failed[0]
    assert Path(failed[0].rsplit("(trace: ", 1)[1].rstrip(")")).is_file()
    assert "Traceback" not in said.out + said.err and "failed trials" in said.err


@pytest.mark.parametrize("argv, message", [
    (["--address", "127.0.0.1:9"], "no Ray head node answers at '127.0.0.1:9'"),
    (["--address", "nonsense"], "is not 'local', 'auto' or host:port"),
    (["--cpus-per-trial", "64"], "each trial asks for 64 CPUs but the Ray cluster has"),
    (["--games", "Pongg"], "Pongg"),
    (["--agent", "dreamer"], "agent 'dreamer' is not known"),
    (["ppo.n_stepz=3"], "unknown config key 'ppo.n_stepz'"),
])
def test_bad_sweep_requests_are_clear_errors(tmp_path, ray_local, capsys, argv, message):
    code = main(["sweep", "--games", "Pong", "--seeds", "1", "--preset", "tiny", "--out", str(tmp_path / "s"), *argv])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s").exists()  # refused before the sweep directory is made


@pytest.mark.slow
def test_a_sweep_whose_driver_died_resumes_with_the_same_command(tmp_path):
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "runs.cli", "sweep", "--games", "Pong", "--seeds", "2", "--preset", "tiny",
               "--eval-episodes", "2", "--eval-envs", "2", "--eval-max-frames", "2000", "--out", str(out),
               "--reps", "200", "loop.total_steps=512", "loop.real_steps_per_iteration=128",
               "iteration_eval_episodes=1", "eval_episodes=1", "eval_max_episode_frames=400"]
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    _worker_after_first_checkpoint(out / "runs" / "ppo-Pong-seed0", timeout=180)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and the Ray instance it started
    driver.wait()
    assert not (out / "runs" / "ppo-Pong-seed0" / "results.json").exists()

    again = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert again.returncode == 0, again.stdout + again.stderr
    for seed in (0, 1):
        run = out / "runs" / f"ppo-Pong-seed{seed}"
        assert json.loads((run / "results.json").read_text())["agent_steps"] == 512
        assert (run / "evaluation-seed0.json").exists()
    starts = json.loads((out / "runs" / "ppo-Pong-seed0" / "manifest.json").read_text())["starts"]
    assert len(starts) == 2 and starts[1]["resumed_from"].startswith("iteration_")
