"""Real interaction kept for world models and intrinsic rewards: each frame stored once.

Row ``r`` holds one observation's newest frame and the transition that *arrived* at it: the
action taken in the previous row, its reward and the flags it raised. The first row of an
episode (a reset) has ``action = -1``. ``prev[r]`` links to the row before it in the same
episode (-1 at a reset), so streams of a vector env may interleave freely and frame stacks are
rebuilt by following links, zero-padded before the reset exactly as the env pads them.
An episode here is a game: a life loss is flagged and terminal for learning, but the game goes on.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from envs.files import save_npz

_FORMAT_VERSION = 1
_COLUMNS = ("prev", "step", "episode", "action", "reward", "raw_reward", "terminated", "truncated", "life_lost")


class ExperienceStore:
    """Frames of ``num_streams`` parallel envs, sampled as sequences or consecutive pairs.

    Args:
        obs_shape: one observation, e.g. (4, 84, 84): frames stacked on axis 0 when ``frame_stack > 1``.
        frame_stack: frames per observation; 1 stores whole observations (vector obs, CartPole).
        capacity: most rows kept (one per transition plus one per episode start).
        num_streams: parallel envs feeding the store (a vector env's ``num_envs``).
        dtype: observation dtype (uint8 for Atari).
    """

    def __init__(
        self, obs_shape: tuple[int, ...], frame_stack: int = 4, capacity: int = 110_000,
        num_streams: int = 1, dtype: np.dtype = np.uint8,
    ) -> None:
        self.obs_shape, self.frame_stack, self.capacity = tuple(obs_shape), frame_stack, capacity
        frame_shape = self.obs_shape[1:] if frame_stack > 1 else self.obs_shape
        self.frames = np.zeros((capacity, *frame_shape), dtype)
        self.prev = np.full(capacity, -1, np.int32)
        self.step = np.zeros(capacity, np.int32)
        self.episode = np.zeros(capacity, np.int32)
        self.action = np.full(capacity, -1, np.int32)
        self.reward = np.zeros(capacity, np.float32)
        self.raw_reward = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, bool)
        self.truncated = np.zeros(capacity, bool)
        self.life_lost = np.zeros(capacity, bool)
        self.size = 0
        self.num_episodes = 0
        self._last_row = np.full(num_streams, -1, np.int64)

    @property
    def num_transitions(self) -> int:
        """Rows reached by an action: real agent steps recorded."""
        return int((self.step[: self.size] > 0).sum())

    @property
    def last_rows(self) -> np.ndarray:
        """(num_streams,) row each stream wrote last: ``observations(last_rows)`` is the current obs."""
        return self._last_row.copy()

    def truncate(self, rows: int) -> None:
        """Forget every row from ``rows`` on (e.g. data of a phase that did not finish)."""
        self.size = min(self.size, rows)
        self.num_episodes = int(self.episode[: self.size].max()) + 1 if self.size else 0
        self._last_row[:] = -1

    def begin(self, obs: np.ndarray) -> None:
        """Start one episode per stream from its reset observation; ``obs`` is (num_streams, *obs_shape)."""
        for stream, o in enumerate(obs):
            self._begin_episode(stream, o)

    def add(
        self, actions: np.ndarray, next_obs: np.ndarray, rewards: np.ndarray, terminated: np.ndarray,
        truncated: np.ndarray, *, raw_rewards: np.ndarray | None = None, life_lost: np.ndarray | None = None,
        episode_over: np.ndarray | None = None, reset_obs: np.ndarray | None = None,
    ) -> np.ndarray:
        """Record one step of every stream; returns the row each stream's transition arrived at (num_streams,).

        Args:
            next_obs: (num_streams, *obs_shape) observation each action led to (the final one if it ended).
            rewards, raw_rewards: learning and unclipped rewards (raw defaults to ``rewards``).
            episode_over: streams whose episode (game) ended; defaults to ``terminated | truncated``.
            reset_obs: observations that begin the next episode of those streams (same-step autoreset).
        """
        raw_rewards = rewards if raw_rewards is None else raw_rewards
        life_lost = np.zeros(len(actions), bool) if life_lost is None else life_lost
        episode_over = np.logical_or(terminated, truncated) if episode_over is None else episode_over
        arrived = np.empty(len(actions), np.int64)
        for s in range(len(actions)):
            row = arrived[s] = self._append(s, next_obs[s], prev=int(self._last_row[s]))
            self.action[row], self.reward[row], self.raw_reward[row] = actions[s], rewards[s], raw_rewards[s]
            self.terminated[row], self.truncated[row], self.life_lost[row] = terminated[s], truncated[s], life_lost[s]
            if episode_over[s] and reset_obs is not None:
                self._begin_episode(s, reset_obs[s])
        return arrived

    def add_vector_step(
        self, actions: np.ndarray, obs: np.ndarray, rewards: np.ndarray, terminated: np.ndarray,
        truncated: np.ndarray, info: dict,
    ) -> np.ndarray:
        """Record a step of a same-step-autoreset vector env from ``envs.make_vector_env``; returns arrival rows."""
        ended = np.asarray(info.get("_final_obs", np.zeros(len(actions), bool)))
        next_obs = obs.copy()
        if ended.any():
            next_obs[ended] = np.stack([np.asarray(info["final_obs"][i]) for i in np.flatnonzero(ended)])
        over = info["game_over"] | truncated if "game_over" in info else terminated | truncated
        return self.add(
            actions, next_obs, rewards, terminated, truncated, raw_rewards=info.get("raw_reward"),
            life_lost=info.get("life_lost"), episode_over=over, reset_obs=obs,
        )

    def extend(self, other: ExperienceStore, continues: dict[int, int] | None = None) -> np.ndarray:
        """Append every row of ``other`` (filled elsewhere, e.g. by a remote collector) as episodes of this store;
        returns the row each of ``other``'s rows became (continued first rows: the tail they joined).

        ``continues`` maps rows of ``other`` that begin an episode to rows of this store whose episode it goes on
        (a collector's game that went on from one collection to the next): such a first row repeats the tail's
        observation, so it is not copied; the rows after it link to the tail, with its steps and episode id.

        Raises:
            ValueError: different observation layout, or not enough capacity left.
        """
        if (other.obs_shape, other.frame_stack) != (self.obs_shape, self.frame_stack):
            raise ValueError(f"cannot extend a store of observations {self.obs_shape} (stack {self.frame_stack}) "
                             f"with one of {other.obs_shape} (stack {other.frame_stack})")
        continues = continues or {}
        keep = np.ones(other.size, bool)
        keep[list(continues)] = False
        start, n = self.size, int(keep.sum())
        if start + n > self.capacity:
            raise ValueError(f"experience store is full: {start} + {n} rows exceed capacity={self.capacity}")
        index = np.full(other.size, -1, np.int64)
        index[keep] = start + np.arange(n)
        episodes = np.full(max(other.num_episodes, 1), -1, np.int64)  # other's episode id -> this store's
        offsets = np.zeros_like(episodes)
        for first, tail in continues.items():
            episodes[other.episode[first]], offsets[other.episode[first]] = self.episode[tail], self.step[tail]
            index[first] = tail
        fresh = episodes < 0
        episodes[fresh] = self.num_episodes + np.arange(int(fresh.sum()))
        for name in ("frames", *_COLUMNS):
            getattr(self, name)[start : start + n] = getattr(other, name)[: other.size][keep]
        prev, episode = other.prev[: other.size][keep], other.episode[: other.size][keep]
        self.prev[start : start + n] = np.where(prev >= 0, index[np.maximum(prev, 0)], -1)
        self.episode[start : start + n] = episodes[episode]
        self.step[start : start + n] = other.step[: other.size][keep] + offsets[episode]
        self.size = start + n
        self.num_episodes += int(fresh[: other.num_episodes].sum())
        self._last_row[:] = -1
        return index

    def trimmed(self) -> ExperienceStore:
        """A copy holding exactly the rows written (capacity = size): what a remote collector sends back."""
        copy = ExperienceStore(self.obs_shape, self.frame_stack, max(self.size, 1), 1, self.frames.dtype)
        copy.extend(self)
        return copy

    def observations(self, rows: np.ndarray) -> np.ndarray:
        """Observations at ``rows``, (B, *obs_shape), stacks rebuilt from the frames."""
        rows = np.asarray(rows)
        if self.frame_stack == 1:
            return self.frames[rows]
        out = np.zeros((len(rows), *self.obs_shape), self.frames.dtype)
        cursor = rows.astype(np.int64)
        for slot in range(self.frame_stack - 1, -1, -1):
            valid = cursor >= 0
            out[valid, slot] = self.frames[cursor[valid]]
            cursor = np.where(valid, self.prev[np.maximum(cursor, 0)], -1)
        return out

    def pairs(self, batch: int, rng: np.random.Generator, where: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """``batch`` random transitions (obs, action, reward, next_obs, flags, and the ``step`` and ``episode``
        of next_obs), never across episodes.

        ``where``: optional bool mask over rows ``[:size]``; only transitions arriving at those rows are drawn.
        """
        candidates = self._candidates(self.step[: self.size] > 0, where)
        self._require_data(len(candidates), "transitions")
        rows = rng.choice(candidates, batch)
        return {
            "obs": self.observations(self.prev[rows]), "next_obs": self.observations(rows),
            "step": self.step[rows], "episode": self.episode[rows], **self._arrivals(rows),
        }

    def sequences(
        self, k_context: int, t_target: int, batch: int, rng: np.random.Generator, where: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """``batch`` runs of ``k_context + t_target`` consecutive frames of one episode.

        ``where``: optional bool mask over rows ``[:size]``; only runs ending at those rows are drawn.

        Returns ``frames`` (B, K+T, *frame_shape) and, for the K+T-1 transitions between them,
        ``action``, ``reward``, ``raw_reward``, ``terminated``, ``truncated``, ``life_lost`` (B, K+T-1).
        """
        length = k_context + t_target
        rows = self.run_rows(rng.choice(self.run_ends(length, where), batch), length)
        return {"frames": self.frames[rows], **self._arrivals(rows[:, 1:])}

    def run_ends(self, length: int, where: np.ndarray | None = None) -> np.ndarray:
        """Rows at which a run of ``length`` consecutive frames of one episode can end (and, with ``where``, a
        bool mask over rows ``[:size]``, is allowed to); a ``ValueError`` when there is none."""
        candidates = self._candidates(self.step[: self.size] >= length - 1, where)
        self._require_data(len(candidates), f"episodes of {length}+ frames")
        return candidates

    def run_rows(self, last: np.ndarray, length: int) -> np.ndarray:
        """(B, length) rows of the runs of ``length`` consecutive frames ending at rows ``last`` (B,), found by
        following the links back (each ``last`` row needs ``step >= length - 1``)."""
        rows = np.empty((len(last), length), np.int64)
        rows[:, -1] = last
        for j in range(length - 2, -1, -1):
            rows[:, j] = self.prev[rows[:, j + 1]]
        return rows

    def save(self, path: str | Path) -> None:
        """Write atomically (temp file + rename) as an uncompressed ``.npz``."""
        arrays = {name: getattr(self, name)[: self.size] for name in ("frames", *_COLUMNS)}
        meta = np.array([_FORMAT_VERSION, self.frame_stack, self.num_episodes, self.capacity], np.int64)
        save_npz(path, {"meta": meta, "obs_shape": np.array(self.obs_shape), **arrays})

    @classmethod
    def load(cls, path: str | Path, num_streams: int = 1) -> ExperienceStore:
        """Read a store written by :meth:`save`; a truncated or foreign file is a clear ``ValueError``."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as e:
            raise ValueError(f"{path} is not a readable experience store (truncated or corrupt?): {e}") from e
        missing = {"meta", "obs_shape", "frames", *_COLUMNS} - set(arrays)
        if missing or int(arrays["meta"][0]) != _FORMAT_VERSION:
            raise ValueError(
                f"{path} is not an experience store of format {_FORMAT_VERSION}; missing {sorted(missing)}")
        version, frame_stack, num_episodes, capacity = (int(v) for v in arrays["meta"])
        size = len(arrays["frames"])
        store = cls(tuple(arrays["obs_shape"]), frame_stack, max(capacity, size), num_streams, arrays["frames"].dtype)
        for name in ("frames", *_COLUMNS):
            getattr(store, name)[:size] = arrays[name]
        store.size, store.num_episodes = size, num_episodes
        return store

    def _begin_episode(self, stream: int, obs: np.ndarray) -> None:
        row = self._append(stream, obs, prev=-1)
        self.episode[row] = self.num_episodes
        self.num_episodes += 1

    def _append(self, stream: int, obs: np.ndarray, prev: int) -> int:
        if self.size >= self.capacity:
            raise ValueError(
                f"experience store is full (capacity={self.capacity} rows); create it with a larger capacity")
        row = self.size
        self.frames[row] = obs[-1] if self.frame_stack > 1 else obs
        self.prev[row] = prev
        if prev >= 0:
            self.step[row], self.episode[row] = self.step[prev] + 1, self.episode[prev]
        else:
            self.step[row], self.action[row], self.reward[row], self.raw_reward[row] = 0, -1, 0.0, 0.0
        self._last_row[stream] = row
        self.size += 1
        return row

    def _arrivals(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {name: getattr(self, name)[rows] for name in _COLUMNS[3:]}

    def _candidates(self, long_enough: np.ndarray, where: np.ndarray | None) -> np.ndarray:
        if where is not None:
            long_enough = long_enough & where[: self.size]
        return np.flatnonzero(long_enough)

    def _require_data(self, available: int, what: str) -> None:
        if available == 0:
            raise ValueError(f"the experience store has no {what} to sample yet ({self.size} rows)")
