"""Tokenizers: whitespace (default), character, sacrebleu's ``13a`` and SentencePiece.

Each tokenizer has a ``signature`` that names everything that changes its output (for
SentencePiece: the model file's digest), so scores computed with it are reproducible.

Specs accepted by :func:`make_tokenizer`:

- ``whitespace`` — ``str.split()``: runs of whitespace separate tokens, none are kept.
- ``char`` — every character is a token; runs of whitespace collapse to one ``" "`` token and
  leading/trailing whitespace is dropped.
- ``13a`` — sacrebleu's mteval-v13a tokenizer (splits punctuation), then whitespace.
- ``spm:PATH.model`` — an existing SentencePiece model, pieces as tokens.
- ``spm:VOCAB_SIZE`` — train a unigram SentencePiece model with that vocabulary on the
  training texts (the references, for ``tge evaluate``); cached under the user cache directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textgen_eval.core.cache import cache_dir
from textgen_eval.core.errors import ConfigError, InputError, MissingDependencyError
from textgen_eval.core.hashing import file_digest, text_digest
from textgen_eval.core.registry import Registry


class Tokenizer(ABC):
    """Turns a sentence into a list of tokens."""

    #: Registry name of the tokenizer family ("whitespace", "char", "13a", "spm").
    name: str = ""

    @property
    def signature(self) -> str:
        """Everything that changes the output, e.g. ``whitespace`` or ``spm-4000-1a2b3c4d5e6f``."""
        return self.name

    @abstractmethod
    def tokenize(self, text: str) -> list[str]:
        """Tokens of one sentence."""

    def tokenize_all(self, texts: Sequence[str]) -> list[list[str]]:
        return [self.tokenize(text) for text in texts]

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Tokens back to a sentence (generated samples); tokens joined by spaces by default."""
        return " ".join(tokens)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.signature!r})"


class WhitespaceTokenizer(Tokenizer):
    name = "whitespace"

    def tokenize(self, text: str) -> list[str]:
        return text.split()

    def tokenize_all(self, texts: Sequence[str]) -> list[list[str]]:
        return [text.split() for text in texts]


class CharTokenizer(Tokenizer):
    name = "char"

    def tokenize(self, text: str) -> list[str]:
        return list(" ".join(text.split()))

    def detokenize(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)


class Sacrebleu13aTokenizer(Tokenizer):
    name = "13a"

    def __init__(self) -> None:
        try:
            from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
        except ImportError:
            raise MissingDependencyError("sacrebleu", "the '13a' tokenizer") from None
        self._impl = Tokenizer13a()

    def tokenize(self, text: str) -> list[str]:
        return self._impl(text).split()


class SentencePieceTokenizer(Tokenizer):
    """Pieces of a SentencePiece model (Kudo & Richardson, 2018)."""

    name = "spm"

    def __init__(self, model_path: str | os.PathLike[str], *, vocab_size: int | None = None) -> None:
        spm = _import_sentencepiece()
        path = Path(model_path)
        if not path.is_file():
            raise InputError(f"{path}: SentencePiece model not found (expected a .model file)")
        try:
            self._processor = spm.SentencePieceProcessor(model_file=str(path))
        except Exception as exc:  # sentencepiece raises OSError/RuntimeError on bad files
            raise InputError(f"{path}: not a valid SentencePiece model ({exc})") from None
        self.model_path = path
        self.vocab_size = vocab_size or int(self._processor.get_piece_size())
        self._digest = file_digest(str(path))

    @property
    def signature(self) -> str:
        return f"spm-{self.vocab_size}-{self._digest}"

    def tokenize(self, text: str) -> list[str]:
        return list(self._processor.encode(text, out_type=str))

    def detokenize(self, tokens: Sequence[str]) -> str:
        return str(self._processor.decode_pieces(list(tokens)))

    def tokenize_all(self, texts: Sequence[str]) -> list[list[str]]:
        return [list(pieces) for pieces in self._processor.encode(list(texts), out_type=str)]


def _import_sentencepiece() -> Any:
    try:
        import sentencepiece
    except ImportError:
        raise MissingDependencyError("sentencepiece", "the SentencePiece tokenizer") from None
    return sentencepiece


def train_sentencepiece(texts: Sequence[str], vocab_size: int, *, seed: int = 0) -> Path:
    """Train (or fetch from the cache) a unigram SentencePiece model on ``texts``.

    The cache key is the digest of the texts, the vocabulary size and the sentencepiece
    version; the model is written to a temporary directory and renamed into place, so
    concurrent builders never expose a partial file.
    """
    spm = _import_sentencepiece()
    corpus = [t for t in texts if t.strip()]
    if not corpus:
        raise InputError("cannot train a SentencePiece model on an empty corpus")
    key = f"{text_digest(corpus)}-v{vocab_size}-s{seed}-spm{getattr(spm, '__version__', '0')}"
    target_dir = cache_dir() / "sentencepiece"
    target = target_dir / f"{key}.model"
    if target.is_file():
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".spm-", dir=target_dir))
    try:
        if hasattr(spm, "set_random_generator_seed"):
            spm.set_random_generator_seed(seed)
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(corpus),
            model_prefix=str(tmp / "m"),
            vocab_size=vocab_size,
            model_type="unigram",
            character_coverage=1.0,
            hard_vocab_limit=False,
            num_threads=1,  # multi-threaded training is not reproducible
            minloglevel=2,
            bos_id=-1,
            eos_id=-1,
        )
        os.replace(tmp / "m.model", target)
    except RuntimeError as exc:
        raise InputError(f"training a SentencePiece model with vocabulary {vocab_size} failed: {exc}") from None
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
    return target


TokenizerFactory = Callable[[str, "Sequence[str] | None"], Tokenizer]


def _simple(cls: type[Tokenizer]) -> TokenizerFactory:
    def factory(arg: str, training_texts: Sequence[str] | None) -> Tokenizer:
        if arg:
            raise ConfigError(f"tokenizer {cls.name!r} takes no argument (got {cls.name}:{arg})")
        return cls()

    return factory


def _spm(arg: str, training_texts: Sequence[str] | None) -> Tokenizer:
    if not arg:
        raise ConfigError("tokenizer 'spm' needs a model file or a vocabulary size: spm:PATH.model or spm:8000")
    if arg.isdigit():
        size = int(arg)
        if size < 2:
            raise ConfigError(f"--tokenize spm:{arg}: vocabulary size must be at least 2")
        if training_texts is None:
            raise ConfigError(f"--tokenize spm:{arg}: training a SentencePiece model needs training texts")
        return SentencePieceTokenizer(train_sentencepiece(training_texts, size), vocab_size=size)
    return SentencePieceTokenizer(arg)


tokenizer_registry: Registry[TokenizerFactory] = Registry("tokenizer")
tokenizer_registry.register("whitespace", _simple(WhitespaceTokenizer))
tokenizer_registry.register("char", _simple(CharTokenizer))
tokenizer_registry.register("13a", _simple(Sacrebleu13aTokenizer))
tokenizer_registry.register("spm", _spm)


def make_tokenizer(spec: str | Tokenizer, *, training_texts: Sequence[str] | None = None) -> Tokenizer:
    """A tokenizer from its spec (see the module docstring); a Tokenizer is returned unchanged."""
    if isinstance(spec, Tokenizer):
        return spec
    name, _, arg = spec.partition(":")
    factory = tokenizer_registry.get(name)
    return factory(arg, training_texts)
