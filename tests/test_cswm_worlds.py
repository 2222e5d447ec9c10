"""C-SWM's worlds and data: block-pushing rules, renders, the episode dataset, the Atari dataset builder."""
import gymnasium as gym
import matplotlib
import numpy as np
import pytest

from envs.block_pushing import SHAPE_COLORS, BlockPushingEnv
from envs.cswm_datasets import collect_dataset
from envs.episodes import EpisodeDataset
from envs.three_body import ThreeBodyConfig, collides, simulate

UP, RIGHT, DOWN, LEFT = range(4)


def world(positions, render_type="shapes"):
    env = BlockPushingEnv(render_type)
    env.reset(seed=0)
    env.positions = np.array(positions)
    return env


def test_action_a_pushes_object_a_div_4_in_direction_a_mod_4():
    env = world([[2, 2], [0, 0], [4, 4], [0, 4], [4, 0]])
    env.step(4 * 0 + UP)
    assert env.positions[0].tolist() == [1, 2]
    env.step(4 * 0 + RIGHT)
    assert env.positions[0].tolist() == [1, 3]
    env.step(4 * 2 + LEFT)
    env.step(4 * 1 + DOWN)
    assert env.positions.tolist() == [[1, 3], [1, 0], [4, 3], [0, 4], [4, 0]]


def test_pushes_into_walls_or_other_objects_do_nothing():
    env = world([[0, 0], [0, 1], [4, 4], [3, 3], [2, 2]])
    before = env.positions.copy()
    for action in (4 * 0 + UP, 4 * 0 + LEFT, 4 * 0 + RIGHT, 4 * 1 + LEFT, 4 * 2 + DOWN, 4 * 2 + RIGHT):
        obs, reward, terminated, truncated, info = env.step(action)
        assert (info["positions"] == before).all(), action
    assert reward == 0.0 and not terminated and not truncated


def test_shapes_render_each_object_in_its_cell_and_colour():
    env = world([[0, 0], [1, 3], [4, 4], [2, 0], [3, 2]])
    image = env.render()
    assert image.shape == (50, 50, 3) and image.dtype == np.uint8
    for i, (row, col) in enumerate(env.positions):
        cell = image[10 * row:10 * row + 10, 10 * col:10 * col + 10].reshape(-1, 3)
        # the reference's sizes: a disc of radius 5 (69 px), a 10-wide triangle (45 px), a 10x10 square
        assert (cell == SHAPE_COLORS[i]).all(axis=1).sum() == [69, 45, 100][i % 3], i
        assert (cell.sum(1) > 0).sum() == [69, 45, 100][i % 3], i  # nothing else drawn in the cell
    assert (image[10:20, 0:10] == 0).all()  # an empty cell stays black
    set1 = matplotlib.colormaps["Set1"]  # the reference's utils.get_colors(cmap="Set1", num_colors=9)
    assert SHAPE_COLORS[:5] == [tuple(round(255 * v) for v in set1(i / 9)[:3]) for i in range(5)]


def test_cubes_render_changes_when_a_cube_moves_and_registered_ids_work():
    env = gym.make("workbench/Cubes-v0")
    obs, info = env.reset(seed=3)
    assert obs.shape == (3, 50, 50) and obs.dtype == np.uint8
    moved = next(a for a in range(20) if not (env.step(a)[4]["positions"] == info["positions"]).all())
    assert moved is not None and not np.array_equal(env.unwrapped._observation(), obs)


def test_episode_dataset_gives_transitions_paths_and_survives_a_round_trip(tmp_path):
    data = collect_dataset("shapes", "train", episodes=3, steps=6, seed=5)
    assert data.frames.shape == (3, 7, 3, 50, 50) and data.frames.dtype == np.uint8
    t = data.transitions(np.array([0, 7, 17]))  # (episode, step) = (0, 0), (1, 1), (2, 5)
    assert np.array_equal(t["obs"][1], data.frames[1, 1]) and np.array_equal(t["next_obs"][2], data.frames[2, 6])
    assert t["action"].tolist() == [data.actions[0, 0], data.actions[1, 1], data.actions[2, 5]]
    paths = data.paths(4)
    assert np.array_equal(paths["target"], data.frames[:, 4]) and paths["actions"].shape == (3, 4)
    again = EpisodeDataset.load(data.save(tmp_path / "d.npz"))
    assert np.array_equal(again.frames, data.frames) and again.info["dataset"] == "shapes"
    with pytest.raises(ValueError, match="horizon=7"):
        data.paths(7)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bad.npz is not a readable episode dataset"):
        EpisodeDataset.load(tmp_path / "bad.npz")


