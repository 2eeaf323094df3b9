"""Signatures: one string per score that lists every setting that changes the number.

Modelled on sacrebleu's signatures: ``name|key:value|...|v:VERSION``. Two scores are comparable
exactly when their signatures are equal (the value of ``n`` included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textgen_eval import __version__


def format_value(value: object) -> str:
    """Render one setting; booleans as yes/no, floats with repr precision."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    text = str(value)
    # '|' separates fields; keep the signature parseable whatever a plugin passes in.
    return text.replace("|", "/")


def make_signature(name: str, settings: Mapping[str, object], *, version: str = __version__) -> str:
    """Build ``name|k1:v1|k2:v2|...|v:version`` keeping the caller's key order."""
    parts = [name]
    parts.extend(f"{key}:{format_value(value)}" for key, value in settings.items())
    parts.append(f"v:{version}")
    return "|".join(parts)


def with_field(signature: str, key: str, value: str) -> str:
    """``signature`` with ``key:value`` added before its version field (at the end without one)."""
    head, sep, version = signature.rpartition("|v:")
    return f"{head}|{key}:{value}{sep}{version}" if sep else f"{signature}|{key}:{value}"


def parse_signature(signature: str) -> tuple[str, dict[str, str]]:
    """Inverse of :func:`make_signature` (values come back as strings)."""
    name, *fields = signature.split("|")
    settings: dict[str, str] = {}
    for field in fields:
        key, _, value = field.partition(":")
        settings[key] = value
    return name, settings


#: Fields that hold a run's seed: they differ between the retrained seeds of one configuration.
SEED_FIELDS = frozenset({"seed", "sub"})


def common_signature(signatures: Sequence[str]) -> tuple[str, dict[str, list[str]]]:
    """The signature that ``signatures`` share, with every field whose value differs written
    ``key:*``, and those fields' values in order (``{"seed": ["1", "2", ...]}``).

    A report of several seeds of one configuration gives one signature plus the list of seeds,
    instead of "mixed" (issue 19). A field missing from some signatures counts as differing
    (value ``""``); a differing metric name is written ``*`` too.
    """
    if not signatures:
        raise ValueError("common_signature needs at least one signature")
    parsed = [parse_signature(s) for s in signatures]
    keys: list[str] = []
    for _, fields in parsed:
        keys += [k for k in fields if k not in keys]
    names = {name for name, _ in parsed}
    varies: dict[str, list[str]] = {}
    parts = [parsed[0][0] if len(names) == 1 else "*"]
    for key in keys:
        values = [fields.get(key, "") for _, fields in parsed]
        if len(set(values)) == 1:
            parts.append(f"{key}:{values[0]}")
        else:
            parts.append(f"{key}:*")
            varies[key] = values
    return "|".join(parts), varies
