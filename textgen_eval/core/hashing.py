"""Content digests used in signatures and cache keys."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def text_digest(texts: Iterable[str], length: int = 12) -> str:
    """SHA-256 of the texts joined by newlines (order matters), truncated to ``length`` hex digits."""
    h = hashlib.sha256()
    for i, text in enumerate(texts):
        if i:
            h.update(b"\n")
        h.update(text.encode("utf-8"))
    return h.hexdigest()[:length]


def file_digest(path: str, length: int = 12) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:length]
