"""Configs are data: typed dataclasses built from YAML presets and ``key.sub=value`` overrides.

Every error names the dotted field, the bad value and what is allowed.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from envs.validate import closest

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any], path: str = "") -> T:
    """Build dataclass ``cls`` from plain data, nested dataclasses included, checking keys and types."""
    if not isinstance(data, dict):
        raise ValueError(f"{path or 'config'} must be a mapping of fields, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            raise ValueError(f"unknown config key {_join(path, key)!r}; valid keys here: {sorted(fields)}"
                             + _did_you_mean(key, fields))
    kwargs = {key: _coerce(hints[key], value, _join(path, key)) for key, value in data.items()}
    return cls(**kwargs)


def to_dict(config: Any) -> dict[str, Any]:
    """Plain data (tuples become lists), equal to what YAML reads back."""
    return _plain(dataclasses.asdict(config))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


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
        node[leaf] = yaml.safe_load(raw) if raw else ""
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
        text = path.read_text()
    elif name in preset_names():
        text = resources.files("runs").joinpath(f"presets/{name}.yaml").read_text()
    else:
        raise ValueError(f"unknown preset {name!r}; available: {preset_names()} (or a path to a .yaml file)")
    data = yaml.safe_load(text) or {}
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


def _coerce(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, path)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ValueError(f"{path}={value!r} is not allowed; choose one of {list(allowed)}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        return _coerce(next(a for a in args if a is not type(None)), value, path)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{path}={value!r} must be a list")
        (item,) = typing.get_args(hint)[:1] or (Any,)
        return origin(_coerce(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if hint is float:
        return _to_float(value, path)
    if hint in (int, bool, str) and not (isinstance(value, hint) and (hint is bool or not isinstance(value, bool))):
        raise ValueError(f"{path}={value!r} must be of type {hint.__name__}")
    return value


def _to_float(value: Any, path: str) -> float:
    # PyYAML reads "1e-4" (no dot) as a string, so numeric strings are accepted for float fields.
    try:
        if isinstance(value, bool):
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{path}={value!r} must be a number") from None


def _check_path(cls: type, key: str) -> None:
    node: Any = cls
    for depth, part in enumerate(key.split(".")):
        fields = {f.name: f for f in dataclasses.fields(node)} if dataclasses.is_dataclass(node) else {}
        if part not in fields:
            where = ".".join(key.split(".")[:depth]) or "the top level"
            raise ValueError(f"unknown config key {key!r}: {part!r} is not a field of {where}; "
                             f"valid: {sorted(fields)}" + _did_you_mean(part, fields))
        node = typing.get_type_hints(node)[part]


def _did_you_mean(key: str, valid: Any) -> str:
    near = closest(key, valid, n=3)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in data.items()}
