"""Small worlds with known dynamics, for tests and quick checks of world models."""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

# action -> (d_row, d_col): noop, up, down, left, right
_MOVES = np.array([(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)])


class MovingSquareEnv(gym.Env):
    """A white square on a black RGB canvas, moved one cell per action; reward +1 for each step in the
    top-left quadrant. Observations are stacks of the last ``frame_stack`` frames, (S, H, W, 3) uint8, in the
    same layout as the Atari ``rgb`` formats, so world models and policies plug in unchanged.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, size: int = 16, square: int = 3, frame_stack: int = 4, max_steps: int = 100) -> None:
        self.size, self.square, self.max_steps = size, square, max_steps
        self.observation_space = spaces.Box(0, 255, (frame_stack, size, size, 3), np.uint8)
        self.action_space = spaces.Discrete(len(_MOVES))
        self._stack = np.zeros(self.observation_space.shape, np.uint8)
        self._pos = np.zeros(2, int)
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._pos = self.np_random.integers(0, self.size - self.square + 1, size=2)
        self._t = 0
        self._stack[:] = 0
        self._stack[-1] = self.render()
        return self._stack.copy(), {}

    def step(self, action: int):
        self._pos = np.clip(self._pos + _MOVES[int(action)], 0, self.size - self.square)
        self._t += 1
        self._stack[:-1] = self._stack[1:]
        self._stack[-1] = self.render()
        reward = float((self._pos < self.size // 2).all())
        return self._stack.copy(), reward, False, self._t >= self.max_steps, {}

    def render(self) -> np.ndarray:
        frame = np.zeros((self.size, self.size, 3), np.uint8)
        r, c = self._pos
        frame[r : r + self.square, c : c + self.square] = 255
        return frame


gym.register("workbench/MovingSquare-v0", entry_point=MovingSquareEnv)
