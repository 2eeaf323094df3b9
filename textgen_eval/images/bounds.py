"""Likelihood bounds from log-weights (pure functions).

The importance-weighted bound (Burda et al. 2016; Sønderby et al. 2016, eq. 12 with its 1/K):
L_K = log (1/K) Σ_k p(x, z_k) / q(z_k | x), z_k ~ q(z | x). L_1 is the ELBO and L_K ≤ log p(x),
non-decreasing in K. :class:`LogMeanExp` accumulates it over chunks of K in float64, so K = 5000
never holds all K passes at once.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def iw_bound(log_weights: Tensor) -> Tensor:
    """``(K, B)`` log-weights → ``(B,)`` L_K = logsumexp_k − log K, in float64."""
    k = log_weights.shape[0]
    return torch.logsumexp(log_weights.double(), dim=0) - math.log(k)


class LogMeanExp:
    """Streaming log-mean-exp over chunks of K: ``add((k, B))`` then ``value() → (B,)`` float64.
    Equal to :func:`iw_bound` of the concatenated chunks (up to float64 rounding)."""

    def __init__(self) -> None:
        self._acc: Tensor | None = None
        self._count = 0

    def add(self, log_weights: Tensor) -> None:
        chunk = torch.logsumexp(log_weights.double(), dim=0)
        self._acc = chunk if self._acc is None else torch.logaddexp(self._acc, chunk)
        self._count += log_weights.shape[0]

    def value(self) -> Tensor:
        if self._acc is None:
            raise ValueError("no log-weights were added")
        return self._acc - math.log(self._count)
