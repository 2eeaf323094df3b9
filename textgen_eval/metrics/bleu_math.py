"""Sentence-BLEU arithmetic, bit-identical to nltk's ``sentence_bleu`` with ``method1`` smoothing.

Papineni et al. (2002), eq. for BLEU = BP · exp(Σ_k w_k log p_k), with Chen & Cherry (2014)
smoothing method 1 and the conventions of nltk (see docs/metrics.md):

- p_k = matches_k / max(1, n-grams_k); an order with no match uses ε / max(1, n-grams_k),
  ε = 0.1;
- the sentence scores 0 when it has no unigram match (checked before smoothing);
- BP = 1 if |h| > r*, 0 if |h| = 0, else exp(1 − r*/|h|), with r* the reference length closest
  to |h| and ties going to the shorter one;
- the log terms are summed with ``math.fsum``.

The per-sentence loop is plain Python on purpose: ``math.log`` / ``math.exp`` are what nltk
calls, and NumPy's vectorised ``log`` may differ from them in the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]

METHOD1_EPSILON = 0.1


def uniform_weights(order: int) -> tuple[float, ...]:
    """(1/n, ..., 1/n) as nltk users write it: ``tuple(1. / n for _ in range(n))``."""
    return tuple(1.0 / order for _ in range(order))


def closest_lengths(hyp_lengths: IntArray, ref_lengths: IntArray) -> IntArray:
    """For each hypothesis length, the closest reference length (ties → the shorter one)."""
    candidates = np.unique(ref_lengths)
    if not candidates.size:
        raise ValueError("no reference lengths")
    idx = np.searchsorted(candidates, hyp_lengths, side="left")
    upper = candidates[np.minimum(idx, len(candidates) - 1)]
    lower = candidates[np.maximum(idx - 1, 0)]
    has_upper = idx < len(candidates)
    has_lower = idx > 0
    d_up = np.where(has_upper, np.abs(upper - hyp_lengths), np.iinfo(np.int64).max)
    d_low = np.where(has_lower, np.abs(hyp_lengths - lower), np.iinfo(np.int64).max)
    return np.where(d_up < d_low, upper, lower).astype(np.int64)


def closest_other_lengths(lengths: IntArray) -> IntArray:
    """Closest length among all *other* sentences, each sentence's own length removed once."""
    if len(lengths) < 2:
        raise ValueError("need at least two sentences")
    values, counts = np.unique(lengths, return_counts=True)
    idx = np.searchsorted(values, lengths)
    own_shared = counts[idx] >= 2  # another sentence has exactly this length: distance 0
    n = len(values)
    has_lower = idx > 0
    has_upper = idx < n - 1
    lower = values[np.maximum(idx - 1, 0)]
    upper = values[np.minimum(idx + 1, n - 1)]
    big = np.iinfo(np.int64).max
    d_low = np.where(has_lower, lengths - lower, big)
    d_up = np.where(has_upper, upper - lengths, big)
    nearest = np.where(d_up < d_low, upper, lower)
    return np.where(own_shared, lengths, nearest).astype(np.int64)


def sentence_bleu_scores(
    numerators: IntArray,
    denominators: IntArray,
    hyp_lengths: IntArray,
    closest_ref_lengths: IntArray,
    weights: Sequence[float],
    epsilon: float = METHOD1_EPSILON,
) -> list[float]:
    """Sentence-BLEU of every hypothesis from its n-gram statistics.

    Args:
        numerators: (S, n) clipped n-gram matches per order.
        denominators: (S, n) number of hypothesis n-grams per order, already ``max(1, ·)``.
        hyp_lengths: (S,) hypothesis lengths in tokens.
        closest_ref_lengths: (S,) r* per hypothesis.
        weights: n weights (uniform 1/n for BLEU-n).
        epsilon: method-1 smoothing constant.
    """
    log, exp, fsum = math.log, math.exp, math.fsum
    weights = tuple(weights)
    out: list[float] = []
    rows = zip(numerators.tolist(), denominators.tolist(), hyp_lengths.tolist(), closest_ref_lengths.tolist())
    for nums, dens, hyp_len, ref_len in rows:
        if nums[0] == 0:
            out.append(0.0)
            continue
        if hyp_len > ref_len:
            bp = 1.0
        elif hyp_len == 0:
            bp = 0.0
        else:
            bp = exp(1 - ref_len / hyp_len)
        terms = [
            w * log(num / den if num else (num + epsilon) / den) for w, num, den in zip(weights, nums, dens)
        ]
        out.append(bp * exp(fsum(terms)))
    return out
