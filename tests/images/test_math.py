"""IMAGES.md §7 sanity tests 1, 2, 3 and 8: closed forms against Monte Carlo and exact answers."""

from __future__ import annotations

import math

import numpy as np
import torch

from textgen_eval.images.bounds import LogMeanExp, iw_bound
from textgen_eval.images.distributions import (
    bernoulli_log_likelihood,
    kl_normal_units,
    kl_std_normal_units,
    log_normal_units,
    log_std_normal_units,
    precision_weighted_merge,
)


def _mc_kl(
    mu_q: torch.Tensor, var_q: torch.Tensor, mu_p: torch.Tensor, var_p: torch.Tensor, n: int = 100_000
):
    gen = torch.Generator().manual_seed(0)
    z = mu_q + var_q.sqrt() * torch.randn(n, *mu_q.shape, generator=gen, dtype=torch.float64)
    ratio = (log_normal_units(z, mu_q, var_q) - log_normal_units(z, mu_p, var_p)).sum(-1)  # (n,)
    return float(ratio.mean()), float(ratio.std() / math.sqrt(n))


def test_kl_closed_form_matches_monte_carlo() -> None:
    gen = torch.Generator().manual_seed(1)
    mu_q, mu_p = (
        torch.randn(4, generator=gen, dtype=torch.float64),
        torch.randn(4, generator=gen, dtype=torch.float64),
    )
    var_q = torch.rand(4, generator=gen, dtype=torch.float64) + 0.3
    var_p = torch.rand(4, generator=gen, dtype=torch.float64) + 0.3
    analytic = float(kl_normal_units(mu_q, var_q, mu_p, var_p).sum())
    mc, se = _mc_kl(mu_q, var_q, mu_p, var_p)
    assert abs(analytic - mc) < 4 * se
    zeros, ones = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    std = float(kl_std_normal_units(mu_q, var_q).sum())
    mc_std, se_std = _mc_kl(mu_q, var_q, zeros, ones)
    assert abs(std - mc_std) < 4 * se_std
    assert math.isclose(std, float(kl_normal_units(mu_q, var_q, zeros, ones).sum()), rel_tol=1e-12)
    assert float(kl_normal_units(mu_q, var_q, mu_q, var_q).abs().max()) == 0.0  # KL(q‖q) = 0
    per_unit = kl_normal_units(mu_q, var_q, mu_p, var_p)
    assert per_unit.shape == (4,) and math.isclose(float(per_unit.sum()), analytic)


