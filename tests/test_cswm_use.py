"""C-SWM in use: PPO reading C-SWM slots, C-SWM curiosity through the intrinsic-reward protocol, the CLI."""
import json
import shutil

import numpy as np
import pytest
import torch
import yaml

from agents import PolicyConfig, PPOConfig, PPOLearner, load, save_agent
from envs import AtariConfig, make_vector_env
from intrinsic import CSWMCuriosity, CSWMCuriosityConfig, IntrinsicRewardVectorWrapper
from intrinsic.data import collect_random
from runs.cli import main
from runs.metrics import read_metrics
from world_models.cswm import CSWM, CSWMConfig

PPO = PPOConfig(n_steps=16, batch_size=32, n_epochs=1)
SMALL = CSWMConfig(hidden_dim=16, batch_size=64)


def encoder_weights(learner):
    return [p.detach().clone() for p in learner.model.policy.features_extractor.cswm.parameters()]


def test_ppo_trains_a_fresh_cswm_encoder_jointly():
    policy = PolicyConfig(features="cswm", cswm=SMALL)
    learner = PPOLearner(PPO, make_vector_env("workbench/Shapes-v0", 2), policy=policy)
    before = encoder_weights(learner)
    learner.learn(32)
    assert learner.model.policy.features_extractor.features_dim == 5 * 2
    assert any(not torch.equal(a, b) for a, b in zip(before, encoder_weights(learner)))
    assert learner.act(np.zeros((2, 3, 50, 50), np.uint8)).shape == (2,)


def test_ppo_with_a_frozen_pretrained_encoder_keeps_it_and_saved_agents_rebuild_it(tmp_path):
    CSWM(SMALL, (3, 50, 50)).save(tmp_path / "cswm.pt")
    policy = PolicyConfig(features="cswm", cswm_checkpoint=str(tmp_path / "cswm.pt"), freeze=True)
    learner = PPOLearner(PPO, make_vector_env("workbench/Shapes-v0", 2), policy=policy)
    pretrained = CSWM.from_checkpoint(tmp_path / "cswm.pt").state_dict()
    loaded = learner.model.policy.features_extractor.cswm.state_dict()
    assert all(torch.equal(pretrained[k], v) for k, v in loaded.items())
    before = encoder_weights(learner)
    learner.learn(32)
    assert all(torch.equal(a, b) for a, b in zip(before, encoder_weights(learner)))
    env_config = AtariConfig(game="workbench/Shapes-v0")
    save_agent(tmp_path / "agent", learner.model.policy, env_config.game, env_config, "sb3-ppo",
               features=learner.features)
    agent = load(tmp_path / "agent")
    obs = np.random.default_rng(0).integers(0, 255, (3, 3, 50, 50), dtype=np.uint8)
    learner.model.policy.eval()
    assert np.array_equal(agent.act(obs, deterministic=True), learner.act(obs, deterministic=True))


def test_feature_extractor_reads_atari_rgb_stacks():
    env = make_vector_env("Pong", 2, AtariConfig(obs="rgb64"))
    learner = PPOLearner(PPO, env, policy=PolicyConfig(features="cswm", crop_rows=(35, 190),
                                                       cswm=CSWMConfig(hidden_dim=16, num_objects=3,
                                                                       action_encoding="copy", actions_per_object=6)))
    assert learner.model.policy.features_extractor.cswm.obs_shape == (6, 50, 50)
    learner.learn(32)


