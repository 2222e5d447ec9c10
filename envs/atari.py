"""One Atari game under the Atari 100k protocol, built directly on the ALE emulator."""
from __future__ import annotations

from typing import Any

import ale_py
import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.config import AtariConfig
from envs.games import find_game
from envs.noop_rng import NoopSampler


class AtariEnv(gym.Env):
    """A Gymnasium env playing one game as ``config`` says (see :class:`AtariConfig`).

    Observations are uint8 arrays of shape ``config.observation_shape``: oldest frame first.
    For the same seed and actions it gives the same observations, rewards and flags as
    :class:`envs.NativeAtariVectorEnv` (ale-py's C++ vector env), frame for frame.

    ``info`` always holds ``lives``, ``raw_reward`` (unclipped), ``score`` (raw game score so far),
    ``life_lost``, ``game_over`` and ``episode_frame_number``. In ``train`` mode a life loss ends the
    episode for learning only: the next ``reset()`` without a seed carries on the same game.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, config: AtariConfig | None = None, render_mode: str | None = None) -> None:
        self.config = config = config or AtariConfig()
        self.game = find_game(config.game)
        self.render_mode = render_mode
        self.ale = ale_py.ALEInterface()
        self.ale.setLoggerMode(ale_py.LoggerMode.Error)
        self.ale.setFloat("repeat_action_probability", config.sticky_actions)
        self.ale.loadROM(ale_py.roms.get_rom_path(self.game.rom))
        actions = self.ale.getLegalActionSet() if config.full_action_space else self.ale.getMinimalActionSet()
        self._actions = list(actions)
        self.action_space = spaces.Discrete(len(self._actions))
        self.observation_space = spaces.Box(0, 255, config.observation_shape, np.uint8)
        height, width = self.ale.getScreenDims()
        self._rgb = len(config.frame_shape) == 3
        self._raw = np.zeros((2, height, width, 3) if self._rgb else (2, height, width), np.uint8)
        self._stack = np.zeros(config.observation_shape, np.uint8)
        self._noops: NoopSampler | None = None
        self._game_running = False
        self._frames = self._lives = self._score = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is not None or self._noops is None:
            self._reseed(seed if seed is not None else int(self.np_random.integers(2**31 - 1)))
        elif self._game_running:  # a life was lost: the game carries on, as in the vector env
            return self._stack.copy(), self._info(0, life_lost=False)
        self._start_game()
        return self._stack.copy(), self._info(0, life_lost=False)

    def step(self, action: int):
        if not self._game_running:
            raise RuntimeError("the game is over or was never started: call reset() first")
        emulator_action = self._actions[int(action)]
        reward = 0
        for frames_left in range(self.config.frame_skip, 0, -1):
            reward += self.ale.act(emulator_action)
            self._frames += 1
            if self.ale.game_over() or self._frames >= self.config.max_episode_frames:
                break
            if frames_left <= 2:  # keep the last two frames for the max-pool
                self._grab_screen(self._raw[frames_left - 1])
        self._push_frame()
        lives = self.ale.lives()
        life_lost = 0 < lives < self._lives
        game_over = self.ale.game_over()
        self._lives, self._score = lives, self._score + reward
        self._game_running = not game_over and self._frames < self.config.max_episode_frames
        terminated = game_over or (life_lost and self.config.life_loss_terminal)
        truncated = not self._game_running and not terminated
        clipped = float(np.clip(reward, -1, 1)) if self.config.clip_rewards else float(reward)
        return self._stack.copy(), clipped, terminated, truncated, self._info(reward, life_lost)

    def render(self) -> np.ndarray:
        """The full-resolution RGB screen, (210, 160, 3) uint8."""
        return self.ale.getScreenRGB()

    def _reseed(self, seed: int) -> None:
        self.ale.setInt("random_seed", seed)
        self.ale.loadROM(ale_py.roms.get_rom_path(self.game.rom))
        self._noops = NoopSampler(seed)

    def _start_game(self) -> None:
        self.ale.reset_game()
        fire = self.config.fire_on_reset and ale_py.Action.FIRE in self._actions
        if fire:
            self.ale.act(ale_py.Action.FIRE)
        noop_count = self._noops.draw(self.config.noop_max + 1) - int(fire)
        for _ in range(noop_count):
            self.ale.act(ale_py.Action.NOOP)
            if self.ale.game_over():
                self.ale.reset_game()
        self._stack[:] = 0
        self._grab_screen(self._raw[0])
        self._raw[1] = 0
        self._push_frame()
        self._frames, self._lives, self._score = 0, self.ale.lives(), 0
        self._game_running = True

    def _grab_screen(self, out: np.ndarray) -> None:
        (self.ale.getScreenRGB if self._rgb else self.ale.getScreenGrayscale)(out)

    def _push_frame(self) -> None:
        # Like ale-py's C++ env, the pooled frame is kept in raw[0], so a step that ends early
        # pools with what is left there; this keeps single and vector envs identical.
        if self.config.max_pool:
            np.maximum(self._raw[0], self._raw[1], out=self._raw[0])
        height, width = self.config.frame_shape[:2]
        frame = self._raw[0]
        if frame.shape[:2] != (height, width):
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        self._stack[:-1] = self._stack[1:]
        self._stack[-1] = frame

    def _info(self, raw_reward: int, life_lost: bool) -> dict[str, Any]:
        return {
            "lives": self._lives,
            "raw_reward": float(raw_reward),
            "score": float(self._score),
            "life_lost": life_lost,
            "game_over": not self._game_running and self.ale.game_over(),
            "episode_frame_number": self.ale.getEpisodeFrameNumber(),
        }
