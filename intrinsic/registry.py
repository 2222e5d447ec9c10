"""Intrinsic rewards by name: what an agent spec's ``intrinsic`` list may name, and how each is built.

A new reward is one module (a config dataclass and a class meeting :class:`IntrinsicReward`) plus one
:func:`register_intrinsic` call (here for the built-in ones, anywhere for others: tests register a toy).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envs.config_data import from_dict, to_dict
from envs.files import read_checkpoint
from intrinsic.protocols import IntrinsicReward


@dataclass(frozen=True)
class IntrinsicEntry:
    """One registered intrinsic reward.

    Attributes:
        config_class: its settings, a dataclass built from the term's ``config`` mapping.
        build: ``build(config, obs_shape, device) -> IntrinsicReward`` (untrained).
        from_state: ``from_state(state, device)``, the inverse of ``reward.state()``.
        needs_actions: its ``reward`` reads the actions taken (a transition model); every learner here
            passes them, so this only documents the reward and is checked against learners that could not.
        image_only: it reads image observations only (refused for vector envs when the spec is built).
    """

    name: str
    config_class: type
    build: Callable[[Any, tuple[int, ...], str], IntrinsicReward]
    from_state: Callable[[dict[str, Any], str], IntrinsicReward]
    needs_actions: bool = False
    image_only: bool = False

    def config(self, data: dict[str, Any], path: str) -> Any:
        return from_dict(self.config_class, data, path)

    def resolved(self, data: dict[str, Any], path: str) -> dict[str, Any]:
        return to_dict(self.config(data, path))

    def load(self, path: str | Path, device: str = "cpu") -> IntrinsicReward:
        """A reward saved with ``save`` (``weights_only``: no pickled code runs)."""
        state = read_checkpoint(path, None, f"{self.name} reward")
        return self.from_state(state, device)


_REGISTRY: dict[str, IntrinsicEntry] = {}


def register_intrinsic(name: str, config_class: type, build: Callable[[Any, tuple[int, ...], str], IntrinsicReward],
                       from_state: Callable[[dict[str, Any], str], IntrinsicReward], needs_actions: bool = False,
                       image_only: bool = False) -> None:
    """Make ``name`` available to agent specs (re-registering a name replaces it)."""
    if not dataclasses.is_dataclass(config_class):
        raise TypeError(f"config_class of intrinsic reward {name!r} must be a dataclass, got {config_class!r}")
    _REGISTRY[name] = IntrinsicEntry(name, config_class, build, from_state, needs_actions, image_only)


def intrinsic_names() -> list[str]:
    return sorted(_REGISTRY)


def intrinsic_entry(name: str) -> IntrinsicEntry:
    if name not in _REGISTRY:
        raise ValueError(f"intrinsic reward {name!r} is not registered; choose one of {intrinsic_names()}")
    return _REGISTRY[name]


def _register_builtin() -> None:
    from intrinsic.config import ArrowOfTimeConfig
    from intrinsic.cswm_curiosity import CSWMCuriosity, CSWMCuriosityConfig
    from intrinsic.potential import ArrowOfTime

    register_intrinsic("arrow_of_time", ArrowOfTimeConfig, ArrowOfTime, ArrowOfTime.from_state)
    register_intrinsic("cswm_curiosity", CSWMCuriosityConfig, CSWMCuriosity, CSWMCuriosity.from_state,
                       needs_actions=True, image_only=True)


_register_builtin()
