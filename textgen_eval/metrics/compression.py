"""Metrics of a compressed network (``weight-vae``; Cheng et al. 2024, IMAGES.md §6).

- ``compression-ratio``: parameters / latent-code floats — the paper's ratio, which leaves out the
  decoder that must ship with the codes;
- ``compression-ratio-total``: parameters / (code floats + decoder parameters);
- ``accuracy-drop``: accuracy of the original minus the decoded network on the labelled split, with
  the controls in ``details`` (mean code, 8-bit quantisation at 4×, magnitude pruning at the
  code-only ratio) and the per-tensor relative reconstruction errors.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import asdict
from typing import Any, ClassVar

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.protocols import CompressedModel, CompressionReport
from textgen_eval.data.images import ImageSplit
from textgen_eval.metrics.base import Direction, ModelMetric, Score, seed_and_batch


class _CompressionMetric(ModelMetric):
    def compute(self, model: Any, data: Any, **context: Any) -> Score:
        if not isinstance(model, CompressedModel):
            raise ConfigError(f"{self.name} scores compressed networks (weight-vae); got {model!r}")
        if not isinstance(data, ImageSplit) or data.labels is None:
            raise ConfigError(f"{self.name} needs labelled images (e.g. --bundle mnist)")
        seed, _ = seed_and_batch(context)
        report = model.compression_report(data, seed=seed)
        settings = {**model.evaluation_settings(), "data": data.describe()}
        return self.make_score(self.value(report), n=len(data), settings=settings, details=asdict(report))

    @abstractmethod
    def value(self, report: CompressionReport) -> float: ...


class CompressionRatio(_CompressionMetric):
    name = "compression-ratio"
    direction: ClassVar[Direction] = "higher"
    description = "parameters / latent-code floats (the decoder not counted, as the paper)"

    def value(self, report: CompressionReport) -> float:
        return report.parameters / report.code_floats


class CompressionRatioTotal(_CompressionMetric):
    name = "compression-ratio-total"
    direction: ClassVar[Direction] = "higher"
    description = "parameters / (latent-code floats + decoder parameters)"

    def value(self, report: CompressionReport) -> float:
        return report.parameters / (report.code_floats + report.decoder_parameters)


class AccuracyDrop(_CompressionMetric):
    name = "accuracy-drop"
    direction: ClassVar[Direction] = "lower"
    description = "accuracy of the original minus the decoded network (controls in details)"

    def value(self, report: CompressionReport) -> float:
        return report.accuracy_original - report.accuracy_reconstructed
