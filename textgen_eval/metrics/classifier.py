"""Metrics of image classifiers (``bnn``): accuracy, predictive NLL, ECE-B, Brier score and the
predictive entropy on rotated digits (a distribution-shift check). The arithmetic is in
:mod:`textgen_eval.metrics.calibration`; the model is any
:class:`~textgen_eval.core.protocols.ProbabilisticClassifier`, the data a labelled
:class:`~textgen_eval.data.images.ImageSplit` (the ``mnist`` bundle)."""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.protocols import ProbabilisticClassifier
from textgen_eval.data.images import ImageSplit
from textgen_eval.metrics.base import Direction, ModelMetric, Score, seed_and_batch
from textgen_eval.metrics.calibration import (
    accuracy,
    brier_score,
    expected_calibration_error,
    predictive_nll,
)

#: The rotation of the shift check, degrees.
SHIFT_ANGLE = 60.0


def _inputs(model: object, data: object, metric: str) -> tuple[ProbabilisticClassifier, ImageSplit]:
    if not isinstance(model, ProbabilisticClassifier):
        raise ConfigError(f"{metric} scores classifiers (bnn); got {model!r}")
    if not isinstance(data, ImageSplit) or data.labels is None:
        raise ConfigError(f"{metric} needs labelled images (e.g. --bundle mnist)")
    return model, data


class _ClassifierMetric(ModelMetric):
    def compute(self, model: Any, data: Any, **context: Any) -> Score:
        model, data = _inputs(model, data, self.name)
        seed, batch_size = seed_and_batch(context)
        probs = model.predict_proba(data.pixels, seed=seed, batch_size=batch_size)
        assert data.labels is not None
        value = self.score(probs, data.labels)
        settings = {**model.evaluation_settings(), "data": data.describe(), **self.settings(), "seed": seed}
        return self.make_score(value, n=len(data), settings=settings)

    @abstractmethod
    def score(self, probs: np.ndarray, labels: np.ndarray) -> float: ...

    def settings(self) -> dict[str, object]:
        return {}


class Accuracy(_ClassifierMetric):
    name = "accuracy"
    direction: ClassVar[Direction] = "higher"
    description = "classifier accuracy (argmax of the predictive distribution)"

    def score(self, probs: np.ndarray, labels: np.ndarray) -> float:
        return accuracy(probs, labels)


class PredictiveNLL(_ClassifierMetric):
    name = "nll-pred"
    direction: ClassVar[Direction] = "lower"
    description = "mean −log p̂(y|x) of the predictive distribution, nats"

    def score(self, probs: np.ndarray, labels: np.ndarray) -> float:
        return predictive_nll(probs, labels)

    def settings(self) -> dict[str, object]:
        return {"unit": "nats"}


class ExpectedCalibrationError(_ClassifierMetric):
    name = "ece"
    ordered = True
    max_order = 10_000  # confidence bins
    direction: ClassVar[Direction] = "lower"
    description = "expected calibration error with N equal-width confidence bins (ece-15)"
    citation = "Guo et al. 2017"

    def score(self, probs: np.ndarray, labels: np.ndarray) -> float:
        return expected_calibration_error(probs, labels, bins=self.order)

    def settings(self) -> dict[str, object]:
        return {"bins": self.order}


class Brier(_ClassifierMetric):
    name = "brier"
    direction: ClassVar[Direction] = "lower"
    description = "Brier score: mean Σ_k (p_k − 1[y = k])²"

    def score(self, probs: np.ndarray, labels: np.ndarray) -> float:
        return brier_score(probs, labels)


def rotate_images(pixels: np.ndarray, shape: tuple[int, int, int], degrees: float) -> np.ndarray:
    """Rotate each image by ``degrees`` (bilinear, then thresholded at 0.5 for binary data)."""
    from scipy.ndimage import rotate

    images = pixels.reshape(-1, *shape).astype(np.float32)  # (n, D) → (n, C, H, W)
    turned = rotate(images, degrees, axes=(2, 3), reshape=False, order=1, mode="constant")
    return (turned > 0.5).astype(np.uint8).reshape(len(pixels), -1)


class ShiftEntropy(ModelMetric):
    name = "shift-entropy"
    direction: ClassVar[Direction] = "higher"
    description = "mean predictive entropy (nats) on the test digits rotated by 60°; details: unrotated"

    def compute(self, model: Any, data: Any, **context: Any) -> Score:
        model, data = _inputs(model, data, self.name)
        seed, batch_size = seed_and_batch(context)
        rotated = rotate_images(data.pixels, data.shape, SHIFT_ANGLE)

        def entropy(pixels: np.ndarray) -> float:
            p = model.predict_proba(pixels, seed=seed, batch_size=batch_size).astype(np.float64)
            h = -(p * np.log(np.maximum(p, np.finfo(np.float64).tiny))).sum(axis=1)
            return math.fsum(h.tolist()) / len(h)

        settings = {
            **model.evaluation_settings(),
            "data": data.describe(),
            "rotation": SHIFT_ANGLE,
            "seed": seed,
        }
        return self.make_score(
            entropy(rotated), n=len(data), settings={**settings, "unit": "nats"},
            details={"unrotated": entropy(data.pixels)},
        )  # fmt: skip
