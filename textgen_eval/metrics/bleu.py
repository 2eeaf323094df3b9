"""BLEU-n and self-BLEU-n against a reference *set* (the SeqGAN/LeakGAN/Texygen "dataset BLEU").

Score = mean over samples of sentence-BLEU(sample, every reference), with nltk's
``sentence_bleu`` + ``SmoothingFunction().method1`` semantics (Papineni et al., 2002; Chen &
Cherry, 2014; Zhu et al., 2018 for self-BLEU). Exact, and linear-ish in the number of tokens: the
per-n-gram maximum reference counts are built once for the whole set instead of once per
sample. Definitions: docs/metrics.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from textgen_eval.core.errors import MetricError
from textgen_eval.data.textset import TextSet, as_textset
from textgen_eval.data.tokenizers import Tokenizer
from textgen_eval.metrics.base import Metric, Score
from textgen_eval.metrics.bleu_math import (
    closest_lengths,
    closest_other_lengths,
    sentence_bleu_scores,
    uniform_weights,
)
from textgen_eval.metrics.bootstrap import RatioOfSums
from textgen_eval.metrics.ngrams import (
    EncodedCorpus,
    IntArray,
    clipped_matches,
    clipped_matches_leave_one_out,
    max_count_per_gram,
    ngram_totals,
    sentence_counts,
)
from textgen_eval.metrics.presets import resolve_preset
from textgen_eval.metrics.tables import NgramTables, empty_policy, reference_label, tables_from_context


@dataclass(frozen=True)
class Span:
    """Sentences ``lo:hi`` of one corpus."""

    texts: TextSet
    lo: int
    hi: int

    @property
    def size(self) -> int:
        return self.hi - self.lo


def _statistics(
    tables: NgramTables, hyp: Span, ref: Span | None, order: int
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Numerators, denominators, hypothesis lengths and r* for every hypothesis of ``hyp``.

    ``ref=None`` means leave-one-out over ``hyp`` itself (self-BLEU).
    """
    hyp_corpus: EncodedCorpus = tables.corpus(hyp.texts)
    sets = [hyp.texts] if ref is None else [hyp.texts, ref.texts]
    hyp_lengths = hyp_corpus.lengths[hyp.lo : hyp.hi]
    numerators = np.zeros((hyp.size, order), dtype=np.int64)
    denominators = np.zeros((hyp.size, order), dtype=np.int64)
    for k in range(1, order + 1):
        ids = tables.ngram_ids(k, *sets)
        counts = sentence_counts(hyp_corpus, ids[0], hyp.lo, hyp.hi)
        if ref is None:
            numerators[:, k - 1] = clipped_matches_leave_one_out(counts, hyp.size)
        else:
            ref_counts = sentence_counts(tables.corpus(ref.texts), ids[1], ref.lo, ref.hi)
            n_grams = int(ref_counts.gram.max()) + 1 if ref_counts.gram.size else 0
            numerators[:, k - 1] = clipped_matches(counts, max_count_per_gram(ref_counts, n_grams), hyp.size)
        denominators[:, k - 1] = np.maximum(ngram_totals(hyp_lengths, k), 1)
    if ref is None:
        closest = closest_other_lengths(hyp_lengths)
    else:
        closest = closest_lengths(hyp_lengths, tables.corpus(ref.texts).lengths[ref.lo : ref.hi])
    return numerators, denominators, hyp_lengths, closest


def span_bleu(tables: NgramTables, hyp: Span, ref: Span | None, order: int) -> list[float]:
    """Sentence-BLEU-``order`` of each hypothesis in ``hyp`` against all of ``ref`` (or the others)."""
    nums, dens, lengths, closest = _statistics(tables, hyp, ref, order)
    return sentence_bleu_scores(nums, dens, lengths, closest, uniform_weights(order))


def bleu_scores(
    samples: Sequence[str],
    references: Sequence[str],
    order: int = 4,
    *,
    tokenizer: Tokenizer | None = None,
    lowercase: bool = False,
) -> list[float]:
    """Per-sample sentence-BLEU-``order`` of every sample against the whole reference set."""
    hyps, refs = as_textset(samples), as_textset(references)
    if not refs:
        raise MetricError("BLEU needs at least one reference")
    tables = NgramTables(tokenizer, lowercase=lowercase)
    return span_bleu(tables, Span(hyps, 0, len(hyps)), Span(refs, 0, len(refs)), order)


