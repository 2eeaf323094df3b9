"""Latent semantic analysis features (Deerwester et al. 1990): TF-IDF + truncated SVD.

Fitted on the bundle's training text (whitespace tokens, lowercased):

* vocabulary: the words in at least ``min_df`` training sentences (others are ignored);
* tf: ``1 + log(count)`` for a word present in the sentence (sublinear), else 0;
* idf: ``log((1 + N) / (1 + df)) + 1`` (smoothed; N training sentences, df their count holding
  the word);
* each TF-IDF row scaled to unit L2 norm (an empty row stays 0);
* the top ``dim`` right singular vectors V of the training TF-IDF matrix (sparse ARPACK, run to
  machine precision), each signed so that its largest-magnitude entry is positive;
* a sentence's feature: its TF-IDF row times V, ``(dim,)`` float64.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from textgen_eval.core.errors import ConfigError, MetricError


@dataclass(frozen=True)
class LsaModel:
    """A fitted LSA projection: vocabulary, idf weights and the ``(V, dim)`` components."""

    vocab: dict[str, int]
    idf: np.ndarray
    components: np.ndarray

    def tfidf(self, texts: Sequence[str]) -> object:
        """Sparse ``(len(texts), V)`` unit-norm sublinear TF-IDF rows (scipy CSR)."""
        return tfidf_matrix(texts, self.vocab, self.idf)

    def features(self, texts: Sequence[str]) -> np.ndarray:
        matrix = self.tfidf(texts)
        return np.asarray(matrix @ self.components, dtype=np.float64)


def tokens(text: str) -> list[str]:
    return text.lower().split()


def document_frequencies(texts: Sequence[str]) -> Counter[str]:
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(tokens(text)))
    return df


def tfidf_matrix(texts: Sequence[str], vocab: dict[str, int], idf: np.ndarray) -> object:
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        counts = Counter(w for w in tokens(text) if w in vocab)
        if not counts:
            continue
        ids = np.fromiter((vocab[w] for w in counts), dtype=np.int64, count=len(counts))
        weights = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64) * idf[ids]
        weights /= np.linalg.norm(weights)
        rows.extend([i] * len(ids))
        cols.extend(ids.tolist())
        vals.extend(weights.tolist())
    return csr_matrix((vals, (rows, cols)), shape=(len(texts), len(vocab)), dtype=np.float64)


def sign_aligned(components: np.ndarray) -> np.ndarray:
    """Columns flipped so that each one's largest-magnitude entry is positive."""
    idx = np.argmax(np.abs(components), axis=0)
    signs = np.sign(components[idx, np.arange(components.shape[1])])
    return components * np.where(signs == 0, 1.0, signs)


def fit_lsa(texts: Sequence[str], *, dim: int = 128, min_df: int = 2, seed: int = 0) -> LsaModel:
    """Fit the projection on ``texts`` (the bundle's training sentences)."""
    from scipy.sparse.linalg import svds

    if dim < 1 or min_df < 1:
        raise ConfigError(f"lsa: dim and min_df must be ≥ 1 (got dim={dim}, min_df={min_df})")
    df = document_frequencies(texts)
    words = sorted(w for w, c in df.items() if c >= min_df)
    if len(words) <= dim:
        raise MetricError(
            f"lsa: only {len(words)} words occur in ≥ {min_df} training sentences; need more than dim = {dim}"
        )
    vocab = {w: i for i, w in enumerate(words)}
    n = len(texts)
    idf = np.array([math.log((1 + n) / (1 + df[w])) + 1.0 for w in words], dtype=np.float64)
    matrix = tfidf_matrix(texts, vocab, idf)
    v0 = np.random.default_rng(seed).uniform(-1.0, 1.0, size=min(matrix.shape))  # type: ignore[attr-defined]
    _, s, vt = svds(matrix, k=dim, tol=0.0, v0=v0)
    order = np.argsort(-s)
    return LsaModel(vocab, idf, sign_aligned(vt[order].T))
