"""Typed dataclass configs from plain data (YAML, JSON) and back, with errors that name the dotted field,
the bad value and what is allowed. Every layer builds its component configs with it; ``runs/configs.py`` adds
presets and overrides on top."""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, TypeVar

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
            raise ValueError(f"unknown config key {join_path(path, key)!r}; valid keys here: {sorted(fields)}"
                             + did_you_mean(key, fields))
    kwargs = {key: _coerce(hints[key], value, join_path(path, key)) for key, value in data.items()}
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
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{path}={value!r} must be a mapping of fields")
        return dict(value)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{path}={value!r} must be a list")
        item = (typing.get_args(hint) or (Any,))[0]
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


def did_you_mean(key: str, valid: Any) -> str:
    near = closest(key, valid, n=3)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
