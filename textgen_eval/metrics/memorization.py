"""Memorization: how much of the samples comes verbatim from the bundle's training text.

* ``copy-rate``: the fraction of samples whose token sequence equals a training sentence's.
* ``novel-ngrams-N``: the fraction of the samples' N-gram occurrences that never occur in the
  training text (details: the fraction of distinct N-grams too).
* ``train-bleu-N``: mean sentence-BLEU-N of each sample against the whole training set (the
  multi-reference clipping of ``bleu-N``, so an upper bound on the sample's best BLEU against
  any single training sentence, equal to it for a copy); details give its distribution and the
  most-copied samples.

All are exact and linear in the number of tokens: they read the n-gram tables of the BLEU
implementation (one joint id space for samples and training text), after the same tokenizer and
lowercasing as the other n-gram metrics. The training text is the one generators are trained on
(``train.txt`` less a carved validation split when the bundle has no ``valid.txt``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from textgen_eval.core.errors import MetricError
from textgen_eval.data.textset import TextSet, as_textset
from textgen_eval.metrics.base import Metric, Score
from textgen_eval.metrics.bleu import Span, mean, span_bleu
from textgen_eval.metrics.bootstrap import RatioOfSums
from textgen_eval.metrics.model_based import require_resources
from textgen_eval.metrics.ngrams import EncodedCorpus
from textgen_eval.metrics.tables import NgramTables, tables_from_context

#: Samples listed in ``train-bleu-N``'s details as the most copied.
TOP_COPIED = 5


def _inputs(
    samples: Sequence[str], references: Sequence[str] | None, context: Mapping[str, Any], metric: str
) -> tuple[TextSet, TextSet, str, NgramTables]:
    """The samples, the bundle's training text and its label, and the evaluation's n-gram tables."""
    resources = require_resources(context, metric)
    train = as_textset(list(resources.training_texts()))
    if len(train) == 0:
        raise MetricError(f"{metric}: the bundle's training text is empty")
    return as_textset(samples), train, resources.training_label(), tables_from_context(context, references)


def _sentence_keys(corpus: EncodedCorpus) -> list[bytes]:
    return [corpus.tokens[a:b].tobytes() for a, b in zip(corpus.offsets[:-1], corpus.offsets[1:])]


def copy_flags(tables: NgramTables, samples: Sequence[str], train: Sequence[str]) -> np.ndarray:
    """Whether each sample's token sequence equals some training sentence's (boolean)."""
    tables.add(samples, train)
    seen = set(_sentence_keys(tables.corpus(train)))
    return np.array([key in seen for key in _sentence_keys(tables.corpus(samples))], dtype=bool)


def novel_counts(
    tables: NgramTables, samples: Sequence[str], train: Sequence[str], order: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Per sample: novel and total ``order``-gram occurrences; and distinct novel / distinct total."""
    sample_ids, train_ids = tables.ngram_ids(order, samples, train)
    corpus = tables.corpus(samples)
    valid = sample_ids >= 0
    known = np.isin(sample_ids, train_ids[train_ids >= 0])
    owner = corpus.sentence_of_position
    total = np.bincount(owner[valid], minlength=corpus.n_sentences)
    novel = np.bincount(owner[valid & ~known], minlength=corpus.n_sentences)
    distinct = np.unique(sample_ids[valid])
    distinct_novel = int((~np.isin(distinct, train_ids[train_ids >= 0])).sum())
    return novel, total, distinct_novel, int(distinct.size)


class CopyRate(Metric):
    name = "copy-rate"
    direction = "lower"
    needs_resources = True
    description = "fraction of samples that appear verbatim (as tokens) in the bundle's training text"
    citation = "memorization check; docs/metrics.md"

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        hyps, train, label, tables = _inputs(samples, references, context, self.name)
        flags = copy_flags(tables, hyps, train)
        copied = [hyps[i] for i in np.flatnonzero(flags)[:TOP_COPIED]]
        settings = {"train": label, "n": len(hyps), **tables.signature_fields()}
        details = {"copied": int(flags.sum()), "examples": copied}
        value = float(flags.mean())
        resample = RatioOfSums(flags.astype(np.float64))
        return self.make_score(value, n=len(hyps), settings=settings, details=details, resample=resample)


class NovelNgrams(Metric):
    name = "novel-ngrams"
    ordered = True
    direction = "higher"
    needs_resources = True
    description = "fraction of the samples' N-gram occurrences that never occur in the training text"
    citation = "memorization check; docs/metrics.md"

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        hyps, train, label, tables = _inputs(samples, references, context, self.name)
        novel, total, distinct_novel, distinct = novel_counts(tables, hyps, train, self.order)
        n_total = int(total.sum())
        if n_total == 0:
            raise MetricError(f"{self.name}: no sample has {self.order} tokens")
        settings = {"train": label, "n": len(hyps), **tables.signature_fields()}
        details = {
            "ngrams": n_total,
            "novel": int(novel.sum()),
            "distinct_novel_fraction": distinct_novel / distinct if distinct else 0.0,
            "samples_without_ngrams": int((total == 0).sum()),
        }
        resample = RatioOfSums(novel.astype(np.float64), total.astype(np.float64))
        value = int(novel.sum()) / n_total
        return self.make_score(value, n=len(hyps), settings=settings, details=details, resample=resample)


class TrainBleu(Metric):
    name = "train-bleu"
    ordered = True
    direction = "lower"
    needs_resources = True
    description = "mean sentence-BLEU-N of each sample against the training set (memorization)"
    citation = "Papineni et al. 2002; docs/metrics.md"

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        hyps, train, label, tables = _inputs(samples, references, context, self.name)
        values = np.asarray(
            span_bleu(tables, Span(hyps, 0, len(hyps)), Span(train, 0, len(train)), self.order)
        )
        top = np.argsort(-values, kind="stable")[:TOP_COPIED]
        quantiles = np.quantile(values, [0.5, 0.9, 0.99]) if len(values) else [math.nan] * 3
        settings = {"train": label, "n": len(hyps), **tables.signature_fields(), "smooth": "method1"}
        details = {
            "median": float(quantiles[0]),
            "q90": float(quantiles[1]),
            "q99": float(quantiles[2]),
            "max": float(values.max()),
            "at_least_0.99": int((values >= 0.99).sum()),
            "top": [{"sample": hyps[int(i)], "bleu": float(values[int(i)])} for i in top],
        }
        resample = RatioOfSums(values)
        return self.make_score(
            mean(values.tolist()), n=len(hyps), settings=settings, details=details, resample=resample
        )
