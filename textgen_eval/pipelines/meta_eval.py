"""``tge meta-eval``: test the metrics themselves (Semeniuta 2019, §5.6.3, Fig. 5.9).

Held-out real text is degraded in controlled ways (:mod:`textgen_eval.data.degrade`) and every
metric is scored at every level and seed; a metric *detects* a degradation when its value gets
worse with the level: Spearman's ρ between level and value, taken over all levels and seeds and
signed so that positive means "worse", is at least :data:`DETECTS`. A plugin metric gets the same
test as a built-in one.

The bundle's test split is halved: its even lines (0, 2, …) are the references every point is
scored against, its odd lines the pool the degraded sets are drawn from, so no point is scored
against itself and the reference LM (trained on the training split) has seen neither half.
Every point is appended to ``OUT/points.jsonl`` as it is done, so an interrupted run continues
where it stopped when the same command is given again.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.files import atomic_write_text
from textgen_eval.core.hashing import file_digest
from textgen_eval.core.signature import SEED_FIELDS, parse_signature
from textgen_eval.data.bundles import bundle_reference, resolve_bundle
from textgen_eval.data.degrade import DEFAULT_RATES, TEXT_DEGRADATIONS, Degraded, degrade, remove_topics
from textgen_eval.data.readers import read_file
from textgen_eval.data.textset import TextSet
from textgen_eval.metrics.base import Score
from textgen_eval.metrics.mauve_math import kmeans
from textgen_eval.pipelines.evaluate import evaluate, recipes_with
from textgen_eval.pipelines.resources import ReferenceResources

DEGRADATIONS: tuple[str, ...] = ("topics", *TEXT_DEGRADATIONS)
#: The fast metrics of Fig. 5.9 plus the distribution metrics; add reverse-lm-score with -m.
DEFAULT_METRICS: tuple[str, ...] = (
    "bleu-4",
    "self-bleu-4",
    "unique-ngrams-4",
    "fd",
    "lm-score",
    "knn-precision",
    "knn-recall",
    "mauve",
)
#: Signed Spearman ρ (positive = worse with the level) at or above which a metric "detects".
DETECTS = 0.8
#: The featurizer whose k-means clusters are the topics when no ``--labels`` are given. Fixed, not
#: the featurizer under test: clusters drawn in the tested featurizer's own space would favour it
#: (its topic removal is by construction a move in its own geometry). A bag of words stands for
#: "what the sentences are about" with no trained model in the loop.
DEFAULT_TOPIC_FEATURIZER = "lsa"
SPEC_FILE = "meta-eval-spec.json"
TOPICS_FILE = "topics.json"
POINTS_FILE = "points.jsonl"


@dataclass(frozen=True)
class MetaEvalSpec:
    """Everything that changes the numbers of a meta-evaluation (kept in ``OUT/meta-eval-spec.json``)."""

    bundle: str
    metrics: tuple[str, ...] = DEFAULT_METRICS
    degradations: tuple[str, ...] = DEGRADATIONS
    rates: tuple[float, ...] = DEFAULT_RATES
    seeds: int = 3
    n: int = 500
    topics: int = 10
    labels: str | None = None
    labels_digest: str | None = None
    featurizer: str | None = None
    seed: int = 0
    recipe: dict[str, str] = field(default_factory=dict)
    #: Embeddings of the k-means topic clusters (None with ``labels``).
    topic_featurizer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


@dataclass(frozen=True)
class Point:
    """The metric values of one degraded set."""

    degradation: str
    level: float
    level_index: int
    seed: int
    values: dict[str, float]
    signatures: dict[str, str]
    redrawn: int = 0
    removed: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.degradation, self.level_index, self.seed)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Point:
        return cls(**{**payload, "removed": tuple(payload.get("removed", ()))})


@dataclass(frozen=True)
class Verdict:
    """How one metric responds to one degradation."""

    metric: str
    degradation: str
    direction: str
    rho: float
    monotone_seeds: int
    seeds: int
    verdict: str
    means: list[float]
    levels: list[float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def signed_rho(levels: Sequence[float], values: Sequence[float], direction: str) -> float:
    """Spearman's ρ of value with level, signed so that +1 means "worse as the level rises"."""
    from scipy.stats import spearmanr

    v = np.asarray(values, dtype=np.float64)
    if len(set(levels)) < 2 or np.ptp(v) == 0 or not np.isfinite(v).all():
        return 0.0
    rho = float(spearmanr(levels, v).statistic)
    return -rho if direction == "higher" else rho


def verdict_of(rho: float) -> str:
    if rho >= DETECTS:
        return "detects"
    if rho <= -DETECTS:
        return "inverted"
    return "blind"


