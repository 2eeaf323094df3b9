"""The life of a run directory: what it holds, and the one process allowed to write it.

A run directory is in one of six states (:func:`run_state`); ``tge train`` decides from the state,
with the directory locked, whether to start, resume, restart or refuse, and every refusal names
the one command that goes on (docs/reliability.md, "run directories").
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from textgen_eval.core.errors import ConfigError, InputError, LockTimeout
from textgen_eval.core.locking import file_lock
from textgen_eval.core.training import CHECKPOINT, LOG, MODEL_DIR, RESULT, RUN_INFO, RUN_LOCK

RunState = Literal["absent", "empty", "unstarted", "interrupted", "finished", "foreign"]

#: Files a failed start may leave (they carry nothing that a restart would lose).
START_FILES = frozenset({RUN_INFO, LOG, RUN_LOCK})


def run_state(out: Path) -> RunState:
    """``absent`` / ``empty`` (nothing but a lock) / ``unstarted`` (``run.json``, no checkpoint: a
    failed start) / ``interrupted`` (a checkpoint, no result) / ``finished`` (``result.json`` and
    the model) / ``foreign`` (files tge did not write)."""
    if not out.exists():
        return "absent"
    if not out.is_dir():
        raise ConfigError(f"--out {out}: is a file; expected a run directory")
    names = {p.name for p in out.iterdir()} - {RUN_LOCK}
    if not names:
        return "empty"
    if RUN_INFO not in names:
        return "foreign"
    if RESULT in names and MODEL_DIR in names:
        return "finished"
    if CHECKPOINT in names:
        return "interrupted"
    if names <= START_FILES:
        return "unstarted"
    return "foreign"


def describe_foreign(out: Path, limit: int = 4) -> str:
    names = sorted(p.name for p in out.iterdir() if p.name != RUN_LOCK)
    shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
    return shown


@contextlib.contextmanager
def run_lock(out: Path, *, what: str = "run directory") -> Iterator[None]:
    """Hold ``out``'s exclusive lock for the block; another holder → a clear refusal, at once.

    The lock (``flock`` on ``out/.run.lock``) is released by the OS if the process dies, so a
    killed run never leaves its directory locked.
    """
    from textgen_eval.core.output import check_output_directory

    check_output_directory(out, what=f"--out ({what})")
    out.mkdir(parents=True, exist_ok=True)
    lock = out / RUN_LOCK
    try:
        with file_lock(lock, timeout=0.0):
            with contextlib.suppress(OSError):
                lock.write_text(f"{os.getpid()}\n", encoding="ascii")
            yield
    except LockTimeout:
        holder = _holder(lock)
        raise ConfigError(
            f"{out}: another tge process{holder} is writing this {what}; wait for it to finish "
            "(or stop it), or choose another directory"
        ) from None


def _holder(lock: Path) -> str:
    try:
        pid = lock.read_text(encoding="ascii").strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def enclosing_run(path: Path) -> Path | None:
    """The run directory ``path`` lies in (``run.json`` beside it or above), if any."""
    current = path.resolve().parent
    for directory in (current, *current.parents):
        if (directory / RUN_INFO).is_file():
            return directory
    return None


def clear_failed_start(out: Path) -> None:
    """Remove what a start that never reached its first checkpoint left (``run.json``, log)."""
    for name in START_FILES - {RUN_LOCK}:
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()


def read_run_info(path: Path) -> dict[str, Any] | None:
    """A run's ``run.json`` (``path``): ``None`` when there is none; a damaged or foreign one —
    not UTF-8, not JSON, not an object, or with ``data``/``data_identity`` of the wrong type — is
    an :class:`InputError` naming the file: the data-identity check and the bundle a run is
    scored against are never silently skipped."""
    if not path.exists():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"{path}: damaged run record ({type(exc).__name__}); it says what the run was trained on, "
            "so nothing is resumed or scored without it — restore it or start a new run"
        ) from None
    if not isinstance(info, dict):
        raise InputError(f"{path}: not a run record (a JSON {type(info).__name__}, expected an object)")
    if not isinstance(info.get("data", {}), dict) or not isinstance(
        info.get("data_identity", ""), str | None
    ):
        raise InputError(f"{path}: not a run record ('data' must be an object, 'data_identity' a string)")
    return info


def recorded_identity(out: Path) -> str | None:
    """The ``data_identity`` a run recorded in ``run.json`` (``None`` for runs that predate it
    or have none); a damaged ``run.json`` is an error (:func:`read_run_info`)."""
    info = read_run_info(out / RUN_INFO)
    value = info.get("data_identity") if info is not None else None
    return str(value) if value else None


def remove_if_created(out: Path, existed: bool) -> None:
    """Undo the directory a refused start created (it holds at most the lock file)."""
    if existed or not out.is_dir():
        return
    if {p.name for p in out.iterdir()} <= {RUN_LOCK}:
        shutil.rmtree(out, ignore_errors=True)
