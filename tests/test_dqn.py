"""DrQ(epsilon): our PyTorch learner against Dopamine's settings, the augmentation, the n-step replay, and the
RLlib preset and connector."""
import numpy as np
import pytest
import torch
import yaml

import agents
from agents.learners.dqn.augment import drq_augment
from agents.learners.dqn.config import DQNConfig
from agents.learners.dqn.network import QNetwork
from agents.learners.dqn.replay import NStepReplay
from runs.cli import main
from runs.configs import build, load_preset
from runs.evaluation import EvalConfig
from runs.metrics import read_metrics
from runs.train.composed import ComposedTrainConfig

# dopamine/labs/atari_100k/configs/DrQ_eps.gin, binding by binding (our field: Dopamine's value).
DOPAMINE_DRQ_EPS = {"gamma": 0.99, "n_step": 10, "learning_starts": 1600, "update_period": 1, "updates_per_step": 1,
                    "target_update_period": 1, "epsilon_train": 0.01, "epsilon_eval": 0.001,
                    "epsilon_decay_steps": 5000, "learning_rate": 1e-4, "adam_eps": 1.5e-4, "batch_size": 32,
                    "dueling": True, "double": True, "augment": True, "grad_clip": None, "loss": "huber",
                    "hidden": 512, "padding": "same", "precision": "float32"}


def test_preset_holds_dopamine_values_and_the_100k_protocol():
    config = build(ComposedTrainConfig, ["drq-eps-atari100k"], [])
    assert {k: getattr(config.dqn, k) for k in DOPAMINE_DRQ_EPS} == DOPAMINE_DRQ_EPS
    assert config.loop.total_real_steps == 100_000 and config.eval_episodes == 100
    env = config.env
    assert env.sticky_actions == 0.0 and env.life_loss_terminal and env.max_episode_frames == 108_000
    assert EvalConfig().epsilon == config.dqn.epsilon_eval  # the protocol applies Dopamine's evaluation epsilon
    cpu = build(ComposedTrainConfig, ["drq-eps-cpu"], [])  # the 2-core variant differs in exactly these
    differs = {k for k in DOPAMINE_DRQ_EPS if getattr(cpu.dqn, k) != getattr(config.dqn, k)}
    assert differs == {"padding", "precision"}


def test_epsilon_follows_dopamines_linearly_decaying_epsilon():
    config = DQNConfig()
    # Dopamine: eps + clip((1 - eps) * (decay + warmup - step) / decay, 0, 1 - eps)
    assert [config.epsilon(s) for s in (0, 1600, 4100, 6600, 50_000)] == pytest.approx([1.0, 1.0, 0.505, 0.01, 0.01])


def test_network_pads_as_flax_same_and_valid_as_nature():
    same, valid = QNetwork(4, (84, 84), 18), QNetwork(4, (84, 84), 18, padding="valid")
    x = torch.rand(2, 4, 84, 84)
    assert same.encoder[:6](x).shape == (2, 64, 11, 11) and valid.encoder[:6](x).shape == (2, 64, 7, 7)
    assert same(x).shape == (2, 18) and same.encoder[7].in_features == 64 * 11 * 11
    # Dueling: the advantages are centred, so Q's mean over actions is the value stream's output.
    features = same.encoder(x)
    assert torch.allclose(same(x).mean(1), same.value(features).squeeze(1), atol=1e-5)


def _marked(batch: int) -> torch.Tensor:
    """Images whose every pixel value encodes its own (row, col): a shift is read off any pixel."""
    rows, cols = torch.meshgrid(torch.arange(84.0), torch.arange(84.0), indexing="ij")
    image = (rows * 100 + cols) / 10_000
    return image.expand(batch, 4, 84, 84).clone()


