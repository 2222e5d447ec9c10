"""A tiny SimPLe run on a real Atari game, end to end through `workbench train`, interrupted and resumed."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import yaml

from envs import ExperienceStore
from runs.cli import main
from runs.metrics import read_metrics
from world_models import SimPLeWorldModel

TINY = ["train", "--agent", "simple", "--preset", "tiny", "--no-progress"]


def wait_for(path: Path, text: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_tiny_simple_run_is_killed_then_resumes_and_finishes(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "runs.cli", *TINY, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path(__file__).parent.parent)
    wait_for(out / "progress.json", '"iterations_done": 0', proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    interrupted = json.loads((out / "progress.json").read_text())
    assert interrupted["iterations_done"] == 0 and not (out / "results.json").exists()

    assert main([*TINY, "--out", str(out)]) == 0
    progress = json.loads((out / "progress.json").read_text())
    assert progress["iterations_done"] == 1 and progress["collections"] == 3  # the first + one per iteration
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["starts"]) == 2
    # the 8 games open at the kill (32 steps each after the first collection, 48 after the second) were cut
    cut_at = interrupted["real_steps"]
    assert progress["cut_games"] == [{"real_steps": cut_at,
                                      "games": [{"episode": e, "step": cut_at // 8} for e in range(8)]}]

    results = json.loads((out / "results.json").read_text())
    assert results["agent_steps"] == 256 + 2 * 128  # exact real-step accounting across the interruption
    assert results["simulated_steps"] == 2 * 2 * 4 * 8  # 2 iterations x 2 PPO updates x 4 envs x 8 steps
    assert (out / results["checkpoint"]).exists() and len(results["final_eval"]["scores"]) == 2
    assert [q["iteration"] for q in results["model_quality"]] == [0, 1]
    assert {"pixel_accuracy@1", "psnr@3", "reward_accuracy"} <= set(results["model_quality"][0])

    for iteration in (0, 1):
        video = cv2.VideoCapture(str(out / "videos" / f"prediction_iter{iteration:02d}.mp4"))
        ok, frame = video.read()
        assert ok and frame.shape == (64 * 3, (3 * 64 + 2 * 2) * 3, 3)  # real | predicted | difference, x3
        assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    names = set().union(*(m.keys() for m in read_metrics(out)))
    assert {"world_model/loss", "world_model/heldout_psnr@1", "simulated/ep_rew_mean", "real/steps",
            "time/fit_s", "eval/score_mean"} <= names

    # the finished run is a saved agent: evaluate it and dream with its world model
    assert main(["evaluate", str(out), "--episodes", "2", "--envs", "2", "--max-frames", "400", "--no-progress"]) == 0
    assert json.loads((out / "evaluation-seed0.json").read_text())["agent"] == "simple"
    dream = tmp_path / "dream.mp4"
    assert main(["replay", str(out), "--dream", "--dream-steps", "5", "--video", str(dream)]) == 0
    video = cv2.VideoCapture(str(dream))
    ok, frame = video.read()
    assert ok and frame.shape == (64 * 4, (64 * 2 + 2) * 4, 3)  # real | imagined, x4
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 5


def test_simple_agent_takes_the_arrow_of_time_reward_by_config(tmp_path):
    out = tmp_path / "run"
    assert main([*TINY, "--out", str(out), "loop.iterations=1", "eval_episodes=1",
                 "intrinsic=[{name: arrow_of_time, config: {steps: 10}}]"]) == 0
    progress = json.loads((out / "progress.json").read_text())
    assert (out / "checkpoints" / progress["checkpoint"] / "arrow_of_time.pt").exists()
    names = set().union(*(m.keys() for m in read_metrics(out)))
    assert {"intrinsic/arrow_of_time/J", "intrinsic/arrow_of_time/delta", "simulated/ep_rew_mean",
            "intrinsic/arrow_of_time_reward_mean"} <= names


def test_simple_agent_trains_the_deterministic_world_model_by_config(tmp_path):
    out = tmp_path / "run"
    assert main([*TINY, "--out", str(out), "loop.iterations=1", "world_model=simple_deterministic",
                 "eval_episodes=1"]) == 0
    model = yaml.safe_load((out / "config.yaml").read_text())["model"]
    assert (model["stochastic"], model["input_noise"]) == (False, 0.05)
    progress = json.loads((out / "progress.json").read_text())
    folder = out / "checkpoints" / progress["checkpoint"]
    saved = SimPLeWorldModel.from_checkpoint(folder / "world_model.pt")
    assert not saved.config.stochastic and not any("prior" in name for name, _ in saved.named_parameters())
    results = json.loads((out / "results.json").read_text())
    assert results["simulated_steps"] == 2 * 4 * 8  # PPO ran inside the deterministic model's simulated env
    # the real games went on from the first collection (32 steps per env) into the second (16 more)
    store = ExperienceStore.load(folder / "store.npz")
    assert store.step[: store.size].max() == 32 + 16 and store.num_episodes == 8
    assert [g["step"] for g in progress["open_games"]] == [48] * 8
    assert [m["real/longest_game_steps"] for m in read_metrics(out) if "real/longest_game_steps" in m] == [32, 48]
    assert {"pixel_accuracy@1", "psnr@3", "reward_accuracy"} <= set(results["model_quality"][0])
    assert main([*TINY, "--out", str(tmp_path / "x"), "world_model=simple_stochastic"]) == 2
    assert main(["compare", str(out), "--out", str(tmp_path / "table.md")]) == 0
    row = (tmp_path / "table.md").read_text().splitlines()[2].split(" | ")
    assert row[1:3] == ["simple_deterministic", "Pong"] and "pixel acc @3" in (tmp_path / "table.md").read_text()
    assert main(["compare", str(tmp_path / "x")]) == 2  # not a finished run