class LinearGaussian:
    """z ~ N(0, I₂), x | z ~ N(Wz + b, 0.5² I₅): log p(x) = log N(x; b, WWᵀ + 0.25 I) exactly; the
    posterior is Gaussian with Σ = (I + WᵀW/0.25)⁻¹, μ = Σ Wᵀ (x − b)/0.25."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.W, self.b = rng.normal(size=(5, 2)), rng.normal(size=5)
        self.x = self.W @ rng.normal(size=2) + self.b + 0.5 * rng.normal(size=5)
        cov = self.W @ self.W.T + 0.25 * np.eye(5)
        diff = self.x - self.b
        _, logdet = np.linalg.slogdet(cov)
        self.log_px = float(-0.5 * (5 * math.log(2 * math.pi) + logdet + diff @ np.linalg.solve(cov, diff)))
        self.post_cov = np.linalg.inv(np.eye(2) + self.W.T @ self.W / 0.25)
        self.post_mu = self.post_cov @ self.W.T @ diff / 0.25

    def log_joint(self, z: np.ndarray) -> np.ndarray:
        """``(..., 2) → (...)`` log p(x, z)."""
        mean = z @ self.W.T + self.b
        log_lik = -0.5 * (5 * math.log(2 * math.pi * 0.25) + ((self.x - mean) ** 2).sum(-1) / 0.25)
        return log_lik - 0.5 * (2 * math.log(2 * math.pi) + (z**2).sum(-1))


def _log_weights(
    model: LinearGaussian, mu: np.ndarray, std: np.ndarray, k: int, reps: int, seed: int
) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    z = mu + std * rng.normal(size=(k, reps, 2))  # (K, R, 2)
    log_q = -0.5 * (2 * math.log(2 * math.pi) + (np.log(std**2) + ((z - mu) / std) ** 2).sum(-1))
    return torch.from_numpy(model.log_joint(z) - log_q)  # (K, R)


def test_iw_bound_is_monotone_in_k_and_tight_on_a_linear_gaussian_model() -> None:
    model = LinearGaussian()
    mu = model.post_mu + 0.5  # a wrong diagonal q
    std = np.sqrt(np.diag(model.post_cov)) * 1.5
    means, ses = [], []
    for k in (1, 2, 5, 10, 100, 1000):
        bounds = iw_bound(_log_weights(model, mu, std, k, 2000, seed=k)).numpy()  # (R,)
        means.append(bounds.mean())
        ses.append(bounds.std(ddof=1) / math.sqrt(len(bounds)))
    for i in range(1, len(means)):
        assert means[i] >= means[i - 1] - 3 * math.hypot(ses[i], ses[i - 1])
    for mean, se in zip(means, ses, strict=True):
        assert mean <= model.log_px + 3 * se
    assert abs(means[-1] - model.log_px) < 0.05
    assert means[0] < model.log_px - 1.0  # the wrong q is visibly loose at K = 1


def test_l1_is_the_elbo_and_exact_under_the_true_posterior() -> None:
    model = LinearGaussian()
    lw = _log_weights(model, model.post_mu + 0.3, np.ones(2), 1, 50, seed=3)
    assert torch.equal(iw_bound(lw), lw[0])  # L₁ = log w, the ELBO estimator
    # q = the exact (full-covariance) posterior: every weight is p(x), zero variance
    rng = np.random.default_rng(4)
    chol = np.linalg.cholesky(model.post_cov)
    z = model.post_mu + rng.normal(size=(1, 50, 2)) @ chol.T
    diff = np.linalg.solve(chol, (z - model.post_mu)[..., None])[..., 0]
    log_q = -0.5 * (2 * math.log(2 * math.pi) + 2 * np.log(np.diag(chol)).sum() + (diff**2).sum(-1))
    exact = iw_bound(torch.from_numpy(model.log_joint(z) - log_q)).numpy()
    assert np.allclose(exact, model.log_px, atol=1e-10)


def test_streaming_log_mean_exp_equals_the_one_shot_bound() -> None:
    gen = torch.Generator().manual_seed(0)
    lw = torch.randn(1000, 7, generator=gen, dtype=torch.float64) * 30 - 500  # far below exp's range
    acc = LogMeanExp()
    for chunk in lw.split(128):
        acc.add(chunk)
    assert torch.allclose(acc.value(), iw_bound(lw), rtol=0, atol=1e-9)
    assert torch.isfinite(acc.value()).all()


def test_precision_weighted_merge_is_the_normalised_product_of_gaussians() -> None:
    gen = torch.Generator().manual_seed(2)
    mu_t, mu_d = (
        torch.randn(6, generator=gen, dtype=torch.float64),
        torch.randn(6, generator=gen, dtype=torch.float64),
    )
    var_t = torch.rand(6, generator=gen, dtype=torch.float64) + 0.1
    var_d = torch.rand(6, generator=gen, dtype=torch.float64) + 0.1
    mu, var = precision_weighted_merge(mu_t, var_t, mu_d, var_d)
    # log N(z; t) + log N(z; d) − log N(z; q) is the same constant for every z
    zs = torch.randn(5, 6, generator=gen, dtype=torch.float64) * 3
    gap = (
        log_normal_units(zs, mu_t, var_t) + log_normal_units(zs, mu_d, var_d) - log_normal_units(zs, mu, var)
    )
    assert torch.allclose(gap, gap[0].expand_as(gap), atol=1e-10)
    assert bool((var <= torch.minimum(var_t, var_d)).all())
    mu_far, var_far = precision_weighted_merge(mu_t, var_t, mu_d, torch.full_like(var_d, 1e12))
    assert torch.allclose(mu_far, mu_t, atol=1e-9) and torch.allclose(var_far, var_t, rtol=1e-9)


def test_bernoulli_log_likelihood_of_zero_logits_is_minus_784_ln2() -> None:
    x = (torch.rand(3, 784, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    ll = bernoulli_log_likelihood(torch.zeros(3, 784), x)
    assert torch.allclose(ll, torch.full((3,), -784 * math.log(2)), atol=1e-3)
    assert math.isclose(-784 * math.log(2), -543.43, abs_tol=5e-3)
    # from logits, never clamped: a confident wrong pixel costs its full log-odds
    far = bernoulli_log_likelihood(torch.tensor([[200.0]]), torch.tensor([[0.0]]))
    assert math.isclose(float(far), -200.0, rel_tol=1e-6)


def test_log_std_normal_matches_the_general_density() -> None:
    z = torch.linspace(-3, 3, 13, dtype=torch.float64)
    assert torch.allclose(
        log_std_normal_units(z), log_normal_units(z, torch.zeros_like(z), torch.ones_like(z))
    )
