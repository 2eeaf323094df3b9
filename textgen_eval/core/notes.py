"""Notes that are told as they are taken: long work says what it is doing before it does it."""

from __future__ import annotations

from collections.abc import Callable, Iterable


class Notes(list[str]):
    """A list of notes (kept for the JSON output) that also calls ``echo`` with each note the
    moment it is added, so "training the reference LM … about 3 min" appears before the training,
    not after the results."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.echo = echo

    def append(self, note: str) -> None:
        super().append(note)
        if self.echo is not None:
            self.echo(note)

    def extend(self, notes: Iterable[str]) -> None:
        for note in notes:
            self.append(note)
