"""Fréchet Distance: closed forms, scipy's sqrtm, the n < d branch, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from textgen_eval.core.errors import MetricError
from textgen_eval.metrics import frechet_distance
from textgen_eval.metrics.frechet import trace_sqrt_product


def _scipy_fd(a: np.ndarray, b: np.ndarray) -> float:
    mu = a.mean(0) - b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    return float(mu @ mu + np.trace(s1) + np.trace(s2) - 2 * np.trace(root))


def test_identical_sets_give_zero() -> None:
    x = np.random.default_rng(0).normal(size=(300, 16))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize(("n", "d"), [(400, 10), (50, 64)])
def test_shifted_mean_same_covariance_is_the_squared_shift(n: int, d: int) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    shift = rng.normal(size=d) * 3
    expected = float(shift @ shift)
    assert abs(frechet_distance(x, x + shift) - expected) <= 1e-9 * expected


def test_agrees_with_scipy_sqrtm_on_well_conditioned_data() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(size=(2000, 12))
    b = rng.normal(size=(1500, 12)) @ (np.eye(12) + 0.3 * rng.normal(size=(12, 12))) + 0.5
    ours, ref = frechet_distance(a, b), _scipy_fd(a, b)
    assert ours == pytest.approx(ref, rel=1e-9)


def test_n_smaller_than_d_uses_the_sample_space_and_agrees_with_the_eigen_route() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(20, 50)), rng.normal(size=(30, 50)) + 0.1
    fa = (a - a.mean(0)) / np.sqrt(19)
    fb = (b - b.mean(0)) / np.sqrt(29)
    via_svd = trace_sqrt_product(fa, fb)
    # Σ₁Σ₂ = F₁ᵀ(F₁F₂ᵀ)F₂ shares its non-zero eigenvalues with M Mᵀ, M = F₁F₂ᵀ (n₁ × n₁,
    # full rank): an eigh route independent of the SVD. (The d × d route is rank-deficient
    # here and loses ~1e-8 to clipped round-off eigenvalues, which is why the code avoids it.)
    m = fa @ fb.T
    ev = np.linalg.eigvalsh(m @ m.T)
    via_eig = float(np.sqrt(np.clip(ev, 0, None)).sum())
    assert via_svd == pytest.approx(via_eig, rel=1e-9)
    assert np.isfinite(frechet_distance(a, b))


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(MetricError, match="2-D"):
        frechet_distance(np.zeros(5), np.zeros((5, 2)))
    with pytest.raises(MetricError, match="dimensions differ"):
        frechet_distance(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(MetricError, match="at least 2"):
        frechet_distance(np.zeros((1, 2)), np.zeros((5, 2)))
    with pytest.raises(MetricError, match="NaN"):
        frechet_distance(np.full((3, 2), np.nan), np.zeros((5, 2)))
