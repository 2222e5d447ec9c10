"""World models and the simulated env they give for free.

Public API::

    from world_models import SimPLeModelConfig, SimPLeWorldModel, SimulatedVectorEnv, store_starts, train_world_model
    from world_models import CSWM, CSWMConfig
"""
from world_models.cswm import CSWM, CSWMConfig
from world_models.device_sequences import sequence_batch
from world_models.protocols import StepOut, WorldModel
from world_models.simple import SimPLeModelConfig, SimPLeWorldModel
from world_models.simulated_env import SimulatedEnv, SimulatedVectorEnv, store_starts
from world_models.training import train_world_model

__all__ = [
    "CSWM",
    "CSWMConfig",
    "SimPLeModelConfig",
    "SimPLeWorldModel",
    "SimulatedEnv",
    "SimulatedVectorEnv",
    "StepOut",
    "WorldModel",
    "sequence_batch",
    "store_starts",
    "train_world_model",
]
