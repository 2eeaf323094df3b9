"""Metrics: the plugin API (:class:`Metric`, :class:`Score`), the registry and the built-ins.

Importing this package loads only the API and the registry; built-in metric modules (NumPy) and
plugins load when a metric is resolved.
"""

from textgen_eval.metrics.base import Direction, Metric, ModelMetric, Score
from textgen_eval.metrics.registry import (
    ENTRY_POINT_GROUP,
    describe_metrics,
    load_plugin,
    metric_registry,
    resolve_metric,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Direction",
    "Metric",
    "ModelMetric",
    "Score",
    "describe_metrics",
    "frechet_distance",
    "load_plugin",
    "metric_registry",
    "resolve_metric",
]


def __getattr__(name: str) -> object:
    # NumPy-backed helpers load on first use, so importing the package stays light.
    if name == "frechet_distance":
        from textgen_eval.metrics.frechet import frechet_distance

        return frechet_distance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
