"""The simulated env: a Gymnasium env over any world model, stepped in one batched pass, usable by SB3 PPO."""
import numpy as np
import torch
from gymnasium.utils.env_checker import check_env

from agents import PPOConfig, PPOLearner
from envs import AtariConfig, ExperienceStore, make_vector_env
from world_models import SimPLeModelConfig, SimPLeWorldModel, SimulatedEnv, SimulatedVectorEnv, store_starts

TINY_64 = dict(frame_height=64, frame_width=64, hidden=8, compress_steps=3, filter_double_steps=1, latent_bits=16,
               prior_lstm_size=16, target_frames=1, batch_size=4)


def real_store(steps=64):
    config = AtariConfig("Pong", obs="rgb64")
    env = make_vector_env("Pong", 2, config)
    obs, _ = env.reset(seed=0)
    store = ExperienceStore(env.single_observation_space.shape, 4, 1000, num_streams=2)
    store.begin(obs)
    for _ in range(steps // 2):
        actions = env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(actions)
        store.add_vector_step(actions, obs, reward, terminated, truncated, info)
    return env, store


def test_simulated_env_passes_gymnasium_checks_and_matches_the_real_obs_format():
    real, store = real_store()
    model = SimPLeWorldModel(SimPLeModelConfig(**TINY_64), num_actions=int(real.single_action_space.n))
    env = SimulatedEnv(model, store_starts(store, 4), rollout_length=5)
    check_env(env, skip_render_check=True)
    assert env.observation_space == real.single_observation_space
    assert env.action_space == real.single_action_space


def test_all_envs_step_in_one_forward_pass_and_restart_after_the_rollout():
    real, store = real_store()
    model = SimPLeWorldModel(SimPLeModelConfig(**TINY_64), num_actions=6)
    calls = []
    model.network.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    env = SimulatedVectorEnv(model, store_starts(store, 4), num_envs=6, rollout_length=3)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (6, 4, 64, 64, 3) and obs.dtype == np.uint8
    for _ in range(3):
        obs, reward, terminated, truncated, info = env.step(np.zeros(6, dtype=np.int64))
        assert set(reward.tolist()) <= {-1.0, 0.0, 1.0} and not terminated.any()
    assert calls == [6, 6, 6] and env.forward_passes == 3
    assert truncated.all() and info["_final_obs"].all() and info["final_obs"].shape == (6, 4, 64, 64, 3)
    # after truncation the observations are fresh real windows from the store
    real_obs = store.observations(np.arange(store.size))
    assert any((obs[0] == o).all() for o in real_obs)


def test_sb3_ppo_trains_inside_the_simulated_env_unchanged():
    torch.manual_seed(0)
    _, store = real_store()
    model = SimPLeWorldModel(SimPLeModelConfig(**TINY_64), num_actions=6)
    env = SimulatedVectorEnv(model, store_starts(store, 4), num_envs=4, rollout_length=8)
    learner = PPOLearner(PPOConfig(n_steps=8, batch_size=16, n_epochs=1), env, seed=0)
    before = [p.clone() for p in learner.model.policy.parameters()]
    learner.learn(64)
    assert learner.num_timesteps == 64 and env.forward_passes == 16
    assert any(not torch.equal(a, b) for a, b in zip(before, learner.model.policy.parameters()))
    assert learner.act(env.reset(seed=1)[0]).shape == (4,)
