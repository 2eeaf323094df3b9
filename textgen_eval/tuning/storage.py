"""Where a study lives: an Optuna journal file (default, no server) or any Optuna RDB URL.

``journal:PATH`` (or a plain path) is a journal file, safe for processes on one machine and
repaired on open after a crash (:mod:`.journal`). ``postgresql://...``, ``mysql://...`` and
``sqlite:///...`` are RDB storages shared by workers on many machines; they get Optuna's
heartbeats, so the trial of a worker that dies is failed after the grace period and re-queued
by ``on_stale``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import ConfigError, InputError, MissingDependencyError
from textgen_eval.tuning.journal import FlockLock, recover_journal

RDB_SCHEMES = ("postgresql", "postgres", "mysql", "mariadb", "sqlite", "oracle", "mssql")
DEFAULT_JOURNAL = "study.journal"
_PASSWORD = re.compile(r"^(?P<head>[a-z0-9+]+://[^:/@]+):[^@]*@")


@dataclass(frozen=True)
class StorageSpec:
    """A parsed ``--storage`` value."""

    url: str

    @property
    def kind(self) -> str:
        return "rdb" if self.url.split(":", 1)[0].split("+", 1)[0] in RDB_SCHEMES else "journal"

    @property
    def journal_path(self) -> Path:
        assert self.kind == "journal"
        return Path(self.url.removeprefix("journal:"))

    @property
    def masked(self) -> str:
        """The URL with any password replaced by ``***`` (what run files and messages show)."""
        return _PASSWORD.sub(r"\g<head>:***@", self.url)

    @property
    def has_secret(self) -> bool:
        return self.masked != self.url


def parse_storage(value: str, *, base: Path | None = None) -> StorageSpec:
    """``journal:PATH``, a path, or an RDB URL; relative journal paths resolve against ``base``."""
    value = value.strip()
    if not value:
        raise ConfigError("--storage: empty value; expected a journal file path or an RDB URL")
    scheme = value.split("://", 1)[0].split("+", 1)[0] if "://" in value else None
    if scheme is not None:
        if scheme not in RDB_SCHEMES:
            raise ConfigError(
                f"--storage {StorageSpec(value).masked}: unknown scheme {scheme!r}; "
                "expected an Optuna RDB URL (postgresql://, mysql://, sqlite:///) or a journal file path"
            )
        return StorageSpec(value)
    path = Path(value.removeprefix("journal:")).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    try:
        resolved = path.resolve()
    except (RuntimeError, OSError):  # Python raises RuntimeError for a symlink loop
        raise InputError(
            f"{path}: the trial journal is a symlink loop; expected a journal file (or a new path)"
        ) from None
    return StorageSpec(f"journal:{resolved}")


def open_storage(
    spec: StorageSpec,
    *,
    heartbeat_interval: int | None = 60,
    on_stale: Callable[[Any, Any], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> Any:
    """An Optuna storage for ``spec`` (journal files are repaired first; see :func:`recover_journal`)."""
    import optuna
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if spec.kind == "journal":
        path = spec.journal_path
        path.parent.mkdir(parents=True, exist_ok=True)
        message = recover_journal(path)
        if message and notify is not None:
            notify(message)
        backend = JournalFileBackend(os.fspath(path), lock_obj=FlockLock(path))  # type: ignore[arg-type]
        return JournalStorage(backend)
    grace = None if heartbeat_interval is None else 2 * heartbeat_interval
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna; we rely on them
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(
                spec.url,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace,
                heartbeat_stale_trial_callback=on_stale,
                engine_kwargs={"pool_pre_ping": True} if not spec.url.startswith("sqlite") else None,
            )
    except ImportError:
        scheme = spec.url.split("://", 1)[0]
        if scheme.startswith("postgres"):
            raise MissingDependencyError("psycopg", f"storage {spec.masked}", extra="postgres") from None
        raise ConfigError(
            f"--storage {spec.masked}: no database driver for {scheme}:// is installed; install the one "
            "SQLAlchemy's dialect documentation names for it (e.g. pip install pymysql for mysql+pymysql://)"
        ) from None
    except ValueError as exc:  # a malformed URL: a non-numeric port, a bad query string, ...
        raise ConfigError(f"--storage {spec.masked}: malformed database URL ({exc})") from None
    except Exception as exc:  # sqlalchemy OperationalError etc.: unreachable server, bad credentials
        if type(exc).__module__.startswith("sqlalchemy"):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"--storage {spec.masked}: cannot open the database: {first}") from None
        raise
