"""Hugging Face ``datasets`` as a text source.

Spec: ``hf:NAME_OR_PATH[?config=C&split=S&field=F]``. ``NAME_OR_PATH`` is a hub name (needs
the network unless cached), a local dataset directory with data files, or a directory written by
``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from textgen_eval.core.errors import InputError, MissingDependencyError
from textgen_eval.data.readers import as_sentence

PREFIX = "hf:"
_KEYS = ("config", "split", "field")


@dataclass(frozen=True)
class HFSpec:
    path: str
    config: str | None = None
    split: str | None = None
    field: str | None = None


def parse_hf_spec(spec: str) -> HFSpec:
    if not spec.startswith(PREFIX):
        raise InputError(f"{spec!r}: a Hugging Face source starts with 'hf:'")
    body = spec[len(PREFIX) :]
    path, _, query = body.partition("?")
    if not path:
        raise InputError(f"{spec!r}: expected hf:NAME_OR_PATH[?config=C&split=S&field=F]")
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)) if query else []:
        if key not in _KEYS:
            raise InputError(f"{spec!r}: unknown parameter {key!r}; expected {', '.join(_KEYS)}")
        params[key] = value
    return HFSpec(path=path, **params)


def read_hf(spec: str, field: str | None, option: str) -> list[str]:
    """Sentences of one split and one string column of a Hugging Face dataset."""
    parsed = parse_hf_spec(spec)
    try:
        import datasets
    except ImportError:
        raise MissingDependencyError("datasets", "reading Hugging Face datasets") from None
    column = field or parsed.field
    data = _load(datasets, parsed, spec)
    names = list(data.column_names)
    if column is None:
        string_columns = [n for n, f in data.features.items() if getattr(f, "dtype", None) in ("string", "large_string")]
        if "text" in names:
            column = "text"
        elif len(string_columns) == 1:
            column = string_columns[0]
        else:
            raise InputError(f"{spec}: several columns ({', '.join(names)}); choose one with field=NAME or {option}")
    if column not in names:
        raise InputError(f"{spec}: no column {column!r} (columns: {', '.join(names)})")
    return [as_sentence(value, f"{spec}: row {i}: column {column!r}") for i, value in enumerate(data[column])]


def _load(datasets: Any, parsed: HFSpec, spec: str) -> Any:
    local = Path(parsed.path)
    try:
        if local.is_dir() and ((local / "state.json").is_file() or (local / "dataset_dict.json").is_file()):
            loaded = datasets.load_from_disk(str(local))
        else:
            loaded = datasets.load_dataset(parsed.path, parsed.config, split=parsed.split)
    except Exception as exc:  # datasets raises many unrelated types for "not found"/"offline"
        raise InputError(f"{spec}: could not load the dataset: {type(exc).__name__}: {exc}") from None
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        if parsed.split is not None:
            if parsed.split not in loaded:
                raise InputError(f"{spec}: no split {parsed.split!r} (splits: {', '.join(splits)})")
            return loaded[parsed.split]
        if len(splits) == 1:
            return loaded[splits[0]]
        raise InputError(f"{spec}: several splits ({', '.join(splits)}); choose one with split=NAME")
    return loaded
