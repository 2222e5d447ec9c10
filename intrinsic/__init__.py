"""Intrinsic rewards: the arrow-of-time potential (Rahaman et al., ICLR 2020), C-SWM curiosity, env adapters.

Public API::

    from intrinsic import ArrowOfTime, ArrowOfTimeConfig, CSWMCuriosity, IntrinsicReward, IntrinsicRewardWrapper
"""
from intrinsic.config import ArrowOfTimeConfig
from intrinsic.cswm_curiosity import CSWMCuriosity, CSWMCuriosityConfig
from intrinsic.potential import ArrowOfTime
from intrinsic.protocols import IntrinsicReward
from intrinsic.wrappers import IntrinsicRewardVectorWrapper, IntrinsicRewardWrapper

__all__ = ["ArrowOfTime", "ArrowOfTimeConfig", "CSWMCuriosity", "CSWMCuriosityConfig", "IntrinsicReward",
           "IntrinsicRewardVectorWrapper", "IntrinsicRewardWrapper"]
