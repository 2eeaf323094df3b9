"""IMAGES.md §7 sanity tests 6, 7 and 10: SG-HMC recovers a correlated Gaussian, Bayes-by-Backprop
KLs against Monte Carlo, a finite mixture log-prior, minibatch weights summing to one without
overflow, and the dynamic BNN layer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from textgen_eval.images.bayes import (
    BayesLinear,
    DynamicBayesLinear,
    GaussianPrior,
    ScaleMixturePrior,
    gaussian_kl_sum,
    kl_weight,
    log_minibatch_weights,
    log_normal,
)
from textgen_eval.images.sghmc import SGHMC


def test_sghmc_recovers_a_correlated_gaussian_with_noisy_gradients() -> None:
    """Target N(m, Σ), exact gradient plus N(0, 0.1²) noise, η = 0.1, C = 1, 64 parallel chains,
    2,000 burn-in and 4,000 kept steps: mean and every covariance entry within 0.1."""
    m = torch.tensor([1.0, -2.0], dtype=torch.float64)
    cov = torch.tensor([[1.0, 0.8], [0.8, 1.0]], dtype=torch.float64)
    precision = torch.linalg.inv(cov)
    theta = torch.zeros(64, 2, dtype=torch.float64, requires_grad=True)
    gen = torch.Generator().manual_seed(0)
    opt = SGHMC([theta], lr=0.1, friction=1.0, generator=gen)
    kept = []
    for step in range(6000):
        opt.zero_grad()
        with torch.no_grad():
            grad = (theta - m) @ precision  # ∇U per chain, (64, 2)
            theta.grad = grad + 0.1 * torch.randn(theta.shape, generator=gen, dtype=torch.float64)
        opt.step()
        if step >= 2000:
            kept.append(opt.positions()[0])
    samples = torch.cat(kept).numpy()  # (4000·64, 2)
    assert np.abs(samples.mean(0) - m.numpy()).max() < 0.1
    assert np.abs(np.cov(samples.T) - cov.numpy()).max() < 0.1


def test_sghmc_refuses_an_unstable_step() -> None:
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="unstable"):
        SGHMC([p], lr=0.5, friction=2.0)
    for bad in (float("nan"), -1.0, float("inf")):
        with pytest.raises(ValueError, match="step size lr must be a positive number"):
            SGHMC([p], lr=bad, friction=0.1)


def test_gaussian_prior_kl_of_a_bbb_layer_matches_monte_carlo() -> None:
    torch.manual_seed(0)
    layer = BayesLinear(6, 4, GaussianPrior(0.7), rho_init=-1.0)
    with torch.no_grad():
        layer.weight_mu.normal_(0, 0.5)
        layer.bias_mu.normal_(0, 0.5)
    analytic = float(layer.kl().detach())
    w_sigma, b_sigma = layer.sigmas()
    draws = []
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _ in range(100):  # 100 × 1,000 = 10⁵ draws
            w = layer.weight_mu + w_sigma * torch.randn(1000, *w_sigma.shape, generator=gen)
            b = layer.bias_mu + b_sigma * torch.randn(1000, *b_sigma.shape, generator=gen)
            log_q = log_normal(w, layer.weight_mu, w_sigma).sum((1, 2)) + log_normal(
                b, layer.bias_mu, b_sigma
            ).sum(1)
            log_p = GaussianPrior(0.7).log_prob(w).sum((1, 2)) + GaussianPrior(0.7).log_prob(b).sum(1)
            draws.append((log_q - log_p).double())
    mc = torch.cat(draws)
    assert abs(analytic - float(mc.mean())) < 4 * float(mc.std() / math.sqrt(len(mc)))
    # the KL is a sum over every weight, never a mean
    assert math.isclose(
        float(
            (
                gaussian_kl_sum(layer.weight_mu, w_sigma, 0.7) + gaussian_kl_sum(layer.bias_mu, b_sigma, 0.7)
            ).detach()
        ),
        analytic,
        rel_tol=1e-6,
    )


def test_mixture_log_prior_is_exact_where_finite_and_finite_far_out() -> None:
    prior = ScaleMixturePrior(0.5, 1.0, math.exp(-6))
    w = torch.linspace(-3, 3, 61, dtype=torch.float64)
    direct = torch.log(
        0.5 * torch.exp(GaussianPrior(1.0).log_prob(w))
        + 0.5 * torch.exp(GaussianPrior(math.exp(-6)).log_prob(w))
    )
    assert torch.allclose(prior.log_prob(w), direct, atol=1e-10)
    far = prior.log_prob(torch.tensor([50.0, -50.0], dtype=torch.float64))
    assert torch.isfinite(far).all()
    assert torch.allclose(
        far, math.log(0.5) + GaussianPrior(1.0).log_prob(torch.tensor([50.0], dtype=torch.float64))
    )


@pytest.mark.parametrize("m", [1, 10, 1875])
def test_minibatch_weights_sum_to_one_without_overflow(m: int) -> None:
    log_pi = log_minibatch_weights(m)
    assert np.isfinite(log_pi).all() and len(log_pi) == m
    assert math.isclose(math.fsum(np.exp(log_pi)), 1.0, rel_tol=1e-12)
    assert np.all(np.diff(log_pi) < 0)  # the first minibatch carries the most weight
    assert kl_weight("blundell", 0, m) == pytest.approx(np.exp(log_pi[0]))
    assert kl_weight("uniform", 3 % m, m) == pytest.approx(1 / m) and kl_weight("none", 0, m) == 0.0
    if m == 10:
        assert np.allclose(np.exp(log_pi), [2.0 ** (10 - i) / (2.0**10 - 1) for i in range(1, 11)])


def test_dynamic_bnn_weights_depend_on_the_input_and_reduce_to_a_hypernetwork() -> None:
    torch.manual_seed(0)
    layer = DynamicBayesLinear(5, 3, ScaleMixturePrior())
    x = torch.randn(2, 5)
    mu_w, sigma_w, mu_b, sigma_b = layer.distribution(x)
    assert bool((sigma_b > 0).all())
    assert mu_w.shape == (2, 3, 5) and mu_b.shape == (2, 3)
    assert not torch.allclose(mu_w[0], mu_w[1]) and not torch.allclose(sigma_w[0], sigma_w[1])
    out = layer(x)
    assert out.shape == (2, 3) and layer.kl().shape == (2,)
    assert not torch.allclose(out, layer(x))  # sampled weights
    deterministic = DynamicBayesLinear(5, 3, ScaleMixturePrior(), rho_offset=-60.0)
    deterministic.load_state_dict(layer.state_dict())
    deterministic.use_mean = True
    mean_out = deterministic(x)
    deterministic.use_mean = False
    assert torch.allclose(deterministic(x), mean_out, atol=1e-6)  # ρ → −∞: a deterministic hypernetwork
    assert torch.allclose(mean_out, torch.einsum("bi,boi->bo", x, mu_w) + mu_b, atol=1e-6)


def test_bbb_gaussian_kl_equals_torch_distributions_summed_over_weights() -> None:
    """An independent reference: torch.distributions' Normal–Normal KL, summed over every weight and
    bias (bayesian-torch's layers return the *mean* of the same terms — the reduction that makes
    their users' KL weights wrong by the parameter count)."""
    from torch.distributions import Normal, kl_divergence

    torch.manual_seed(3)
    layer = BayesLinear(7, 5, GaussianPrior(0.5), rho_init=-2.0)
    w_sigma, b_sigma = layer.sigmas()
    reference = (
        kl_divergence(Normal(layer.weight_mu, w_sigma), Normal(0.0, 0.5)).sum()
        + kl_divergence(Normal(layer.bias_mu, b_sigma), Normal(0.0, 0.5)).sum()
    )
    assert torch.allclose(layer.kl(), reference, rtol=1e-5)
