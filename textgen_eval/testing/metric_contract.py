"""The contract every metric (built-in or plugin) must satisfy.

Each check is a function ``check_x(factory, samples, references)`` that raises
``AssertionError`` with a message saying what was expected. :class:`MetricContract` exposes them
as pytest test methods; :func:`check_metric` runs them all.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from textgen_eval.metrics.base import DIRECTIONS, NAME_PATTERN, Metric, Score

#: Real-looking default inputs (with a duplicate and an empty sample, which metrics must handle).
DEFAULT_SAMPLES: tuple[str, ...] = (
    "a man riding a wave on top of a surfboard .",
    "a plate of food with broccoli and rice .",
    "a cat sitting on a laptop keyboard .",
    "a man riding a wave on top of a surfboard .",
    "two giraffes standing next to a tree",
    "",
    "a red double decker bus on a city street",
    "a kitchen with a stove and a refrigerator",
)
DEFAULT_REFERENCES: tuple[str, ...] = (
    "a surfer riding a large wave in the ocean .",
    "a plate with broccoli , rice and chicken .",
    "a cat laying on the keyboard of a laptop .",
    "two giraffes eating leaves from a tall tree",
    "a double decker bus driving down the street",
    "a small kitchen with a white refrigerator",
)

Factory = Callable[[], Metric]
Check = Callable[..., None]  # (factory, samples, references, **context) -> None


def _compute(metric: Metric, samples: Sequence[str], references: Sequence[str], **context: Any) -> Score:
    return metric.compute(samples, references if type(metric).needs_references else None, **context)


def check_class_attributes(
    factory: Factory, samples: Sequence[str], references: Sequence[str], **context: Any
) -> None:
    metric = factory()
    cls = type(metric)
    assert isinstance(metric, Metric), f"{cls!r} must subclass textgen_eval.metrics.Metric"
    assert isinstance(cls.name, str) and NAME_PATTERN.match(cls.name), (
        f"{cls.__name__}.name must be kebab-case like 'my-metric', got {cls.name!r}"
    )
    assert cls.direction in DIRECTIONS, (
        f"{cls.__name__}.direction must be 'higher' or 'lower', got {cls.direction!r}"
    )
    assert isinstance(cls.description, str) and cls.description.strip(), (
        f"{cls.__name__}.description must be a non-empty string"
    )


def check_returns_score(
    factory: Factory, samples: Sequence[str], references: Sequence[str], **context: Any
) -> None:
    metric = factory()
    score = _compute(metric, samples, references, **context)
    assert isinstance(score, Score), (
        f"compute() must return textgen_eval.metrics.Score, got {type(score).__name__}"
    )
    assert score.name == metric.name, f"Score.name must be {metric.name!r}, got {score.name!r}"
    assert score.direction == type(metric).direction, (
        f"Score.direction must be {type(metric).direction!r}, got {score.direction!r}"
    )
    assert isinstance(score.value, (int, float)) and not isinstance(score.value, bool), (
        f"Score.value must be a number, got {type(score.value).__name__}"
    )
    assert math.isfinite(score.value), f"Score.value must be finite, got {score.value!r}"
    assert isinstance(score.n, int) and 0 < score.n <= len(samples), (
        f"Score.n must be the number of samples scored (1..{len(samples)}), got {score.n!r}"
    )


def check_signature(
    factory: Factory, samples: Sequence[str], references: Sequence[str], **context: Any
) -> None:
    metric = factory()
    score = _compute(metric, samples, references, **context)
    assert isinstance(score.signature, str), "Score.signature must be a string"
    assert score.signature.split("|")[0] == metric.name, (
        f"Score.signature must start with the metric name {metric.name!r}, got {score.signature!r}"
    )
    assert re.search(r"\|v:[^|]+$", score.signature), (
        f"Score.signature must end with '|v:VERSION', got {score.signature!r}"
    )


def check_details_json(
    factory: Factory, samples: Sequence[str], references: Sequence[str], **context: Any
) -> None:
    score = _compute(factory(), samples, references, **context)
    try:
        json.dumps(score.to_dict())
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"Score.details must be JSON-serialisable: {exc}") from None


def check_deterministic(
    factory: Factory, samples: Sequence[str], references: Sequence[str], **context: Any
) -> None:
    first = _compute(factory(), samples, references, **context)
    second = _compute(factory(), samples, references, **context)
    assert first.value == second.value, (
        f"two runs gave {first.value!r} and {second.value!r}; metrics must be deterministic"
    )
    assert first.signature == second.signature, "two runs gave different signatures"


def check_ignores_unknown_context(
    factory: Factory, samples: Sequence[str], references: Sequence[str], **context: Any
) -> None:
    plain = _compute(factory(), samples, references, **context)
    extra = _compute(factory(), samples, references, **context, unknown_future_option=123)
    assert plain.value == extra.value, "compute() must accept and ignore unknown context keywords"


def check_input_types(
    factory: Factory, samples: Sequence[str], references: Sequence[str], **context: Any
) -> None:
    as_list = _compute(factory(), list(samples), list(references), **context)
    as_tuple = _compute(factory(), tuple(samples), tuple(references), **context)
    assert as_list.value == as_tuple.value, "the value must not depend on the sequence type (list vs tuple)"


def check_does_not_mutate(
    factory: Factory, samples: Sequence[str], references: Sequence[str], **context: Any
) -> None:
    s, r = list(samples), list(references)
    _compute(factory(), s, r, **context)
    assert s == list(samples), "compute() must not modify the samples"
    assert r == list(references), "compute() must not modify the references"


CONTRACT_CHECKS: dict[str, Check] = {
    "class_attributes": check_class_attributes,
    "returns_score": check_returns_score,
    "signature": check_signature,
    "details_json": check_details_json,
    "deterministic": check_deterministic,
    "ignores_unknown_context": check_ignores_unknown_context,
    "input_types": check_input_types,
    "does_not_mutate": check_does_not_mutate,
}


def check_metric(
    factory: Factory,
    samples: Sequence[str] = DEFAULT_SAMPLES,
    references: Sequence[str] = DEFAULT_REFERENCES,
    **context: Any,
) -> None:
    """Run every contract check; ``factory()`` returns a fresh metric instance. ``context``
    is passed to ``compute`` (e.g. ``resources=`` for model-based metrics)."""
    for check in CONTRACT_CHECKS.values():
        check(factory, samples, references, **context)


class MetricContract:
    """Subclass as ``class TestMyMetric(MetricContract): metric_class = MyMetric``.

    Set ``order`` for ordered metrics, and ``samples`` / ``references`` for inputs your metric
    needs (the defaults are short English captions with a duplicate and an empty sample).
    """

    metric_class: ClassVar[type[Metric]]
    order: ClassVar[int | None] = None
    samples: ClassVar[Sequence[str]] = DEFAULT_SAMPLES
    references: ClassVar[Sequence[str]] = DEFAULT_REFERENCES

    def context(self) -> dict[str, Any]:
        """Keyword context passed to ``compute`` (override to supply ``resources`` etc.)."""
        return {}

    def make_metric(self) -> Metric:
        return self.metric_class(order=self.order) if self.order is not None else self.metric_class()

    def _run(self, name: str) -> None:
        CONTRACT_CHECKS[name](self.make_metric, self.samples, self.references, **self.context())

    def test_class_attributes(self) -> None:
        self._run("class_attributes")

    def test_returns_score(self) -> None:
        self._run("returns_score")

    def test_signature(self) -> None:
        self._run("signature")

    def test_details_json(self) -> None:
        self._run("details_json")

    def test_deterministic(self) -> None:
        self._run("deterministic")

    def test_ignores_unknown_context(self) -> None:
        self._run("ignores_unknown_context")

    def test_input_types(self) -> None:
        self._run("input_types")

    def test_does_not_mutate(self) -> None:
        self._run("does_not_mutate")