def analyse(points: Sequence[Point], directions: dict[str, str]) -> list[Verdict]:
    """One verdict per (metric, degradation): signed ρ over all points, and per-seed monotonicity."""
    out = []
    for degradation in dict.fromkeys(p.degradation for p in points):
        chosen = [p for p in points if p.degradation == degradation]
        levels = sorted({p.level for p in chosen})
        seeds = sorted({p.seed for p in chosen})
        for metric, direction in directions.items():
            xs = [p.level for p in chosen]
            ys = [p.values[metric] for p in chosen]
            rho = signed_rho(xs, ys, direction)
            sign = -1.0 if direction == "higher" else 1.0
            monotone = 0
            for seed in seeds:
                series = [
                    sign * p.values[metric]
                    for lv in levels
                    for p in chosen
                    if p.seed == seed and p.level == lv
                ]
                monotone += int(
                    len(series) == len(levels) and all(b > a for a, b in itertools.pairwise(series))
                )
            means = [float(np.mean([p.values[metric] for p in chosen if p.level == lv])) for lv in levels]
            out.append(
                Verdict(
                    metric, degradation, direction, rho, monotone, len(seeds), verdict_of(rho), means, levels
                )
            )
    return out


class MetaEvaluation:
    """One meta-evaluation run in ``out`` (resumable)."""

    def __init__(self, spec: MetaEvalSpec, out: Path, *, progress: bool = False) -> None:
        self.spec = spec
        self.out = out
        self.progress = progress
        self.notes: list[str] = []
        self.resources = ReferenceResources(
            resolve_bundle(spec.bundle), progress=progress, notes=self.notes, **recipes_with(spec.recipe)
        )
        test = list(self.resources.texts.test)
        if len(test) < 4:
            raise InputError(f"--bundle {spec.bundle}: the test split needs at least 4 sentences")
        name = self.resources.bundle.name
        self.references = TextSet(test[0::2], source=f"{name}/test[even]", label=f"meta:{name}/test[even]")
        self.pool = test[1::2]
        if spec.n > len(self.pool):
            raise ConfigError(
                f"--n {spec.n}: the pool (the odd lines of {name}'s test split) has "
                f"{len(self.pool)} sentences"
            )

    # -- the points --------------------------------------------------------------------------

    def topic_labels(self) -> list[str]:
        """The pool's topic of each sentence: ``--labels`` (odd lines), or k-means clusters of the
        ``topic_featurizer``'s unit-normalised embeddings (cosine k-means, seeded)."""
        spec = self.spec
        if spec.labels is not None:
            labels = read_file(Path(spec.labels), option="--labels")
            test_size = 2 * len(self.pool) + (1 if len(self.references) > len(self.pool) else 0)
            if len(labels) != test_size:
                raise InputError(
                    f"--labels {spec.labels}: {len(labels)} lines, but the test split has {test_size}; "
                    "give one label per test sentence"
                )
            return labels[1::2]
        features = self.resources.featurizer(spec.topic_featurizer).features(self.pool, role="samples")
        unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        assignments, _ = kmeans(unit, spec.topics, seed=spec.seed, redo=3)
        return [f"cluster-{int(c)}" for c in assignments]

    def check_topics(self, labels: Sequence[str]) -> None:
        """Record the topics in ``OUT/topics.json`` (their digest, and the clustering featurizer's
        signature); a resumed run whose topics came out differently — the featurizer was retrained
        or its code changed — is refused rather than mixing two clusterings."""
        from textgen_eval.core.hashing import text_digest

        spec = self.spec
        record = {
            "labels_digest": text_digest(labels),
            "topic_featurizer": None
            if spec.topic_featurizer is None
            else self.resources.featurizer(spec.topic_featurizer).signature,
        }
        path = self.out / TOPICS_FILE
        if path.is_file():
            old = json.loads(path.read_text(encoding="utf-8"))
            if old != record:
                raise ConfigError(
                    f"{self.out}: its points were scored with other topics ({old}, now {record}): the "
                    "topic featurizer changed since the run started; start a new --out"
                )
            return
        atomic_write_text(path, json.dumps(record, indent=2) + "\n")

    def plan(self, labels: Sequence[str] | None) -> list[tuple[str, float, int, int]]:
        """Every (degradation, level, level index, seed) to score, in order."""
        spec = self.spec
        plan = []
        for name in spec.degradations:
            if name == "topics":
                assert labels is not None
                levels: Sequence[float] = [float(k) for k in range(len(set(labels)))]
            else:
                levels = spec.rates
            for index, level in enumerate(levels):
                for s in range(spec.seeds):
                    plan.append((name, float(level), index, spec.seed + s))
        return plan

    def degraded(
        self, name: str, level: float, index: int, seed: int, labels: Sequence[str] | None
    ) -> Degraded:
        if name == "topics":
            assert labels is not None
            return remove_topics(self.pool, labels, int(level), self.spec.n, seed, index)
        return degrade(name, self.pool, level, n=self.spec.n, seed=seed, level_index=index)

    def score(self, texts: Sequence[str], seed: int) -> list[Score]:
        result = evaluate(
            list(texts),
            self.references,
            metrics=list(self.spec.metrics),
            featurizer=self.spec.featurizer,
            seed=seed,
            resources=self.resources,
            fd_se_resamples=0,  # only values enter the verdicts; FD's own SE would cost 50 FDs a point
        )
        return result.scores

    def run(self, notify: Callable[[str], None] | None = None) -> list[Point]:
        """Score every point not yet in ``points.jsonl``; return all points in plan order."""
        done = {p.key: p for p in read_points(self.out)}
        drop_cut_line(self.out)
        labels = self.topic_labels() if "topics" in self.spec.degradations else None
        if labels is not None:
            self.check_topics(labels)
        plan = self.plan(labels)
        todo = [item for item in plan if (item[0], item[2], item[3]) not in done]
        if done and notify is not None:
            notify(f"{len(done)} of {len(plan)} points already scored in {self.out}; scoring {len(todo)}")
        bar = _bar(len(todo), self.progress)
        try:
            for name, level, index, seed in todo:
                degraded = self.degraded(name, level, index, seed, labels)
                scores = self.score(degraded.texts, seed)
                point = Point(
                    name,
                    level,
                    index,
                    seed,
                    {s.name: s.value for s in scores},
                    {s.name: s.signature for s in scores},
                    degraded.redrawn,
                    degraded.removed,
                )
                if done:
                    check_same_scorers(self.out, next(iter(done.values())), point)
                append_point(self.out, point)
                done[point.key] = point
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        return [done[(name, index, seed)] for name, _, index, seed in plan]

    def directions(self, points: Sequence[Point]) -> dict[str, str]:
        from textgen_eval.metrics.registry import resolve_metric

        names = list(points[0].values) if points else []
        return {name: type(resolve_metric(name)).direction for name in names}


