"""Real worlds: the Atari 100k protocol, ale-py's native vector env, toy and block-pushing worlds, experience stores.

Public API::

    from envs import AtariConfig, make_env, make_vector_env, find_game, atari100k_games, ExperienceStore, EpisodeDataset
"""
from envs.atari import AtariEnv
from envs.block_pushing import BlockPushingEnv
from envs.config import OBS_FORMATS, PROTOCOL_VERSION, AtariConfig
from envs.episodes import EpisodeDataset
from envs.factory import check_env_id, is_atari, make_env, make_vector_env
from envs.games import Game, atari100k_games, find_game
from envs.store import ExperienceStore
from envs.toy_worlds import MovingSquareEnv
from envs.vase_world import VaseWorldEnv
from envs.vector import NativeAtariVectorEnv

__all__ = [
    "OBS_FORMATS",
    "PROTOCOL_VERSION",
    "AtariConfig",
    "AtariEnv",
    "BlockPushingEnv",
    "EpisodeDataset",
    "ExperienceStore",
    "Game",
    "MovingSquareEnv",
    "NativeAtariVectorEnv",
    "VaseWorldEnv",
    "atari100k_games",
    "check_env_id",
    "find_game",
    "is_atari",
    "make_env",
    "make_vector_env",
]
