"""A cross-process lock on a file, for caches that two processes may build at once."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from textgen_eval.core.errors import LockTimeout


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], *, timeout: float = 3600.0, poll: float = 0.1) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block.

    Uses ``fcntl.flock`` where available (released by the OS if the process dies), else an
    ``O_EXCL`` lock file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    try:
        import fcntl
    except ImportError:  # Windows
        fcntl = None  # type: ignore[assignment]
    if fcntl is not None:
        with open(target, "a+b") as handle:
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LockTimeout(
                            f"timed out after {timeout:.0f} s waiting for lock {target}"
                        ) from None
                    time.sleep(poll)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return
    while True:
        try:
            fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise LockTimeout(f"timed out after {timeout:.0f} s waiting for lock {target}") from None
            time.sleep(poll)
    try:
        yield
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)
