"""DrQ's image augmentation (``agents.learners.dqn.augment.drq_augment``) as an RLlib learner connector.

It runs in the learner on the replayed n-step transitions (RLlib hands them over as one-step episodes holding
``[obs, next_obs]``), before the train batch is built, and gives each of the two observations of every
transition its own shift and intensity. The replay buffer's episodes are never written to: each transition is
replaced by a copy that owns its augmented observations.
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2

from agents.learners.dqn.augment import drq_augment


class DrQAugmentConnector(ConnectorV2):
    """Augments RLlib image observations (H, W, C) in [0, 1] of every incoming episode chunk.

    Args:
        pad, intensity: as :func:`agents.learners.dqn.augment.drq_augment`; ``seed``: its random stream.
    """

    def __init__(self, input_observation_space: gym.Space | None = None,
                 input_action_space: gym.Space | None = None, *, pad: int = 4, intensity: float = 0.05,
                 seed: int = 0, **kwargs: Any) -> None:
        super().__init__(input_observation_space, input_action_space, **kwargs)
        self.pad, self.intensity = pad, intensity
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any], explore: bool | None = None,
                 shared_data: dict | None = None, metrics: Any = None, **kwargs: Any) -> Any:
        if not episodes:
            return batch
        chunks = [np.asarray(e.get_observations(slice(0, len(e) + 1))) for e in episodes]
        images = torch.as_tensor(np.concatenate(chunks)).permute(0, 3, 1, 2)
        augmented = drq_augment(images, self.generator, self.pad, self.intensity).permute(0, 2, 3, 1).numpy()
        start = 0
        for i, (episode, chunk) in enumerate(zip(episodes, chunks)):
            own = copy.copy(episode)
            own.observations = copy.deepcopy(episode.observations)
            new = augmented[start:start + len(chunk)]
            own.set_observations(new_data=new if episode.is_numpy else list(new), at_indices=slice(0, len(chunk)))
            episodes[i], start = own, start + len(chunk)
        return batch


def augment_connector(pad: int, intensity: float, seed: int) -> Callable[[gym.Space, gym.Space], ConnectorV2]:
    """What ``AlgorithmConfig.learners(learner_connector=...)`` takes, as a partial of plain data."""
    return functools.partial(DrQAugmentConnector, pad=pad, intensity=float(intensity), seed=seed)


def chained(*factories: Callable[[gym.Space, gym.Space], ConnectorV2] | None) -> Callable | None:
    """Several learner-connector factories as one (RLlib takes a list from one callable); None: none given."""
    given = [f for f in factories if f is not None]
    if len(given) <= 1:
        return given[0] if given else None
    return functools.partial(_build_all, given)


def _build_all(factories: list[Callable], observation_space: gym.Space, action_space: gym.Space) -> list[ConnectorV2]:
    return [f(observation_space, action_space) for f in factories]