def self_bleu_scores(
    samples: Sequence[str], order: int = 4, *, tokenizer: Tokenizer | None = None, lowercase: bool = False
) -> list[float]:
    """Per-sample sentence-BLEU-``order`` of every sample against all the *other* samples."""
    hyps = as_textset(samples)
    if len(hyps) < 2:
        raise MetricError(f"self-BLEU needs at least 2 samples, got {len(hyps)}")
    tables = NgramTables(tokenizer, lowercase=lowercase)
    return span_bleu(tables, Span(hyps, 0, len(hyps)), None, order)


def mean(values: Sequence[float]) -> float:
    """Correctly rounded mean (``math.fsum``): independent of order and chunking."""
    return math.fsum(values) / len(values)


def _details(values: Sequence[float], order: int, **extra: Any) -> dict[str, Any]:
    arr = np.asarray(values, dtype=np.float64)
    return {"order": order, "std": float(arr.std()), "zero": int((arr == 0).sum()), **extra}


class Bleu(Metric):
    name = "bleu"
    ordered = True
    direction = "higher"
    needs_references = True
    description = "mean sentence-BLEU-N of each sample against the whole reference set (nltk, method1)"
    citation = "Papineni et al. 2002; Yu et al. 2017 (SeqGAN); Zhu et al. 2018 (Texygen)"

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        if references is None:
            raise MetricError(f"{self.name} needs references")
        hyps, refs = as_textset(samples), as_textset(references)
        if not refs:
            raise MetricError(f"{self.name} needs at least one reference")
        preset = resolve_preset(context.get("preset"))
        tables = tables_from_context(context, refs)
        n_h = min(len(hyps), preset.bleu_samples or len(hyps))
        n_r = min(len(refs), preset.bleu_references or len(refs))
        values = span_bleu(tables, Span(hyps, 0, n_h), Span(refs, 0, n_r), self.order)
        settings = {
            "refs": reference_label(refs),
            "nrefs": n_r,
            "nhyps": n_h,
            **tables.signature_fields(),
            "smooth": "method1",
            "empty": empty_policy(context),
            "preset": preset.name,
        }
        details = _details(values, self.order, references=n_r, samples_total=len(hyps))
        resample = RatioOfSums(np.asarray(values, dtype=np.float64))
        return self.make_score(mean(values), n=n_h, settings=settings, details=details, resample=resample)


class SelfBleu(Metric):
    name = "self-bleu"
    ordered = True
    direction = "lower"
    description = (
        "mean sentence-BLEU-N of each sample against all other samples (diversity; lower is more diverse)"
    )
    citation = "Zhu et al. 2018 (Texygen)"

    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        hyps = as_textset(samples)
        preset = resolve_preset(context.get("preset"))
        tables = tables_from_context(context, references)
        m = min(len(hyps), preset.self_bleu_samples or len(hyps))
        if preset.self_bleu_references == "rest":
            if len(hyps) <= m:
                raise MetricError(
                    f"{self.name} with preset {preset.name!r} scores the first {m} samples against the "
                    f"samples after them, so it needs more than {m} samples (got {len(hyps)})"
                )
            ref: Span | None = Span(hyps, m, len(hyps))
            against = f"rest:{len(hyps) - m}"
        else:
            if m < 2:
                raise MetricError(f"{self.name} needs at least 2 samples, got {m}")
            ref, against = None, "others"
        values = span_bleu(tables, Span(hyps, 0, m), ref, self.order)
        settings = {
            "nhyps": m,
            "against": against,
            **tables.signature_fields(),
            "smooth": "method1",
            "empty": empty_policy(context),
            "preset": preset.name,
        }
        details = _details(values, self.order, samples_total=len(hyps))
        resample = RatioOfSums(np.asarray(values, dtype=np.float64))
        return self.make_score(mean(values), n=m, settings=settings, details=details, resample=resample)
