"""The pure n-gram/length functions against brute force on random data."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from textgen_eval.metrics.bleu_math import closest_lengths, closest_other_lengths
from textgen_eval.metrics.ngrams import (
    clipped_matches_leave_one_out,
    encode,
    joint_ngram_ids,
    sentence_counts,
)


def grams(tokens: list[str], k: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + k]) for i in range(len(tokens) - k + 1)]


@pytest.mark.parametrize("seed", range(20))
def test_closest_lengths_match_nltk_rule(seed: int) -> None:
    rng = random.Random(seed)
    refs = [rng.randint(0, 12) for _ in range(rng.randint(1, 6))]
    hyps = list(range(15))
    expected = [min(refs, key=lambda r, h=h: (abs(r - h), r)) for h in hyps]
    assert closest_lengths(np.array(hyps), np.array(refs)).tolist() == expected


@pytest.mark.parametrize("seed", range(20))
def test_closest_other_lengths_exclude_own_position(seed: int) -> None:
    rng = random.Random(seed)
    lengths = [rng.randint(0, 8) for _ in range(rng.randint(2, 9))]
    expected = []
    for i, h in enumerate(lengths):
        others = lengths[:i] + lengths[i + 1 :]
        expected.append(min(others, key=lambda r, h=h: (abs(r - h), r)))
    assert closest_other_lengths(np.array(lengths)).tolist() == expected


@pytest.mark.parametrize("seed", range(20))
def test_joint_ids_counts_and_leave_one_out(seed: int) -> None:
    rng = random.Random(seed)
    vocab = list("abc")
    a = [[rng.choice(vocab) for _ in range(rng.randint(0, 6))] for _ in range(rng.randint(2, 7))]
    b = [[rng.choice(vocab) for _ in range(rng.randint(0, 6))] for _ in range(rng.randint(1, 5))]
    table: dict[str, int] = {}
    ca, cb = encode(a, table), encode(b, table)
    for k in (1, 2, 3):
        ids_a, ids_b = joint_ngram_ids([ca, cb], k)[k - 1]
        # equal n-grams ⇔ equal ids, across both corpora
        seen: dict[tuple[str, ...], int] = {}
        for corpus, ids in ((a, ids_a), (b, ids_b)):
            flat = [
                tuple(sent[i : i + k]) if i + k <= len(sent) else None
                for sent in corpus
                for i in range(len(sent))
            ]
            for gram, gid in zip(flat, ids.tolist()):
                if gram is None:
                    assert gid == -1
                else:
                    assert seen.setdefault(gram, gid) == gid
        assert len(set(seen.values())) == len(seen)
        counts = sentence_counts(ca, ids_a, 0, len(a))
        total = Counter()
        for s, c in zip(counts.sent.tolist(), counts.count.tolist()):
            total[s] += c
        assert [total[s] for s in range(len(a))] == [len(grams(x, k)) for x in a]
        loo = clipped_matches_leave_one_out(counts, len(a)).tolist()
        expected = []
        for i, sent in enumerate(a):
            mine = Counter(grams(sent, k))
            best: Counter[tuple[str, ...]] = Counter()
            for j, other in enumerate(a):
                if j != i:
                    for gram, c in Counter(grams(other, k)).items():
                        best[gram] = max(best[gram], c)
            expected.append(sum(min(c, best[g]) for g, c in mine.items()))
        assert loo == expected
