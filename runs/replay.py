"""``workbench replay``: play a saved agent (or an action log) and write an mp4 with the score overlaid.

The action log records every action with each episode's reset seed, so replaying it reproduces the
episode frame for frame (its SHA-256 over all frames is stored and checked).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from envs import AtariConfig, make_env
from envs.files import atomic_write_text, read_json
from envs.video import write_mp4

LOG_FORMAT = "rl-workbench/actions-v1"


def replay(env_id: str, env_config: AtariConfig, episodes: int, seed: int, agent=None,
           actions_log: dict[str, Any] | None = None, epsilon: float = 0.0, watch: bool = False,
           scale: int = 3) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Play ``episodes`` full games with ``agent`` (or the actions of ``actions_log``) in eval mode.

    Returns the action log (seeds, actions, raw scores, frame digests) and the video frames, upscaled
    ``scale`` times with the score overlaid.
    """
    import torch

    torch.manual_seed(seed)  # the policy samples its actions: same seed, same episodes
    rng = np.random.default_rng(seed)
    config = dataclasses.replace(env_config, mode="eval")
    env = make_env(env_id, config, render_mode="rgb_array")
    log: dict[str, Any] = {"format": LOG_FORMAT, "env_id": env_id, "env": dataclasses.asdict(config), "episodes": []}
    video: list[np.ndarray] = []
    recorded = actions_log["episodes"] if actions_log else None
    for i in range(len(recorded) if recorded else episodes):
        episode_seed = recorded[i]["seed"] if recorded else seed + i
        obs, _ = env.reset(seed=episode_seed)
        digest, actions, score, done = hashlib.sha256(), [], 0.0, False
        while not done:
            frame = env.render()
            digest.update(frame.tobytes())
            video.append(_overlay(frame, f"ep {i + 1}  score {score:g}", scale))
            if watch:
                _show(video[-1])
            if recorded:
                if len(actions) == len(recorded[i]["actions"]):
                    raise ValueError(f"the action log ends before episode {i + 1} does: it was recorded "
                                     "under another protocol or game")
                action = recorded[i]["actions"][len(actions)]
            elif rng.random() < epsilon:
                action = int(rng.integers(env.action_space.n))
            else:
                action = int(agent.act(obs[None])[0])
            obs, reward, terminated, truncated, info = env.step(action)
            actions.append(action)
            score += info.get("raw_reward", reward)
            done = terminated or truncated
        log["episodes"].append({"seed": episode_seed, "actions": actions, "score": score,
                                "frames_sha256": digest.hexdigest()})
    env.close()
    return log, video


def load_log(path: str | Path) -> dict[str, Any]:
    log = read_json(path, "action log")
    if not isinstance(log, dict) or log.get("format") != LOG_FORMAT:
        raise ValueError(f"{path} is not an action log of format {LOG_FORMAT!r}")
    return log


def write_outputs(log: dict[str, Any], frames: list[np.ndarray], video: Path | None, log_path: Path) -> None:
    atomic_write_text(log_path, json.dumps(log))
    if video is not None:
        write_mp4(frames, video, fps=15)


def _overlay(frame: np.ndarray, text: str, scale: int) -> np.ndarray:
    big = cv2.resize(frame, (frame.shape[1] * scale, frame.shape[0] * scale), interpolation=cv2.INTER_NEAREST)
    (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
    cv2.rectangle(big, (0, big.shape[0] - height - 16), (width + 16, big.shape[0]), (0, 0, 0), -1)
    cv2.putText(big, text, (8, big.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return big


def _show(frame: np.ndarray) -> None:
    cv2.imshow("workbench replay", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    cv2.waitKey(1000 // 15)


def dream(agent, world_model, env_id: str, env_config: AtariConfig, seed: int, steps: int = 100,
          scale: int = 4) -> list[np.ndarray]:
    """Real | imagined, side by side, from the same start: the agent plays the real game, and the world
    model imagines the same actions from the first ``context_frames`` real frames on.

    Returns video frames of the agent's observation frames (not the full screen), upscaled ``scale`` times.
    """
    import torch

    torch.manual_seed(seed)
    config = dataclasses.replace(env_config, mode="eval")
    env = make_env(env_id, config)
    obs, _ = env.reset(seed=seed)
    k = world_model.config.context_frames
    for _ in range(k - 1):  # until the stack holds k real frames (it is zero-padded after a reset)
        obs, *_ = env.step(int(agent.act(obs[None])[0]))
    state = world_model.initial_state(torch.from_numpy(obs[None, -k:]))
    generator = torch.Generator(device=world_model.device).manual_seed(seed)
    frames = []
    for t in range(steps):
        action = int(agent.act(obs[None])[0])
        obs, _, terminated, truncated, _ = env.step(action)
        out = world_model.step(state, torch.tensor([action]), generator)
        state = out.state
        real, imagined = obs[-1], out.frame[0].cpu().numpy()
        gap = np.full((real.shape[0], 2, 3), 255, np.uint8)
        frames.append(_overlay(np.concatenate([real, gap, imagined], axis=1), f"real | imagined  t={t + 1}", scale))
        if terminated or truncated:
            break
    env.close()
    return frames
