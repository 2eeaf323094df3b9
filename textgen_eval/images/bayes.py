"""Bayes-by-Backprop layers, their priors and the weighting of their KL (pure where possible).

- :class:`BayesLinear` (Blundell et al. 2015): q(w) = N(μ, softplus(ρ)²) per weight and bias, a
  reparameterised sample per forward pass (or the mean weights with ``use_mean``).
- :class:`DynamicBayesLinear`: the compound VAE's dynamic BNN layer (Su, Lin & Chen 2019, §2.2.2):
  the weight distribution is a linear function of the layer input, μ_w = W_{w,μ} x,
  ρ_w = W_{w,ρ} x (and the bias likewise), so every example draws its own weights.
- Priors: :class:`GaussianPrior` N(0, s²) and :class:`ScaleMixturePrior`
  π N(0, σ₁²) + (1 − π) N(0, σ₂²), whose log-density is a logsumexp (finite at any |w|).
- The weight KL is always a **sum** over weights (never a mean); how a minibatch weighs it is
  explicit: :func:`log_minibatch_weights` gives Blundell et al.'s πᵢ = 2^{M−i}/(2^M − 1) in log
  space (2^1875 overflows float64), ``uniform`` is 1/M, ``none`` is 0 (IMAGES.md §4–5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOG_2PI = math.log(2 * math.pi)
KL_SCHEMES = ("blundell", "uniform", "none")


@dataclass(frozen=True)
class GaussianPrior:
    """N(0, scale²) on every weight."""

    scale: float = 1.0

    def log_prob(self, w: Tensor) -> Tensor:
        """Elementwise log N(w; 0, s²)."""
        return -0.5 * (LOG_2PI + 2 * math.log(self.scale) + (w / self.scale).pow(2))


@dataclass(frozen=True)
class ScaleMixturePrior:
    """π N(0, σ₁²) + (1 − π) N(0, σ₂²) on every weight (Blundell et al. 2015, eq. 7; the compound
    VAE's defaults π = 0.5, σ₁ = 1, σ₂ = e⁻⁶)."""

    pi: float = 0.5
    sigma1: float = 1.0
    sigma2: float = math.exp(-6)

    def __post_init__(self) -> None:
        if not 0 < self.pi < 1:
            raise ValueError(f"mixture weight pi must be in (0, 1), got {self.pi}")
        if self.sigma1 <= 0 or self.sigma2 <= 0:
            raise ValueError("mixture scales must be > 0")

    def log_prob(self, w: Tensor) -> Tensor:
        """Elementwise log-density by logsumexp of the two weighted components (never exp-then-log,
        which underflows to log 0 for |w| ≫ σ₂)."""
        a = math.log(self.pi) + GaussianPrior(self.sigma1).log_prob(w)
        b = math.log1p(-self.pi) + GaussianPrior(self.sigma2).log_prob(w)
        return torch.logaddexp(a, b)


Prior = GaussianPrior | ScaleMixturePrior


def gaussian_kl_sum(mu: Tensor, sigma: Tensor, scale: float) -> Tensor:
    """Σ KL(N(μ, σ²) ‖ N(0, s²)) = Σ [log(s/σ) + (σ² + μ²)/(2s²) − ½] over every weight."""
    return (math.log(scale) - torch.log(sigma) + (sigma.pow(2) + mu.pow(2)) / (2 * scale**2) - 0.5).sum()


def log_normal(w: Tensor, mu: Tensor, sigma: Tensor) -> Tensor:
    """Elementwise log N(w; μ, σ²)."""
    return -0.5 * (LOG_2PI + 2 * torch.log(sigma) + ((w - mu) / sigma).pow(2))


def log_minibatch_weights(num_batches: int) -> np.ndarray:
    """log πᵢ for i = 1..M, πᵢ = 2^{M−i} / (2^M − 1) (Blundell et al. 2015, §3.4), in float64:
    log πᵢ = (M − i) log 2 − M log 2 − log1p(−2^{−M}); Σ πᵢ = 1 without forming 2^M."""
    if num_batches < 1:
        raise ValueError(f"need at least one minibatch, got {num_batches}")
    m = num_batches
    i = np.arange(1, m + 1, dtype=np.float64)
    return (m - i) * math.log(2) - m * math.log(2) - math.log1p(-(2.0**-m))


def kl_weight(scheme: str, batch_in_epoch: int, num_batches: int) -> float:
    """The weight of the summed weight KL in the loss of minibatch ``batch_in_epoch`` (0-based) of
    an epoch of ``num_batches``: Blundell's πᵢ, 1/M, or 0."""
    if scheme == "blundell":
        return float(math.exp(log_minibatch_weights(num_batches)[batch_in_epoch]))
    if scheme == "uniform":
        return 1.0 / num_batches
    if scheme == "none":
        return 0.0
    raise ValueError(f"unknown weight-KL scheme {scheme!r}; expected one of {', '.join(KL_SCHEMES)}")


class BayesLinear(nn.Module):
    """A linear layer with a factorised Gaussian posterior over its weights and bias.

    σ = softplus(ρ); ``rho_init`` sets the initial ρ (−5: σ ≈ 0.007). ``forward`` draws one weight
    sample for the whole batch (remembered for the Monte-Carlo KL) unless ``use_mean``.
    """

    def __init__(self, in_features: int, out_features: int, prior: Prior, *, rho_init: float = -5.0) -> None:
        super().__init__()
        self.prior = prior
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features))
        self.weight_rho = nn.Parameter(torch.full((out_features, in_features), rho_init))
        self.bias_mu = nn.Parameter(torch.zeros(out_features))
        self.bias_rho = nn.Parameter(torch.full((out_features,), rho_init))
        nn.init.kaiming_uniform_(self.weight_mu, a=math.sqrt(5))
        self.use_mean = False
        self._sample: tuple[Tensor, Tensor] | None = None

    def sigmas(self) -> tuple[Tensor, Tensor]:
        return F.softplus(self.weight_rho), F.softplus(self.bias_rho)

    def forward(self, x: Tensor) -> Tensor:
        if self.use_mean:
            return F.linear(x, self.weight_mu, self.bias_mu)
        w_sigma, b_sigma = self.sigmas()
        w = self.weight_mu + w_sigma * torch.randn_like(w_sigma)
        b = self.bias_mu + b_sigma * torch.randn_like(b_sigma)
        self._sample = (w, b)
        return F.linear(x, w, b)

    def kl(self) -> Tensor:
        """KL(q ‖ p) summed over every weight and bias: closed form for a Gaussian prior, else the
        one-sample estimate log q(w) − log p(w) at the last forward pass's sample."""
        w_sigma, b_sigma = self.sigmas()
        if isinstance(self.prior, GaussianPrior):
            return gaussian_kl_sum(self.weight_mu, w_sigma, self.prior.scale) + gaussian_kl_sum(
                self.bias_mu, b_sigma, self.prior.scale
            )
        if self._sample is None:
            raise RuntimeError("the Monte-Carlo KL needs a forward pass first")
        w, b = self._sample
        log_q = log_normal(w, self.weight_mu, w_sigma).sum() + log_normal(b, self.bias_mu, b_sigma).sum()
        return log_q - self.prior.log_prob(w).sum() - self.prior.log_prob(b).sum()


