"""Fréchet Distance between two sets of feature vectors, in float64, without ``sqrtm``.

FD = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½ (Heusel et al. 2017; Semeniuta 2019, §5.6.2).
With Fᵢ the centred features divided by √(nᵢ − 1), Σᵢ = FᵢᵀFᵢ and the eigenvalues of Σ₁Σ₂ are
those of (F₁F₂ᵀ)(F₁F₂ᵀ)ᵀ, so tr (Σ₁Σ₂)^½ is the sum of the singular values of F₁F₂ᵀ. That is
what we compute when either set has no more samples than dimensions (n × n instead of d × d);
otherwise tr (Σ₁Σ₂)^½ = Σ √eig(Σ₁^½ Σ₂ Σ₁^½) with Σ₁^½ from a symmetric eigendecomposition.
Both are exact for PSD matrices; tiny negative eigenvalues from round-off are clipped to 0.
"""

from __future__ import annotations

import numpy as np

from textgen_eval.core.errors import MetricError

#: Relative tolerance below which a negative FD is round-off, not a bug.
NEGATIVE_TOLERANCE = 1e-9


def _as_features(x: object, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise MetricError(f"{name}: expected a 2-D (n, d) array of features, got shape {arr.shape}")
    if arr.shape[0] < 2:
        raise MetricError(f"the Fréchet Distance needs at least 2 vectors; {name} have {arr.shape[0]}")
    if not np.isfinite(arr).all():
        row = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise MetricError(f"{name} contain NaN or infinity (first in row {row + 1})")
    return arr


def trace_sqrt_product(f1: np.ndarray, f2: np.ndarray) -> float:
    """tr (Σ₁Σ₂)^½ from scaled centred features ``F₁`` ``(n₁, d)`` and ``F₂`` ``(n₂, d)``."""
    n1, d = f1.shape
    n2 = f2.shape[0]
    if n1 <= d or n2 <= d:
        return float(np.linalg.svd(f1 @ f2.T, compute_uv=False).sum())
    cov1 = f1.T @ f1
    cov2 = f2.T @ f2
    w, v = np.linalg.eigh(cov1)
    root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    inner = root1 @ cov2 @ root1
    ev = np.linalg.eigvalsh((inner + inner.T) / 2.0)
    return float(np.sqrt(np.clip(ev, 0.0, None)).sum())


def frechet_distance(
    features_a: object,
    features_b: object,
    *,
    names: tuple[str, str] = ("the first feature set", "the second feature set"),
) -> float:
    """FD between the Gaussians fitted to two ``(n, d)`` feature arrays (unbiased covariances).

    ``names`` say in messages what the two sets are (e.g. "the samples' features").
    Raises :class:`MetricError` on bad shapes, non-finite values, or a clearly negative result.
    """
    a = _as_features(features_a, names[0])
    b = _as_features(features_b, names[1])
    if a.shape[1] != b.shape[1]:
        raise MetricError(
            f"feature dimensions differ: {names[0]} have {a.shape[1]}, {names[1]} have {b.shape[1]}"
        )
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    f_a = (a - mu_a) / np.sqrt(a.shape[0] - 1)
    f_b = (b - mu_b) / np.sqrt(b.shape[0] - 1)
    diff = mu_a - mu_b
    tr_a = float(np.einsum("ij,ij->", f_a, f_a))
    tr_b = float(np.einsum("ij,ij->", f_b, f_b))
    cross = trace_sqrt_product(f_a, f_b)
    value = float(diff @ diff) + tr_a + tr_b - 2.0 * cross
    if not np.isfinite(value):
        raise MetricError("Fréchet Distance is not finite (features too large?)")
    scale = float(diff @ diff) + tr_a + tr_b
    if value < 0:
        if value < -NEGATIVE_TOLERANCE * max(scale, 1.0):
            raise MetricError(f"Fréchet Distance came out clearly negative ({value:.3e}): numerical failure")
        value = 0.0
    return value


def fd_infinity(
    samples: np.ndarray, references: np.ndarray, *, points: int = 15, smallest: float = 0.2, seed: int = 0
) -> tuple[float, float, list[int], list[float]]:
    """FD extrapolated to infinitely many samples (Chong & Forsyth 2020, §3.2).

    FD is biased upwards at finite n, the bias ≈ linear in 1/n. FD_N is computed on seeded
    random subsets of N samples (without replacement) for ``points`` values of N evenly spaced
    from ``smallest``·n to n, against the full reference set (fixed statistics, as the paper
    fixes the real data's); a least-squares line FD_N = FD_∞ + k/N gives FD_∞ (the intercept).

    Returns ``(fd_inf, slope k, sizes, fd values)``.
    """
    a = _as_features(samples, "the samples' features")
    n = len(a)
    low = max(2, round(smallest * n))
    sizes = sorted({round(float(x)) for x in np.linspace(low, n, points)})
    if len(sizes) < 2:
        raise MetricError(f"fd-inf needs at least 2 distinct subset sizes (n = {n})")
    rng = np.random.default_rng(seed)
    values = [frechet_distance(a[rng.choice(n, size=size, replace=False)], references) for size in sizes]
    design = np.column_stack([np.ones(len(sizes)), 1.0 / np.asarray(sizes, dtype=np.float64)])
    (intercept, slope), *_ = np.linalg.lstsq(design, np.asarray(values), rcond=None)
    return float(intercept), float(slope), sizes, values
