"""Exact n-gram statistics over whole corpora, vectorised with NumPy.

Sentences are encoded as one flat array of token ids. The id of every n-gram of order k is
derived from the id of its (k-1)-gram prefix and its last token, so one dense id space covers
every corpus encoded together (samples and references share it), for any order. Per-sentence
counts, the per-n-gram maximum over a reference set, and the "maximum over all *other*
sentences" needed by self-BLEU all follow from sorted group-bys on those ids: the cost is a
few sorts of arrays with one entry per token, with no Python loop over sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class EncodedCorpus:
    """Token ids of S sentences, concatenated: sentence s is ``tokens[offsets[s]:offsets[s+1]]``."""

    tokens: IntArray  # (T,)
    offsets: IntArray  # (S + 1,)

    @property
    def lengths(self) -> IntArray:
        return np.diff(self.offsets)

    @property
    def n_sentences(self) -> int:
        return len(self.offsets) - 1

    @cached_property
    def sentence_of_position(self) -> IntArray:
        """Sentence index of every token (computed once; reused by every order's counts)."""
        return np.repeat(np.arange(self.n_sentences, dtype=np.int64), self.lengths)


def encode(tokenized: Sequence[Sequence[str]], vocab: dict[str, int]) -> EncodedCorpus:
    """Encode token lists with ``vocab`` (new tokens are added to it, ids stay stable)."""
    lengths = np.fromiter((len(s) for s in tokenized), dtype=np.int64, count=len(tokenized))
    offsets = np.zeros(len(tokenized) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    setdefault = vocab.setdefault
    flat = [setdefault(tok, len(vocab)) for sent in tokenized for tok in sent]
    return EncodedCorpus(np.asarray(flat, dtype=np.int64).reshape(-1), offsets)


def joint_ngram_ids(corpora: Sequence[EncodedCorpus], max_order: int) -> list[list[IntArray]]:
    """Dense n-gram ids for orders 1..max_order over several corpora at once.

    Returns ``ids[k-1][c]``: for corpus ``c``, an array aligned with its tokens holding the id of
    the k-gram that *starts* at each position, or -1 where fewer than k tokens remain in the
    sentence. Equal n-grams get equal ids across all corpora.
    """
    if not corpora:
        raise ValueError("need at least one corpus")
    tokens = np.concatenate([c.tokens for c in corpora])
    ends = np.concatenate([np.repeat(c.offsets[1:], c.lengths) + base for c, base in _bases(corpora)])
    positions = np.arange(len(tokens), dtype=np.int64)
    vocab_size = int(tokens.max()) + 1 if len(tokens) else 1
    # A k-gram key is (prefix id) * vocab_size + token < T * V, far below 2**63 for any corpus
    # that fits in memory, so the keys never overflow.
    previous = tokens
    per_order: list[IntArray] = []
    current = tokens.copy()  # order-1 ids are the token ids
    for order in range(1, max_order + 1):
        if order > 1:
            valid = positions + order <= ends
            keys = previous[valid] * vocab_size + tokens[positions[valid] + order - 1]
            current = np.full(len(tokens), -1, dtype=np.int64)
            if keys.size:
                _, inverse = np.unique(keys, return_inverse=True)
                current[valid] = inverse.reshape(-1)
        per_order.append(current)
        previous = current
    splits = np.cumsum([len(c.tokens) for c in corpora])[:-1]
    return [np.split(ids, splits) for ids in per_order]


def _bases(corpora: Sequence[EncodedCorpus]) -> list[tuple[EncodedCorpus, int]]:
    out, base = [], 0
    for corpus in corpora:
        out.append((corpus, base))
        base += len(corpus.tokens)
    return out


@dataclass(frozen=True)
class SentenceCounts:
    """Sparse per-sentence n-gram counts: sentence ``sent[i]`` holds n-gram ``gram[i]`` ``count[i]`` times."""

    sent: IntArray
    gram: IntArray
    count: IntArray


def sentence_counts(corpus: EncodedCorpus, ids: IntArray, lo: int, hi: int) -> SentenceCounts:
    """Counts of each n-gram in each sentence of ``corpus[lo:hi]`` (sentence indices relative to lo)."""
    start, stop = int(corpus.offsets[lo]), int(corpus.offsets[hi])
    grams = ids[start:stop]
    sents = corpus.sentence_of_position[start:stop] - lo
    keep = grams >= 0
    grams, sents = grams[keep], sents[keep]
    if not grams.size:
        empty = np.zeros(0, dtype=np.int64)
        return SentenceCounts(empty, empty, empty)
    width = int(grams.max()) + 1
    pairs, counts = np.unique(sents * width + grams, return_counts=True)
    return SentenceCounts(pairs // width, pairs % width, counts.astype(np.int64))


def max_count_per_gram(counts: SentenceCounts, n_grams: int) -> IntArray:
    """max over sentences of count(g), for every n-gram id g < n_grams (0 where absent)."""
    best = np.zeros(n_grams, dtype=np.int64)
    np.maximum.at(best, counts.gram, counts.count)
    return best


def clipped_matches(hyp: SentenceCounts, ref_max: IntArray, n_hyps: int) -> IntArray:
    """Σ_g min(count_h(g), max_r count_r(g)) for each hypothesis (BLEU's modified-precision numerator)."""
    limit = np.zeros(len(hyp.gram), dtype=np.int64)
    inside = hyp.gram < len(ref_max)
    limit[inside] = ref_max[hyp.gram[inside]]
    clipped = np.minimum(hyp.count, limit)
    return np.bincount(hyp.sent, weights=clipped, minlength=n_hyps).astype(np.int64)


def clipped_matches_leave_one_out(counts: SentenceCounts, n_sentences: int) -> IntArray:
    """Like :func:`clipped_matches` with sentence i's references = every *other* sentence.

    Keeps, per n-gram, the top count, how many sentences hold it, and the best count below
    it; sentence i then sees the top count unless it is the sole holder, in which case it sees
    the second. Ties (an identical sentence elsewhere) therefore still count.
    """
    if not counts.gram.size:
        return np.zeros(n_sentences, dtype=np.int64)
    n_grams = int(counts.gram.max()) + 1
    top = max_count_per_gram(counts, n_grams)
    is_top = counts.count == top[counts.gram]
    holders = np.bincount(counts.gram[is_top], minlength=n_grams)
    second = np.zeros(n_grams, dtype=np.int64)
    np.maximum.at(second, counts.gram[~is_top], counts.count[~is_top])
    sole_top = is_top & (holders[counts.gram] == 1)
    others = np.where(sole_top, second[counts.gram], top[counts.gram])
    clipped = np.minimum(counts.count, others)
    return np.bincount(counts.sent, weights=clipped, minlength=n_sentences).astype(np.int64)


def ngram_totals(lengths: IntArray, order: int) -> IntArray:
    """Number of n-grams of ``order`` in sentences of the given lengths."""
    return np.maximum(lengths - order + 1, 0)
