"""Vocabularies for language models: tokens ↔ ids with PAD/BOS/EOS/UNK.

A :class:`Vocab` remembers the tokenizer that produced its tokens (word = ``whitespace``,
character = ``char``, SentencePiece = ``spm:...``), so encoding, decoding and the signature of
any score computed with it are determined by the vocabulary alone.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.hashing import text_digest
from textgen_eval.data.tokenizers import SentencePieceTokenizer, Tokenizer, make_tokenizer

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = range(4)
SPM_FILE = "spm.model"


def check_vocab_settings(min_freq: int, max_vocab: int | None) -> None:
    """The vocabulary's settings in a model's config (checked when the config is built, before
    anything is written): ``min_freq`` ≥ 1, ``max_vocab`` unset or ≥ 1."""
    if isinstance(min_freq, bool) or min_freq < 1:
        raise ValueError(f"min_freq must be ≥ 1, got {min_freq}")
    if max_vocab is not None and (isinstance(max_vocab, bool) or max_vocab < 1):
        raise ValueError(f"max_vocab must be ≥ 1 (or unset: no limit), got {max_vocab}")


@dataclass
class Vocab:
    """An ordered token list whose first four entries are the special tokens."""

    tokens: tuple[str, ...]
    tokenizer: Tokenizer
    tokenizer_spec: str
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.tokens[: len(SPECIALS)] != SPECIALS:
            raise ConfigError(f"vocabulary must start with {SPECIALS}")
        self._index = {token: i for i, token in enumerate(self.tokens)}
        if len(self._index) != len(self.tokens):
            raise ConfigError("vocabulary has duplicate tokens")

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        *,
        tokenizer: str = "whitespace",
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> Vocab:
        """Tokens of ``texts`` seen at least ``min_freq`` times, the ``max_size`` most frequent.

        Ties in frequency are broken by first occurrence, so the result is deterministic.
        ``tokenizer`` is ``whitespace`` (words), ``char`` or ``spm:N`` / ``spm:PATH.model``.
        """
        if min_freq < 1:
            raise ConfigError(f"model.min_freq must be ≥ 1, got {min_freq}")
        if max_size is not None and max_size < 1:
            raise ConfigError(f"model.max_vocab must be ≥ 1 (or unset: no limit), got {max_size}")
        tok = make_tokenizer(tokenizer, training_texts=texts)
        counts: Counter[str] = Counter()
        for tokens in tok.tokenize_all(texts):
            counts.update(tokens)
        for special in SPECIALS:
            counts.pop(special, None)
        kept = [t for t, c in counts.most_common() if c >= min_freq]  # most_common is stable
        if max_size is not None:
            kept = kept[:max_size]
        if not kept:
            raise InputError(
                f"no token occurs at least model.min_freq = {min_freq} times in the training text: the "
                "vocabulary would be empty; lower model.min_freq"
            )
        return cls(SPECIALS + tuple(kept), tok, tokenizer)

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, token: str) -> int:
        return self._index.get(token, UNK_ID)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no BOS/EOS); unknown tokens map to UNK."""
        get = self._index.get
        return [get(t, UNK_ID) for t in self.tokenizer.tokenize(text)]

    def oov_rate(self, texts: Sequence[str]) -> float:
        """Fraction of the tokens of ``texts`` read as the unknown word (0 for no tokens): tokens
        outside the vocabulary and the literal unknown-word token (a generator's ``<unk>``), as
        the LM's scoring counts them."""
        get = self._index.get
        total = unknown = 0
        for tokens in self.tokenizer.tokenize_all(texts):
            total += len(tokens)
            unknown += sum(get(t, UNK_ID) == UNK_ID for t in tokens)
        return unknown / total if total else 0.0

    def encode_all(self, texts: Sequence[str]) -> list[list[int]]:
        get = self._index.get
        return [[get(t, UNK_ID) for t in tokens] for tokens in self.tokenizer.tokenize_all(texts)]

    def decode(self, ids: Sequence[int]) -> str:
        """Ids back to text, stopping at EOS and dropping PAD/BOS."""
        out = []
        for i in ids:
            if i == EOS_ID:
                break
            if i in (PAD_ID, BOS_ID):
                continue
            out.append(self.tokens[i])
        return self.tokenizer.detokenize(out)

    @property
    def digest(self) -> str:
        return text_digest([self.tokenizer.signature, *self.tokens])

    @property
    def signature(self) -> str:
        return f"{self.tokenizer.signature}-{len(self)}-{self.digest}"

    # -- persistence: vocab.json (+ spm.model) in a model directory ------------------------------

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        spec = self.tokenizer_spec
        if isinstance(self.tokenizer, SentencePieceTokenizer):
            shutil.copyfile(self.tokenizer.model_path, directory / SPM_FILE)
            spec = "spm"
        payload = {"tokenizer": spec, "tokens": list(self.tokens)}
        (directory / "vocab.json").write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> Vocab:
        directory = Path(directory)
        path = directory / "vocab.json"
        try:
            payload: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            spec, tokens = payload["tokenizer"], tuple(payload["tokens"])
        except FileNotFoundError:
            raise InputError(f"{path}: vocabulary file missing") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a textgen_eval vocabulary ({exc})") from None
        if spec == "spm":
            tok: Tokenizer = SentencePieceTokenizer(directory / SPM_FILE)
        else:
            tok = make_tokenizer(spec)
        try:
            return cls(tokens, tok, spec)
        except ConfigError as exc:  # e.g. no specials first: another tool's vocabulary
            raise InputError(f"{path}: not a textgen_eval vocabulary ({exc})") from None
