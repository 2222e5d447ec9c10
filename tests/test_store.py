"""Experience store: frames once, stacks by index, samples within episodes, safe on disk."""
import time

import numpy as np
import pytest

from envs import AtariConfig, ExperienceStore, make_vector_env


def synthetic_store(num_streams=3, steps=400, seed=0):
    """Frames whose pixels say (episode, step) of their stream, with random episode ends."""
    rng = np.random.default_rng(seed)
    store = ExperienceStore((4, 2, 2), frame_stack=4, capacity=5000, num_streams=num_streams)
    episode = np.arange(num_streams)
    t = np.zeros(num_streams, int)
    next_episode = num_streams

    def frames(ep, step):
        out = np.zeros((len(ep), 4, 2, 2), np.uint8)
        out[:, -1, 0, 0], out[:, -1, 0, 1] = ep, step
        return out

    store.begin(frames(episode, t))
    for _ in range(steps):
        t += 1
        over = rng.random(num_streams) < 0.05
        next_obs = frames(episode, t)
        for i in np.flatnonzero(over):
            episode[i], t[i], next_episode = next_episode, 0, next_episode + 1
        store.add(rng.integers(4, size=num_streams), next_obs, np.ones(num_streams), over,
                  np.zeros(num_streams, bool), reset_obs=frames(episode, t))
    return store


def test_sequences_are_consecutive_steps_of_one_episode():
    store = synthetic_store()
    batch = store.sequences(4, 6, batch=256, rng=np.random.default_rng(1))
    frames = batch["frames"]
    assert frames.shape == (256, 10, 2, 2) and batch["action"].shape == (256, 9)
    episodes, steps = frames[:, :, 0, 0], frames[:, :, 0, 1].astype(int)
    assert (episodes == episodes[:, :1]).all()
    assert (np.diff(steps, axis=1) == 1).all()
    assert not batch["terminated"][:, :-1].any()  # an episode end can only be the last transition


def test_pairs_never_cross_episodes_and_stacks_are_zero_padded():
    store = synthetic_store()
    batch = store.pairs(512, np.random.default_rng(2))
    now, nxt = batch["obs"][:, -1], batch["next_obs"][:, -1]
    assert (now[:, 0, 0] == nxt[:, 0, 0]).all()
    assert (nxt[:, 0, 1].astype(int) - now[:, 0, 1] == 1).all()
    assert (batch["next_obs"][:, :-1] == batch["obs"][:, 1:]).all()
    first = batch["obs"][now[:, 0, 1] == 0]  # reset observations: only one real frame
    assert len(first) and (first[:, :3] == 0).all()


def test_atari_frames_stored_once_and_stacks_rebuilt_exactly():
    env = make_vector_env("Breakout", 2, AtariConfig(max_episode_frames=600))
    obs, _ = env.reset(seed=0)
    store = ExperienceStore(env.single_observation_space.shape, 4, capacity=2000, num_streams=2)
    store.begin(obs)
    rng = np.random.default_rng(0)
    recorded = []
    for _ in range(300):
        actions = rng.integers(4, size=2)
        obs, reward, terminated, truncated, info = env.step(actions)
        store.add_vector_step(actions, obs, reward, terminated, truncated, info)
        recorded.append((store.last_rows, obs.copy()))
    assert store.num_transitions == 600
    assert store.size == 600 + store.num_episodes  # one frame per step plus one per reset, never four
    for rows, obs in recorded[::7]:
        assert (store.observations(rows) == obs).all()


def test_memory_and_disk_within_ten_percent_of_raw_frames(tmp_path):
    store = ExperienceStore((4, 84, 84), 4, capacity=100_000)
    arrays = [store.frames, store.prev, store.step, store.episode, store.action, store.reward,
              store.raw_reward, store.terminated, store.truncated, store.life_lost]
    raw = 100_000 * 84 * 84
    assert sum(a.nbytes for a in arrays) <= 1.1 * raw
    big = ExperienceStore((4, 84, 84), 4, capacity=3000)
    big.begin(np.zeros((1, 4, 84, 84), np.uint8))
    for i in range(2000):
        big.add([0], np.full((1, 4, 84, 84), i % 255, np.uint8), [0.0], [False], [False])
    big.save(tmp_path / "store.npz")
    assert (tmp_path / "store.npz").stat().st_size <= 1.1 * big.size * 84 * 84


def test_save_load_round_trip_and_clear_errors(tmp_path):
    store = synthetic_store()
    path = tmp_path / "store.npz"
    store.save(path)
    loaded = ExperienceStore.load(path)
    assert loaded.size == store.size and loaded.num_episodes == store.num_episodes
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    a, b = store.sequences(4, 2, 32, rng_a), loaded.sequences(4, 2, 32, rng_b)
    assert all((a[k] == b[k]).all() for k in a)
    assert [p.name for p in tmp_path.iterdir()] == ["store.npz"]  # no temp file left behind
    time.sleep(2.1)  # zip entries carry a time stamp in 2-second steps: the same store must give the same bytes
    loaded.save(tmp_path / "again.npz")
    assert (tmp_path / "again.npz").read_bytes() == path.read_bytes()
    (tmp_path / "again.npz").unlink()

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated.npz is not a readable experience store"):
        ExperienceStore.load(truncated)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(ValueError, match="not an experience store"):
        ExperienceStore.load(foreign)


def test_empty_or_full_store_is_a_clear_error():
    store = ExperienceStore((4, 2, 2), 4, capacity=2)
    with pytest.raises(ValueError, match="no transitions"):
        store.pairs(1, np.random.default_rng(0))
    store.begin(np.zeros((1, 4, 2, 2), np.uint8))
    store.add([0], np.zeros((1, 4, 2, 2), np.uint8), [0.0], [False], [False])
    with pytest.raises(ValueError, match="full"):
        store.add([0], np.zeros((1, 4, 2, 2), np.uint8), [0.0], [False], [False])


def test_extend_appends_another_stores_episodes_unchanged():
    a, b = synthetic_store(seed=0), synthetic_store(num_streams=2, steps=300, seed=1)
    merged = ExperienceStore((4, 2, 2), frame_stack=4, capacity=a.size + b.size)
    merged.extend(a.trimmed())
    merged.extend(b.trimmed())
    assert (merged.size, merged.num_episodes) == (a.size + b.size, a.num_episodes + b.num_episodes)
    assert merged.num_transitions == a.num_transitions + b.num_transitions
    rows = np.arange(b.size)
    assert np.array_equal(merged.observations(rows + a.size), b.observations(rows))
    # every sampled sequence still lies in one episode of one source store
    frames = merged.sequences(2, 3, 256, np.random.default_rng(0))["frames"]
    assert (np.diff(frames[:, :, 0, 1].astype(int), axis=1) == 1).all()
    with pytest.raises(ValueError, match="exceed capacity"):
        merged.extend(a)
    with pytest.raises(ValueError, match="cannot extend"):
        merged.extend(ExperienceStore((3, 2, 2), frame_stack=3, capacity=10))