def test_augmentation_shifts_each_image_on_its_own_by_at_most_four_pixels():
    x = _marked(64)
    before = x.clone()
    out = drq_augment(x, torch.Generator().manual_seed(0), pad=4, intensity=0.0)
    assert torch.equal(x, before)  # the input (what the replay holds) is untouched
    centre = out[:, :, 40, 40] * 10_000  # away from the replicated edge, so it reads the true source pixel
    shift_rows, shift_cols = torch.round(centre // 100) - 40, torch.round(centre % 100) - 40
    assert shift_rows.abs().max() <= 4 and shift_cols.abs().max() <= 4
    assert (shift_rows[:, 0:1] == shift_rows).all()  # the frames of one stack move together
    shifts = set(zip(shift_rows[:, 0].tolist(), shift_cols[:, 0].tolist()))
    assert len(shifts) > 20  # independent per image (64 draws from 64 offsets)
    assert shift_rows.min() == -4 and shift_rows.max() == 3  # Dopamine's exclusive upper bound
    scaled = drq_augment(torch.ones(256, 1, 8, 8), torch.Generator().manual_seed(1), pad=0, intensity=0.05)
    factors = scaled[:, 0, 0, 0]
    assert factors.min() >= 0.9 - 1e-6 and factors.max() <= 1.1 + 1e-6 and factors.std() > 0.03
    assert torch.equal(scaled, scaled[:, :1, :1, :1].expand_as(scaled))  # one factor per image


def test_n_step_returns_stop_at_life_loss_and_bootstrap_with_gamma_to_the_n():
    replay = NStepReplay((1, 2, 2), 1, 64)
    replay.begin(np.zeros((1, 1, 2, 2), np.uint8))
    for t in range(1, 13):  # rewards 1 each; a life is lost on arriving at row 6
        life = t == 6
        info = {"raw_reward": np.ones(1), "life_lost": np.array([life]), "game_over": np.array([False])}
        replay.add(np.array([t % 3]), np.full((1, 1, 2, 2), t, np.uint8), np.ones(1, np.float32),
                   np.array([life]), np.array([False]), info)
    batch = replay.sample(400, 0.5, 3, np.random.default_rng(0))
    start = batch["obs"][:, 0, 0, 0].astype(int)
    for s, ret, disc, nxt, act in zip(start, batch["reward"], batch["discount"], batch["next_obs"][:, 0, 0, 0],
                                      batch["action"]):
        assert act == (s + 1) % 3  # the action taken in the start state
        if s < 6 <= s + 3:  # the window meets the life loss: terminal, no bootstrap
            k = 6 - s
            assert (ret, disc, nxt) == (pytest.approx(sum(0.5 ** i for i in range(k))), 0.0, 6)
        else:  # full window, or the newest steps where the data ends first
            k = min(3, 12 - s)
            assert (ret, disc, nxt) == (pytest.approx(sum(0.5 ** i for i in range(k))), 0.5 ** k, s + k)
    assert set(start) == set(range(12))  # every stored state with a successor is a start


def test_drq_eps_trains_exact_budget_on_pong_and_leaves_a_playable_agent(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--agent", "drq-eps", "--preset", "drq-eps-tiny", "--out", str(out), "--no-progress"]) == 0
    progress = yaml.safe_load((out / "progress.json").read_text())
    assert progress["real_steps"] == 400 and progress["iterations_done"] == 1
    policy = torch.load(out / "checkpoints" / "iteration_002" / "policy.pt", weights_only=True)
    assert policy["num_timesteps"] == 400 and policy["updates"] == 300  # updates once 100 transitions are stored
    replay = NStepReplay.load(out / "checkpoints" / "iteration_002" / "policy.replay.npz")
    assert replay.num_transitions == 400
    results = yaml.safe_load((out / "results.json").read_text())
    assert results["final_eval"]["episodes"] == 2 and results["agent_steps"] == 400
    agent = agents.load(out)
    assert agent.meta["learner"] == "dqn" and agent.meta["dqn"]["n_step"] == 10
    obs = np.zeros((3, 4, 84, 84), np.uint8)
    assert agent.act(obs, deterministic=True).shape == (3,)
    assert read_metrics(out)  # metrics were logged


def test_learner_updates_leave_the_stored_frames_untouched_and_checkpoints_round_trip(tmp_path):
    from agents.learners.dqn.learner import DQNLearner
    from envs import AtariConfig, make_vector_env

    config = DQNConfig(learning_starts=20, epsilon_decay_steps=10, padding="valid")
    learner = DQNLearner(config, make_vector_env("Pong", 1, AtariConfig("Pong")), 200, seed=3)
    learner.learn(30)
    frames = learner.replay.store.frames[: learner.replay.store.size].copy()
    learner.learn(20)
    assert np.array_equal(learner.replay.store.frames[: len(frames)], frames) and learner.updates == 30
    learner.save(tmp_path / "policy.pt")
    again = DQNLearner(config, make_vector_env("Pong", 1, AtariConfig("Pong")), 200, seed=99)
    again.load(tmp_path / "policy.pt")
    assert (again.num_timesteps, again.updates, again.replay.num_transitions) == (50, 30, 50)
    for a, b in zip(learner.policy.q.parameters(), again.policy.q.parameters()):
        assert torch.equal(a, b)
    assert again.rng.random() == learner.rng.random()  # the random streams continue where they were
    learner.close(), again.close()


def test_rllib_preset_sets_the_rllib_defaults_that_differ():
    preset = load_preset("rllib-drq-eps")["rllib"]
    assert preset["grad_clip"] is None and preset["replay"] == "uniform" and preset["target_update_every"] == 1
    assert preset["n_step"] == 10 and preset["adam_eps"] == 1.5e-4 and preset["train_batch"] == 32
    # RLlib refuses fragments shorter than n_step: one update per env step is 10 updates per 10-step fragment.
    assert preset["rollout_fragment_length"] == 10 and preset["training_intensity"] == preset["train_batch"]
    with pytest.raises(ValueError, match="rollout_fragment_length=1 must be at least n_step=10"):
        build(ComposedTrainConfig, ["rllib-drq-eps"], ["rllib.rollout_fragment_length=1"])


def test_rllib_augment_connector_changes_copies_and_leaves_replayed_episodes_untouched():
    from ray.rllib.env.single_agent_episode import SingleAgentEpisode

    from agents.learners.rllib.augment import DrQAugmentConnector

    rows, cols = np.meshgrid(np.arange(84.0), np.arange(84.0), indexing="ij")
    image = np.repeat(((rows * 100 + cols) / 10_000)[..., None], 4, axis=2).astype(np.float32)
    stored = []
    for _ in range(8):  # what RLlib's replay hands the learner: one-step episodes holding [obs, next_obs]
        episode = SingleAgentEpisode(observations=[image.copy(), image.copy()], actions=[0], rewards=[1.0],
                                     len_lookback_buffer=0)
        stored.append(episode.to_numpy())
    handed = list(stored)
    DrQAugmentConnector(pad=4, intensity=0.0, seed=0)(rl_module=None, batch={}, episodes=handed)
    shifts = set()
    for original, augmented in zip(stored, handed):
        assert np.array_equal(original.get_observations(0), image)  # the replay's copy is untouched
        for t in (0, 1):
            centre = augmented.get_observations(t)[40, 40, 0] * 10_000
            shift = (round(centre // 100) - 40, round(centre % 100) - 40)
            assert max(abs(shift[0]), abs(shift[1])) <= 4
            shifts.add(shift)
    assert len(shifts) > 4  # obs and next_obs of each transition, and each transition, shifted on their own


def test_gpu_sweep_script_dry_run_trains_one_tiny_trial_and_writes_leaderboard_and_measured_data(tmp_path):
    """``benchmarks/gpu_sweep.sh`` as the GPU machine runs it, on CPU with one tiny trial."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[1] / "benchmarks" / "gpu_sweep.sh"
    workbench = Path(sys.executable).parent / "workbench"
    env = {**os.environ, "DRY_RUN": "1", "OUT": str(tmp_path), "WORKBENCH": str(workbench), "LIMIT": "500"}
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=560)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 trial(s) finished" in done.stdout
    record = json.loads((tmp_path / "measured" / "drq-eps" / "Pong-seed0.json").read_text())
    assert record["agent_steps"] == 400 and record["config"]["learner"] == "dqn"
    board = json.loads((tmp_path / "leaderboard" / "leaderboard.json").read_text())
    assert board["format"] == "rl-workbench/leaderboard-v1"
    from runs.standing import standing_rows

    (row,) = standing_rows(tmp_path / "measured")  # where the run lands among the 100 published DrQ(eps) runs
    published_file = Path(__file__).parents[1] / "runs" / "data" / "published_runs" / "DrQ_eps.json"
    published = np.asarray(json.loads(published_file.read_text())["Pong"])
    assert row["game"] == "Pong" and row["percentile"] == pytest.approx(100 * np.mean(published < row["score"]))
    assert row["within"] == (np.percentile(published, 5) <= row["score"] <= np.percentile(published, 95))


@pytest.mark.slow
def test_rllib_drq_eps_preset_trains_with_its_connector_and_exact_budget(tmp_path, ray_local):
    out = tmp_path / "run"
    assert main(["train", "--agent", "rllib", "--preset", "rllib-drq-eps-tiny", "--out", str(out),
                 "--no-progress"]) == 0
    results = yaml.safe_load((out / "results.json").read_text())
    assert results["agent_steps"] == 200 and results["learner"] == "rllib-dqn"
    assert agents.load(out).meta["rllib"]["drq_augment"] is True


def test_several_envs_still_make_one_update_per_agent_step():
    from agents.learners.dqn.learner import DQNLearner
    from envs import AtariConfig, make_vector_env

    config = DQNConfig(learning_starts=10, padding="valid", target_update_period=4)
    learner = DQNLearner(config, make_vector_env("Pong", 2, AtariConfig("Pong")), 200, seed=0)
    learner.learn(40)
    assert (learner.num_timesteps, learner.replay.num_transitions, learner.updates) == (40, 40, 30)
    with pytest.raises(ValueError, match="steps=3 is not a multiple of the 2 envs"):
        learner.learn(3)
    learner.close()
