"""The metric registry: built-ins (lazy), installed plugins (entry points), ``--plugin`` loads.

Ordered metrics are registered under their stem and resolved from ``stem-N``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from textgen_eval.core.errors import ConfigError, PluginError, UnknownNameError
from textgen_eval.core.registry import BUILTIN, Registry, load_object
from textgen_eval.metrics.base import Direction, Metric, MetricBase, ModelMetric, check_metric_class

ENTRY_POINT_GROUP = "textgen_eval.metrics"

metric_registry: Registry[type[MetricBase]] = Registry("metric", group=ENTRY_POINT_GROUP)
metric_registry.register("bleu", "textgen_eval.metrics.bleu:Bleu")
metric_registry.register("self-bleu", "textgen_eval.metrics.bleu:SelfBleu")
metric_registry.register("unique-ngrams", "textgen_eval.metrics.unique:UniqueNgrams")
metric_registry.register("fd", "textgen_eval.metrics.model_based:FrechetDistance")
metric_registry.register("fd-inf", "textgen_eval.metrics.model_based:FrechetDistanceInfinity")
metric_registry.register("lm-score", "textgen_eval.metrics.model_based:LMScore")
metric_registry.register("reverse-lm-score", "textgen_eval.metrics.model_based:ReverseLMScore")
metric_registry.register("knn-precision", "textgen_eval.metrics.distribution:KnnPrecision")
metric_registry.register("knn-recall", "textgen_eval.metrics.distribution:KnnRecall")
metric_registry.register("mauve", "textgen_eval.metrics.distribution:Mauve")
metric_registry.register("nll-oracle", "textgen_eval.metrics.oracle:NLLOracle")
metric_registry.register("copy-rate", "textgen_eval.metrics.memorization:CopyRate")
metric_registry.register("novel-ngrams", "textgen_eval.metrics.memorization:NovelNgrams")
metric_registry.register("train-bleu", "textgen_eval.metrics.memorization:TrainBleu")
metric_registry.register("neg-elbo", "textgen_eval.metrics.image:NegElbo")
metric_registry.register("nll-iw", "textgen_eval.metrics.image:ImportanceWeightedNLL")
metric_registry.register("active-units-kl", "textgen_eval.metrics.image:ActiveUnitsKL")
metric_registry.register("active-units-cov", "textgen_eval.metrics.image:ActiveUnitsCov")
metric_registry.register("kl-per-layer", "textgen_eval.metrics.image:KLPerLayer")
metric_registry.register("weight-kl", "textgen_eval.metrics.image:WeightKL")
metric_registry.register("accuracy", "textgen_eval.metrics.classifier:Accuracy")
metric_registry.register("nll-pred", "textgen_eval.metrics.classifier:PredictiveNLL")
metric_registry.register("ece", "textgen_eval.metrics.classifier:ExpectedCalibrationError")
metric_registry.register("brier", "textgen_eval.metrics.classifier:Brier")
metric_registry.register("shift-entropy", "textgen_eval.metrics.classifier:ShiftEntropy")
metric_registry.register("compression-ratio", "textgen_eval.metrics.compression:CompressionRatio")
metric_registry.register("compression-ratio-total", "textgen_eval.metrics.compression:CompressionRatioTotal")
metric_registry.register("accuracy-drop", "textgen_eval.metrics.compression:AccuracyDrop")

_ORDERED = re.compile(r"^(?P<stem>.+?)-(?P<order>-?\d+)$")


def metric_class(stem: str) -> type[MetricBase]:
    """The class registered under ``stem``, validated (plugin errors name the plugin)."""
    entry = metric_registry.entry(stem)
    origin = entry.origin if entry.origin != BUILTIN else f"built-in {stem!r}"
    cls = check_metric_class(
        entry.load(), origin=f"{origin} ({entry.target if isinstance(entry.target, str) else stem})"
    )
    if cls.name != stem:
        raise PluginError(
            f"metric plugin {entry.origin} is registered as {stem!r} but its class says name = {cls.name!r}"
        )
    return cls


def load_plugin(spec: str) -> type[MetricBase]:
    """Load ``module:attr`` (a Metric subclass that is not installed) and register it."""
    cls = check_metric_class(load_object(spec), origin=f"--plugin {spec}")
    metric_registry.register(cls.name, cls, origin=f"--plugin {spec}")
    return cls


def plugin_provenance(cls: type[MetricBase]) -> str | None:
    """What a plugin metric's scores must name (issue 35, item 8): ``DIST==VERSION`` for one
    installed through an entry point, ``MODULE:ATTR@DIGEST`` (the digest of its source file) for one
    loaded with ``--plugin``; ``None`` for the package's own metrics, whose ``v:`` field is the
    package version."""
    import inspect

    from textgen_eval.core.hashing import file_digest

    try:
        origin = metric_registry.entry(cls.name).origin
    except UnknownNameError:  # an unregistered class (a test double): nothing to name
        return None
    if origin.startswith("plugin "):
        parts = origin.split()
        return f"{parts[1]}=={parts[2]}" if len(parts) == 3 else origin.removeprefix("plugin ")
    if origin.startswith("--plugin "):
        spec = origin.removeprefix("--plugin ")
        try:
            source = inspect.getsourcefile(cls)
        except TypeError:
            source = None
        return f"{spec}@{file_digest(source, 8)}" if source else spec
    return None


def display_name(cls: type[MetricBase]) -> str:
    return f"{cls.name}-N" if cls.ordered else cls.name


def resolve_metric(name: str) -> Metric:
    """A text metric for ``name`` (``bleu-4``, ``self-bleu-2``, ``my-plugin-metric``)."""
    metric = resolve_any_metric(name)
    if not isinstance(metric, Metric):
        raise ConfigError(
            f"metric {name!r} scores {type(metric).modality} models, not text samples "
            "(see the modality column of `tge metrics list`)"
        )
    return metric


def resolve_model_metric(name: str) -> ModelMetric:
    """An image-model metric for ``name`` (``nll-iw-1000``, ``active-units-kl``)."""
    metric = resolve_any_metric(name)
    if not isinstance(metric, ModelMetric):
        raise ConfigError(
            f"metric {name!r} scores text samples, not image models "
            "(see the modality column of `tge metrics list`)"
        )
    return metric


def resolve_any_metric(name: str) -> MetricBase:
    """An instance of the metric ``name`` of any modality."""
    name = name.strip()
    if name in metric_registry:
        cls = metric_class(name)
        if cls.ordered:
            raise ConfigError(f"metric {name!r} needs an order: use '{name}-N' with N ≥ 1, e.g. '{name}-4'")
        return cls()
    match = _ORDERED.match(name)
    if match and match["stem"] in metric_registry:
        cls = metric_class(match["stem"])
        if not cls.ordered:
            raise ConfigError(f"metric {cls.name!r} takes no order (got {name!r})")
        digits = match["order"].lstrip("0") or "0"
        if len(digits) > len(str(cls.max_order)) or not 1 <= int(digits) <= cls.max_order:
            raise ConfigError(
                f"invalid metric {name!r}: the order must be an integer from 1 to {cls.max_order} "
                f"(e.g. '{cls.name}-4')"
            )
        return cls(order=int(digits))
    examples = []
    for stem in metric_registry.names():
        examples.extend([f"{stem}-{k}" for k in (1, 2, 3, 4, 5)] if _is_ordered(stem) else [stem])
    known = ", ".join(f"{s}-N" if _is_ordered(s) else s for s in metric_registry.names())
    raise UnknownNameError(
        metric_registry.unknown_message(name, examples, f"{known}; see `tge metrics list`")
    )


def _is_ordered(stem: str) -> bool:
    try:
        return metric_class(stem).ordered
    except PluginError:
        return False


@dataclass(frozen=True)
class MetricInfo:
    name: str
    direction: Direction
    description: str
    origin: str
    needs_references: bool
    modality: str = "text"


def describe_metrics() -> list[MetricInfo]:
    """Every registered metric (plugins are imported to read their attributes)."""
    out = []
    for entry in metric_registry.entries():
        cls = metric_class(entry.name)
        out.append(
            MetricInfo(
                display_name(cls),
                cls.direction,
                cls.description,
                entry.origin,
                cls.needs_references,
                cls.modality,
            )
        )
    return out
