"""Intrinsic rewards: the arrow-of-time potential (Rahaman et al., ICLR 2020) and its env adapters.

Public API::

    from intrinsic import ArrowOfTime, ArrowOfTimeConfig, IntrinsicReward, IntrinsicRewardWrapper
"""
from intrinsic.config import ArrowOfTimeConfig
from intrinsic.potential import ArrowOfTime
from intrinsic.protocols import IntrinsicReward
from intrinsic.wrappers import IntrinsicRewardVectorWrapper, IntrinsicRewardWrapper

__all__ = ["ArrowOfTime", "ArrowOfTimeConfig", "IntrinsicReward", "IntrinsicRewardVectorWrapper",
           "IntrinsicRewardWrapper"]
