"""Which exceptions are faults of the machine rather than verdicts on the settings (issue 34, item 4).

A full disk during a tuning trial says nothing about the configuration that was training: the trial
must be re-queued and run again once space is freed, not recorded as a failed configuration. One
classifier serves the CLI's exit codes and the tuning worker's bookkeeping.
"""

from __future__ import annotations

import errno

#: What each errno of the machine is called in a message (``disk full writing PATH``).
ENVIRONMENT_ERRNOS: dict[int, str] = {
    errno.ENOSPC: "disk full writing",
    errno.EDQUOT: "disk quota exceeded writing",
    errno.EROFS: "read-only file system writing",
    errno.EIO: "input/output error on",
    errno.EFBIG: "file size limit exceeded writing",
}
OUT_OF_MEMORY = "out of memory"


def is_allocation_failure(exc: BaseException) -> bool:
    """Python's ``MemoryError`` and torch's out-of-memory errors (CPU allocator, CUDA)."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return type(exc).__name__ == "OutOfMemoryError" or (
        isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text)
    )


def environment_fault(exc: BaseException) -> str | None:
    """``"disk full writing /x/weights.pt"``, ``"out of memory"`` — or ``None`` for any other error."""
    if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
        what = ENVIRONMENT_ERRNOS[exc.errno]
        return f"{what} {exc.filename}" if exc.filename else what.rsplit(" ", 1)[0]
    if is_allocation_failure(exc):
        return OUT_OF_MEMORY
    return None
