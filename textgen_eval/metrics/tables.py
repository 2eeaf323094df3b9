"""Tokenization and n-gram ids shared by every n-gram metric of one evaluation.

BLEU, self-BLEU and unique n-grams of the same run tokenize each corpus once and read n-gram
ids from one joint id space (see :mod:`textgen_eval.metrics.ngrams`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textgen_eval.data.textset import TextSet, as_textset
from textgen_eval.data.tokenizers import Tokenizer, WhitespaceTokenizer, make_tokenizer
from textgen_eval.metrics.ngrams import EncodedCorpus, IntArray, encode, joint_ngram_ids


class NgramTables:
    """Encoded corpora plus n-gram ids for orders 1..k, computed jointly and memoised."""

    def __init__(self, tokenizer: Tokenizer | None = None, *, lowercase: bool = False) -> None:
        self.tokenizer = tokenizer or WhitespaceTokenizer()
        self.lowercase = lowercase
        self._vocab: dict[str, int] = {}
        self._corpora: dict[str, EncodedCorpus] = {}
        self._ids: list[dict[str, IntArray]] = []  # [order-1][corpus key]

    def signature_fields(self) -> dict[str, object]:
        return {"tok": self.tokenizer.signature, "lc": self.lowercase}

    def add(self, *text_sets: Sequence[str]) -> list[str]:
        """Encode corpora not seen yet; returns their keys. New corpora invalidate the ids."""
        keys = []
        for texts in text_sets:
            ts = as_textset(texts)
            key = ts.digest
            if key not in self._corpora:
                prepared = [t.lower() for t in ts] if self.lowercase else list(ts)
                self._corpora[key] = encode(self.tokenizer.tokenize_all(prepared), self._vocab)
                self._ids = []
            keys.append(key)
        return keys

    def corpus(self, texts: Sequence[str]) -> EncodedCorpus:
        (key,) = self.add(texts)
        return self._corpora[key]

    def ngram_ids(self, order: int, *text_sets: Sequence[str]) -> list[IntArray]:
        """Ids of the ``order``-grams of each corpus, in one id space shared by all of them."""
        keys = self.add(*text_sets)
        if len(self._ids) < order:
            names = list(self._corpora)
            per_order = joint_ngram_ids([self._corpora[k] for k in names], order)
            self._ids = [dict(zip(names, ids)) for ids in per_order]
        return [self._ids[order - 1][key] for key in keys]


def tables_from_context(context: Mapping[str, Any], references: Sequence[str] | None = None) -> NgramTables:
    """The shared tables of an evaluation, or fresh ones built from ``tokenizer``/``lowercase``."""
    tables = context.get("tables")
    if isinstance(tables, NgramTables):
        return tables
    tokenizer = make_tokenizer(context.get("tokenizer", "whitespace"), training_texts=references)
    return NgramTables(tokenizer, lowercase=bool(context.get("lowercase", False)))


def reference_label(texts: Sequence[str]) -> str:
    """``label@digest`` naming a reference set in signatures."""
    ts = texts if isinstance(texts, TextSet) else as_textset(texts)
    return f"{ts.label}@{ts.digest}"


def empty_policy(context: Mapping[str, Any]) -> str:
    """``skip`` when empty samples were dropped before scoring (changes n), else ``keep``."""
    return "skip" if context.get("skip_empty") else "keep"
