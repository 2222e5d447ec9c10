"""Policy learners and agents assembled from components.

Public API::

    from agents import PolicyConfig, PPOConfig, PPOLearner, PolicyLearner, SB3VecEnv, SavedAgent, load, save_agent
"""
from agents.features.config import PolicyConfig
from agents.learners.sb3_ppo import PPOConfig, PPOLearner, load_checkpoint
from agents.learners.sb3_vec_env import SB3VecEnv
from agents.protocols import PolicyLearner
from agents.saved import SavedAgent, load, save_agent

__all__ = ["PPOConfig", "PPOLearner", "PolicyConfig", "PolicyLearner", "SB3VecEnv", "SavedAgent", "load",
           "load_checkpoint", "save_agent"]
