"""The Atari 100k protocol, checked against raw ALE frames."""
import ale_py
import cv2
import numpy as np
import pytest

from envs import AtariConfig, AtariEnv, make_env, make_vector_env


def raw_ale(game_rom: str, seed: int) -> ale_py.ALEInterface:
    ale = ale_py.ALEInterface()
    ale.setLoggerMode(ale_py.LoggerMode.Error)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.setInt("random_seed", seed)
    ale.loadROM(ale_py.roms.get_rom_path(game_rom))
    ale.reset_game()
    return ale


def test_skip_four_with_max_pool_of_last_two_frames_matches_raw_ale():
    env = AtariEnv(AtariConfig("Breakout"))
    obs, info = env.reset(seed=3)
    ale = raw_ale("breakout", 3)
    for _ in range(info["episode_frame_number"]):  # the no-op start, replayed
        ale.act(ale_py.Action.NOOP)
    assert (obs[-1] == cv2.resize(ale.getScreenGrayscale(), (84, 84), interpolation=cv2.INTER_AREA)).all()
    actions = env.unwrapped._actions
    rng = np.random.default_rng(0)
    pooled_differs = 0
    for _ in range(60):
        a = int(rng.integers(env.action_space.n))
        prev = obs
        obs, reward, terminated, truncated, info = env.step(a)
        frames, raw = [], 0
        for _ in range(4):
            raw += ale.act(actions[a])
            frames.append(ale.getScreenGrayscale())
        expected = cv2.resize(np.maximum(frames[-2], frames[-1]), (84, 84), interpolation=cv2.INTER_AREA)
        last_only = cv2.resize(frames[-1], (84, 84), interpolation=cv2.INTER_AREA)
        assert (obs[-1] == expected).all()
        assert (obs[:-1] == prev[1:]).all()  # the stack shifts by one frame per step
        assert info["raw_reward"] == raw and reward == np.sign(raw)
        pooled_differs += int((expected != last_only).any())
        if terminated:
            break
    assert pooled_differs > 0  # the max-pool is visible, so the check above means something


def test_reset_stack_is_zero_padded():
    obs, _ = AtariEnv(AtariConfig("Pong")).reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert (obs[:3] == 0).all() and obs[3].any()


def test_noop_starts_cover_zero_to_thirty_frames():
    env = AtariEnv(AtariConfig("Pong"))
    noops = [env.reset(seed=s)[1]["episode_frame_number"] for s in range(100)]
    assert min(noops) >= 0 and max(noops) <= 30
    assert min(noops) <= 3 and max(noops) >= 27 and 10 < np.mean(noops) < 20


def test_sticky_actions_off_by_default_and_optional():
    assert AtariEnv(AtariConfig("Pong")).ale.getFloat("repeat_action_probability") == 0.0
    assert AtariEnv(AtariConfig("Pong", sticky_actions=0.25)).ale.getFloat("repeat_action_probability") == 0.25


def play_until(env, stop, seed=0, steps=3000):
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    for _ in range(steps):
        out = env.step(int(rng.integers(env.action_space.n)))
        if stop(*out):
            return out
    raise AssertionError("condition never reached")


def test_life_loss_is_terminal_in_train_mode_only_and_the_game_goes_on():
    env = AtariEnv(AtariConfig("Breakout", mode="train"))
    obs, _, terminated, _, info = play_until(env, lambda o, r, te, tr, i: te)
    assert info["life_lost"] and not info["game_over"] and info["lives"] == 4
    obs_after, info_after = env.reset()  # no seed: the same game continues
    assert (obs_after == obs).all() and info_after["lives"] == 4

    env = AtariEnv(AtariConfig("Breakout", mode="eval"))
    _, _, terminated, _, info = play_until(env, lambda o, r, te, tr, i: i["life_lost"])
    assert not terminated and info["lives"] == 4


def test_episode_cap_truncates():
    env = AtariEnv(AtariConfig("Pong", max_episode_frames=200))
    env.reset(seed=0)
    flags = [env.step(0)[2:4] for _ in range(50)]
    assert flags[-1] == (False, True) and not any(t or tr for t, tr in flags[:-1])
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_raw_score_in_info_while_training_reward_is_clipped():
    env = AtariEnv(AtariConfig("Alien", mode="train"))
    _, reward, _, _, info = play_until(env, lambda o, r, te, tr, i: i["raw_reward"] > 1)
    assert reward == 1.0 and info["raw_reward"] >= 10 and info["score"] >= info["raw_reward"]
    eval_env = AtariEnv(AtariConfig("Alien", mode="eval"))
    _, reward, _, _, info = play_until(eval_env, lambda o, r, te, tr, i: i["raw_reward"] > 1)
    assert reward == info["raw_reward"] >= 10


@pytest.mark.parametrize("obs,shape", [
    ("gray84", (4, 84, 84)), ("rgb105x80", (4, 105, 80, 3)), ("rgb64", (4, 64, 64, 3)),
])
def test_observation_formats(obs, shape):
    env = make_env("ALE/Pong-v5", AtariConfig(obs=obs))
    assert env.observation_space.shape == shape and env.reset(seed=0)[0].shape == shape


def test_bad_names_and_options_are_clear_errors():
    with pytest.raises(ValueError, match=r"unknown Atari game 'Pongg'.*'Pong'"):
        make_env("Pongg")
    with pytest.raises(ValueError, match=r"unknown env id 'CartPol-v1'.*CartPole-v1"):
        make_env("CartPol-v1")
    with pytest.raises(ValueError, match=r"frameskip=4.*frame_skip"):
        make_env("ALE/Pong-v5", frameskip=4)
    with pytest.raises(ValueError, match=r"sticky_actions=0.5.*\[0.0, 0.25\]"):
        AtariConfig(sticky_actions=0.5)
    with pytest.raises(ValueError, match=r"obs='rgb'.*gray84"):
        AtariConfig(obs="rgb")


def test_any_registered_gymnasium_env_goes_through_the_same_factory():
    env = make_env("CartPole-v1")
    assert env.reset(seed=0)[0].shape == (4,)
    vec = make_vector_env("CartPole-v1", 3)
    obs, _ = vec.reset(seed=0)
    assert obs.shape == (3, 4)
    vec.step(np.zeros(3, dtype=np.int64))
