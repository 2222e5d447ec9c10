"""Any world model that renders frames, exposed as a Gymnasium vector env, so any learner trains inside it."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from envs import ExperienceStore
from world_models.protocols import WorldModel

StartSampler = Callable[[int, np.random.Generator], "np.ndarray | torch.Tensor"]


def store_starts(store: ExperienceStore, context_frames: int, newest_rows: int | None = None,
                 game_start_first: bool = False) -> StartSampler:
    """Draw starting windows of ``context_frames`` consecutive real frames from the store,
    from its newest ``newest_rows`` rows only when given (SimPLe starts from the latest collection).

    ``game_start_first``: the first window of every draw is the first frames of the newest game in the store
    (tensor2tensor's ``simulation_flip_first_random_for_beginning``), so the policy also learns the opening.
    """

    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        where = None
        if newest_rows is not None:
            where = np.arange(store.size) >= store.size - newest_rows
        windows = store.sequences(context_frames, 0, n, rng, where)["frames"]
        if game_start_first:
            openings = np.flatnonzero(store.step[: store.size] == context_frames - 1)
            if len(openings):
                windows[0] = store.frames[store.run_rows(openings[-1:], context_frames)[0]]
        return windows

    return sample


class SimulatedVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` imagined envs stepped together in one batched forward pass of ``model`` on its device.

    Any :class:`WorldModel` that predicts frames and rewards will do: the env keeps its own stack of the frames
    the model returned (``StepOut.frame``) and never reads the model's state. Observations are
    (num_envs, frame_stack, H, W, C) uint8, the layout of the real ``rgb`` Atari formats. Rewards are the
    model's clipped reward {-1, 0, 1}. Every rollout lasts ``rollout_length`` steps, then is truncated and
    restarted (same-step autoreset) from fresh real frames drawn by ``starts`` (uint8 (n, K, H, W, C), a
    tensor already on the model's device or an array).

    The model's state stays on its device from step to step; what crosses to the host each step is what the
    learner reads: the newest frame of every env (the stack is kept here) and the rewards.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}
    render_mode = None

    def __init__(self, model: WorldModel, starts: StartSampler, num_envs: int = 16, rollout_length: int = 50,
                 frame_stack: int = 4) -> None:
        if frame_stack > model.context_frames:
            raise ValueError(f"frame_stack={frame_stack} exceeds the model's context_frames={model.context_frames}")
        self.model, self.starts = model, starts
        self.num_envs, self.rollout_length, self.frame_stack = num_envs, rollout_length, frame_stack
        self.single_observation_space = spaces.Box(0, 255, (frame_stack, *model.frame_shape), np.uint8)
        self.single_action_space = spaces.Discrete(model.num_actions)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.forward_passes = 0
        self._rng = np.random.default_rng()
        self._generator = torch.Generator(device=model.device)
        self._generator.seed()
        self._state: Any = None
        self._frames: np.ndarray | None = None  # (num_envs, frame_stack, H, W, C): the observation
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:  # seeds both the start windows and the model's latent sampling
            self._rng = np.random.default_rng(seed)
            self._generator.manual_seed(seed)
        self._start()
        return self._observation(), {}

    def step(self, actions: np.ndarray):
        out = self.model.step(self._state, torch.as_tensor(np.asarray(actions), device=self.model.device),
                              self._generator)
        if out.frame is None or out.reward is None:
            raise TypeError(f"{type(self.model).__name__} returned no frame or reward: a simulated env needs a "
                            "world model that predicts both")
        self.forward_passes += 1
        self._state, self._t = out.state, self._t + 1
        frame = out.frame.cpu().numpy()[:, None]
        self._frames = np.concatenate([self._frames[:, 1:], frame], axis=1)
        obs = self._observation()
        reward = out.reward.cpu().numpy().astype(np.float32)
        terminated = np.zeros(self.num_envs, bool)
        truncated = np.full(self.num_envs, self._t >= self.rollout_length)
        info: dict[str, Any] = {}
        if truncated.all():
            info = {"final_obs": obs, "_final_obs": truncated}
            self._start()
            obs = self._observation()
        return obs, reward, terminated, truncated, info

    def _start(self) -> None:
        context = torch.as_tensor(self.starts(self.num_envs, self._rng), device=self.model.device)
        self._state, self._t = self.model.initial_state(context), 0
        self._frames = context[:, -self.frame_stack :].cpu().numpy()

    def _observation(self) -> np.ndarray:
        return self._frames.copy()


class SimulatedEnv(gym.Env):
    """One imagined env (a :class:`SimulatedVectorEnv` of one), for tools that take a single env."""

    def __init__(self, model, starts: StartSampler, rollout_length: int = 50, frame_stack: int = 4) -> None:
        self.vector = SimulatedVectorEnv(model, starts, 1, rollout_length, frame_stack)
        self.observation_space = self.vector.single_observation_space
        self.action_space = self.vector.single_action_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        obs, info = self.vector.reset(seed=seed)
        return obs[0], info

    def step(self, action: int):
        obs, reward, terminated, truncated, info = self.vector.step(np.array([action]))
        final = info["final_obs"][0] if truncated[0] else obs[0]
        return final, float(reward[0]), bool(terminated[0]), bool(truncated[0]), {}
