"""k-NN manifold precision and recall (Kynkäänniemi et al. 2019, "Improved precision and recall
metric for assessing generative models", §2, eq. 1–3).

The real manifold is the union of balls around every real feature vector with radius the
distance to its k-th nearest *other* real vector; precision is the fraction of generated vectors
inside it, recall the fraction of real vectors inside the generated manifold built the same way.
Exact: distances are computed in float32 blocks and every decision whose margin is within a
relative 1e-4 of zero, and every k-NN radius, is recomputed in float64.
"""

from __future__ import annotations

import numpy as np

from textgen_eval.core.errors import MetricError

#: Rows per block of the distance matrix (bounds memory at ``BLOCK × n`` floats).
BLOCK = 1024
#: Candidates of the float32 k-NN search that are re-ranked in float64.
RERANK = 8
#: Decisions with |d² − r²| below this fraction of r² are redone in float64.
MARGIN = 1e-4


def _sq_dist32(a: np.ndarray, b: np.ndarray, b_norms: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` squared Euclidean distances in float32 (clipped at 0)."""
    a32 = a.astype(np.float32)
    d = (a32 * a32).sum(axis=1)[:, None] + b_norms[None, :] - 2.0 * (a32 @ b.astype(np.float32).T)
    return np.maximum(d, 0.0)


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance of each row of ``x`` ``(n, d)`` to its k-th nearest other row, in float64."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if not 1 <= k < n:
        raise MetricError(f"k-NN radii need 1 ≤ k < n (k = {k}, n = {n})")
    norms = (x.astype(np.float32) ** 2).sum(axis=1)
    radii = np.empty(n, dtype=np.float64)
    take = min(n - 1, k + RERANK)
    for lo in range(0, n, BLOCK):
        hi = min(n, lo + BLOCK)
        d = _sq_dist32(x[lo:hi], x, norms)
        d[np.arange(hi - lo), np.arange(lo, hi)] = np.inf  # not its own neighbour
        cand = np.argpartition(d, take - 1, axis=1)[:, :take]  # (rows, take)
        exact = ((x[lo:hi, None, :] - x[cand]) ** 2).sum(axis=2)  # float64 re-rank
        radii[lo:hi] = np.sqrt(np.sort(exact, axis=1)[:, k - 1])
    return radii


def coverage(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Whether each query lies in at least one ball ``‖q − c‖ ≤ r(c)`` (boolean ``(len(queries),)``)."""
    q = np.asarray(queries, dtype=np.float64)
    c = np.asarray(centres, dtype=np.float64)
    r2 = radii**2
    norms = (c.astype(np.float32) ** 2).sum(axis=1)
    inside = np.zeros(len(q), dtype=bool)
    for lo in range(0, len(q), BLOCK):
        hi = min(len(q), lo + BLOCK)
        margin = _sq_dist32(q[lo:hi], c, norms) - r2[None, :]  # ≤ 0: inside that ball
        scale = np.maximum(r2, 1e-30)[None, :]
        unsure = np.abs(margin) <= MARGIN * scale
        inside[lo:hi] = (margin < 0).any(axis=1) & ~unsure.any(axis=1)
        for row in np.flatnonzero(unsure.any(axis=1) & ~inside[lo:hi]):
            exact = ((c - q[lo + row]) ** 2).sum(axis=1) - r2  # float64 check of this row
            inside[lo + row] = bool((exact <= 0).any())
    return inside


def knn_precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """(precision, recall) of ``fake`` against ``real`` with k-NN manifolds (paper default k = 3)."""
    precision = float(coverage(fake, real, knn_radii(real, k)).mean())
    recall = float(coverage(real, fake, knn_radii(fake, k)).mean())
    return precision, recall