def test_cswm_curiosity_rewards_surprise_and_the_wrapper_adds_it():
    torch.manual_seed(0)
    store, _ = collect_random("workbench/Shapes-v0", 1200, 4, seed=0)
    config = CSWMCuriosityConfig(cswm=CSWMConfig(hidden_dim=64, batch_size=128, learning_rate=2e-3), steps=150)
    curiosity = CSWMCuriosity(config, store.obs_shape)
    metrics = curiosity.fit(store, np.random.default_rng(0))
    assert metrics["loss"] < 0.5
    batch = store.pairs(256, np.random.default_rng(1))
    seen = curiosity.reward(batch["obs"], batch["next_obs"], batch["action"])
    teleported = curiosity.reward(batch["obs"], batch["next_obs"][::-1], batch["action"])  # no action does that
    assert seen.shape == (256,) and (seen >= 0).all() and seen.mean() < 0.1 * teleported.mean()
    with pytest.raises(ValueError, match="needs the actions"):
        curiosity.reward(batch["obs"], batch["next_obs"])
    env = IntrinsicRewardVectorWrapper(make_vector_env("workbench/Shapes-v0", 2), curiosity)
    obs, _ = env.reset(seed=0)
    actions = np.array([3, 7])
    next_obs, reward, _, _, info = env.step(actions)
    assert np.allclose(info["intrinsic_reward"], curiosity.reward(obs, next_obs, actions))
    assert np.allclose(reward, info["extrinsic_reward"] + info["intrinsic_reward"])


def test_cli_collects_trains_resumes_and_evaluates(tmp_path, capsys):
    data = f"data.directory={tmp_path / 'data'}"
    args = ["world-model", "train", "--preset", "tiny", "--no-progress", data, "cswm.epochs=4", "eval_every=2"]
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [e["horizon"] for e in results["evaluation"]] == [1, 5, 10] and results["epochs"] == 4
    # The evaluated model is the reference's choice: the epoch of lowest mean training loss.
    losses = {m["step"]: m["train/loss"] for m in read_metrics(tmp_path / "run") if "train/loss" in m}
    assert results["checkpoint_epoch"] == min(losses, key=losses.get)
    assert results["checkpoint_train_loss"] == pytest.approx(min(losses.values()))
    assert results["checkpoint"] == "checkpoints/lowest_loss.pt" and results["checkpoint_choice"] == "lowest_loss"
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["shapes-eval-50x10-seed2-v2.npz",
                                                                     "shapes-train-40x20-seed1-v2.npz"]
    # A run that crashed after epoch 2, its epoch-4 checkpoint damaged, resumes from epoch 2 (said so) and ends
    # where the uninterrupted one did.
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    shutil.copy(tmp_path / "run" / "config.yaml", crashed)
    (crashed / "checkpoints").mkdir()
    shutil.copy(tmp_path / "run" / "checkpoints" / "step_000000002.pt", crashed / "checkpoints")
    (crashed / "checkpoints" / "step_000000004.pt").write_bytes(
        (tmp_path / "run" / "checkpoints" / "step_000000004.pt").read_bytes()[:5000])
    lost = [m for m in read_metrics(tmp_path / "run") if m["step"] <= 3]  # logged through epoch 3, then killed
    (crashed / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in lost))
    capsys.readouterr()
    assert main([*args, "--out", str(crashed)]) == 0
    assert "step_000000004.pt is not a readable" in capsys.readouterr().out
    logged = [(m["step"], k) for m in read_metrics(crashed) for k in m if k != "step"]
    assert len(logged) == len(set(logged)) and max(s for s, _ in logged) == 4  # epochs 3-4 logged once, again
    resumed = json.loads((crashed / "results.json").read_text())
    assert (resumed["evaluation"], resumed["checkpoint_epoch"]) == (results["evaluation"], results["checkpoint_epoch"])
    assert main([*args, "--out", str(tmp_path / "run")]) == 2  # finished runs are never overwritten
    assert "finished run" in capsys.readouterr().err
    # A finished run is extended into a new directory: same config, more epochs.
    assert main([*args[:-2], "cswm.epochs=5", "eval_every=5", "--extend", str(tmp_path / "run"),
                 "--out", str(tmp_path / "longer")]) == 0
    assert json.loads((tmp_path / "longer" / "results.json").read_text())["epochs"] == 5
    assert main([*args, "cswm.hidden_dim=32", "--extend", str(tmp_path / "run"), "--out", str(tmp_path / "x")]) == 2
    assert "differs at ['cswm.hidden_dim']" in capsys.readouterr().err
    assert main(["world-model", "eval", str(tmp_path / "run"), "--horizons", "1", "2"]) == 0
    written = next((tmp_path / "run").glob("evaluation-shapes-*.json"))
    assert [e["horizon"] for e in json.loads(written.read_text())["evaluation"]] == [1, 2]
    assert json.loads(written.read_text())["checkpoint"].endswith("lowest_loss.pt")
    assert main([*args, "checkpoint=final", "--out", str(tmp_path / "final")]) == 0  # the option: last epoch
    final = json.loads((tmp_path / "final" / "results.json").read_text())
    assert final["checkpoint_epoch"] == 4 and final["evaluation"] == final["final_epoch_evaluation"]
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["cswm"]["hidden_dim"] == 64


