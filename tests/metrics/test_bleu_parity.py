"""BLEU and self-BLEU are bit-identical to nltk's sentence_bleu with method1 smoothing."""

from __future__ import annotations

import math
import random
import warnings

import pytest
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from tests.conftest import coco_lines
from textgen_eval.metrics.bleu import bleu_scores, self_bleu_scores

SMOOTH = SmoothingFunction().method1
ORDERS = (1, 2, 3, 4, 5)


def nltk_bleu_all_orders(refs: list[list[str]], hyp: list[str], orders=ORDERS) -> list[float]:
    """nltk's sentence-BLEU for several orders at once (nltk computes p_1..p_max once)."""
    weights = [tuple(1.0 / n for _ in range(n)) for n in orders]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = sentence_bleu(refs, hyp, weights, smoothing_function=SMOOTH)
    return [float(v) for v in out] if isinstance(out, list) else [float(out)]


@pytest.fixture(scope="module")
def coco_case() -> tuple[list[str], list[str]]:
    rng = random.Random(2024)
    test = coco_lines("test")
    train = coco_lines("train")
    refs = rng.sample(test, 1500)
    # real generated-like text: training captions, plus exact copies of references and truncations
    hyps = (
        rng.sample(train, 70) + rng.sample(refs, 10) + [" ".join(r.split()[:3]) for r in rng.sample(refs, 10)]
    )
    return hyps, refs


def test_bleu_matches_nltk_bitwise_on_coco(coco_case: tuple[list[str], list[str]]) -> None:
    hyps, refs = coco_case
    ref_tokens = [r.split() for r in refs]
    expected = [nltk_bleu_all_orders(ref_tokens, h.split()) for h in hyps]
    for j, order in enumerate(ORDERS):
        ours = bleu_scores(hyps, refs, order)
        theirs = [row[j] for row in expected]
        mismatches = [(i, a, b) for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
        assert not mismatches, f"BLEU-{order}: {len(mismatches)} differ, first {mismatches[:3]}"
    # and the values are not degenerate: some exact copies give 1.0, many are in between
    assert max(bleu_scores(hyps, refs, 4)) == 1.0
    assert 0.1 < math.fsum(bleu_scores(hyps, refs, 4)) / len(hyps) < 0.9


def test_self_bleu_matches_nltk_bitwise_on_coco() -> None:
    rng = random.Random(7)
    samples = rng.sample(coco_lines("train"), 120)
    samples[5] = samples[17]  # an identical twin elsewhere still counts as a reference
    tokens = [s.split() for s in samples]
    expected = [
        nltk_bleu_all_orders(tokens[:i] + tokens[i + 1 :], tokens[i], (2, 3, 4, 5))
        for i in range(len(tokens))
    ]
    for j, order in enumerate((2, 3, 4, 5)):
        ours = self_bleu_scores(samples, order)
        theirs = [row[j] for row in expected]
        assert ours == theirs, f"self-BLEU-{order} differs from nltk"
    assert self_bleu_scores(samples, 4)[5] == 1.0


def _random_sentence(rng: random.Random, vocab: list[str], max_len: int) -> str:
    return " ".join(rng.choice(vocab) for _ in range(rng.randint(0, max_len)))


@pytest.mark.parametrize("seed", range(40))
def test_bleu_and_self_bleu_match_nltk_on_random_edge_cases(seed: int) -> None:
    """Tiny vocabularies force duplicates, repeated n-grams, empty and short sentences, length ties."""
    rng = random.Random(seed)
    vocab = ["a", "b", "c", "d"][: rng.randint(1, 4)]
    hyps = [_random_sentence(rng, vocab, 7) for _ in range(rng.randint(2, 12))]
    refs = [_random_sentence(rng, vocab, 7) for _ in range(rng.randint(1, 8))]
    if seed % 3 == 0:
        hyps.append(rng.choice(refs))  # exact duplicate of a reference
    if seed % 4 == 0:
        hyps.append(hyps[0])  # duplicate sample (self-BLEU twin)
    ref_tokens = [r.split() for r in refs]
    hyp_tokens = [h.split() for h in hyps]
    expected = [nltk_bleu_all_orders(ref_tokens, h) for h in hyp_tokens]
    for j, order in enumerate(ORDERS):
        assert bleu_scores(hyps, refs, order) == [row[j] for row in expected], f"BLEU-{order}, seed {seed}"
    expected_self = [
        nltk_bleu_all_orders(hyp_tokens[:i] + hyp_tokens[i + 1 :], hyp_tokens[i]) for i in range(len(hyps))
    ]
    for j, order in enumerate(ORDERS):
        assert self_bleu_scores(hyps, order) == [row[j] for row in expected_self], (
            f"self-BLEU-{order}, seed {seed}"
        )


def test_reference_length_ties_go_to_the_shorter_reference() -> None:
    # |h| = 3 is equally far from 2 and 4: nltk picks 2, so BP = 1 and BLEU-1 = 1.
    assert bleu_scores(["a b c"], ["a b", "a b c d"], 1) == [1.0]
    assert nltk_bleu_all_orders([["a", "b"], ["a", "b", "c", "d"]], ["a", "b", "c"], (1,)) == [1.0]
