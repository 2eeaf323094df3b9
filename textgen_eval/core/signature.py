"""Signatures: one string per score that lists every setting that changes the number.

Modelled on sacrebleu's signatures: ``name|key:value|...|v:VERSION``. Two scores are comparable
exactly when their signatures are equal (the value of ``n`` included).
"""

from __future__ import annotations

from collections.abc import Mapping

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


def parse_signature(signature: str) -> tuple[str, dict[str, str]]:
    """Inverse of :func:`make_signature` (values come back as strings)."""
    name, *fields = signature.split("|")
    settings: dict[str, str] = {}
    for field in fields:
        key, _, value = field.partition(":")
        settings[key] = value
    return name, settings