class DynamicBayesLinear(nn.Module):
    """The compound VAE's dynamic BNN layer: per-example Gaussian weights from a linear
    hypernetwork of the input (Su, Lin & Chen 2019, §2.2.2).

    μ_w = W_{w,μ} x, ρ_w = W_{w,ρ} x, μ_b = W_{b,μ} x, ρ_b = W_{b,ρ} x, w = μ_w + softplus(ρ_w) ε,
    b = μ_b + softplus(ρ_b) ε' (independent ε, ε'), h = w x + b. ``rho_offset`` is added to the ρ
    projections (−5 at initialisation keeps σ small) and ``mu_scale`` shrinks the initial μ
    projections (IMAGES.md §4, inferred). ``kl()`` is the per-example one-sample estimate
    log q(w|x) − log p(w) of the last forward pass, ``(B,)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        prior: Prior,
        *,
        rho_offset: float = -5.0,
        mu_scale: float = 0.1,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features, self.prior = in_features, out_features, prior
        n_w = out_features * in_features
        self.w_mu = nn.Linear(in_features, n_w, bias=False)
        self.w_rho = nn.Linear(in_features, n_w, bias=False)
        self.b_mu = nn.Linear(in_features, out_features, bias=False)
        self.b_rho = nn.Linear(in_features, out_features, bias=False)
        with torch.no_grad():
            self.w_mu.weight.mul_(mu_scale)
        self.rho_offset = rho_offset
        self.use_mean = False
        self._last: tuple[Tensor, ...] | None = None

    def distribution(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Per-example (μ_w, σ_w, μ_b, σ_b): ``(B, out, in)`` and ``(B, out)``."""
        shape = (x.shape[0], self.out_features, self.in_features)
        mu_w = self.w_mu(x).view(shape)  # (B, out·in) → (B, out, in)
        sigma_w = F.softplus(self.w_rho(x).view(shape) + self.rho_offset)
        return mu_w, sigma_w, self.b_mu(x), F.softplus(self.b_rho(x) + self.rho_offset)

    def forward(self, x: Tensor) -> Tensor:
        mu_w, sigma_w, mu_b, sigma_b = self.distribution(x)
        if self.use_mean:
            return torch.einsum("bi,boi->bo", x, mu_w) + mu_b
        w = mu_w + sigma_w * torch.randn_like(sigma_w)
        b = mu_b + sigma_b * torch.randn_like(sigma_b)
        self._last = (w, mu_w, sigma_w, b, mu_b, sigma_b)
        return torch.einsum("bi,boi->bo", x, w) + b

    def kl(self) -> Tensor:
        """``(B,)``: log q(w, b | x) − log p(w, b) at each example's sampled weights."""
        if self._last is None:
            raise RuntimeError("the KL needs a forward pass first")
        w, mu_w, sigma_w, b, mu_b, sigma_b = self._last
        log_q = log_normal(w, mu_w, sigma_w).sum((1, 2)) + log_normal(b, mu_b, sigma_b).sum(1)
        log_p = self.prior.log_prob(w).sum((1, 2)) + self.prior.log_prob(b).sum(1)
        return log_q - log_p