def test_cli_errors_name_the_bad_value(tmp_path, capsys):
    assert main(["world-model", "train", "--preset", "tiny", "cswm.encoder=huge", "--out", str(tmp_path / "r")]) == 2
    assert "'huge'" in capsys.readouterr().err
    assert main(["world-model", "train", "--preset", "tiny", "cswm.hiden_dim=3", "--out", str(tmp_path / "r")]) == 2
    assert "hidden_dim" in capsys.readouterr().err
    assert main(["world-model", "train", "--preset", "tiny", "data.name=pong", f"data.directory={tmp_path}",
                 "data.train_episodes=2", "data.eval_episodes=2", "--out", str(tmp_path / "p")]) == 2
    assert "takes 20 actions" in capsys.readouterr().err


def test_train_cli_takes_cswm_features_and_curiosity_by_config(tmp_path):
    from runs.metrics import read_metrics

    out = tmp_path / "run"
    args = ["train", "--game", "Pong", "--preset", "tiny", "--out", str(out), "--no-progress", "env.obs=rgb64",
            "features.features=cswm", "features.crop_rows=[35, 190]", "features.cswm.hidden_dim=16",
            "features.cswm.num_objects=3", "features.cswm.action_encoding=copy", "features.cswm.actions_per_object=6",
            "loop.random_steps=256", "loop.total_steps=512",
            "intrinsic=[{name: cswm_curiosity, start: 384, config: {steps: 5, cswm: {hidden_dim: 16, "
            "action_encoding: copy, actions_per_object: 6, num_objects: 3}}}]"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["intrinsic"] == ["cswm_curiosity"] and (out / results["checkpoint"] / "cswm_curiosity.pt").exists()
    metrics = read_metrics(out)
    assert any("intrinsic/cswm_curiosity/loss" in m for m in metrics)
    means = [m["intrinsic/cswm_curiosity_reward_mean"] for m in metrics if "intrinsic/cswm_curiosity_reward_mean" in m]
    assert means[0] == 0.0 and means[-1] > 0.0  # switched on from the iteration starting at 384 real steps
    agent = load(out)
    assert agent.meta["features"]["model_shape"] == [6, 50, 50]
    assert agent.act(np.zeros((1, 4, 64, 64, 3), np.uint8)).shape == (1,)


def test_physics_preset_trains_the_medium_encoder_with_three_slots_and_no_actions(tmp_path):
    args = ["world-model", "train", "--data", "physics", "--no-progress", f"data.directory={tmp_path / 'data'}",
            "data.train_episodes=16", "data.eval_episodes=20", "cswm.epochs=2", "cswm.hidden_dim=32",
            "cswm.batch_size=32", "eval_every=2", "--out", str(tmp_path / "run")]
    assert main(args) == 0
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["cswm"]
    assert (config["encoder"], config["num_objects"], config["embedding_dim"], config["action_encoding"]) == (
        "medium", 3, 4, "none")
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [(e["horizon"], e["candidates"]) for e in results["evaluation"]] == [(1, 20), (5, 20), (10, 20)]
    assert results["train_transitions"] == 160
