"""Strict configuration: frozen dataclasses are the source of truth, files and ``--set`` feed them.

A config file (TOML or JSON) holds one table per section (``[model]``, ``[train]``); ``--set
section.key=value`` overrides one value. Every key is checked: an unknown section or key is an
error that lists the valid ones, a value of the wrong type names the key and the expected type.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar, Union

from typing_extensions import dataclass_transform

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.seeding import MAX_SEED

T = TypeVar("T")


def _type_name(tp: object) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(value: object, tp: Any, *, key: str) -> object:
    """Convert ``value`` (from TOML/JSON or a ``--set`` string) to the annotated type ``tp``."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        is_none = value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
        if is_none and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return coerce(value, option, key=key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{key}: {value!r} is not a valid {_type_name(tp)}")
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value in allowed:
            return value
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(repr, allowed))}")
    if origin is tuple:
        args = typing.get_args(tp)
        items: object = value
        if isinstance(value, str) and value.startswith("["):
            try:
                items = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{key}: {value!r} is not a list literal ({exc.msg}); expected e.g. [4, 8]"
                ) from None
        if isinstance(items, str):
            items = [part for part in items.split(",") if part]
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        inner = args[0] if args else str
        return tuple(coerce(item, inner, key=key) for item in items)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):
                number = int(value.replace("_", ""))
        if number is None:
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return checked_int(number, key=key)
    if tp is float:
        real: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            real = float(value) if abs(value) < 1e308 else math.inf
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):
                real = float(value)
        if real is None:
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if not math.isfinite(real):
            raise ConfigError(f"{key}: {value!r} is not a finite number; expected a finite number")
        return real
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    raise ConfigError(f"{key}: unsupported setting type {_type_name(tp)}")


#: Integer settings are 64-bit in torch and NumPy; larger values are refused, not overflowed.
MAX_INT = 2**63 - 1


def checked_int(number: int, *, key: str) -> int:
    """An integer setting in range: |n| ≤ 2⁶³ − 1, and a seed (``*seed``) in 0 … 2³² − 1."""
    if key.rsplit(".", 1)[-1].endswith("seed") and not 0 <= number <= MAX_SEED:
        raise ConfigError(f"{key}: {number} is not a valid seed; expected an integer from 0 to {MAX_SEED}")
    if abs(number) > MAX_INT:
        raise ConfigError(f"{key}: {number} is too large; expected an integer of at most {MAX_INT}")
    return number


def finite_numbers(obj: object) -> None:
    """Every float setting of the dataclass ``obj`` is finite (``--set`` and config files refuse
    ``nan``/``inf`` when parsing; this holds the same for a config built in code or by a plugin)."""
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{f.name} must be a finite number, got {value}")


S = TypeVar("S", bound=type)


@dataclass_transform(frozen_default=True)
def settings(cls: S) -> S:
    """``@dataclass(frozen=True)`` for a config section, whose ``__post_init__`` first checks that
    every float setting is finite (:func:`finite_numbers`), then runs the class's own range checks
    (or the inherited ones). tests/reliability/test_setting_ranges.py walks every section."""
    own = cls.__dict__.get("__post_init__") or getattr(cls, "__post_init__", None)

    def __post_init__(self: object) -> None:  # noqa: N807 (the dataclass hook)
        finite_numbers(self)
        if own is not None:
            own(self)

    cls.__post_init__ = __post_init__  # type: ignore[attr-defined]
    return dataclasses.dataclass(frozen=True)(cls)  # type: ignore[return-value]


def field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def from_mapping(cls: type[T], mapping: Mapping[str, object], *, where: str = "config") -> T:
    """Build the dataclass ``cls`` from ``mapping``, rejecting unknown keys by name."""
    types_ = field_types(cls)
    unknown = sorted(set(mapping) - set(types_))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"valid keys: {', '.join(sorted(types_))}"
        )
    values = {key: coerce(value, types_[key], key=f"{where}.{key}") for key, value in mapping.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def replace(obj: T, **changes: object) -> T:
    """``dataclasses.replace`` with the same checking as :func:`from_mapping`."""
    merged = {**to_dict(obj), **changes}
    return from_mapping(type(obj), merged, where=type(obj).__name__)


def to_dict(obj: object) -> dict[str, Any]:
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"expected a dataclass instance, got {obj!r}")
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


class DuplicateKeyError(ValueError):
    """A JSON object that names one key twice (``json`` would keep the last silently)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(key)
        out[key] = value
    return out


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or JSON (``.json``) config file into nested dictionaries."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start}); config files are UTF-8 TOML or JSON"
        ) from None
    if path.suffix == ".json":
        try:
            data = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
        except DuplicateKeyError as exc:
            raise InputError(
                f"{path}: key {exc.key!r} is given twice in one table (TOML refuses it too)"
            ) from None
    elif path.suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # Python 3.10
            import tomli as tomllib
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: invalid TOML ({exc})") from None
    else:
        raise InputError(f"{path}: expected a .toml or .json config file")
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a table of sections at the top level")
    return data


def parse_assignments(items: Iterable[str], *, option: str = "--set") -> dict[str, str]:
    """``["train.lr=0.01", ...]`` → ``{"train.lr": "0.01"}`` (values are coerced later, by type)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} {item!r}: expected KEY=VALUE, e.g. {option} train.lr=0.001")
        out[key.strip()] = value.strip()
    return out


def build_sections(
    sections: Mapping[str, type],
    data: Mapping[str, object] | None = None,
    overrides: Mapping[str, str] | None = None,
    *,
    where: str = "config",
) -> dict[str, Any]:
    """Build one dataclass per section from file ``data`` plus dotted ``overrides``."""
    data = dict(data or {})
    unknown = sorted(set(data) - set(sections))
    if unknown:
        raise ConfigError(
            f"{where}: unknown section {', '.join(map(repr, unknown))}; valid sections: {', '.join(sections)}"
        )
    merged: dict[str, dict[str, object]] = {}
    for name in sections:
        table = data.get(name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: section {name!r} must be a table of key = value")
        merged[name] = dict(table)
    for dotted, value in (overrides or {}).items():
        section, sep, key = dotted.partition(".")
        if not sep or section not in sections:
            raise ConfigError(
                f"--set {dotted}={value}: expected SECTION.KEY=VALUE with SECTION one of "
                f"{', '.join(sections)} (e.g. --set {_example_key(sections)}=...)"
            )
        merged[section][key] = value
    return {
        name: from_mapping(cls, merged[name], where=f"{where} [{name}]") for name, cls in sections.items()
    }


def _example_key(sections: Mapping[str, type]) -> str:
    name, cls = next(iter(sections.items()))
    return f"{name}.{next(iter(field_types(cls)))}"
