"""Bad input, through the real CLI: exit code 2, one line on stderr naming the bad value, and nothing created or
changed (every value is checked before anything is written)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from agents import save_agent
from agents.learners.sb3_ppo import build_policy
from envs import AtariConfig, make_vector_env
from runs.cli import main

# (argv, what the one line must say). Paths are relative to a folder the `files` fixture fills.
CASES = [
    # configs: presets, overrides, types, ranges, budgets
    (["train", "--preset", "ppo-tiny", "ppo.n_steps=[1,"], "'[1,' is not valid YAML"),
    (["train", "--preset", "bad.yaml"], "bad.yaml is not a readable preset file"),
    (["train", "--preset", "list.yaml"], "preset list.yaml: holds a list, not a mapping"),
    (["train", "--preset", "no-such-preset"], "unknown preset 'no-such-preset'"),
    (["train", "--agent", "dreamer"], "dreamer"),
    (["train", "--preset", "ppo-tiny", "--game", "Pongg"], "Pongg"),
    (["train", "--preset", "ppo-tiny", "ppo.bogus=1"], "unknown config key 'ppo.bogus'"),
    (["train", "--preset", "ppo-tiny", "ppo.learning_rate=fast"], "fast"),
    (["train", "--preset", "ppo-tiny", "ppo.gamma=2"], "gamma=2"),
    (["train", "--preset", "ppo-tiny", "--steps", "0"], "total_steps=0"),
    (["train", "--preset", "ppo-tiny", "--seed", "-1"], "seed=-1"),
    (["train", "--preset", "ppo-tiny", "ppo.batch_size=100"], "ppo.batch_size=100"),
    (["train", "--preset", "ppo-tiny", "--device", "tpu"], "device='tpu' is not a device"),
    (["train", "--preset", "ppo-tiny", "--device", "cuda:7"], "device='cuda:7' but this machine has"),
    (["train", "--preset", "ppo-tiny", "--out", "afile"], "afile is a file"),
    (["train", "--preset", "ppo-tiny", "--out", "afile/run"], "afile is a file, not a directory"),
    (["train", "--preset", "ppo-tiny", "--out", "garbled-run"], "config.yaml is not a readable run config file"),
    (["train", "--agent", "composed", "--preset", "composed-tiny", "learner=rllib-dqn"], "rllib-dqn"),
    # evaluate: the agent and the output, checked before any game is played
    (["evaluate", "missing-run"], "missing-run does not exist"),
    (["evaluate", "agent", "--out", "afile/eval.json"], "afile is a file, not a directory"),
    (["evaluate", "agent", "--out", "afile"], "afile exists; evaluations are never overwritten"),
    (["evaluate", "agent", "--episodes", "0"], "episodes=0"),
    (["evaluate", "agent", "--epsilon", "2"], "epsilon=2"),
    (["evaluate", "foreign-agent"], "gives observations"),
    (["evaluate", "unknown-key-agent"], "bogus"),
    (["evaluate", "garbled-agent"], "agent.json is not a readable saved-agent file"),
    (["evaluate", "garbled-run"], "without a final agent"),
    # replay
    (["replay", "agent", "--video", "afile/v.mp4"], "afile is a file, not a directory"),
    (["replay", "agent", "--video", "v.txt"], "--video v.txt: videos are written as mp4"),
    (["replay", "--actions", "garbled.json"], "garbled.json is not a readable action log file"),
    (["replay"], "give RUN_OR_AGENT"),
    # leaderboard
    (["leaderboard", "results.json", "--out", "afile"], "--out afile: afile is a file"),
    (["leaderboard", "results.json", "--reps", "0"], "--reps=0"),
    (["leaderboard", "garbled.json"], "garbled.json is not a readable results file"),
    (["leaderboard", "no-such-results"], "no-such-results"),
    # world models
    (["world-model", "train", "--epochs", "0"], "epochs=0"),
    (["world-model", "train", "--seed", "-1"], "seed=-1"),
    (["world-model", "train", "--device", "tpu"], "'tpu' is not a device"),
    (["world-model", "train", "cswm.bogus=1"], "cswm.bogus"),
    (["world-model", "eval", "ppo-run"], "is a run of agent 'ppo', not a C-SWM run"),
    (["world-model", "eval", "ppo-run", "--device", "tpu"], "'tpu' is not a device"),
    # compare, sweep, intrinsic
    (["compare", "garbled-run"], "garbled-run"),
    (["sweep", "--preset", "ppo-tiny", "--games", "Pongg", "--seeds", "1"], "Pongg"),
    (["sweep", "--preset", "ppo-tiny", "--games", "Pong", "--seeds", "0"], "seeds"),
    (["sweep", "--preset", "ppo-tiny", "--games", "Pong", "--address", "127.0.0.1:1"], "no Ray head node answers"),
    (["intrinsic", "fit", "--steps", "0"], "data_steps=0"),
    (["intrinsic", "fit", "arrow.bogus=1"], "arrow.bogus"),
]


def _saved_agent(path: Path, env_id: str = "Pong") -> Path:
    env_config = AtariConfig(game=env_id, obs="rgb64")
    env = make_vector_env(env_id, 1, env_config)
    policy = build_policy(env.single_observation_space, env.single_action_space, None)
    env.close()
    return save_agent(path, policy, env_id, env_config, "sb3-ppo")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad-input")
    (root / "bad.yaml").write_text("ppo: [1,\n")
    (root / "list.yaml").write_text("- 1\n- 2\n")
    (root / "afile").write_text("a file where a folder or a new file is asked for\n")
    (root / "garbled.json").write_text('{"format": ')
    (root / "garbled-run").mkdir()
    (root / "garbled-run" / "config.yaml").write_text("env: {game: Pong\n  agent: [\n")
    (root / "ppo-run").mkdir()
    (root / "ppo-run" / "config.yaml").write_text("agent: ppo\nenv: {game: Pong}\n")
    agent = _saved_agent(root / "agent")
    foreign = _saved_agent(root / "foreign-agent")  # a Pong agent whose agent.json claims Breakout (4 actions)
    meta = json.loads((foreign / "agent.json").read_text())
    (foreign / "agent.json").write_text(json.dumps({**meta, "env_id": "Breakout", "env": {**meta["env"],
                                                                                          "game": "Breakout"}}))
    unknown = _saved_agent(root / "unknown-key-agent")
    meta = json.loads((unknown / "agent.json").read_text())
    (unknown / "agent.json").write_text(json.dumps({**meta, "env": {**meta["env"], "bogus": 1}}))
    garbled = _saved_agent(root / "garbled-agent")
    (garbled / "agent.json").write_text("{not json")
    (root / "results.json").write_text(json.dumps({"format": "x"}))
    assert agent.exists()
    return root


def _tree(root: Path) -> dict[str, tuple[int, int] | None]:
    """Every path under ``root``: files with (size, mtime), folders as None."""
    return {str(p.relative_to(root)): None if p.is_dir() else (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*")}


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_gets_one_line_and_changes_nothing(files, monkeypatch, capsys, argv, message):
    if "cuda:7" in argv and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    monkeypatch.chdir(files)
    before = _tree(files)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("workbench ") and message in err, err
    assert _tree(files) == before  # nothing created, nothing changed


def test_the_installed_command_exits_2_with_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "runs.cli", "train", "--preset", "ppo-tiny", "ppo.n_steps=[1,"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "workbench train: error: override 'ppo.n_steps=[1,': the value '[1,' is not valid YAML (expected the node "
        "content, but found '<stream end>'); lists are written [1, 2], strings with YAML characters in quotes"]
    assert list(tmp_path.iterdir()) == []


class _RunsCode:
    """Unpickling this would create a file: a checkpoint must never get that far."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_checkpoint_carrying_pickled_code_is_refused_without_running_it(tmp_path, capsys):
    from agents import load_checkpoint
    from world_models import SimPLeWorldModel

    agent = _saved_agent(tmp_path / "agent")
    marker = tmp_path / "code-ran"
    torch.save({"format": "rl-workbench/policy-v1", "weights": _RunsCode(marker)}, agent / "policy.pt")
    assert main(["evaluate", str(agent), "--episodes", "1"]) == 2
    assert "policy.pt is not a readable saved policy checkpoint" in capsys.readouterr().err
    for load in (load_checkpoint, SimPLeWorldModel.from_checkpoint):
        with pytest.raises(ValueError, match="not a readable"):
            load(agent / "policy.pt")
    assert not marker.exists()
