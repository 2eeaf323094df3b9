"""The metric plugin API: :class:`Metric` and the :class:`Score` it returns.

A metric is a small class with class attributes ``name`` (kebab-case), ``direction``
(``"higher"`` or ``"lower"`` is better) and ``description``, and one method::

    def compute(self, samples, references=None, **context) -> Score

``samples`` and ``references`` are sequences of sentences (``str``). ``context`` carries shared
evaluation settings (``tokenizer``, ``lowercase``, ``preset``, ``tables`` ...); a metric uses
what it needs and must accept and ignore the rest. Metrics whose name takes an n-gram order
(``bleu-4``) set ``ordered = True`` and are registered under the stem (``bleu``).
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn

from textgen_eval.core.errors import ConfigError, PluginError
from textgen_eval.core.signature import make_signature

if TYPE_CHECKING:  # pragma: no cover
    from textgen_eval.metrics.bootstrap import Resample

Direction = Literal["higher", "lower"]
DIRECTIONS: tuple[str, ...] = ("higher", "lower")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Score:
    """One number with everything needed to reproduce and compare it.

    Attributes:
        name: metric name, e.g. ``bleu-4``.
        value: the score.
        direction: ``"higher"`` or ``"lower"`` is better.
        n: number of samples the value is computed over.
        signature: every setting that changes the value (equal signatures ⇒ comparable).
        details: extra numbers (e.g. totals, ratios, standard deviations); JSON-serialisable.
        resample: how to recompute the value on resampled items, for bootstrap intervals
            (:mod:`textgen_eval.metrics.bootstrap`); ``None`` when the metric is not a mean over
            items (or its recomputation is too costly). Never serialised, never compared.
    """

    name: str
    value: float
    direction: Direction
    n: int
    signature: str
    details: Mapping[str, Any] = field(default_factory=dict)
    resample: Resample | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "direction": self.direction,
            "n": self.n,
            "signature": self.signature,
            "details": dict(self.details),
        }

    @property
    def arrow(self) -> str:
        return "↑" if self.direction == "higher" else "↓"


#: The largest n-gram order of bleu-N, self-bleu-N and unique-ngrams-N (docs/metrics.md).
MAX_NGRAM_ORDER = 100


class MetricBase(ABC):
    """What every metric has, whatever it scores: a name, a direction, an optional order, a
    modality, and :meth:`make_score`. Subclass :class:`Metric` (text samples) or
    :class:`ModelMetric` (image models), not this."""

    #: Kebab-case name; for ``ordered`` metrics the stem ("bleu" for bleu-1, bleu-2, ...).
    name: str
    #: Whether higher or lower values are better.
    direction: ClassVar[Direction]
    #: What the metric scores: ``text`` samples or an ``image`` model.
    modality: ClassVar[str] = "text"
    #: One line for ``tge metrics list``.
    description: ClassVar[str] = ""
    #: Optional citation of the paper that defines the metric.
    citation: ClassVar[str] = ""
    #: Whether :meth:`compute` needs ``references``.
    needs_references: ClassVar[bool] = False
    #: Whether :meth:`compute` needs ``context["resources"]`` (reference LM, featurizers, ...).
    needs_resources: ClassVar[bool] = False
    #: Whether :meth:`compute` needs ``context["oracle"]``: the synthetic oracle of the bundle
    #: (:class:`~textgen_eval.data.bundle_meta.BundleOracle`; ``nll-oracle``).
    needs_oracle: ClassVar[bool] = False
    #: Whether the metric takes an integer order: registered as ``name``, used as ``name-N``.
    ordered: ClassVar[bool] = False
    #: The largest order accepted (an n-gram order beyond any sentence's length only costs time).
    max_order: ClassVar[int] = MAX_NGRAM_ORDER

    def __init__(self, order: int | None = None) -> None:
        cls = type(self)
        if cls.ordered:
            if order is None:
                raise ConfigError(f"metric '{cls.name}-N' needs an order, e.g. '{cls.name}-4'")
            if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= cls.max_order:
                limit = cls.max_order
                raise ConfigError(
                    f"invalid order {order!r} for '{cls.name}-N': expected an integer from 1 to {limit}"
                )
            self.order = order
            self.name = f"{cls.name}-{order}"
        elif order is not None:
            raise ConfigError(f"metric {cls.name!r} takes no order (got {order!r})")

    def make_score(
        self,
        value: float,
        *,
        n: int,
        settings: Mapping[str, object],
        details: Mapping[str, Any] | None = None,
        resample: Resample | None = None,
    ) -> Score:
        """Build a :class:`Score` whose signature is ``name|settings...|v:version``."""
        return Score(
            name=self.name,
            value=value,
            direction=type(self).direction,
            n=n,
            signature=make_signature(self.name, settings),
            details=dict(details or {}),
            resample=resample,
        )

    def __repr__(self) -> str:
        return f"<metric {self.name}>"


class Metric(MetricBase):
    """Base class of every text metric, built-in or plugin.

    Subclasses set the class attributes below and implement :meth:`compute`.
    """

    modality: ClassVar[str] = "text"

    @abstractmethod
    def compute(
        self, samples: Sequence[str], references: Sequence[str] | None = None, **context: Any
    ) -> Score:
        """Score ``samples`` (against ``references`` where the metric needs them)."""


class ModelMetric(MetricBase):
    """Base class of metrics that score a trained image model on an image split
    (``nll-iw-K``, ``active-units-kl``, …): ``compute(model, data, **context)``.

    ``model`` implements :class:`~textgen_eval.core.protocols.LatentVariableModel`; ``data`` is an
    :class:`~textgen_eval.data.images.ImageSplit` (the images scored, already subset and binarized);
    ``context`` carries ``seed`` and ``batch_size`` and must be accepted and ignored otherwise.
    """

    modality: ClassVar[str] = "image"

    @abstractmethod
    def compute(self, model: Any, data: Any, **context: Any) -> Score:
        """Score ``model`` on ``data``."""


def seed_and_batch(context: Mapping[str, Any], default_batch: int = 500) -> tuple[int, int]:
    """``seed`` and ``batch_size`` of a model metric's context (defaults 0 and ``default_batch``)."""
    seed, batch_size = int(context.get("seed", 0)), int(context.get("batch_size", default_batch))
    if batch_size < 1:
        raise ConfigError(f"batch_size must be ≥ 1, got {batch_size}")
    return seed, batch_size


def check_metric_class(cls: object, *, origin: str) -> type[MetricBase]:
    """Validate a class loaded from a plugin; errors name the plugin."""
    if not (isinstance(cls, type) and issubclass(cls, (Metric, ModelMetric))):
        raise_plugin(
            origin,
            f"is {cls!r}, expected a subclass of textgen_eval.metrics.Metric "
            "(or ModelMetric for image models)",
        )
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise_plugin(origin, f"has name {name!r}, expected a kebab-case string such as 'my-metric'")
    if getattr(cls, "direction", None) not in DIRECTIONS:
        raise_plugin(
            origin, f"has direction {getattr(cls, 'direction', None)!r}, expected 'higher' or 'lower'"
        )
    return cls


def raise_plugin(origin: str, message: str) -> NoReturn:
    raise PluginError(f"metric plugin {origin} {message}")


def is_finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