def _bar(total: int, progress: bool) -> Any:
    if not progress or total == 0:
        return None
    import sys

    from tqdm.auto import tqdm

    return tqdm(total=total, desc="meta-eval", unit="point", file=sys.stderr)


def check_same_scorers(out: Path, old: Point, new: Point) -> None:
    """Refuse a point whose metrics were computed differently from the run's earlier points: its
    signatures may differ from theirs only in the seed fields (``seed``, ``sub``). Catches what the
    spec cannot: a featurizer or reference LM retrained or changed between two invocations."""

    def fixed(signature: str) -> tuple[str, dict[str, str]]:
        name, fields = parse_signature(signature)
        return name, {k: v for k, v in fields.items() if k not in SEED_FIELDS}

    for metric, signature in new.signatures.items():
        before = old.signatures.get(metric)
        if before is not None and fixed(before) != fixed(signature):
            raise ConfigError(
                f"{out}: {metric} is now computed as {signature}, its earlier points as {before}: a "
                "featurizer or reference model changed since the run started; start a new --out"
            )


def read_points(out: Path) -> list[Point]:
    path = out / POINTS_FILE
    if not path.is_file():
        return []
    points = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            points.append(Point.from_dict(json.loads(line)))
        except (ValueError, TypeError, KeyError):
            if number == len(lines):
                continue  # a line cut by a crash: redone
            raise InputError(f"{path}: line {number}: not a meta-eval point") from None
    return points


def drop_cut_line(out: Path) -> None:
    """Truncate ``points.jsonl`` after its last complete line: a line cut by a crash is redone, and
    the next point must not be appended to its fragment."""
    path = out / POINTS_FILE
    if not path.is_file():
        return
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep < len(data):
        with open(path, "r+b") as handle:
            handle.truncate(keep)
            os.fsync(handle.fileno())


def append_point(out: Path, point: Point) -> None:
    """One JSON line, flushed and synced: a crash loses at most the point being scored."""
    with open(out / POINTS_FILE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(point)) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def prepare_out(out: Path, spec: MetaEvalSpec) -> None:
    """Create ``out`` with the spec, or check that an existing run has the same spec."""
    path = out / SPEC_FILE
    payload = spec.to_dict()
    if path.is_file() and not read_points(out):
        # A spec with no point scored (the run failed before its first point) holds no work:
        # the new settings replace it, and a line cut by that crash goes with it.
        (out / POINTS_FILE).unlink(missing_ok=True)
        (out / TOPICS_FILE).unlink(missing_ok=True)
        path.unlink()
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            raise InputError(f"{path}: unreadable meta-eval spec") from None
        changed = sorted(k for k in set(old) | set(payload) if old.get(k) != payload.get(k))
        if changed:
            raise ConfigError(
                f"--out {out} holds a meta-evaluation with other settings ({', '.join(changed)}); "
                "give the same settings to continue it, or choose another --out"
            )
        return
    if out.exists() and any(p for p in out.iterdir() if not p.name.startswith(".")):
        raise ConfigError(f"--out {out} is not empty and holds no meta-evaluation; choose another directory")
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")


