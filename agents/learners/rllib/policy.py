"""What an RLlib learner leaves behind: the acting policy (an RLModule on our native observations), rebuilt from
plain config without Ray or an env, and the code-free checkpoint format (tensors and numbers,
``torch.load(weights_only=True)``; RLlib's own pickle-based checkpoints are not used).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agents.learners.rllib.config import RLlibConfig
from agents.learners.rllib.env import ObsAdapter, probe_env
from envs import AtariConfig
from envs.config_data import from_dict, to_dict
from envs.files import read_checkpoint

CHECKPOINT_FORMAT = "rl-workbench/rllib-v1"
MODULE_ID = "default_policy"


def algorithm_base(config: RLlibConfig) -> Any:
    """Algorithm class, model and training settings: all a saved policy needs to be rebuilt."""
    from ray.rllib.algorithms.appo import APPOConfig
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.algorithms.ppo import PPOConfig

    algo = {"ppo": PPOConfig, "appo": APPOConfig, "dqn": DQNConfig}[config.algorithm]()
    model = config.model_config()
    if config.algorithm == "dqn":
        model["head_fcnet_hiddens"] = list(config.head_hiddens)
    return (algo.rl_module(model_config=model)
            .training(lr=config.learning_rate, gamma=config.gamma, train_batch_size_per_learner=config.train_batch,
                      grad_clip=config.grad_clip, **_algorithm_kwargs(config)))


def _algorithm_kwargs(config: RLlibConfig) -> dict[str, Any]:
    if config.algorithm == "dqn":
        buffer = {"prioritized": "PrioritizedEpisodeReplayBuffer", "uniform": "EpisodeReplayBuffer"}[config.replay]
        return {"replay_buffer_config": {"type": buffer, "capacity": config.replay_capacity},
                "num_steps_sampled_before_learning_starts": config.learning_starts,
                "target_network_update_freq": config.target_update_every, "n_step": config.n_step,
                "epsilon": [list(p) for p in config.epsilon], "adam_epsilon": config.adam_eps,
                "dueling": config.dueling, "double_q": config.double_q,
                "training_intensity": config.training_intensity}
    common = {"lambda_": config.gae_lambda, "clip_param": config.clip_param, "entropy_coeff": config.entropy_coeff,
              "vf_loss_coeff": config.vf_loss_coeff}
    return {**common, "minibatch_size": config.minibatch, "num_epochs": config.epochs} if config.algorithm == "ppo" \
        else common


class RLlibPolicy(nn.Module):
    """An RLModule that acts on our native observations; ``predict`` mirrors SB3's so saved agents use either.

    ``state_dict()`` keys are ``module.<RLlib's parameter names>``.
    """

    def __init__(self, module: nn.Module, adapter: ObsAdapter, num_actions: int) -> None:
        super().__init__()
        self.module = module
        self.adapter = adapter
        self.observation_space = gym.spaces.Box(0, 255 if adapter.native_dtype == "uint8" else np.inf,
                                                adapter.native_shape, adapter.native_dtype)
        self.action_space = gym.spaces.Discrete(num_actions)

    def predict(self, obs: np.ndarray, deterministic: bool = False) -> tuple[np.ndarray, None]:
        """Actions (B,) for native observations (B, *obs_shape); DQN modules always act greedily."""
        with torch.no_grad():
            out = self.module.forward_inference({"obs": torch.as_tensor(self.adapter.to_rllib(obs))})
        if "actions" in out:
            return out["actions"].cpu().numpy(), None
        logits = out["action_dist_inputs"]
        actions = logits.argmax(-1) if deterministic else torch.distributions.Categorical(logits=logits).sample()
        return actions.cpu().numpy(), None


def build_policy(config: RLlibConfig, adapter: ObsAdapter, num_actions: int) -> RLlibPolicy:
    """A fresh (untrained) policy of the architecture ``config`` trains, without Ray or an env."""
    spaces = {"observation_space": adapter.rllib_space(), "action_space": gym.spaces.Discrete(num_actions)}
    spec = algorithm_base(config).environment(**spaces).get_rl_module_spec()
    return RLlibPolicy(spec.build(), adapter, num_actions)


def policy_from_checkpoint(path: str | Path, env_id: str, atari: AtariConfig) -> RLlibPolicy:
    """The policy of an RLlib-learner checkpoint, rebuilt from the config stored in it (no Ray needed)."""
    state = load_checkpoint(path)
    config = config_from_plain(state["rllib"])
    policy = build_policy(config, *probe_env(env_id, atari))
    load_policy_weights(policy, state["module"])
    return policy


def load_policy_weights(policy: RLlibPolicy, weights: dict[str, torch.Tensor]) -> None:
    """Load a learner's module weights into ``policy``, leaving out the target networks that DQN (``_target_*``)
    and APPO (``_old_*``) learners add and acting does not use; a missing policy weight is still an error."""
    own = policy.module.state_dict()
    policy.module.load_state_dict({k: v for k, v in weights.items() if k in own})


def plain_config(config: RLlibConfig) -> dict[str, Any]:
    """``config`` as JSON-friendly plain data (lists, not tuples)."""
    return to_dict(config)


def config_from_plain(data: dict[str, Any]) -> RLlibConfig:
    """Inverse of :func:`plain_config`."""
    return from_dict(RLlibConfig, data, "rllib")


def to_torch(tree: Any) -> Any:
    """Arrays -> tensors, numpy scalars -> numbers, tuples -> lists: what ``weights_only`` loading accepts."""
    if isinstance(tree, dict):
        return {k: to_torch(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [to_torch(v) for v in tree]
    if isinstance(tree, np.ndarray):
        return torch.as_tensor(tree)
    return tree.item() if isinstance(tree, np.generic) else tree


def to_numpy(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: to_numpy(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [to_numpy(v) for v in tree]
    return tree.numpy() if isinstance(tree, torch.Tensor) else tree


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read an RLlib-learner checkpoint with ``weights_only=True``; clear error if corrupt or foreign."""
    return read_checkpoint(path, CHECKPOINT_FORMAT, "RLlib learner")
