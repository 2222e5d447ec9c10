"""The SimPLe stochastic video model (Kaiser et al., ICLR 2020)."""
from world_models.simple.config import SimPLeModelConfig
from world_models.simple.model import SimPLeWorldModel

__all__ = ["SimPLeModelConfig", "SimPLeWorldModel"]
