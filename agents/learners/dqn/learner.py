"""DQN with DrQ augmentation in plain PyTorch, behind :class:`agents.protocols.PolicyLearner`.

One agent step: act epsilon-greedily, store the transition, then (past the warm-up) one gradient update on a
uniform minibatch of n-step transitions whose two observations are augmented independently. The loss is in
:meth:`DQNLearner._update`. Written here rather than as an RLlib preset because RLlib's
DQN with the same settings takes 3x as long per agent step (``benchmarks/dqn_update_speed.py``).
"""
from __future__ import annotations

import copy
import json
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from agents.learners.dqn.augment import drq_augment
from agents.learners.dqn.config import DQNConfig
from agents.learners.dqn.policy import CHECKPOINT_FORMAT, QPolicy, load_checkpoint, plain_config, replay_path
from agents.learners.dqn.replay import NStepReplay
from envs.files import save_torch
from envs.precision import autocast, warn_if_emulated

LOG_EVERY = 1000  # agent steps between metric lines (and on_rollout calls)


class DQNLearner:
    """DrQ(epsilon) (by default; see :class:`DQNConfig`) on a vector env of our protocol.

    Args:
        env: a same-step-autoreset vector env (``envs.make_vector_env``), uint8 observations (C, H, W).
        replay_capacity: rows the replay holds (the run's real-step budget plus game starts).
        seed: seeds the env, exploration, minibatches, augmentation and the network's initial weights.
        device: where the network trains; ``log`` receives ``train/*`` and ``real/*`` metrics with the step.
    """

    def __init__(self, config: DQNConfig, env: gym.vector.VectorEnv, replay_capacity: int, seed: int = 0,
                 device: str = "cpu", log: Callable[[dict[str, float], int], None] | None = None) -> None:
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(seed)
        self.config, self.env, self.device, self._log = config, env, torch.device(device), log
        warn_if_emulated(self.device, config.precision, "dqn.precision")
        space = env.single_observation_space
        self.num_actions = int(env.single_action_space.n)
        self.policy = QPolicy(config, space, self.num_actions, seed).to(self.device)
        self.target = copy.deepcopy(self.policy.q) if config.target_update_period > 1 else None
        self.optimizer = torch.optim.Adam(self.policy.q.parameters(), lr=config.learning_rate, eps=config.adam_eps)
        self.replay = NStepReplay(space.shape, space.shape[0], replay_capacity, env.num_envs)
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator(self.device).manual_seed(seed)
        self.num_timesteps, self.updates = 0, 0
        self._obs, _ = env.reset(seed=seed)
        self.replay.begin(self._obs)
        self._scores, self._running = deque(maxlen=20), np.zeros(env.num_envs)
        self._losses: list[float] = []
        self._q_means: list[float] = []
        self._update_seconds = 0.0
        self._latest: dict[str, float] = {}

    # -- training --------------------------------------------------------------------------------------------

    def learn(self, steps: int, on_rollout: Callable[[int], None] | None = None) -> None:
        """Train for ``steps`` more agent steps (exactly: ``steps`` must be a multiple of the env count)."""
        if steps % self.env.num_envs:
            raise ValueError(f"steps={steps} is not a multiple of the {self.env.num_envs} envs stepping together")
        config, envs = self.config, self.env.num_envs
        for _ in range(steps // envs):
            self._act_and_store()
            # Every agent step is stored (a resumed run reloads them all), so the step count is the replay's
            # size without recounting it. With several envs a vector step is several agent steps: the updates
            # of each of them are due now.
            if self.num_timesteps > config.learning_starts:
                for _ in range(_multiples(self.num_timesteps, envs, config.update_period) * config.updates_per_step):
                    self._update()
            if self.target is not None and _multiples(self.num_timesteps, envs, config.target_update_period):
                self.target.load_state_dict(self.policy.q.state_dict())
            if _multiples(self.num_timesteps, envs, LOG_EVERY):
                self._report()
                if on_rollout:
                    on_rollout(self.num_timesteps)

    def _act_and_store(self) -> None:
        epsilon = self.config.epsilon(self.num_timesteps)
        actions, _ = self.policy.predict(self._obs, epsilon=epsilon)
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        self.replay.add(actions, obs, rewards, terminated, truncated, info)
        self._count_scores(info, terminated, truncated)
        self._obs = obs
        self.num_timesteps += self.env.num_envs

    def _update(self) -> None:
        """One gradient step of the n-step double-DQN loss on augmented observations."""
        started = time.perf_counter()
        config = self.config
        batch = self.replay.sample(config.batch_size, config.gamma, config.n_step, self.rng)
        target = self._td_target(batch)
        action = torch.as_tensor(batch["action"], device=self.device, dtype=torch.long)
        with self._autocast():
            q = self.policy.q(self._prepared(batch["obs"])).float()
        chosen = q.gather(1, action[:, None]).squeeze(1)
        loss = F.huber_loss(chosen, target) if config.loss == "huber" else F.mse_loss(chosen, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.policy.q.parameters(), config.grad_clip)
        self.optimizer.step()
        self.updates += 1
        self._losses.append(loss.item())
        self._q_means.append(chosen.mean().item())
        self._update_seconds += time.perf_counter() - started

    @torch.no_grad()
    def _td_target(self, batch: dict[str, np.ndarray]) -> torch.Tensor:
        """``R + discount * Q_target(s', argmax_a Q_online(s', a))`` (B,); with ``target_update_period`` 1 the
        target network is the online one (Dopamine syncs it after every update)."""
        online = self.policy.q
        target_net = self.target if self.target is not None else online
        reward, discount = (torch.as_tensor(batch[k], device=self.device) for k in ("reward", "discount"))
        next_obs = self._prepared(batch["next_obs"])
        with self._autocast():
            next_target = target_net(next_obs).float()
            chooser = online(next_obs).float() if self.config.double and self.target is not None else next_target
        next_action = chooser.argmax(dim=1, keepdim=True)
        return reward + discount * next_target.gather(1, next_action).squeeze(1)

    def _autocast(self) -> torch.autocast:
        return autocast(self.device, self.config.precision)

    def _prepared(self, obs: np.ndarray) -> torch.Tensor:
        """uint8 (B, C, H, W) -> float in [0, 1] on the device, augmented if the config says so."""
        x = torch.as_tensor(obs, device=self.device).float() / 255.0
        if self.config.augment:
            x = drq_augment(x, self.generator, self.config.augment_pad, self.config.intensity_scale)
        return x

    def _count_scores(self, info: dict, terminated: np.ndarray, truncated: np.ndarray) -> None:
        """Raw game scores (``real/episode_return_mean``): a game ends at game over, not at a life loss."""
        self._running += np.asarray(info.get("raw_reward", 0.0))
        over = np.asarray(info.get("game_over", terminated)) | truncated
        for i in np.flatnonzero(over):
            self._scores.append(float(self._running[i]))
            self._running[i] = 0.0

    def _report(self) -> None:
        metrics = {"train/epsilon": self.config.epsilon(self.num_timesteps), "train/updates": float(self.updates),
                   "train/replay_transitions": float(self.replay.num_transitions)}
        if self._losses:
            metrics |= {"train/loss": float(np.mean(self._losses)), "train/q_mean": float(np.mean(self._q_means)),
                        "time/update_ms": 1000 * self._update_seconds / len(self._losses)}
        if self._scores:
            metrics["real/episode_return_mean"] = float(np.mean(self._scores))
        self._losses, self._q_means, self._update_seconds = [], [], 0.0
        self._latest = metrics
        if self._log:
            self._log(metrics, self.num_timesteps)

    # -- the protocol's other methods ------------------------------------------------------------------------

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """Greedy actions (B,) for observations (B, *obs_shape)."""
        return self.policy.predict(obs, deterministic)[0]

    def save(self, path: str | Path) -> None:
        """Weights, optimiser state, counters and random states to ``path``; the replay beside it
        (:func:`agents.learners.dqn.policy.replay_path`); both written atomically."""
        self.replay.save(replay_path(path))
        state = {"format": CHECKPOINT_FORMAT, "dqn": plain_config(self.config),
                 "q": self.policy.q.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "target": self.target.state_dict() if self.target is not None else {},
                 "num_timesteps": self.num_timesteps, "updates": self.updates,
                 "rng": json.dumps(self.rng.bit_generator.state), "generator": self.generator.get_state()}
        save_torch(state, path)

    def load(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote; the env starts a new game (the one in progress cannot go on)."""
        state = load_checkpoint(path)
        self.policy.q.load_state_dict(state["q"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.target is not None:
            self.target.load_state_dict(state["target"] or state["q"])
        self.num_timesteps, self.updates = int(state["num_timesteps"]), int(state["updates"])
        self.rng.bit_generator.state = json.loads(state["rng"])
        self.generator.set_state(state["generator"])
        self.replay = NStepReplay.load(replay_path(path), self.env.num_envs)
        self.replay.begin(self._obs)

    def metrics(self) -> dict[str, Any]:
        return dict(self._latest)

    def set_world(self, world: Any) -> Any:
        raise ValueError("a DQN learner trains in the real env only (off-policy learners are refused in imagination)")

    def acting_policy(self) -> QPolicy:
        """A CPU copy of the current greedy policy."""
        return copy.deepcopy(self.policy).cpu()

    def saved_policy(self) -> QPolicy:
        return self.acting_policy()

    def intrinsic_means(self) -> dict[str, float]:
        return {}

    def close(self) -> None:
        self.env.close()


def _multiples(step: int, span: int, period: int) -> int:
    """How many of the agent steps ``step - span + 1 .. step`` are multiples of ``period``."""
    return step // period - (step - span) // period
