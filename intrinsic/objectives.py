"""The two objectives a potential h(s) can be fitted with.

- ``functional`` (Rahaman et al., ICLR 2020): maximise J = E[h(s') - h(s)] over consecutive pairs, kept finite
  by the trajectory regulariser ``lambda * E[(h(s') - h(s))^2]`` (and optionally ``l2_lambda * E[h^2]``).
- ``time_regression``: regress h(s) on the fraction of its episode that had passed when s occurred, t / T,
  the way the arrow of time is often explained. It needs finished episodes (T known).
"""
from __future__ import annotations

import numpy as np
import torch

from envs import ExperienceStore


def functional_loss(h: torch.Tensor, h_next: torch.Tensor, trajectory_lambda: float,
                    l2_lambda: float = 0.0) -> dict[str, torch.Tensor]:
    """``-J + lambda * mean(dh^2) (+ l2_lambda * mean(h^2))`` on (B,) potentials of s and s'."""
    dh = h_next - h
    j = dh.mean()
    loss = -j + trajectory_lambda * dh.pow(2).mean()
    if l2_lambda:
        loss = loss + l2_lambda * torch.cat([h, h_next]).pow(2).mean()
    return {"loss": loss, "J": j.detach()}


def time_regression_loss(h: torch.Tensor, h_next: torch.Tensor, time: torch.Tensor,
                         next_time: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean squared error of h(s) and h(s') against their episode fractions t / T, all (B,)."""
    mse = 0.5 * ((h - time).pow(2).mean() + (h_next - next_time).pow(2).mean())
    return {"loss": mse, "J": (h_next - h).mean().detach()}


def episode_lengths(store: ExperienceStore) -> np.ndarray:
    """Transitions in each episode of ``store``, indexed by episode id; NaN for episodes that have not ended
    (their length is unknown). A life loss does not end an episode."""
    n, rows = store.num_episodes, slice(0, store.size)
    last_step = np.zeros(n)
    np.maximum.at(last_step, store.episode[rows], store.step[rows])
    ends = (store.terminated[rows] & ~store.life_lost[rows]) | store.truncated[rows]
    ended = np.zeros(n, bool)
    ended[store.episode[rows][ends]] = True
    return np.where(ended & (last_step > 0), last_step, np.nan)
