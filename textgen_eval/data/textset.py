"""TextSet: an immutable sequence of sentences that remembers where it came from."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textgen_eval.core.hashing import text_digest


class TextSet(tuple[str, ...]):
    """A tuple of sentences plus provenance (source, empty-line accounting, content digest).

    It *is* a ``Sequence[str]``, so metric plugins receive plain strings; built-in code reads
    the extra attributes to build signatures and to share tokenization between metrics.
    """

    source: str
    label: str
    n_skipped_empty: int

    def __new__(
        cls,
        texts: Iterable[str],
        *,
        source: str = "<memory>",
        label: str | None = None,
        n_skipped_empty: int = 0,
    ) -> TextSet:
        self = super().__new__(cls, texts)
        self.source = source
        self.label = label if label is not None else source
        self.n_skipped_empty = n_skipped_empty
        return self

    @property
    def n_empty(self) -> int:
        """Number of kept samples that are empty (nothing but whitespace)."""
        return sum(1 for text in self if not text.strip())

    @property
    def digest(self) -> str:
        """12 hex digits of SHA-256 over the sentences; changes whenever any sentence does."""
        cached: str | None = self.__dict__.get("_digest")
        if cached is None:
            cached = text_digest(self)
            self.__dict__["_digest"] = cached
        return cached

    def head(self, count: int) -> TextSet:
        """The first ``count`` sentences (all of them if there are fewer)."""
        if count >= len(self):
            return self
        return TextSet(self[:count], source=self.source, label=self.label)

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "label": self.label,
            "n": len(self),
            "empty": self.n_empty,
            "skipped_empty": self.n_skipped_empty,
            "digest": self.digest,
        }

    def __reduce__(self) -> Any:  # keep provenance through pickling (multiprocessing)
        return (
            _rebuild,
            (tuple(self), self.source, self.label, self.n_skipped_empty),
        )


def _rebuild(texts: tuple[str, ...], source: str, label: str, n_skipped_empty: int) -> TextSet:
    return TextSet(texts, source=source, label=label, n_skipped_empty=n_skipped_empty)


def as_textset(texts: Iterable[str], *, source: str = "<memory>") -> TextSet:
    """Wrap any iterable of strings (a TextSet is returned as it is)."""
    if isinstance(texts, TextSet):
        return texts
    if isinstance(texts, str):
        raise TypeError("expected a sequence of sentences, got a single string")
    items = tuple(texts)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"sentence {i} is {type(item).__name__}, expected str")
    return TextSet(items, source=source)
