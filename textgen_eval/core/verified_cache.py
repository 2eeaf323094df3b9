"""One verified cache for every derived artefact that costs minutes to rebuild (issue 33): the
reference LM, FD's NLI encoder, the LSA featurizer and stored reference features.

An entry is a directory ``ROOT/KEY`` holding the artefact's files and ``meta.json``, which
records the SHA-256 of every other file (``content``). The rules, shared by every cache:

* **checked on every load**: an entry whose files differ from their recorded hashes, or that its
  loader cannot read, is not used — under the builder lock it is removed (with a note) and rebuilt;
* **built once across processes**: a file lock ``ROOT/.KEY.lock`` serialises builders; a process
  that waited loads what the first one built;
* **never half-written**: the files are written to a temporary directory next to the entry and
  renamed into place with their hashes; a crash leaves no entry, only the temporary directory;
* **resumable**: a builder may keep checkpoints in ``ROOT/.partial-KEY`` (Ctrl-C keeps its
  progress; the next build resumes), removed once the entry is complete.

Loaders read without pickling (:mod:`textgen_eval.core.safe_load`).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from textgen_eval.core.errors import InputError
from textgen_eval.core.files import atomic_write_text
from textgen_eval.core.hashing import file_digest
from textgen_eval.core.locking import file_lock

META = "meta.json"
T = TypeVar("T")


def content_hashes(directory: Path) -> dict[str, str]:
    """SHA-256 of every file of an entry except ``meta.json`` (which records them)."""
    return {
        str(p.relative_to(directory)): file_digest(str(p), 64)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != META
    }


def read_meta(entry: Path) -> dict[str, Any]:
    """``meta.json`` of an entry whose files match the hashes it records; else an input error
    saying what is wrong (missing, unreadable, no hashes, which files changed)."""
    path = entry / META
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{entry}: {META} missing") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{META} unreadable ({exc})") from None
    recorded = meta.get("content") if isinstance(meta, dict) else None
    if not isinstance(recorded, dict):
        raise InputError(f"{META} records no content hash (an entry written before they were)")
    actual = content_hashes(entry)
    recorded = {str(k): str(v) for k, v in recorded.items()}
    if recorded != actual:
        changed = sorted(n for n in set(recorded) | set(actual) if recorded.get(n) != actual.get(n))
        raise InputError(f"content hash mismatch in {', '.join(changed)}: the cached files were modified")
    return dict(meta)


@dataclass(frozen=True)
class Built(Generic[T]):
    """What a builder returns: the artefact, and what ``meta.json`` records beside the hashes."""

    value: T
    meta: Mapping[str, Any]


@dataclass(frozen=True)
class CacheEntry:
    """The entry ``KEY`` under ``ROOT``, with its lock and its partial (checkpoint) directory."""

    root: Path
    key: str

    @property
    def path(self) -> Path:
        return self.root / self.key

    @property
    def partial(self) -> Path:
        return self.root / f".partial-{self.key}"

    @property
    def lock(self) -> Path:
        return self.root / f".{self.key}.lock"


def load_or_build(
    entry: CacheEntry,
    load: Callable[[Path, Mapping[str, Any]], T],
    build: Callable[[Path, Path], Built[T]],
    *,
    what: str,
    notes: list[str] | None = None,
    shipped: Path | None = None,
) -> tuple[T, str]:
    """The artefact of ``entry``: ``"shipped"`` when ``shipped`` (an entry of the same key that
    ships with the package, :mod:`textgen_eval.data.shipped`) passes its check and loads, else
    ``"warm"`` from the cache, or — building it once across processes — ``"built"``.
    ``load(directory, meta)`` reads a verified entry (raising :class:`InputError`, ``OSError``,
    ``ValueError``, ``KeyError`` or ``TypeError`` for one it cannot read); ``build(partial,
    target)`` writes the files into ``target`` (checkpoints in ``partial``)."""

    def attempt(directory: Path = entry.path) -> T:
        meta = read_meta(directory)
        try:
            return load(directory, meta)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise InputError(f"its files do not load ({type(exc).__name__}: {exc})") from None

    if shipped is not None:
        try:
            return attempt(shipped), "shipped"
        except InputError as exc:  # never trusted: the cache's copy, or a build, takes its place
            if notes is not None:
                notes.append(f"the shipped {what} {shipped} failed its check and is not used ({exc})")

    if entry.path.exists():
        with contextlib.suppress(InputError):
            return attempt(), "warm"
    with file_lock(entry.lock):
        if entry.path.exists():
            try:
                return attempt(), "warm"  # built by another process while we waited, or intact
            except InputError as exc:
                if notes is not None:
                    notes.append(f"{what} cache entry {entry.path} failed its check and is rebuilt ({exc})")
                shutil.rmtree(entry.path, ignore_errors=True)
        entry.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.key}.", dir=entry.root))
        try:
            built = build(entry.partial, tmp)
            meta = {**built.meta, "content": content_hashes(tmp)}
            atomic_write_text(tmp / META, json.dumps(meta, indent=2, default=str) + "\n")
            tmp.rename(entry.path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(entry.partial, ignore_errors=True)  # the entry is complete: its checkpoints go
        return built.value, "built"
