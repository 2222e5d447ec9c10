"""Saved agents: evaluation under the protocol, and replays that reproduce episodes exactly."""
import json

import numpy as np
import pytest
import torch
import yaml

from agents import PPOConfig, PPOLearner, load, save_agent
from agents.learners.sb3_ppo import build_policy
from envs import AtariConfig, make_vector_env
from runs.cli import main
from runs.replay import replay


def tiny_agent(path, game="Alien"):
    """An untrained policy in the saved-agent format: enough to test the plumbing, fast."""
    torch.manual_seed(0)
    config = AtariConfig(game)
    env = make_vector_env(game, 1, config)
    policy = build_policy(env.single_observation_space, env.single_action_space)
    env.close()
    return save_agent(path, policy, game, config, "sb3-ppo", {"agent": "tiny"})


def test_evaluate_writes_unclipped_scores_and_refuses_to_overwrite(tmp_path, capsys):
    agent = tiny_agent(tmp_path / "agent")
    args = ["evaluate", str(agent), "--episodes", "4", "--envs", "2", "--max-frames", "1200", "--no-progress"]
    assert main(args) == 0
    results = json.loads((agent / "evaluation-seed0.json").read_text())
    assert results["policy"] == "final" and results["game"] == "Alien" and results["agent"] == "tiny"
    assert results["eval"]["epsilon"] == 0.001 and results["env"]["mode"] == "eval"
    scores = results["scores"]
    assert len(scores) == 4 and max(scores) > 1 and all(s % 10 == 0 for s in scores)  # raw Alien points
    assert results["score_mean"] == pytest.approx(np.mean(scores))
    assert results["hns"] == pytest.approx((np.mean(scores) - 227.8) / (7127.7 - 227.8))
    assert main(args) == 2 and "never overwritten" in capsys.readouterr().err


def test_replay_same_seed_same_episode_and_action_log_reproduces_frames(tmp_path):
    agent = load(tiny_agent(tmp_path / "agent", "Breakout"))
    config = AtariConfig("Breakout", max_episode_frames=2000)
    log_a, frames_a = replay("Breakout", config, 1, seed=5, agent=agent, epsilon=0.1)
    log_b, _ = replay("Breakout", config, 1, seed=5, agent=agent, epsilon=0.1)
    assert log_a["episodes"] == log_b["episodes"]
    replayed, frames_c = replay("Breakout", config, 0, seed=0, actions_log=log_a)
    assert replayed["episodes"][0]["frames_sha256"] == log_a["episodes"][0]["frames_sha256"]
    assert all((a == c).all() for a, c in zip(frames_a, frames_c))
    assert frames_a[0].shape == (630, 480, 3)


def test_replay_cli_writes_video_and_log(tmp_path, capsys):
    agent = tiny_agent(tmp_path / "agent", "Breakout")
    video = tmp_path / "out" / "replay.mp4"
    assert main(["replay", str(agent), "--seed", "2", "--max-frames", "800", "--video", str(video)]) == 0
    log_path = video.with_suffix(".actions.json")
    assert video.stat().st_size > 0 and log_path.exists()
    assert main(["replay", "--actions", str(log_path), "--log", str(tmp_path / "again.json")]) == 0
    assert "identical to the log" in capsys.readouterr().out


def test_loading_checkpoints_and_bad_agents(tmp_path):
    run = tmp_path / "run"
    config = AtariConfig("Pong")
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump({"env": vars(config)}))
    with pytest.raises(ValueError, match="without a final agent"):
        load(run)
    learner = PPOLearner(PPOConfig(n_steps=8, batch_size=8), make_vector_env("Pong", 1, config))
    learner.save(run / "checkpoints" / "step_000000008.pt")
    agent = load(run / "checkpoints" / "step_000000008.pt")  # an SB3 PPO checkpoint of ours
    obs = np.zeros((2, 4, 84, 84), np.uint8)
    assert np.array_equal(agent.act(obs, deterministic=True), learner.act(obs, deterministic=True))

    with pytest.raises(ValueError, match="neither a saved agent"):
        load(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        load(tmp_path / "no-such-run")
    saved = tiny_agent(tmp_path / "saved")
    (saved / "policy.pt").write_bytes(b"corrupt")
    with pytest.raises(ValueError, match="not a readable saved policy checkpoint"):
        load(saved)
    (saved / "agent.json").write_text(json.dumps({"format": "someone-else"}))
    with pytest.raises(ValueError, match="not a saved agent of format"):
        load(saved)
