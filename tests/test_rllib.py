"""RLlib policy learners on our envs: exact budgets, code-free resume, saved agents, the intrinsic connector."""
import dataclasses
import json

import numpy as np
import pytest
import torch
import yaml

import agents
from agents.learners.rllib.config import RLlibConfig
from agents.learners.rllib.env import ObsAdapter
from envs import AtariConfig, make_env
from intrinsic import ArrowOfTime, ArrowOfTimeConfig
from intrinsic.data import collect_random
from runs.cli import main
from runs.metrics import read_metrics

TINY = RLlibConfig(train_batch=128, minibatch=64, epochs=1, fcnet_hiddens=(32, 32))


@pytest.mark.parametrize("field, value, allowed", [
    ("algorithm", "a2c", "choose one of"), ("train_batch", 0, "allowed: [1"), ("gamma", 1.5, "allowed: [0.0, 1.0]"),
    ("num_env_runners", -1, "allowed: [0"), ("minibatch", 256, "at most train_batch=128"),
    ("rollout_fragment_length", 100, "must equal train_batch"), ("conv_filters", ((32, 8),), "[channels, kernel"),
])
def test_bad_rllib_config_values_name_field_and_value(field, value, allowed):
    with pytest.raises(ValueError, match=field) as error:
        dataclasses.replace(TINY, **{field: value})
    assert repr(value)[:6] in str(error.value) or str(list(value[0]))[:4] in str(error.value)
    assert allowed in str(error.value)


def test_budget_must_be_whole_iterations():
    from runs import TrainConfig, build_config

    with pytest.raises(ValueError, match=r"loop.real_steps_per_iteration=100 must be a multiple of one RLlib "
                                         r"iteration \(128"):
        build_config(TrainConfig, ["rllib-tiny"], ["env.game=CartPole-v1", "loop.real_steps_per_iteration=100",
                                                    "loop.total_steps=200"])
    assert not dataclasses.replace(TINY, envs_per_env_runner=2).exact_budget
    assert not dataclasses.replace(TINY, algorithm="appo", num_env_runners=1).exact_budget


@pytest.mark.parametrize("shape, dtype, rllib_shape", [
    ((4, 84, 84), np.uint8, (84, 84, 4)), ((4, 64, 64, 3), np.uint8, (64, 64, 12)),
    ((3, 6, 6), np.float32, (108,)), ((4,), np.float32, (4,)),
])
def test_observation_adapter_is_exact_both_ways(shape, dtype, rllib_shape):
    adapter = ObsAdapter(shape, np.dtype(dtype).name)
    rng = np.random.default_rng(0)
    native = rng.integers(0, 256, (5, *shape)).astype(dtype) if dtype == np.uint8 else rng.random((5, *shape), dtype)
    converted = adapter.to_rllib(native)
    assert converted.shape == (5, *rllib_shape) and converted.dtype == np.float32
    assert adapter.rllib_space().contains(converted[0])
    np.testing.assert_array_equal(adapter.to_native(converted), native)
    if len(shape) == 3 and dtype == np.uint8:  # channels last: frame s of the stack is channel s
        np.testing.assert_array_equal(converted[:, :, :, 1], native[:, 1] / np.float32(255))


def test_ppo_on_cartpole_exact_budget_resume_and_saved_agent(ray_local, tmp_path):
    from agents.learners.rllib.learner import RLlibLearner

    learner = RLlibLearner(TINY, "CartPole-v1", seed=0)
    seen = []
    learner.learn(256, on_rollout=seen.append)
    assert learner.num_timesteps == 256 and seen == [128, 256]
    assert learner.metrics()["env_runners/episode_return_mean"] > 0
    with pytest.raises(ValueError, match="steps=100 is not a whole number of RLlib iterations of 128"):
        learner.learn(100)
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    actions = learner.act(obs, deterministic=True)
    assert actions.shape == (16,) and set(actions) <= {0, 1}
    learner.save(tmp_path / "ckpt.pt")
    agents.save_agent(tmp_path / "agent", learner.current_policy(), "CartPole-v1", AtariConfig(game="CartPole-v1"),
                      "rllib-ppo", {"rllib": _plain(TINY)})
    learner.close()

    resumed = RLlibLearner(TINY, "CartPole-v1", seed=1)
    resumed.load(tmp_path / "ckpt.pt")
    assert resumed.num_timesteps == 256
    np.testing.assert_array_equal(resumed.act(obs, deterministic=True), actions)
    resumed.learn(128)
    assert resumed.num_timesteps == 384
    resumed.close()

    saved = agents.load(tmp_path / "agent")
    assert saved.meta["learner"] == "rllib-ppo"
    np.testing.assert_array_equal(saved.act(obs, deterministic=True), actions)
    state = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert state["num_timesteps"] == 256 and "default_policy_default_optimizer" in state["optimizer"]


