"""Typed reading of params mappings into frozen dataclasses: unknown, missing or mistyped keys are
one-line errors naming the key. The dataclasses have no defaults: params.yaml is the one place
every setting lives."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, TypeVar

from cnnlstm.core.errors import CnnLstmError

T = TypeVar("T")


def check_choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise CnnLstmError(f"{key}: must be one of {', '.join(allowed)}, got {value!r}")


def check_type(key: str, value: Any, annotation: Any) -> Any:
    """Return `value` converted to `annotation`, or raise naming `key`; bool is never an int."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(annotation):
            return None
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        origin = typing.get_origin(annotation)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise CnnLstmError(f"{key}: must be a list, got {value!r}")
        item_type = typing.get_args(annotation)[0]
        return tuple(check_type(f"{key}[{i}]", v, item_type) for i, v in enumerate(value))
    if dataclasses.is_dataclass(annotation):
        return from_dict(annotation, value, key)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is float and isinstance(value, float) and not math.isfinite(value):
        raise CnnLstmError(f"{key}: must be a finite number, got {value}")  # YAML's .nan / .inf
    if not isinstance(value, annotation) or (annotation is int and isinstance(value, bool)):
        raise CnnLstmError(f"{key}: must be {annotation.__name__}, got {value!r}")
    return value


def from_dict(cls: type[T], raw: Any, section: str) -> T:
    """Build dataclass `cls` from a params mapping; unknown, missing or mistyped keys are errors."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CnnLstmError(f"{section}: must be a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - fields)
    if unknown:
        raise CnnLstmError(f"{section}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(fields))}")
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in raw]
    if missing:
        raise CnnLstmError(f"{section}.{missing[0]}: missing")
    values = {k: check_type(f"{section}.{k}", v, hints[k]) for k, v in raw.items()}
    return cls(**values)
