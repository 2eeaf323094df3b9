"""One guarded writer for every ``--output``: writing a result never destroys anything.

The rules (docs/reliability.md, "outputs"):

* an absent path or a regular file is written atomically (a temporary file in the same directory,
  then a rename), keeping the replaced file's permission bits;
* a symlink, a character device or a FIFO is written *through* — opened for writing, following
  links — so ``-o /dev/stdout`` and ``-o /dev/null`` work and a link or device node is never
  replaced by a regular file;
* a directory, a block device, a socket, a symlink loop, or a FIFO nobody reads is refused;
* a path that is an input of the command (:class:`Protected`: samples, references, bundle splits,
  feature files, model and run directories) is refused — checked before any work is done, and
  again just before writing.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.files import atomic_write_bytes

OutputKind = Literal["absent", "regular", "through"]

#: How long a FIFO output waits for a reader before the command gives up.
FIFO_WAIT_S = 10.0


@dataclass(frozen=True)
class Protected:
    """An input of a command that its output must not overwrite.

    Attributes:
        path: the file, or with ``tree`` the directory.
        what: how the message names it ("the reference file", "the model directory", ...).
        tree: protect everything beneath ``path`` (a model directory), not only ``path`` itself.
    """

    path: Path
    what: str
    tree: bool = False


def output_kind(path: Path, *, option: str = "--output") -> OutputKind:
    """How ``path`` is written: atomically (absent or regular file) or through (link, device, FIFO)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot be inspected ({exc.strerror})") from None
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.stat(path)
        except FileNotFoundError:
            return "through"  # a dangling link: writing creates its target, the link stays
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ConfigError(f"{option} {path}: is a symlink loop; expected a file path") from None
            raise ConfigError(f"{option} {path}: cannot be inspected ({exc.strerror})") from None
        _refuse_mode(path, target.st_mode, option)
        return "through"
    _refuse_mode(path, st.st_mode, option)
    return "regular" if stat.S_ISREG(st.st_mode) else "through"


def _refuse_mode(path: Path, mode: int, option: str) -> None:
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{option} {path}: is a directory; expected a file path")
    if stat.S_ISBLK(mode):
        raise ConfigError(f"{option} {path}: is a block device; tge does not write to disks")
    if stat.S_ISSOCK(mode):
        raise ConfigError(f"{option} {path}: is a socket; expected a file, FIFO or character device")


def _real(path: Path) -> str:
    return os.path.realpath(path)


def clashes(path: Path, item: Protected) -> bool:
    """Whether writing ``path`` would write into ``item`` (same file, hard link, or beneath a tree)."""
    real, protected = _real(path), _real(item.path)
    if real == protected:
        return True
    if item.tree and real.startswith(protected.rstrip(os.sep) + os.sep):
        return True
    try:
        return os.path.samefile(path, item.path)
    except OSError:
        return False


def check_output_directory(path: Path, *, what: str) -> None:
    """A directory the command will create or fill (a bundle, a run): refused, naming the culprit,
    when it or one of its parents exists and is not a directory (it was ``NotADirectoryError``,
    an internal error, after the inputs had been read)."""
    for candidate in (path, *path.parents):
        if candidate.exists() and not candidate.is_dir():
            where = "" if candidate == path else f" (inside {candidate}, which is a file)"
            raise ConfigError(f"{what} {path}: cannot be a directory{where}; choose another path")
        if candidate.is_dir():
            return


def check_output(path: Path, protected: Iterable[Protected] = (), *, option: str = "--output") -> OutputKind:
    """Refuse ``path`` when it is an input of the command or cannot be written; say how it will be."""
    kind = output_kind(path, option=option)
    for item in protected:
        if clashes(path, item):
            beneath = f" (inside {item.path})" if item.tree and _real(path) != _real(item.path) else ""
            raise ConfigError(
                f"{option} {path} is {item.what}{beneath}, an input of this command; "
                "choose another file name (nothing was written)"
            )
    return kind


def write_output(
    path: Path, data: bytes | str, protected: Iterable[Protected] = (), *, option: str = "--output"
) -> None:
    """Write a command's result to ``path`` under the rules of this module."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    kind = check_output(path, tuple(protected), option=option)
    try:
        if kind == "through":
            _write_through(path, payload, option)
        else:
            atomic_write_bytes(path, payload)
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot write ({exc.strerror or exc})") from None


def _write_through(path: Path, payload: bytes, option: str) -> None:
    """Write into what ``path`` names without replacing it (a FIFO must have a reader).

    A path that names one of the process's own descriptors (``/dev/stdout``, ``/dev/fd/N``,
    ``/proc/self/fd/N``) is written through that descriptor, as a shell does, so output redirected
    to a file is appended at its position instead of truncating it.
    """
    alias = descriptor_alias(path)
    if alias is not None:
        fd = os.dup(alias)
    elif stat.S_ISFIFO(_mode(path)):
        fd = _open_fifo(path, option)
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(payload)


_DESCRIPTOR_DIRS = ("/dev/fd/", "/proc/self/fd/")
_STD_NAMES = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def descriptor_alias(path: Path) -> int | None:
    """The descriptor number a path (or a link on its way) names, e.g. 1 for ``/dev/stdout``."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on link hops
        if current in _STD_NAMES:
            return _STD_NAMES[current]
        for prefix in (*_DESCRIPTOR_DIRS, f"/proc/{os.getpid()}/fd/"):
            tail = current[len(prefix) :] if current.startswith(prefix) else ""
            if tail.isdigit():
                return int(tail)
        if not os.path.islink(current):
            return None
        current = os.path.join(os.path.dirname(current), os.readlink(current))
        current = os.path.abspath(current)
    return None


def _mode(path: Path) -> int:
    try:
        return os.stat(path).st_mode
    except OSError:
        return 0


def _open_fifo(path: Path, option: str) -> int:
    deadline = time.monotonic() + FIFO_WAIT_S
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if time.monotonic() > deadline:
                raise ConfigError(
                    f"{option} {path}: is a FIFO that nobody read from within {FIFO_WAIT_S:.0f} s; "
                    "start its reader first"
                ) from None
            time.sleep(0.05)
            continue
        os.set_blocking(fd, True)
        return fd
