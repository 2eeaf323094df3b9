"""IMAGES.md §7 sanity test 11 and the other classifier scores on constructed predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from textgen_eval.metrics.calibration import accuracy, brier_score, expected_calibration_error, predictive_nll


def test_ece_is_zero_for_calibrated_and_one_for_confident_and_wrong() -> None:
    rng = np.random.default_rng(0)
    # per bin, the confidence equals the empirical accuracy: 70 % confident predictions, 70 % right
    n = 1000
    labels = rng.integers(0, 4, n)
    probs = np.full((n, 4), 0.1)
    right = np.arange(n) < 700
    predicted = np.where(right, labels, (labels + 1) % 4)
    probs[np.arange(n), predicted] = 0.7
    assert expected_calibration_error(probs, labels, bins=15) == pytest.approx(0.0, abs=1e-12)
    wrong = np.zeros((n, 4))
    wrong[np.arange(n), (labels + 1) % 4] = 1.0
    assert expected_calibration_error(wrong, labels, bins=15) == pytest.approx(1.0)


def test_ece_matches_a_direct_computation_on_random_predictions() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(500, 10)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = rng.integers(0, 10, 500)
    conf, pred = probs.max(1), probs.argmax(1)
    expected = 0.0
    for lo in np.linspace(0, 1, 11)[:-1]:
        hi = lo + 0.1
        mask = (conf > lo) & (conf <= hi + 1e-12) if lo > 0 else (conf <= hi + 1e-12)
        if mask.any():
            expected += mask.mean() * abs((pred[mask] == labels[mask]).mean() - conf[mask].mean())
    assert expected_calibration_error(probs, labels, bins=10) == pytest.approx(expected, abs=1e-9)


def test_accuracy_nll_and_brier() -> None:
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    labels = np.array([0, 1, 1])
    assert accuracy(probs, labels) == pytest.approx(2 / 3)
    assert predictive_nll(probs, labels) == pytest.approx(
        -(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3
    )
    assert brier_score(probs, labels) == pytest.approx(((0.01 + 0.01) + (0.04 + 0.04) + (0.36 + 0.36)) / 3)
    certain_and_wrong = np.array([[1.0, 0.0]])
    assert math.isfinite(predictive_nll(certain_and_wrong, np.array([1])))
    with pytest.raises(ValueError, match="expected probs"):
        accuracy(probs, labels[:2])
