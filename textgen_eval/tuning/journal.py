"""The default storage's journal file: a lock released by the OS, and crash recovery.

Optuna's journal file is a list of JSON records, one per line, appended under a lock. A process
killed in the middle of ``write`` leaves a last line without its newline; Optuna skips such a
line while reading (it could be a write in progress) but the next append lands right after it,
gluing two records into one undecodable line, and every later read fails. :func:`recover_journal`
cuts the partial record off (keeping a backup) under the same lock writers use, before a
storage is opened.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from textgen_eval.core.errors import InputError, LockTimeout


class FlockLock:
    """An exclusive ``fcntl.flock`` on ``PATH.flock``, usable as Optuna's journal ``lock_obj``.

    Unlike Optuna's symlink/open-file locks, the OS releases it when the holder dies, so a worker
    killed with SIGKILL while appending cannot block the others for a grace period.
    """

    def __init__(self, journal_path: str | os.PathLike[str], *, timeout: float = 600.0) -> None:
        # not PATH.lock: that name belongs to Optuna's default symlink lock
        self.path = Path(f"{os.fspath(journal_path)}.flock")
        self.timeout = timeout
        self._handle: int | None = None

    def acquire(self) -> bool:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._handle = fd
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise LockTimeout(f"timed out waiting for the journal lock {self.path}") from None
                time.sleep(0.005)

    def release(self) -> None:
        import fcntl

        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None

    def __enter__(self) -> FlockLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def recover_journal(path: str | os.PathLike[str]) -> str | None:
    """Repair a journal whose last record was cut off by a crash; returns a warning or ``None``.

    Only an incomplete *last* record is removed (after copying the file to
    ``PATH.corrupt-<time>``); an undecodable complete line in the middle is not something a crash
    produces, so it raises instead of being silently dropped.
    """
    path = Path(path)
    if not path.is_file():
        if os.path.lexists(path):  # there, but not a file a journal can be: say what it is
            if path.is_dir():
                kind = "a directory"
            elif not path.exists():  # lexists but not exists: the link leads nowhere
                kind = "a symlink loop or a broken link"
            else:  # never opened: a FIFO blocks, a device never ends
                kind = "not a regular file (a device, FIFO or socket)"
            raise InputError(f"{path}: the trial journal is {kind}; expected a journal file (or a new path)")
        return None
    with FlockLock(path):
        data = path.read_bytes()
        if not data:
            return None
        cut = data.rfind(b"\n") + 1  # 0 when the only record is partial
        lines = data[:cut].splitlines()
        for number, line in enumerate(lines, start=1):
            try:
                json.loads(line)
            except ValueError as exc:  # not JSON, or not even UTF-8 text
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
                raise InputError(
                    f"{path}: line {number} is not a JSON record ({reason}); the journal is corrupted "
                    "beyond a cut-off last write. Restore it from a backup or start a new run."
                ) from None
        if cut == len(data):
            return None
        backup = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copyfile(path, backup)
        with open(path, "r+b") as handle:
            handle.truncate(cut)
            handle.flush()
            os.fsync(handle.fileno())
        return (
            f"journal {path}: removed an incomplete last record ({len(data) - cut} bytes, left by a process "
            f"that died while writing); {len(lines)} complete records kept, original saved as {backup.name}"
        )
