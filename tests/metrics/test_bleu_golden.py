"""Hand-computed BLEU, self-BLEU and unique n-gram values, and preset semantics."""

from __future__ import annotations

import math

import pytest

from tests.conftest import coco_lines
from textgen_eval import evaluate
from textgen_eval.core.errors import MetricError
from textgen_eval.metrics.bleu import bleu_scores, self_bleu_scores


def test_bleu_2_geometric_mean_of_precisions() -> None:
    # unigrams 3/4 (a b c match), bigrams 2/3 (ab, bc match); closest length 4 → BP = 1
    assert bleu_scores(["a b c d"], ["a b c e", "a b"], 2) == [pytest.approx(math.sqrt(0.5), rel=1e-15)]


def test_bleu_4_method1_smoothing_uses_epsilon_over_denominator() -> None:
    # p = 3/4, 2/3, 1/2, and 0/1 → 0.1/1
    expected = (3 / 4 * 2 / 3 * 1 / 2 * 0.1) ** 0.25
    assert bleu_scores(["a b c d"], ["a b c e", "a b"], 4) == [pytest.approx(expected, rel=1e-14)]


def test_brevity_penalty() -> None:
    assert bleu_scores(["a b"], ["a b c d"], 1) == [pytest.approx(math.exp(-1), rel=1e-15)]


def test_hypothesis_shorter_than_order() -> None:
    expected = math.exp(-1) * math.sqrt(1 * 0.1)
    assert bleu_scores(["a"], ["a b"], 2) == [pytest.approx(expected, rel=1e-15)]


def test_empty_hypothesis_scores_zero() -> None:
    assert bleu_scores(["", "a b"], ["a b"], 2) == [0.0, 1.0]


def test_no_unigram_match_scores_zero_before_smoothing() -> None:
    assert bleu_scores(["x y z"], ["a b c"], 3) == [0.0]


def test_clipping_by_max_count_in_a_single_reference() -> None:
    # "a a a a": a occurs at most twice in any single reference (not 3 = 2 + 1 summed);
    # |h| = 4 > r* = 3, so no brevity penalty
    assert bleu_scores(["a a a a"], ["a a b", "a c"], 1) == [0.5]
    # shorter hypothesis: r* = 3, BP = exp(1 - 3/2)
    assert bleu_scores(["a a"], ["a a b", "a c d e"], 1) == [pytest.approx(math.exp(1 - 3 / 2), rel=1e-15)]


def test_self_bleu_golden() -> None:
    # sample 0 and 1 are twins (score 1 each); sample 2 shares no unigram with them (score 0)
    values = self_bleu_scores(["a b", "a b", "c d"], 2)
    assert values == [1.0, 1.0, 0.0]
    result = evaluate(["a b", "a b", "c d"], metrics=["self-bleu-2"])
    assert result["self-bleu-2"].value == pytest.approx(2 / 3, rel=1e-15)


def test_self_bleu_needs_two_samples() -> None:
    with pytest.raises(MetricError, match="at least 2 samples"):
        evaluate(["only one"], metrics=["self-bleu-4"])


def test_unique_ngrams_by_hand() -> None:
    result = evaluate(["a b a b", "a b c"], metrics=["unique-ngrams-2", "unique-ngrams-1", "unique-ngrams-5"])
    bigrams = result["unique-ngrams-2"]
    assert bigrams.value == 3  # ab, ba, bc
    assert bigrams.details["total"] == 5
    assert bigrams.details["ratio"] == pytest.approx(0.6)
    assert result["unique-ngrams-1"].value == 3
    assert result["unique-ngrams-1"].details["total"] == 7
    assert result["unique-ngrams-5"].value == 0
    assert result["unique-ngrams-5"].details["ratio"] == 0.0


def test_mean_is_fsum_over_samples() -> None:
    hyps, refs = coco_lines("train")[:300], coco_lines("test")[:300]
    per_sample = bleu_scores(hyps, refs, 3)
    assert evaluate(hyps, refs, metrics=["bleu-3"])["bleu-3"].value == math.fsum(per_sample) / len(per_sample)


def test_texygen_fast_preset_truncates_references_and_self_bleu_samples() -> None:
    hyps, refs = coco_lines("train")[:800], coco_lines("test")
    fast = evaluate(hyps, refs, metrics=["bleu-4", "self-bleu-4"], preset="texygen-fast")
    full_500 = evaluate(hyps, refs[:500], metrics=["bleu-4"])
    self_500 = evaluate(hyps[:500], metrics=["self-bleu-4"])
    assert fast["bleu-4"].value == full_500["bleu-4"].value
    assert fast["self-bleu-4"].value == self_500["self-bleu-4"].value
    assert fast["self-bleu-4"].n == 500
    assert "nrefs:500" in fast["bleu-4"].signature


def test_textgan_preset_scores_first_200_samples() -> None:
    hyps, refs = coco_lines("train")[:450], coco_lines("test")[:2000]
    result = evaluate(hyps, refs, metrics=["bleu-2", "self-bleu-2"], preset="textgan")
    assert result["bleu-2"].value == evaluate(hyps[:200], refs, metrics=["bleu-2"])["bleu-2"].value
    # self-BLEU: the first 200 against the 250 after them (a separate draw, as in TextGAN-PyTorch)
    expected = bleu_scores(hyps[:200], hyps[200:], 2)
    assert result["self-bleu-2"].value == math.fsum(expected) / 200
    assert "against:rest:250" in result["self-bleu-2"].signature
    with pytest.raises(MetricError, match="more than 200 samples"):
        evaluate(hyps[:200], refs, metrics=["self-bleu-2"], preset="textgan")
