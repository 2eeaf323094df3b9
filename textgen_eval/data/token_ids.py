"""Fixed-length token-id corpora: the text format of synthetic-oracle bundles.

An oracle bundle's sentences are exactly ``length`` space-separated integer ids below
``vocab_size`` (SeqGAN's ``real_data.txt``, PEERS.md §1.1): no end-of-sentence token, no padding,
every position scored. A bundle says so in its ``bundle.json``; a generator trained on it then
has the closed vocabulary ``0 … V−1``, never emits EOS and samples exactly ``length`` tokens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from textgen_eval.core.errors import InputError

#: The largest vocabulary and length a token-id format accepts.
MAX_VOCAB, MAX_LENGTH = 1_000_000, 10_000


@dataclass(frozen=True)
class TokenIdFormat:
    """Sentences of exactly ``length`` ids from ``0`` to ``vocab_size − 1``."""

    length: int
    vocab_size: int

    def __post_init__(self) -> None:
        for name, value, top in (("length", self.length, MAX_LENGTH), ("vocab_size", self.vocab_size, MAX_VOCAB)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise InputError(f"token-id format: {name} must be an integer from 1 to {top}, got {value!r}")

    @property
    def tokens(self) -> tuple[str, ...]:
        """The closed vocabulary in id order: ``"0"``, ``"1"``, …"""
        return tuple(str(i) for i in range(self.vocab_size))

    def describe(self) -> str:
        return f"ids:len{self.length}:V{self.vocab_size}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "token-ids", "length": self.length, "vocab_size": self.vocab_size}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str) -> TokenIdFormat:
        if not isinstance(data, Mapping) or data.get("kind") != "token-ids":
            raise InputError(f"{where}: format must be {{'kind': 'token-ids', 'length': L, 'vocab_size': V}}")
        try:
            return cls(int(data["length"]), int(data["vocab_size"]))
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{where}: format needs integer 'length' and 'vocab_size'") from None
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None

    def parse(self, lines: Sequence[str], *, source: str) -> np.ndarray:
        """Lines → ``(N, length)`` int64 ids; a line of another length, a token that is not a
        decimal id, or an id outside the vocabulary is an :class:`InputError` naming the line."""
        out = np.zeros((len(lines), self.length), dtype=np.int64)
        for i, line in enumerate(lines):
            fields = line.split()
            if len(fields) != self.length:
                raise InputError(
                    f"{source}, line {i + 1}: {len(fields)} tokens; expected exactly {self.length} "
                    f"space-separated token ids ({self.describe()})"
                )
            for j, field in enumerate(fields):
                if not (field.isascii() and field.isdigit()):
                    raise InputError(
                        f"{source}, line {i + 1}: token {j + 1} is {field[:20]!r}; expected an integer id "
                        f"from 0 to {self.vocab_size - 1}"
                    )
                value = int(field)
                if value >= self.vocab_size:
                    raise InputError(
                        f"{source}, line {i + 1}: token id {value} is outside the vocabulary "
                        f"(0 to {self.vocab_size - 1})"
                    )
                out[i, j] = value
        return out

    @staticmethod
    def format_lines(ids: np.ndarray) -> list[str]:
        """``(N, L)`` ids → lines of space-separated ids (SeqGAN's file format)."""
        return [" ".join(map(str, row)) for row in ids.tolist()]
