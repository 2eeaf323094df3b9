"""Atomic file writes: a reader never sees a half-written file, a crash never destroys one.

Files are created with the permissions any Unix tool gives them (``0666`` less the umask); a file
that is replaced keeps its own permission bits (docs/reliability.md, "permissions").
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import tempfile
from pathlib import Path


@functools.cache
def process_umask() -> int:
    """The process umask (read once: setting and restoring it is the only portable way to read it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def new_file_mode(target: Path) -> int:
    """The mode a file written to ``target`` gets: the replaced file's bits, else ``0666 & ~umask``."""
    try:
        st = os.stat(target)
    except OSError:
        return 0o666 & ~process_umask()
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else 0o666 & ~process_umask()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename.

    Only for paths that are absent or regular files: a rename over a symlink, device or FIFO
    would replace it (use :func:`textgen_eval.core.output.write_output` for user-given paths).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = new_file_mode(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if hasattr(os, "fchmod"):  # not on Windows before Python 3.13
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if exc.filename is None and exc.errno is not None:  # a failed write names no file: name it
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
