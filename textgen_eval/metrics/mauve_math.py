"""MAUVE (Pillutla et al. 2021, "MAUVE: Measuring the gap between neural text and human text
using divergence frontiers", §3 and App. A): the area under the divergence frontier of two
quantized distributions.

Both feature sets are L2-normalised, projected by PCA onto the leading components that explain
``explained_variance`` of the variance, and quantized by k-means (k-means++ initialisation,
``redo`` restarts, the lowest inertia kept) fitted on their union; P and Q are the cluster
histograms of the samples and of the references. For λ on a grid of ``points`` values in
(0, 1), R_λ = λP + (1 − λ)Q and the frontier point is (exp(−c·KL(Q‖R_λ)), exp(−c·KL(P‖R_λ))),
plus the end points (0, 1) and (1, 0); MAUVE is the mean of the trapezoid areas under the
curve taken in x order and in y order (c = ``scaling``, 5 in the paper's code).
"""

from __future__ import annotations

import numpy as np

from textgen_eval.core.errors import MetricError


def kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p‖q) of two histograms (∞ where p > 0 = q; 0·log 0 = 0)."""
    if np.any((p > 0) & (q == 0)):
        return float("inf")
    keep = (p > 0) & (q > 0)
    return float(np.sum(p[keep] * np.log(p[keep] / q[keep])))


def divergence_curve(p: np.ndarray, q: np.ndarray, *, scaling: float = 5.0, points: int = 25) -> np.ndarray:
    """``(points + 2, 2)`` frontier points, end points included (λ ascending)."""
    rows = [(0.0, float("inf"))]
    for lam in np.linspace(1e-6, 1 - 1e-6, points):
        r = lam * p + (1.0 - lam) * q
        rows.append((kl(q, r), kl(p, r)))
    rows.append((float("inf"), 0.0))
    return np.exp(-scaling * np.asarray(rows, dtype=np.float64))


def _area(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


def mauve_from_histograms(p: np.ndarray, q: np.ndarray, *, scaling: float = 5.0, points: int = 25) -> float:
    """MAUVE of two histograms over the same bins (each summing to 1)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise MetricError(f"MAUVE needs histograms over the same bins ({p.shape} vs {q.shape})")
    x, y = divergence_curve(p, q, scaling=scaling, points=points).T
    by_x, by_y = np.argsort(x, kind="stable"), np.argsort(y, kind="stable")
    return 0.5 * (_area(x[by_x], y[by_x]) + _area(y[by_y], x[by_y]))


def pca_reduce(x: np.ndarray, explained_variance: float) -> np.ndarray:
    """Rows of ``x`` projected on the fewest principal components explaining the given share."""
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    share = np.cumsum(s**2) / max(float(np.sum(s**2)), 1e-300)
    keep = int(np.argmax(share >= explained_variance)) + 1
    return centred @ vt[:keep].T


def kmeans(
    x: np.ndarray, k: int, *, seed: int, redo: int = 5, max_iter: int = 300
) -> tuple[np.ndarray, float]:
    """Lloyd's k-means with k-means++ seeding; the labels and inertia of the best of ``redo`` runs."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float64)
    if not 1 <= k <= len(x):
        raise MetricError(f"k-means needs 1 ≤ clusters ≤ points (clusters = {k}, points = {len(x)})")
    norms = (x**2).sum(axis=1)
    best: tuple[np.ndarray, float] | None = None
    for _ in range(redo):
        centres = _plus_plus(x, norms, k, rng)
        labels = np.full(len(x), -1)
        for _ in range(max_iter):
            d = norms[:, None] + (centres**2).sum(axis=1)[None, :] - 2.0 * x @ centres.T
            new = d.argmin(axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            counts = np.bincount(labels, minlength=k)
            sums = np.zeros_like(centres)
            np.add.at(sums, labels, x)
            empty = counts == 0
            centres = np.where(empty[:, None], centres, sums / np.maximum(counts, 1)[:, None])
        inertia = float(((x - centres[labels]) ** 2).sum())
        if best is None or inertia < best[1]:
            best = (labels.copy(), inertia)
    assert best is not None
    return best


def _plus_plus(x: np.ndarray, norms: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = [x[rng.integers(len(x))]]
    closest = ((x - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = closest.sum()
        idx = rng.choice(len(x), p=closest / total) if total > 0 else rng.integers(len(x))
        centres.append(x[idx])
        closest = np.minimum(closest, ((x - x[idx]) ** 2).sum(axis=1))
    return np.stack(centres)


def quantize(
    p_features: np.ndarray,
    q_features: np.ndarray,
    *,
    clusters: int,
    seed: int,
    explained_variance: float = 0.9,
    redo: int = 5,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster histograms (P of the samples, Q of the references) of the joint k-means."""
    joint = np.vstack([p_features, q_features]).astype(np.float64)
    joint /= np.maximum(np.linalg.norm(joint, axis=1, keepdims=True), 1e-12)
    labels, _ = kmeans(pca_reduce(joint, explained_variance), clusters, seed=seed, redo=redo)
    n_p = len(p_features)
    p = np.bincount(labels[:n_p], minlength=clusters).astype(np.float64)
    q = np.bincount(labels[n_p:], minlength=clusters).astype(np.float64)
    return p / p.sum(), q / q.sum()


def auto_clusters(n_p: int, n_q: int) -> int:
    """The reference implementation's default: one cluster per ten points of the smaller set."""
    return max(2, round(min(n_p, n_q) / 10))
