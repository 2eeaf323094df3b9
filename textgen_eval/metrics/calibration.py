"""Scores of a classifier's predictive distribution (pure functions over arrays).

``probs`` is ``(n, classes)`` (rows sum to 1: a single network's softmax, or the average of S
posterior samples' softmaxes), ``labels`` is ``(n,)`` integer classes.

- accuracy: fraction of argmax predictions equal to the label;
- predictive NLL: mean −log p̂(y|x), in nats (probabilities floored at the smallest positive
  float64 so that a confident error is large, not infinite);
- ECE with B equal-width confidence bins (Guo et al. 2017): Σ_b (n_b/n) |acc_b − conf_b|, the
  confidence being the top probability; a confidence of exactly 1 falls in the last bin;
- Brier score: mean over examples of Σ_k (p_k − 1[y = k])².
"""

from __future__ import annotations

import math

import numpy as np


def _check(probs: np.ndarray, labels: np.ndarray) -> None:
    if probs.ndim != 2 or labels.shape != (probs.shape[0],):
        raise ValueError(f"expected probs (n, classes) and labels (n,), got {probs.shape} and {labels.shape}")
    if len(labels) == 0:
        raise ValueError("no predictions to score")


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    _check(probs, labels)
    return float(np.mean(probs.argmax(axis=1) == labels))


def predictive_nll(probs: np.ndarray, labels: np.ndarray) -> float:
    _check(probs, labels)
    picked = np.maximum(probs[np.arange(len(labels)), labels].astype(np.float64), np.finfo(np.float64).tiny)
    return math.fsum((-np.log(picked)).tolist()) / len(labels)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE over ``bins`` equal-width bins of the top-class confidence (bin b holds (b/B, (b+1)/B],
    the first bin also 0)."""
    _check(probs, labels)
    if bins < 1:
        raise ValueError(f"ECE needs ≥ 1 bin, got {bins}")
    confidence = probs.max(axis=1).astype(np.float64)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.sum() / len(labels) * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def brier_score(probs: np.ndarray, labels: np.ndarray) -> float:
    _check(probs, labels)
    onehot = np.zeros_like(probs, dtype=np.float64)
    onehot[np.arange(len(labels)), labels] = 1.0
    return float(np.mean(((probs - onehot) ** 2).sum(axis=1)))
