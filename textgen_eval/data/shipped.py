"""Models that ship with the package (issue 33): FD's NLI sentence encoder and the reference LMs
of the bundled corpora, which every user would otherwise train, identically, on first use.

Each is a verified-cache entry (:mod:`textgen_eval.core.verified_cache`: its files and a
``meta.json`` with their SHA-256) under ``data/models/`` (``KIND/KEY`` below it) — the key the cache would use, so
a shipped entry is used exactly when the current recipe and data produce its key. Its hashes are
checked on every load; a shipped file that fails the check is not used (the model is trained into
the cache, with a note). ``$TGE_SHIPPED_DIR`` points elsewhere (tests; an empty value: none).
``benchmarks/shipped_models.py`` retrains each from scratch and compares it with the shipped bytes;
``python -m textgen_eval.data.shipped`` (re)writes them from a cache (docs/metrics.md, "Shipped
models").
"""

from __future__ import annotations

import os
from pathlib import Path

from textgen_eval.data.bundles import bundled_data_dir

#: The kinds of shipped model and the cache directory each mirrors.
KINDS = ("encoder", "reference-lm")


def shipped_root() -> Path | None:
    """``$TGE_SHIPPED_DIR`` (empty: no shipped models), else ``models/`` of the bundled data."""
    override = os.environ.get("TGE_SHIPPED_DIR")
    if override is not None:
        return Path(override) if override else None
    return bundled_data_dir() / "models"


def shipped_entry(kind: str, key: str) -> Path | None:
    """The shipped entry ``kind/key`` if it is there (its hashes are checked when it is loaded)."""
    root = shipped_root()
    if root is None:
        return None
    path = root / kind / key
    return path if path.is_dir() else None


def ship(kind: str, cache_entry: Path, root: Path | None = None) -> Path:
    """Copy a complete, verified cache entry into the shipped models (for the maintainers)."""
    import shutil

    from textgen_eval.core.verified_cache import read_meta

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    read_meta(cache_entry)  # only an entry whose files match their hashes
    target = (root or bundled_data_dir() / "models") / kind / cache_entry.name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(cache_entry, target)
    return target


if __name__ == "__main__":  # python -m textgen_eval.data.shipped KIND CACHE_ENTRY...
    import sys

    for entry in sys.argv[2:]:
        print(ship(sys.argv[1], Path(entry)))
