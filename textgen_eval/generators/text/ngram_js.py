"""Jensen–Shannon divergence between the n-gram distributions of two corpora.

Gulrajani et al. (2017, §5.4 and ``language_helpers.py``) track it for n = 1…4 between a
generator's samples and the training text while a WGAN-GP language model trains. Here: the
empirical distribution P of the n-grams (within sentences, no BOS/EOS) of ``samples``, Q of
``reference``, M = (P + Q)/2, and JS = ½ KL(P‖M) + ½ KL(Q‖M) in bits, so 0 ≤ JS ≤ 1 (1: disjoint
supports; also when a corpus has no n-gram of order n).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence


def ngram_counts(sentences: Iterable[Sequence[Hashable]], n: int) -> Counter[tuple[Hashable, ...]]:
    """Counts of the order-``n`` n-grams of each sentence (none across sentence boundaries)."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    counts: Counter[tuple[Hashable, ...]] = Counter()
    for sentence in sentences:
        items = tuple(sentence)
        counts.update(items[i : i + n] for i in range(len(items) - n + 1))
    return counts


def js_divergence(p: Counter[tuple[Hashable, ...]], q: Counter[tuple[Hashable, ...]]) -> float:
    """JS divergence in bits between the distributions proportional to counts ``p`` and ``q``."""
    total_p, total_q = sum(p.values()), sum(q.values())
    if total_p == 0 or total_q == 0:
        return 1.0
    terms = []
    for key in p.keys() | q.keys():
        a, b = p.get(key, 0) / total_p, q.get(key, 0) / total_q
        m = 0.5 * (a + b)
        if a > 0:
            terms.append(0.5 * a * math.log2(a / m))
        if b > 0:
            terms.append(0.5 * b * math.log2(b / m))
    return min(1.0, max(0.0, math.fsum(terms)))