def _check_featurizer_name(spec: str, option: str) -> None:
    """Unknown featurizer names fail before anything is trained or written (settings fail on first use)."""
    from textgen_eval.core.errors import UnknownNameError
    from textgen_eval.metrics.featurizers import featurizer_registry

    try:
        featurizer_registry.entry(spec.partition(":")[0])
    except UnknownNameError as exc:
        raise ConfigError(f"{option} {spec}: {exc}") from None


def check_labels(path: str) -> None:
    """``--labels`` must mean something (issue 34, item 5): every line a topic (an empty line is
    not silently a topic named ''), and at least two topics among the sentences the degradation
    draws from (the odd lines): with one, "topic removal" removes nothing and every metric would be
    reported blind to it."""
    labels = read_file(Path(path), option="--labels")
    for number, label in enumerate(labels, start=1):
        if not label.strip():
            raise InputError(f"--labels {path}, line {number}: empty; expected a topic label on every line")
    topics = set(labels[1::2])
    if len(topics) < 2:
        only = next(iter(topics), "")
        raise InputError(
            f"--labels {path}: one topic ({only!r}) among the sentences the degradations draw from; topic "
            "removal needs at least two"
        )


def build_spec(
    bundle: str,
    *,
    metrics: Sequence[str] | None,
    degradations: Sequence[str] | None,
    rates: Sequence[float] | None,
    seeds: int,
    n: int,
    topics: int,
    labels: str | None,
    featurizer: str | None,
    seed: int,
    recipe: dict[str, str],
    topic_featurizer: str | None = None,
) -> MetaEvalSpec:
    """Validate the options before anything is trained or written."""
    from textgen_eval.metrics.registry import resolve_metric

    chosen = tuple(metrics) if metrics else DEFAULT_METRICS
    for name in chosen:
        resolve_metric(name)  # unknown names and image metrics fail now
    kinds = tuple(degradations) if degradations else DEGRADATIONS
    unknown = [d for d in kinds if d not in DEGRADATIONS]
    if unknown:
        raise ConfigError(f"--degradations {','.join(unknown)}: expected some of {', '.join(DEGRADATIONS)}")
    levels = tuple(rates) if rates else DEFAULT_RATES
    if any(not (0.0 <= r < 1.0) or math.isnan(r) for r in levels) or len(set(levels)) < 2:
        raise ConfigError("--rates: expected at least two distinct rates in [0, 1)")
    if seeds < 1 or n < 2 or topics < 2:
        raise ConfigError("--seeds ≥ 1, --n ≥ 2 and --topics ≥ 2 expected")
    if labels is not None and not Path(labels).is_file():
        raise InputError(f"--labels {labels}: file not found")
    if labels is not None:
        check_labels(labels)
    digest = file_digest(labels, 12) if labels is not None else None
    if labels is not None and topic_featurizer is not None:
        raise ConfigError(
            "--topic-featurizer clusters the test split into topics; with --labels it has no use"
        )
    if labels is None and "topics" in kinds:
        topic_featurizer = topic_featurizer or DEFAULT_TOPIC_FEATURIZER
    else:
        topic_featurizer = None
    for option, value in (("--featurizer", featurizer), ("--topic-featurizer", topic_featurizer)):
        if value is not None:
            _check_featurizer_name(value, option)
    return MetaEvalSpec(
        bundle=bundle_reference(bundle),
        metrics=chosen,
        degradations=kinds,
        rates=tuple(sorted(levels)),
        seeds=seeds,
        n=n,
        topics=topics,
        labels=str(Path(labels).resolve()) if labels else None,
        labels_digest=digest,
        featurizer=featurizer,
        seed=seed,
        recipe=dict(recipe),
        topic_featurizer=topic_featurizer,
    )


def report(spec: MetaEvalSpec, points: Sequence[Point], verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """The JSON summary written to ``OUT/meta-eval.json``."""
    redrawn = sum(p.redrawn for p in points)
    return {
        "spec": spec.to_dict(),
        "detects_threshold": DETECTS,
        "verdicts": [v.to_dict() for v in verdicts],
        "points": [asdict(p) for p in points],
        "redrawn_sentences": redrawn,
        "references": "even lines of the test split",
        "pool": "odd lines of the test split",
    }
