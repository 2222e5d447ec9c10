"""C-SWM's datasets (Kipf et al., ICLR 2020), collected with a uniformly random policy as the paper does.

- ``shapes`` / ``cubes``: block pushing, 1,000 train episodes of 100 steps; 10,000 eval episodes of 10 steps.
- ``pong`` / ``spaceinvaders``: ``*Deterministic-v4`` settings (frame skip 4, 3 for Space Invaders, no sticky
  actions); a random warm-up of 58 / 50 steps and one no-op, then 10 recorded transitions per episode.
  Frames are cropped to the playing field (rows 35:190 / 30:200) and shrunk to 50x50; an observation is
  the current and the previous frame. 1,000 train and 100 eval episodes.
- ``physics``: the 3-body gravitational world (``envs/three_body.py``), no actions (all 0, one action); an
  observation is two consecutive 50x50 frames as for Atari. 5,000 train and 1,000 eval episodes of 10 transitions.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import gymnasium as gym
import numpy as np

from envs.block_pushing import BlockPushingEnv
from envs.episodes import EpisodeDataset
from envs.three_body import ThreeBodyConfig, render, simulate
from envs.validate import require_choice


@dataclass(frozen=True)
class DatasetSpec:
    """How one of the paper's datasets is made. ``episodes``/``steps`` map split -> size; ``version`` changes
    whenever the same name and size would give other data (it is part of the cache file's name)."""

    world: str
    episodes: dict[str, int]
    steps: dict[str, int]
    seeds: dict[str, int]
    frame_skip: int = 1
    warmup: int = 0
    crop_rows: tuple[int, int] = (0, 0)
    version: int = 1


_BLOCKS = {"episodes": {"train": 1000, "eval": 10_000}, "steps": {"train": 100, "eval": 10},
           "seeds": {"train": 1, "eval": 2}}
_ATARI = {"episodes": {"train": 1000, "eval": 100}, "steps": {"train": 10, "eval": 10},
          "seeds": {"train": 1, "eval": 2}}
DATASETS = {
    "shapes": DatasetSpec("shapes", **_BLOCKS, version=2),  # 2: the reference's Set1 colours and shape sizes
    "cubes": DatasetSpec("cubes", **_BLOCKS),
    "pong": DatasetSpec("ALE/Pong-v5", **_ATARI, frame_skip=4, warmup=58, crop_rows=(35, 190)),
    "spaceinvaders": DatasetSpec("ALE/SpaceInvaders-v5", **_ATARI, frame_skip=3, warmup=50, crop_rows=(30, 200)),
    "physics": DatasetSpec("three_body", episodes={"train": 5000, "eval": 1000}, steps={"train": 10, "eval": 10},
                           seeds={"train": 1, "eval": 2}),
}


def collect_dataset(name: str, split: str = "train", episodes: int | None = None, steps: int | None = None,
                    seed: int | None = None, progress: Iterable[int] | None = None) -> EpisodeDataset:
    """Collect dataset ``name`` (shapes, cubes, pong, spaceinvaders, physics) for ``split`` (train, eval); sizes and
    seed default to the paper's. ``progress`` may wrap the episode range (e.g. ``tqdm``)."""
    require_choice("dataset", name, list(DATASETS))
    require_choice("split", split, ["train", "eval"])
    spec = DATASETS[name]
    episodes = spec.episodes[split] if episodes is None else episodes
    steps = spec.steps[split] if steps is None else steps
    seed = spec.seeds[split] if seed is None else seed
    if episodes < 1 or steps < 1:
        raise ValueError(f"episodes={episodes}, steps={steps}: both must be >= 1")
    collectors = {"shapes": _collect_blocks, "cubes": _collect_blocks, "physics": _collect_physics}
    collect = collectors.get(name, _collect_atari)
    frames, actions, num_actions = collect(spec, episodes, steps, seed, progress or range(episodes))
    info = {"dataset": name, "split": split, "seed": seed, "num_actions": num_actions, "policy": "uniform random"}
    return EpisodeDataset(frames, actions, stack=1 if name in ("shapes", "cubes") else 2, info=info)


def _collect_blocks(spec: DatasetSpec, episodes: int, steps: int, seed: int, progress: Iterable[int]):
    env = BlockPushingEnv(spec.world)
    rng = np.random.default_rng(seed)
    frames = np.zeros((episodes, steps + 1, *env.observation_space.shape), np.uint8)
    actions = rng.integers(0, env.action_space.n, (episodes, steps))
    for e in progress:
        frames[e, 0], _ = env.reset(seed=int(rng.integers(2**31)))
        for t in range(steps):
            frames[e, t + 1] = env.step(actions[e, t])[0]
    return frames, actions, int(env.action_space.n)


def _collect_physics(spec: DatasetSpec, episodes: int, steps: int, seed: int, progress: Iterable[int]):
    """``steps + 2`` frames per episode: an observation is a frame and the one before it (the channel order of
    the Atari data: newest first), so ``steps`` transitions. The only action is 0."""
    config, rng = ThreeBodyConfig(), np.random.default_rng(seed)
    positions = simulate(episodes, steps + 2, rng, config)
    frames = np.zeros((episodes, steps + 2, 3, config.size, config.size), np.uint8)
    for e in progress:
        frames[e] = render(positions[e], config)
    return frames, np.zeros((episodes, steps), np.int64), 1


def _collect_atari(spec: DatasetSpec, episodes: int, steps: int, seed: int, progress: Iterable[int]):
    import ale_py

    gym.register_envs(ale_py)
    env = gym.make(spec.world, frameskip=spec.frame_skip, repeat_action_probability=0.0)
    rng = np.random.default_rng(seed)
    frames = np.zeros((episodes, steps + 2, 3, 50, 50), np.uint8)
    actions = np.zeros((episodes, steps), np.int64)
    env.reset(seed=seed)
    for e in progress:
        while not _atari_episode(env, spec, rng, frames[e], actions[e]):
            pass  # the game ended inside the recorded window: draw the episode again
    env.close()
    return frames, actions, int(env.action_space.n)


def _atari_episode(env: gym.Env, spec: DatasetSpec, rng: np.random.Generator, frames: np.ndarray,
                   actions: np.ndarray) -> bool:
    """Fill one episode's frames (T + 2: the frame before the first observation too) and actions in place."""
    obs, _ = env.reset()
    for _ in range(spec.warmup):
        obs = env.step(int(rng.integers(env.action_space.n)))[0]
    frames[0] = crop_resize(obs, spec.crop_rows)
    obs, _, terminated, truncated, _ = env.step(0)
    frames[1] = crop_resize(obs, spec.crop_rows)
    for t in range(len(actions)):
        actions[t] = rng.integers(env.action_space.n)
        obs, _, terminated, truncated, _ = env.step(int(actions[t]))
        frames[t + 2] = crop_resize(obs, spec.crop_rows)
        if (terminated or truncated) and t < len(actions) - 1:
            return False
    return True


def crop_resize(frame: np.ndarray, rows: tuple[int, int], size: int = 50) -> np.ndarray:
    """(210, 160, 3) ALE frame -> rows ``rows[0]:rows[1]``, area-averaged to (3, size, size) uint8."""
    small = cv2.resize(frame[rows[0]:rows[1]], (size, size), interpolation=cv2.INTER_AREA)
    return small.transpose(2, 0, 1)
