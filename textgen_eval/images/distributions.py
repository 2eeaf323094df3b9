"""Closed forms for diagonal Gaussians and Bernoulli pixels (pure functions).

Variances are carried as ``var`` (σ², already floored) rather than log σ², as in the LVAE code
(Sønderby et al. 2016, eq. 7–9: σ² = Softplus(Linear(d)) + ε).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

LOG_2PI = math.log(2 * math.pi)


def log_normal_units(z: Tensor, mu: Tensor, var: Tensor) -> Tensor:
    """log N(z; μ, σ²) per unit (no sum): ``(..., Z) → (..., Z)``."""
    return -0.5 * (LOG_2PI + torch.log(var) + (z - mu).pow(2) / var)


def log_std_normal_units(z: Tensor) -> Tensor:
    """log N(z; 0, 1) per unit."""
    return -0.5 * (LOG_2PI + z.pow(2))


def kl_normal_units(mu_q: Tensor, var_q: Tensor, mu_p: Tensor, var_p: Tensor) -> Tensor:
    """KL(N(μ_q, σ_q²) ‖ N(μ_p, σ_p²)) per unit =
    log σ_p/σ_q + (σ_q² + (μ_q − μ_p)²) / (2σ_p²) − ½  (IMAGES.md §1)."""
    return 0.5 * (torch.log(var_p) - torch.log(var_q) + (var_q + (mu_q - mu_p).pow(2)) / var_p - 1.0)


def kl_std_normal_units(mu: Tensor, var: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) per unit = ½ (σ² + μ² − 1 − log σ²)."""
    return 0.5 * (var + mu.pow(2) - 1.0 - torch.log(var))


def bernoulli_log_likelihood(logits: Tensor, x: Tensor) -> Tensor:
    """log p(x | logits) summed over pixels, from logits (never clamped probabilities):
    ``(..., D) → (...)``. For logits 0 it is −D·ln 2 whatever x is."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)


def precision_weighted_merge(
    mu_t: Tensor, var_t: Tensor, mu_d: Tensor, var_d: Tensor
) -> tuple[Tensor, Tensor]:
    """The ladder's merge of the top-down and bottom-up Gaussians (Sønderby et al. 2016, eq. 21):
    σ_q² = 1 / (σ_t⁻² + σ_d⁻²), μ_q = (μ_t σ_t⁻² + μ_d σ_d⁻²) σ_q², the normalised product of
    the two densities."""
    prec_t, prec_d = 1.0 / var_t, 1.0 / var_d
    var = 1.0 / (prec_t + prec_d)
    return (mu_t * prec_t + mu_d * prec_d) * var, var