@pytest.mark.parametrize("runners", [0, 1])
def test_intrinsic_connector_trains_on_bonus_but_reports_extrinsic_returns(ray_local, tmp_path, runners):
    from agents.learners.rllib.env import native_adapter
    from agents.learners.rllib.intrinsic import intrinsic_connector
    from agents.learners.rllib.learner import RLlibLearner

    store, _ = collect_random("CartPole-v1", 512, num_envs=4, seed=0)
    arrow = ArrowOfTime(ArrowOfTimeConfig(steps=20, mode="curiosity", beta=100.0, hidden=32), store.obs_shape)
    arrow.fit(store, np.random.default_rng(0))
    arrow.save(tmp_path / "potential.pt")
    connector = intrinsic_connector([("arrow_of_time", str(tmp_path / "potential.pt"), 1.0)],
                                    native_adapter("CartPole-v1", AtariConfig()))
    config = dataclasses.replace(TINY, num_env_runners=runners)
    learner = RLlibLearner(config, "CartPole-v1", seed=0, learner_connector=connector)
    learner.learn(256)
    metrics = learner.metrics()
    learner.close()
    # CartPole pays +1 per step: a return that is not a whole number of steps contains intrinsic reward.
    assert metrics["env_runners/episode_return_min"] == int(metrics["env_runners/episode_return_min"])
    assert metrics["env_runners/episode_return_max"] == int(metrics["env_runners/episode_return_max"])
    if runners:  # in-process sampling over-counts lengths (RLlib appends a phantom step to the shared chunks)
        assert metrics["env_runners/episode_return_mean"] == pytest.approx(metrics["env_runners/episode_len_mean"])
    assert abs(metrics["learners/__all_modules__/intrinsic_reward_mean"]) > 1e-3


@pytest.mark.parametrize("algorithm, steps", [("dqn", 4), ("appo", 50)])
def test_dqn_and_appo_build_and_run_one_iteration(ray_local, algorithm, steps):
    from agents.learners.rllib.learner import RLlibLearner

    config = dataclasses.replace(TINY, algorithm=algorithm, learning_starts=0, train_batch=16)
    assert config.steps_per_iteration == steps
    learner = RLlibLearner(config, "CartPole-v1", seed=0)
    learner.learn(steps)
    assert learner.num_timesteps == steps
    assert learner.act(np.zeros((3, 4), np.float32)).shape == (3,)
    learner.close()


def test_rllib_agent_on_pong_evaluates_each_iteration_and_leaves_a_playable_agent(ray_local, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--agent", "rllib", "--preset", "tiny", "--no-progress", "--out", str(out),
                 "rllib.train_batch=64", "rllib.minibatch=32", "loop.total_steps=128",
                 "loop.real_steps_per_iteration=64", "iteration_eval_episodes=1", "eval_episodes=1", "eval_envs=1",
                 "eval_max_episode_frames=400"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["agent_steps"] == 128 and results["policy"] == "final" and results["game"] == "Pong"
    assert out.name == "run" and results["learner"] == "rllib-ppo"
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["env"]["obs"] == "gray84" and config["rllib"]["vf_share_layers"]
    agent = agents.load(out)
    env = make_env("Pong", agent.env_config)
    obs, _ = env.reset(seed=0)
    assert agent.act(obs[None]).shape == (1,) and agent.meta["learner"] == "rllib-ppo"
    assert [m["step"] for m in read_metrics(out) if "eval/score_mean" in m] == [64, 128]
    # The policy checkpoint inside its iteration folder plays too, and is never taken for the final policy.
    checkpoint = agents.load(out / results["checkpoint"] / "policy.pt")
    assert checkpoint.act(obs[None]).shape == (1,) and checkpoint.meta["policy"] == "checkpoint " + \
        f"{results['checkpoint']}/policy.pt"
    assert main(["evaluate", str(out / results["checkpoint"] / "policy.pt"), "--episodes", "1", "--envs", "1",
                 "--max-frames", "400", "--no-progress", "--out", str(tmp_path / "mid.json")]) == 0
    assert json.loads((tmp_path / "mid.json").read_text())["policy"].startswith("checkpoint ")
    assert main(["leaderboard", str(tmp_path / "mid.json"), "--out", str(tmp_path / "board")]) == 2


def test_rllib_agent_with_arrow_of_time_on_vase_world(ray_local, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--agent", "rllib", "--preset", "tiny", "--no-progress", "--out", str(out),
                 "env.game=workbench/VaseWorld-v0", "loop.random_steps=256", "loop.total_steps=384",
                 "intrinsic=[{name: arrow_of_time, config: {steps: 10, mode: curiosity, beta: 10.0}}]"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["intrinsic"] == ["arrow_of_time"] and results["agent_steps"] == 384  # random steps count
    assert (out / "intrinsic" / "arrow_of_time.pt").exists()
    logged = [m for m in read_metrics(out) if "learners/__all_modules__/intrinsic_reward_mean" in m]
    assert logged and logged[-1]["learners/__all_modules__/intrinsic_reward_mean"] != 0.0


def _plain(config: RLlibConfig) -> dict:
    from agents.learners.rllib.policy import plain_config

    return plain_config(config)
