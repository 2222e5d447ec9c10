"""World models by name: what an agent spec's ``world_model`` may say, and how each is built.

A new world model is one module with a config dataclass and a class meeting :class:`WorldModel`, plus one
:func:`register_world_model` call (here for the built-in ones, anywhere for others: tests register a toy).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch

from envs.config_data import from_dict, to_dict
from envs.host_memory import keep_freed_memory
from world_models.protocols import WorldModel

Imagines = Literal["frames", "latent"]


@dataclass(frozen=True)
class WorldModelEntry:
    """One registered world model.

    Attributes:
        config_class: its settings, a dataclass built from the spec's ``model`` mapping.
        build: ``build(config, num_actions, device) -> WorldModel``.
        imagines: ``frames`` (it predicts frames and rewards, so a :class:`SimulatedVectorEnv` runs on it) or
            ``latent`` (it imagines in its own latent space; agents cannot train in it yet).
        fixed: config fields the name decides (``simple_deterministic``: ``stochastic: false``); data that
            contradicts them is refused.
    """

    name: str
    config_class: type
    build: Callable[[Any, int, str], WorldModel]
    imagines: Imagines = "frames"
    fixed: dict[str, Any] = dataclasses.field(default_factory=dict)

    def config(self, data: dict[str, Any], path: str = "model") -> Any:
        """The validated config from plain ``data`` (errors name ``path.field``)."""
        for key, value in self.fixed.items():
            if key in data and data[key] != value:
                raise ValueError(f"{path}.{key}={data[key]!r} contradicts world_model={self.name!r}, which sets "
                                 f"{key}={value!r}; choose the world model by name instead")
        return from_dict(self.config_class, {**data, **self.fixed}, path)

    def create(self, data: dict[str, Any], num_actions: int, device: str = "cpu") -> WorldModel:
        """The model of config ``data`` (plain data) on ``device``, as agents run it: on a CPU the process then
        keeps freed memory for reuse (large activations are not faulted in again at every step)."""
        if torch.device(device).type == "cpu":
            keep_freed_memory()
        return self.build(self.config(data), num_actions, device)

    def resolved(self, data: dict[str, Any]) -> dict[str, Any]:
        """Every field of the config ``data`` gives, as plain data (what a run directory records)."""
        return to_dict(self.config(data))


_REGISTRY: dict[str, WorldModelEntry] = {}


def register_world_model(name: str, config_class: type, build: Callable[[Any, int, str], WorldModel],
                         imagines: Imagines = "frames", fixed: dict[str, Any] | None = None) -> None:
    """Make ``name`` available to agent specs (re-registering a name replaces it)."""
    if not dataclasses.is_dataclass(config_class):
        raise TypeError(f"config_class of world model {name!r} must be a dataclass, got {config_class!r}")
    _REGISTRY[name] = WorldModelEntry(name, config_class, build, imagines, dict(fixed or {}))


def world_model_names() -> list[str]:
    return sorted(_REGISTRY)


def world_model_entry(name: str) -> WorldModelEntry:
    if name not in _REGISTRY:
        raise ValueError(f"world_model={name!r} is not registered; choose one of {['none', *world_model_names()]}")
    return _REGISTRY[name]


def build_world_model(name: str, config: dict[str, Any], num_actions: int, device: str = "cpu") -> WorldModel:
    """World model ``name`` of config ``config`` (plain data) for ``num_actions`` actions on ``device``."""
    return world_model_entry(name).create(config, num_actions, device)


def _register_builtin() -> None:
    from world_models.simple import SimPLeModelConfig, SimPLeWorldModel

    register_world_model("simple", SimPLeModelConfig, SimPLeWorldModel, fixed={"stochastic": True})
    register_world_model("simple_deterministic", SimPLeModelConfig, SimPLeWorldModel,
                         fixed={"stochastic": False})


_register_builtin()
