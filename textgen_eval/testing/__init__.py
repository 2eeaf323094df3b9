"""Contract test suites shipped for plugin authors.

Subclass :class:`MetricContract` in your test module (pytest collects it) or call
:func:`check_metric` directly; see docs/plugins.md.
"""

from textgen_eval.testing.metric_contract import CONTRACT_CHECKS, MetricContract, check_metric

__all__ = ["CONTRACT_CHECKS", "MetricContract", "check_metric"]
