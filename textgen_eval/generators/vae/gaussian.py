"""Diagonal-Gaussian posterior arithmetic (pure functions; Semeniuta 2019 §2.3, eqs. 2.3.3–2.3.8).

q(z|x) = N(μ, diag σ²) with ``logvar = log σ²``; the prior is N(0, I).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ_d (μ² + σ² − log σ² − 1), per row: ``(B, Z) → (B,)``."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(dim=-1)


def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor:
    """z = μ + σ·ε (eq. 2.3.8): differentiable in μ and log σ² for a given noise ε."""
    return mu + torch.exp(0.5 * logvar) * eps


def log_normal(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; μ, diag σ²) summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(dim=-1)


def log_standard_normal(z: Tensor) -> Tensor:
    """log N(z; 0, I) summed over the last dimension."""
    return -0.5 * (LOG_2PI + z.pow(2)).sum(dim=-1)


def importance_weighted_bound(log_weights: Tensor) -> Tensor:
    """The importance-weighted bound of Burda et al. (2016, eq. 8): ``log (1/K) Σ_k w_k`` from
    ``(K, B)`` log-weights ``log p(x, z_k) − log q(z_k|x)``; K = 1 is the ELBO. ``(K, B) → (B,)``."""
    k = log_weights.shape[0]
    return torch.logsumexp(log_weights, dim=0) - math.log(k)
