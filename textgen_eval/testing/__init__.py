"""Contract test suites shipped for plugin authors.

Subclass :class:`MetricContract` / :class:`GeneratorContract` / :class:`ImageModelContract` in
your test module (pytest collects them) or call :func:`check_metric` / :func:`check_generator`
directly; see docs/plugins.md.
"""

from textgen_eval.testing.generator_contract import GENERATOR_CHECKS, GeneratorContract, check_generator
from textgen_eval.testing.image_contract import IMAGE_CHECKS, ImageModelContract
from textgen_eval.testing.metric_contract import CONTRACT_CHECKS, MetricContract, check_metric

__all__ = [
    "CONTRACT_CHECKS",
    "GENERATOR_CHECKS",
    "IMAGE_CHECKS",
    "GeneratorContract",
    "ImageModelContract",
    "MetricContract",
    "check_generator",
    "check_metric",
]