def test_same_seed_same_data_and_unknown_dataset_is_named():
    a, b = (collect_dataset("shapes", "eval", episodes=4, seed=9) for _ in range(2))
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.actions, b.actions)
    with pytest.raises(ValueError, match="'pacman'"):
        collect_dataset("pacman")


@pytest.mark.parametrize("name, actions", [("pong", 6), ("spaceinvaders", 6)])
def test_atari_dataset_stacks_current_and_previous_50x50_frames(name, actions):
    data = collect_dataset(name, "train", episodes=2)
    assert data.frames.shape == (2, 12, 3, 50, 50) and data.actions.shape == (2, 10)
    assert data.obs_shape == (6, 50, 50) and data.num_actions == actions
    t = data.transitions(np.arange(20))
    assert t["obs"].shape == (20, 6, 50, 50) and t["obs"].dtype == np.uint8
    # channels: the current frame, then the previous one; the next observation's previous frame is this one's current
    assert np.array_equal(t["next_obs"][:, 3:], t["obs"][:, :3])
    assert t["obs"].std() > 10  # real game pixels, not blank frames


def test_three_body_keeps_only_pure_gravity_and_conserves_momentum():
    config = ThreeBodyConfig()
    positions = simulate(64, 12, np.random.default_rng(0), config)
    assert positions.shape == (64, 12, 3, 2)
    # no wall hit, no overlap in kept sequences
    assert (positions > config.radius).all() and (positions < config.size - config.radius).all()
    gaps = np.linalg.norm(positions[:, :, [0, 1, 2]] - positions[:, :, [1, 2, 0]], axis=-1)
    assert gaps.min() > 2 * config.radius
    # forces come in equal and opposite pairs: the centre of mass moves in a straight line at constant speed
    centre = positions.mean(axis=2)
    assert np.abs(np.diff(centre, n=2, axis=1)).max() < 1e-9
    assert np.abs(np.diff(positions, n=2, axis=1)).max() > 0.05  # while the balls themselves accelerate
    # the rejection rule itself: a ball touching a wall, or two balls closer than two radii
    apart = np.array([[10.0, 10.0], [25.0, 25.0], [40.0, 10.0]])
    assert not collides(apart, config)
    assert collides(apart + [[-7.5, 0], [0, 0], [0, 0]], config)
    assert collides(np.array([[10.0, 10.0], [15.5, 10.0], [40.0, 30.0]]), config)
    a, b = (simulate(8, 12, np.random.default_rng(3), config) for _ in range(2))
    assert np.array_equal(a, b)


def test_physics_dataset_draws_one_ball_per_channel_in_pairs_of_frames():
    data = collect_dataset("physics", "eval", episodes=3)
    assert data.frames.shape == (3, 12, 3, 50, 50) and data.actions.shape == (3, 10)
    assert data.obs_shape == (6, 50, 50) and data.num_actions == 1 and not data.actions.any()
    t = data.transitions(np.arange(30))
    assert np.array_equal(t["next_obs"][:, 3:], t["obs"][:, :3])  # a frame and the one before it
    positions = simulate(3, 12, np.random.default_rng(2))
    for channel in range(3):
        mass = data.frames[:, :, channel].astype(float) / 255
        assert np.allclose(mass.sum(axis=(-2, -1)), np.pi * 3.0**2, rtol=0.05)  # one disc of radius 3
        rows, cols = np.mgrid[:50, :50] + 0.5
        total = mass.sum((-2, -1))[..., None]
        centre = np.stack([(mass * cols).sum((-2, -1)), (mass * rows).sum((-2, -1))], -1) / total
        assert np.abs(centre - positions[:, :, 2 - channel]).max() < 0.15  # ball j in channel 2 - j
