"""The agents ``workbench train`` and ``workbench sweep`` know, and how their configs are built."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from runs.configs import build, load_preset, resolve_preset


@dataclass(frozen=True)
class AgentEntry:
    """Where an agent's config class and train function live, and the preset it starts from."""

    module: str
    config_class: str
    train_function: str
    default_preset: str

    def config_type(self) -> type:
        return getattr(import_module(self.module), self.config_class)

    def train(self) -> Callable[..., dict[str, Any]]:
        """``train(config, run, progress) -> results``: trains (or resumes) in a run directory, then finishes it."""
        return getattr(import_module(self.module), self.train_function)


_COMPOSED = ("runs.train.composed", "ComposedTrainConfig", "train_composed")
# Every agent is the composed agent; the names are preset families (runs/presets/<name>-*.yaml).
AGENTS = {
    "ppo": AgentEntry(*_COMPOSED, "ppo-atari100k"),
    "drq-eps": AgentEntry(*_COMPOSED, "drq-eps-atari100k"),
    "simple": AgentEntry(*_COMPOSED, "paper"),
    "simple-ray": AgentEntry(*_COMPOSED, "paper"),
    "rllib": AgentEntry(*_COMPOSED, "rllib-atari100k"),
    "composed": AgentEntry(*_COMPOSED, "composed-simple-paper"),
}


def agent_entry(agent: str) -> AgentEntry:
    if agent not in AGENTS:
        raise ValueError(f"agent {agent!r} is not known; choose one of {sorted(AGENTS)}")
    return AGENTS[agent]


def agent_of_presets(presets: list[str]) -> str | None:
    """The ``agent`` the last preset that names one asks for."""
    for name in reversed(presets):
        try:
            agent = load_preset(name).get("agent")
        except ValueError:
            continue  # e.g. "quick": only meaningful with --agent
        if agent:
            return agent
    return None


def agent_presets(agent: str, presets: list[str]) -> list[str]:
    """Preset names resolved for ``agent`` (``quick`` -> ``simple-quick``), or its default preset."""
    return [resolve_preset(name, agent) for name in presets or [agent_entry(agent).default_preset]]


def build_agent_config(agent: str, presets: list[str], overrides: list[str], flags: dict[str, Any]) -> Any:
    """The validated config of one ``agent`` run: its presets, then ``flags`` (not None), then overrides."""
    data = {"agent": agent, **{k: v for k, v in flags.items() if v is not None}}
    return build(agent_entry(agent).config_type(), agent_presets(agent, presets), overrides, data)
