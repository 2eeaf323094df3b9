"""Pure schedule functions: learning-rate decay and KL-weight annealing.

Models call these with the runner's ``step``/``epoch`` (a VAE's KL weight, a GAN's temperature),
so every schedule is a deterministic function of the position in training.
"""

from __future__ import annotations

import math


def exponential_decay(base: float, epoch: int, decay: float, start: int) -> float:
    """``base · decay^max(0, epoch − start + 1)``: decay once per epoch from epoch ``start``
    (Semeniuta 2019, §3.4.3: × 0.97 per epoch from epoch 10)."""
    return base * decay ** max(0, epoch - start + 1)


def linear_anneal(step: int, *, start: int, end: int, low: float = 0.0, high: float = 1.0) -> float:
    """``low`` before ``start``, ``high`` after ``end``, linear in between (KL annealing,
    Bowman et al. 2016)."""
    if end <= start:
        return high if step >= start else low
    frac = min(1.0, max(0.0, (step - start) / (end - start)))
    return low + frac * (high - low)


def sigmoid_anneal(step: int, *, midpoint: int, rate: float, high: float = 1.0) -> float:
    """``high / (1 + exp(−rate · (step − midpoint)))`` (the logistic KL schedule of Bowman et al.)."""
    z = -rate * (step - midpoint)
    if z > 700:
        return 0.0
    return high / (1.0 + math.exp(z))


def cyclical_anneal(step: int, *, period: int, ratio: float = 0.5, high: float = 1.0) -> float:
    """Cyclical annealing (Fu et al. 2019): rise linearly over ``ratio`` of each period, then hold."""
    if period < 1:
        raise ValueError(f"period must be ≥ 1, got {period}")
    pos = (step % period) / period
    return high * min(1.0, pos / ratio) if ratio > 0 else high
