"""A hard per-trial time limit (Optuna has none): ``SIGALRM`` raises :class:`TrialTimeout`.

The runner's ``time_budget`` ends *training* gracefully; this limit covers the whole trial
(training, sampling, metrics) and fails it. It must run in the main thread of a process, which is
where workers run trials.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class TrialTimeout(Exception):  # noqa: N818 (reads as an event, like TimeoutError)
    """The trial ran past ``--trial-timeout``."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TrialTimeout` inside the ``with`` block after ``seconds`` (``None``: no limit)."""
    if seconds is None:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("time_limit() needs the main thread (it uses SIGALRM)")

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TrialTimeout(f"the trial ran longer than its limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
