"""Ctrl-C between steps: the first SIGINT sets a flag the loop checks after each update, so the
checkpoint it writes is consistent; a second one interrupts at once."""

from __future__ import annotations

import signal
import threading
from typing import Any


class InterruptFlag:
    def __init__(self) -> None:
        self.raised = False
        self._previous: Any = None

    def __enter__(self) -> InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
