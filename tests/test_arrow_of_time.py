"""Arrow-of-time potential: the closed-form optimum on a chain, the reward wrappers, files and bad configs."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from envs import ExperienceStore
from intrinsic import ArrowOfTime, ArrowOfTimeConfig, IntrinsicRewardVectorWrapper, IntrinsicRewardWrapper
from intrinsic.objectives import episode_lengths


def chain_store(states=6, p_forward=0.7, episodes=300, length=25, seed=0, end=False):
    """Random walks on a chain (one-hot observations) with a drift to the right; with ``end``, each episode's
    last step is marked truncated (a finished episode of known length)."""
    rng = np.random.default_rng(seed)
    eye = np.eye(states, dtype=np.float32)
    store = ExperienceStore((states,), frame_stack=1, capacity=episodes * (length + 1), dtype=np.float32)
    flux = np.zeros((states, states))
    for _ in range(episodes):
        s = 0
        store.begin(eye[[s]])
        for t in range(length):
            nxt = int(np.clip(s + (1 if rng.random() < p_forward else -1), 0, states - 1))
            flux[s, nxt] += 1
            store.add([0], eye[[nxt]], [0.0], [False], [end and t == length - 1])
            s = nxt
    return store, flux, eye


def test_sgd_matches_the_closed_form_potential_on_a_chain():
    torch.manual_seed(0)
    store, flux, eye = chain_store()
    model = ArrowOfTime(ArrowOfTimeConfig(trajectory_lambda=0.5, batch_size=1024, steps=1500, learning_rate=3e-3),
                        (6,))
    model.fit(store, np.random.default_rng(0))
    jumps = model.jump(eye[:-1], eye[1:])  # 2 * lambda * (h(i+1) - h(i))
    forward, backward = np.diag(flux, 1), np.diag(flux, -1)
    expected = (forward - backward) / (forward + backward)  # normalised net flux through each edge
    assert np.abs(jumps - expected).max() < 0.05


def test_time_regression_ranks_later_states_higher_on_a_chain():
    torch.manual_seed(0)
    store, _, eye = chain_store(end=True)
    store.truncated[store.size - 1] = False  # the last episode unfinished: no known length, not trained on
    lengths = episode_lengths(store)
    assert np.isnan(lengths[-1]) and (lengths[:-1] == 25).all()
    config = ArrowOfTimeConfig(objective="time_regression", batch_size=1024, steps=1500, learning_rate=3e-3)
    model = ArrowOfTime(config, (6,))
    model.fit(store, np.random.default_rng(0))
    h = model.h(eye).detach().numpy()
    assert (np.diff(h) > 0).all()  # the drift makes states further right later in their episodes
    # least squares on one-hot states is the mean episode fraction t / T at which each state occurs
    rows = np.flatnonzero(store.episode[: store.size] < 299)
    fraction = store.step[rows] / 25.0
    state = store.frames[rows].argmax(1)
    expected = np.array([fraction[state == i].mean() for i in range(6)])
    assert np.abs(h - expected).max() < 0.03
    assert model.jump_scale == 1.0 and np.allclose(model.jump(eye[:-1], eye[1:]), np.diff(h), atol=1e-6)
    control = ArrowOfTime(config, (6,))  # each pair as likely played backwards: no arrow to regress on
    control.fit(store, np.random.default_rng(0), shuffle_order=True)
    assert np.abs(control.h(eye).detach().numpy() - 0.5).max() < 0.05


def test_a_life_loss_does_not_end_an_episode_for_time_regression():
    store, _, eye = chain_store(episodes=3, end=True)
    store.terminated[5] = store.life_lost[5] = True
    assert (episode_lengths(store) == 25).all()
    unfinished, _, _ = chain_store(episodes=2)
    with pytest.raises(ValueError, match="needs finished episodes"):
        ArrowOfTime(ArrowOfTimeConfig(objective="time_regression"), (6,)).fit(unfinished, np.random.default_rng(0))


def test_fit_skips_life_losses_unless_asked():
    store, _, eye = chain_store(episodes=20)
    store.life_lost[: store.size : 3] = True
    rows = np.flatnonzero(~store.life_lost[: store.size] & (store.step[: store.size] > 0))
    batch = store.pairs(2000, np.random.default_rng(0), ~store.life_lost[: store.size])
    assert not batch["life_lost"].any() and len(rows) > 0
    with pytest.raises(ValueError, match="no transitions"):
        store.pairs(1, np.random.default_rng(0), np.zeros(store.size, bool))


def test_wrappers_add_exactly_the_configured_reward_and_log_both_parts():
    import envs  # noqa: F401  registers the vase world

    model = ArrowOfTime(ArrowOfTimeConfig(mode="safety", beta=2.0, delta=0.01), (3, 6, 6))
    env = IntrinsicRewardWrapper(gym.make("workbench/VaseWorld-v0"), model)
    obs, _ = env.reset(seed=0)
    for action in [1, 3, 1, 3, 1]:
        next_obs, reward, _, _, info = env.step(action)
        expected = -2.0 * max(model.jump(obs[None], next_obs[None])[0] - 0.01, 0.0)
        assert info["intrinsic_reward"] == pytest.approx(expected, abs=1e-6)
        assert reward == pytest.approx(info["extrinsic_reward"] + expected, abs=1e-6)
        obs = next_obs

    curious = ArrowOfTime(ArrowOfTimeConfig(mode="curiosity", beta=0.5), (3, 6, 6))
    vec = IntrinsicRewardVectorWrapper(gym.make_vec("workbench/VaseWorld-v0", 3, vectorization_mode="sync",
                                                    vector_kwargs={"autoreset_mode": "SameStep"}), curious)
    obs, _ = vec.reset(seed=0)
    actions = np.array([0, 1, 2])
    next_obs, reward, _, _, info = vec.step(actions)
    expected = -0.5 * curious.jump(obs, next_obs)
    assert np.allclose(info["intrinsic_reward"], expected, atol=1e-6)
    assert np.allclose(reward, info["extrinsic_reward"] + expected, atol=1e-6)


def test_save_load_round_trip(tmp_path):
    model = ArrowOfTime(ArrowOfTimeConfig(mask=((0, 2, 0, 6),), delta=0.3), (3, 6, 6))
    model.save(tmp_path / "aot.pt")
    loaded = ArrowOfTime.load(tmp_path / "aot.pt")
    obs = np.random.default_rng(0).random((4, 3, 6, 6)).astype(np.float32)
    assert np.allclose(loaded.jump(obs, obs[::-1]), model.jump(obs, obs[::-1]))
    assert loaded.delta == 0.3 and loaded.config == model.config
    (tmp_path / "bad.pt").write_bytes(b"nope")
    with pytest.raises(ValueError, match="not a readable arrow-of-time checkpoint"):
        ArrowOfTime.load(tmp_path / "bad.pt")


@pytest.mark.parametrize("kwargs,message", [
    ({"trajectory_lambda": -1.0}, r"trajectory_lambda=-1.0 is out of range"),
    ({"mode": "greedy"}, r"mode='greedy' is not allowed; choose one of \['safety', 'curiosity'\]"),
    ({"trajectory_lambda": 0.0}, r"unbounded without a regulariser"),
    ({"objective": "entropy"}, r"objective='entropy' is not allowed; choose one of \['functional', 'time_r"),
])
def test_bad_config_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ArrowOfTimeConfig(**kwargs)


def test_vase_world_breaks_are_detected_and_reported(tmp_path, capsys):
    import json

    from runs.cli import main

    out = tmp_path / "fit"
    assert main(["intrinsic", "fit", "--steps", "8000", "arrow.steps=400", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    held, control = report["heldout"], report["control_shuffled_order"]
    assert held["auroc"] > 0.95 and held["jump_at_events"] > 0.6 > held["jump_elsewhere"]
    assert held["auroc_abs"] > 0.9
    assert held["J_reversed"] == pytest.approx(-held["J"])  # the exact sign flip on reversed pairs
    assert abs(control["J"]) < 0.2 * held["J"]
    assert (out / "potential.pt").exists() and (out / "h_around_events.png").stat().st_size > 0
    # the time-regression potential on the same data, side by side
    regression = report["objectives"]["time_regression"]["heldout"]
    assert report["objectives"]["functional"]["heldout"] == held
    assert regression["median_episode_spearman"] > 0.5 and regression["events"] == held["events"]
    assert ArrowOfTime.load(out / "potential-time_regression.pt").config.objective == "time_regression"
    assert "time_regression" in capsys.readouterr().out


def test_ppo_trains_with_the_arrow_of_time_reward_and_logs_it_apart(tmp_path):
    import json

    from runs.cli import main
    from runs.metrics import read_metrics

    out = tmp_path / "run"
    args = ["train", "--game", "workbench/VaseWorld-v0", "--steps", "4000", "--out", str(out), "--no-progress",
            "intrinsic=[{name: arrow_of_time, config: {steps: 50}}]", "loop.random_steps=2000",
            "loop.real_steps_per_iteration=1000", "iteration_eval_episodes=2", "eval_episodes=2"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["intrinsic"] == ["arrow_of_time"] and results["agent_steps"] == 4000  # 2000 of them random
    assert (out / results["checkpoint"] / "arrow_of_time.pt").exists()
    metrics = read_metrics(out)
    assert any("intrinsic/arrow_of_time/J" in m for m in metrics)
    assert any("intrinsic/arrow_of_time_reward_mean" in m for m in metrics)
    assert all(0 <= m["rollout/ep_rew_mean"] <= 1 for m in metrics if "rollout/ep_rew_mean" in m)  # extrinsic only
