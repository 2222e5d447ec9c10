"""Configs are data: typed dataclasses built from YAML presets and ``key.sub=value`` overrides.

Every error names the dotted field, the bad value and what is allowed.
"""
from __future__ import annotations

import dataclasses
import typing
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from envs.config_data import did_you_mean, from_dict, to_dict
from envs.files import read_yaml

__all__ = ["apply_overrides", "build", "from_dict", "load_preset", "merge", "preset_names", "resolve_preset",
           "to_dict"]
T = TypeVar("T")


def apply_overrides(cls: type, data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b=value`` overrides (values parsed as YAML) to ``data``, checking each key against ``cls``."""
    data = _deep_copy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override {item!r} is not of the form key.sub=value")
        _check_path(cls, key)
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _parse_value(item, raw)
    return data


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key, anything else in ``update`` wins."""
    out = _deep_copy(base)
    for key, value in update.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def preset_names() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in resources.files("runs").joinpath("presets").iterdir()
                  if p.name.endswith(".yaml"))


def load_preset(name: str) -> dict[str, Any]:
    """A preset from ``runs/presets`` (or a YAML file path), with the presets it ``extends`` merged under it."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        data = read_yaml(path, "preset")
    elif name in preset_names():
        data = yaml.safe_load(resources.files("runs").joinpath(f"presets/{name}.yaml").read_text())
    else:
        raise ValueError(f"unknown preset {name!r}; available: {preset_names()} (or a path to a .yaml file)")
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ValueError(f"preset {name}: holds a {type(data).__name__}, not a mapping of config keys to values")
    parents = data.pop("extends", [])
    base: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        base = merge(base, load_preset(parent))
    return merge(base, data)


def resolve_preset(name: str, agent: str) -> str:
    """``quick`` for agent ``simple`` means preset ``simple-quick`` when that exists, else ``quick``."""
    return f"{agent}-{name}" if f"{agent}-{name}" in preset_names() else name


def build(cls: type[T], presets: list[str], overrides: list[str], extra: dict[str, Any] | None = None) -> T:
    """Presets in order, then ``extra`` (CLI flags), then dotted overrides, validated into ``cls``."""
    data: dict[str, Any] = {}
    for name in presets:
        data = merge(data, load_preset(name))
    data = merge(data, extra or {})
    return from_dict(cls, apply_overrides(cls, data, overrides))


def _parse_value(item: str, raw: str) -> Any:
    """An override's value, parsed as YAML (``""`` when empty)."""
    try:
        return yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or "not valid YAML"
        raise ValueError(f"override {item!r}: the value {raw!r} is not valid YAML ({problem}); lists are "
                         "written [1, 2], strings with YAML characters in quotes") from e


def _check_path(cls: type, key: str) -> None:
    node: Any = cls
    for depth, part in enumerate(key.split(".")):
        if typing.get_origin(node) is dict or node is dict:
            return  # a mapping field (a component's config): checked when the component's config is built
        fields = {f.name: f for f in dataclasses.fields(node)} if dataclasses.is_dataclass(node) else {}
        if part not in fields:
            where = ".".join(key.split(".")[:depth]) or "the top level"
            raise ValueError(f"unknown config key {key!r}: {part!r} is not a field of {where}; "
                             f"valid: {sorted(fields)}" + did_you_mean(part, fields))
        node = typing.get_type_hints(node)[part]


def _deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in data.items()}
