"""``tge meta-eval --oracle``: every metric checked against the truth on a synthetic-oracle bundle.

On an oracle bundle the quality and the coverage of a generator are known exactly: quality is
NLL-oracle (the oracle's NLL of the generator's samples) and coverage NLL-test (the generator's
NLL of held-out oracle samples; with the oracle's entropy H, NLL-test − H is KL(oracle ‖ G)).
A family of generators whose truths spread along both axes is built from one MLE run:

- an LSTM LM at the oracle's size (embedding 32, hidden 32, Adam 0.01, batch 64: SeqGAN's MLE) is
  trained on the bundle's training split, its weights kept after each of ``--checkpoints`` epochs
  (the early ones cover and please less, the later ones are better on both);
- each checkpoint is sampled at each of ``--temperatures`` (below 1 quality rises and coverage
  falls; above 1 the reverse), ``n`` samples per point, seeded;
- the degradations of oracle text (:mod:`textgen_eval.data.oracle_variants`, ``--degradations``):
  the oracle tempered, mixed with uniform noise, or collapsing onto a small memorised set — the
  meta-evaluation's degradations of real text made distributions, so both truths are exact.

Every point is scored by every metric against the bundle's test split (as ``tge evaluate`` does)
and by the two truths, the tempered model's NLL-test computed exactly (its logits divided by T),
a degraded oracle's from its mixture density. Per metric, Spearman's ρ over all points with
NLL-oracle and with NLL-test (and per family, in the report), signed so that positive means "the
metric gets worse when the truth gets worse", gives a verdict: ``tracks both``, ``tracks
quality``, ``tracks coverage`` (ρ ≥ :data:`TRACKS`), ``inverted`` (neither, and ρ ≤ −TRACKS with
one: the metric improves as that truth worsens) or ``blind``. This answers with ground truth
the question the thesis' Fig. 5.9 answers by construction (Semeniuta 2019, §5.6.3).

Resumable: the MLE run is an ordinary ``tge train`` run directory (``OUT/mle``), its checkpoint
weights are files, and every point is appended to ``OUT/points.jsonl`` as it is done.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.files import atomic_write_bytes, atomic_write_text
from textgen_eval.core.safe_load import load_tensors
from textgen_eval.data.bundles import bundle_reference, resolve_bundle
from textgen_eval.data.oracle_variants import DEFAULT_LEVELS
from textgen_eval.pipelines.evaluate import evaluate
from textgen_eval.pipelines.meta_eval import signed_rho
from textgen_eval.training.callbacks import Callback

#: Metrics scored by default: the six of the thesis less the reverse LM (slow), plus the
#: distribution metrics and nll-oracle itself (which must track quality: a sanity row).
DEFAULT_METRICS: tuple[str, ...] = (
    "nll-oracle",
    "bleu-4",
    "self-bleu-4",
    "unique-ngrams-4",
    "fd",
    "lm-score",
    "knn-precision",
    "knn-recall",
    "mauve",
)
DEFAULT_CHECKPOINTS: tuple[int, ...] = (1, 3, 10, 30)
DEFAULT_TEMPERATURES: tuple[float, ...] = (0.6, 0.8, 1.0, 1.25, 1.5)
#: Signed Spearman ρ at or above which a metric tracks a truth.
TRACKS = 0.5
#: SeqGAN's MLE settings for the generator family (PEERS.md §2.3).
MLE_SETTINGS = {
    "model.emb_dim": "32",
    "model.hidden_size": "32",
    "train.lr": "0.01",
    "train.batch_size": "64",
    "runner.grad_clip": "5.0",
    "runner.restore_best": "false",
}
SPEC_FILE = "oracle-meta-eval-spec.json"
POINTS_FILE = "points.jsonl"


@dataclass(frozen=True)
class OracleMetaSpec:
    """Everything that changes the numbers (kept in ``OUT/oracle-meta-eval-spec.json``)."""

    bundle: str
    metrics: tuple[str, ...] = DEFAULT_METRICS
    checkpoints: tuple[int, ...] = DEFAULT_CHECKPOINTS
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    n: int = 1000
    seed: int = 0
    mle: dict[str, str] = field(default_factory=lambda: dict(MLE_SETTINGS))
    recipe: dict[str, str] = field(default_factory=dict)
    #: degraded oracles → their levels (:data:`~textgen_eval.data.oracle_variants.DEFAULT_LEVELS`)
    degradations: dict[str, tuple[float, ...]] = field(
        default_factory=lambda: {k: tuple(v) for k, v in DEFAULT_LEVELS.items()}
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: A point's identity: (family, epoch, temperature, level).
PointKey = tuple[str, "int | None", float, "float | None"]


@dataclass(frozen=True)
class TruthPoint:
    """One generator of the family, its truths and metric values: an MLE checkpoint (``epoch``)
    sampled at ``temperature`` (``family`` "mle"), or a degraded oracle (``family`` its name,
    ``level`` its level, ``epoch`` None)."""

    epoch: int | None
    temperature: float
    nll_oracle: float
    nll_test: float
    values: dict[str, float]
    signatures: dict[str, str]
    family: str = "mle"
    level: float | None = None

    @property
    def key(self) -> PointKey:
        return (self.family, self.epoch, self.temperature, self.level)

    @property
    def label(self) -> str:
        if self.family == "mle":
            return f"epoch {self.epoch}, T={self.temperature:g}"
        return f"{self.family} {self.level:g}"


@dataclass(frozen=True)
class TruthVerdict:
    metric: str
    direction: str
    rho_quality: float
    rho_coverage: float
    verdict: str


def verdict_of(rho_quality: float, rho_coverage: float) -> str:
    quality, coverage = rho_quality >= TRACKS, rho_coverage >= TRACKS
    if quality and coverage:
        return "tracks both"
    if quality:
        return "tracks quality"
    if coverage:
        return "tracks coverage"
    if min(rho_quality, rho_coverage) <= -TRACKS:
        return "inverted"  # it improves as a truth worsens: misleading, not merely blind
    return "blind"


def family_rhos(
    points: Sequence[TruthPoint], directions: dict[str, str]
) -> dict[str, dict[str, list[float]]]:
    """Per family of at least 3 points, per metric: [signed ρ with quality, with coverage]."""
    out: dict[str, dict[str, list[float]]] = {}
    for family in dict.fromkeys(p.family for p in points):
        members = [p for p in points if p.family == family]
        if len(members) >= 3:
            out[family] = {v.metric: [v.rho_quality, v.rho_coverage] for v in analyse(members, directions)}
    return out


def analyse(points: Sequence[TruthPoint], directions: dict[str, str]) -> list[TruthVerdict]:
    """Per metric, signed ρ with NLL-oracle (quality) and with NLL-test (coverage); both truths
    are lower-is-better, so a metric's ρ is positive when it worsens as the truth worsens."""
    out = []
    quality = [p.nll_oracle for p in points]
    coverage = [p.nll_test for p in points]
    for metric, direction in directions.items():
        values = [p.values[metric] for p in points]
        # signed_rho(levels, values, direction): positive when values worsen as levels rise
        rq = signed_rho(quality, values, direction)
        rc = signed_rho(coverage, values, direction)
        out.append(TruthVerdict(metric, direction, rq, rc, verdict_of(rq, rc)))
    return out


class CheckpointKeeper(Callback):
    """A runner callback that keeps the generator's weights after the given epochs (as files in
    ``directory``: ``epoch-K.pt``, state dicts only)."""

    def __init__(self, epochs: Sequence[int], directory: Path) -> None:
        self.epochs, self.directory = set(epochs), directory

    def on_epoch_end(self, runner: Any, state: Any, stage: Any) -> None:
        if state.epoch in self.epochs and runner.task is not None:
            self.save(state.epoch, runner.task.module.state_dict())

    def path(self, epoch: int) -> Path:
        return self.directory / f"epoch-{epoch}.pt"

    def save(self, epoch: int, state: dict[str, Any]) -> None:
        import io

        import torch

        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in state.items()}, buffer)
        atomic_write_bytes(self.path(epoch), buffer.getvalue())


def tempered_nll_test(model: Any, texts: Sequence[str], temperature: float) -> float:
    """The tempered model's exact per-token NLL of ``texts`` (every position, no EOS): the
    softmax of logits / T, over the same vocabulary the sampler draws from."""
    import torch
    from torch.nn import functional as F

    from textgen_eval.data.batching import sorted_batches
    from textgen_eval.generators.text.scoring import encode_for_scoring

    corpus, _ = encode_for_scoring(texts, model.require_vocab(), fixed=model.text_format)
    net = model.decoder()
    total, count = 0.0, 0
    with torch.no_grad():
        for _, batch in sorted_batches(corpus.sequences, 500):
            ids = torch.from_numpy(batch)
            logits, _ = net(ids[:, :-1])  # (B, T, V), banned ids at −∞
            b, t, v = logits.shape
            nll = F.cross_entropy(
                (logits / temperature).reshape(b * t, v), ids[:, 1:].reshape(-1), reduction="sum"
            )
            total += float(nll.double())
            count += b * t
    return total / count


class OracleMetaEvaluation:
    """One oracle meta-evaluation in ``out`` (resumable)."""

    def __init__(self, spec: OracleMetaSpec, out: Path, *, progress: bool = False) -> None:
        from textgen_eval.data.bundle_meta import bundle_oracle
        from textgen_eval.pipelines.evaluate import recipes_with
        from textgen_eval.pipelines.resources import ReferenceResources

        self.spec, self.out, self.progress = spec, out, progress
        bundle = resolve_bundle(spec.bundle)
        self.oracle = bundle_oracle(bundle.path, bundle.name)
        if self.oracle is None:
            raise ConfigError(
                f"--bundle {spec.bundle}: --oracle needs a synthetic-oracle bundle (seqgan-oracle, or one "
                "made by `tge bundle OUT --oracle ...`)"
            )
        self.notes: list[str] = []
        self.resources = ReferenceResources(
            bundle, progress=progress, notes=self.notes, **recipes_with(spec.recipe)
        )
        self.test = bundle.test.read_text(encoding="utf-8").splitlines()

    def train_family(self, notify: Callable[[str], None] | None = None) -> None:
        """Train (or resume, or find finished) the MLE run that gives the checkpoints."""
        from textgen_eval.pipelines.modalities import training_data
        from textgen_eval.pipelines.train import fit_model, resolve_config

        spec, run = self.spec, self.out / "mle"
        keeper = CheckpointKeeper(spec.checkpoints, run / "checkpoints")
        if all(keeper.path(e).is_file() for e in spec.checkpoints):
            return
        if notify is not None:
            notify(f"training the generator family: an MLE LM for {max(spec.checkpoints)} epochs in {run}")
        overrides = {
            **spec.mle,
            "runner.max_epochs": str(max(spec.checkpoints)),
            "runner.seed": str(spec.seed),
        }
        configs = resolve_config("lstm-lm", None, overrides)
        data = training_data("text", bundle=spec.bundle, train=None, valid=None)
        (run / "checkpoints").mkdir(parents=True, exist_ok=True)
        resume = (run / "checkpoint.pt").is_file()
        fit_model(
            "lstm-lm", configs, data, out=run, resume=resume, progress=self.progress,
            extra_callbacks=[keeper], save=True,
        )  # fmt: skip

    def model_at(self, epoch: int) -> Any:

        from textgen_eval.generators.registry import load_generator

        model = load_generator(self.out / "mle")
        path = self.out / "mle" / "checkpoints" / f"epoch-{epoch}.pt"
        model.load_state_dict(
            load_tensors(path, what=f"the weights of the MLE checkpoint after epoch {epoch}")
        )
        return model

    def run(self, notify: Callable[[str], None] | None = None) -> list[TruthPoint]:
        from textgen_eval.data.oracle import nll_oracle

        self.train_family(notify)
        done = {p.key: p for p in read_points(self.out)}
        spec = self.spec
        plan = [(e, t) for e in spec.checkpoints for t in spec.temperatures]
        for epoch, temperature in plan:
            if ("mle", epoch, temperature, None) in done:
                continue
            model = self.model_at(epoch)
            seed = spec.seed + 1000 * epoch + round(temperature * 100)
            samples = model.sample(spec.n, temperature=temperature, seed=seed)
            assert self.oracle is not None
            ids = self.oracle.format.parse(samples, source=f"samples of epoch {epoch} at T={temperature}")
            truth_q = nll_oracle(self.oracle.oracle, ids)
            truth_c = tempered_nll_test(model, self.test, temperature)
            result = evaluate(
                samples, metrics=list(spec.metrics), bundle=spec.bundle, seed=spec.seed,
                resources=self.resources, fd_se_resamples=0, refuse_unreadable=False,
            )  # fmt: skip
            point = TruthPoint(
                epoch, temperature, truth_q, truth_c,
                {s.name: s.value for s in result.scores}, {s.name: s.signature for s in result.scores},
            )  # fmt: skip
            self._record(point, done, notify)
        keys: list[PointKey] = [("mle", e, t, None) for e, t in plan]
        for name, levels in spec.degradations.items():
            for level in levels:
                keys.append(self._variant_point(name, level, done, notify))
        return [done[key] for key in keys]

    @functools.cached_property
    def test_ids(self) -> Any:
        """The bundle's test split as oracle ids ``(N, L)``, parsed once for every degraded point."""
        assert self.oracle is not None
        return self.oracle.format.parse(self.test, source="the bundle's test split")

    def _record(
        self, point: TruthPoint, done: dict[PointKey, TruthPoint], notify: Callable[[str], None] | None
    ) -> None:
        append_point(self.out, point)
        done[point.key] = point
        if notify is not None:
            notify(f"{point.label}: nll-oracle {point.nll_oracle:.3f}, nll-test {point.nll_test:.3f}")

    def _variant_point(
        self, name: str, level: float, done: dict[PointKey, TruthPoint], notify: Callable[[str], None] | None
    ) -> PointKey:
        """Score the degraded oracle ``name`` at ``level`` (unless done); its point's key."""
        from textgen_eval.data.oracle import nll_oracle
        from textgen_eval.data.oracle_variants import oracle_variant, variant_nll_test

        temperature = level if name == "tempered" else 1.0
        key: PointKey = (name, None, temperature, level)
        if key in done:
            return key
        assert self.oracle is not None
        variant, fmt, spec = oracle_variant(name), self.oracle.format, self.spec
        variant.check(level)
        seed = spec.seed + 7 * round(level * 1000) + 1
        ids = variant.sample(self.oracle.oracle, level, spec.n, fmt.length, seed)
        samples = fmt.format_lines(ids)
        result = evaluate(
            samples, metrics=list(spec.metrics), bundle=spec.bundle, seed=spec.seed,
            resources=self.resources, fd_se_resamples=0, refuse_unreadable=False,
        )  # fmt: skip
        point = TruthPoint(
            None, temperature, nll_oracle(self.oracle.oracle, ids),
            variant_nll_test(self.oracle.oracle, name, level, self.test_ids, seed),
            {s.name: s.value for s in result.scores}, {s.name: s.signature for s in result.scores},
            family=name, level=level,
        )  # fmt: skip
        self._record(point, done, notify)
        return key

    def directions(self) -> dict[str, str]:
        from textgen_eval.metrics.registry import resolve_metric

        return {name: type(resolve_metric(name)).direction for name in self.spec.metrics}


def read_points(out: Path) -> list[TruthPoint]:
    path = out / POINTS_FILE
    if not path.is_file():
        return []
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
            points.append(TruthPoint(**data))
        except (json.JSONDecodeError, TypeError):
            continue  # a line cut by a crash is redone
    return points


def append_point(out: Path, point: TruthPoint) -> None:
    with open(out / POINTS_FILE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(point)) + "\n")


def prepare_out(out: Path, spec: OracleMetaSpec) -> None:
    """Create ``out`` with its spec, or check that an existing one was started with the same spec."""
    path = out / SPEC_FILE
    record = json.loads(json.dumps({**spec.to_dict(), "bundle": bundle_reference(spec.bundle)}))
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            raise InputError(f"{path}: unreadable oracle meta-eval spec") from None
        if old != record:
            changed = sorted(k for k in record if old.get(k) != record[k])
            raise ConfigError(
                f"--out {out} holds an oracle meta-evaluation with other settings ({', '.join(changed)})"
            )
        return
    if out.exists() and any(p for p in out.iterdir() if not p.name.startswith(".")):
        raise ConfigError(
            f"--out {out} is not empty and holds no oracle meta-evaluation; choose a new directory"
        )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")


def report(
    spec: OracleMetaSpec, points: Sequence[TruthPoint], verdicts: Sequence[TruthVerdict]
) -> dict[str, Any]:
    return {
        "spec": spec.to_dict(),
        "tracks": TRACKS,
        "points": [asdict(p) for p in points],
        "verdicts": [asdict(v) for v in verdicts],
        "by_family": family_rhos(points, {v.metric: v.direction for v in verdicts}),
        "truth_correlation": signed_rho([p.nll_oracle for p in points], [p.nll_test for p in points], "lower")
        if len(points) > 1
        else math.nan,
    }


def markdown(verdicts: Sequence[TruthVerdict], points: Sequence[TruthPoint]) -> str:
    counts = {f: sum(p.family == f for p in points) for f in dict.fromkeys(p.family for p in points)}
    described = ", ".join(
        f"{n} {'MLE checkpoints × temperatures' if f == 'mle' else f}" for f, n in counts.items()
    )
    rows = [
        f"{len(points)} generators ({described}); ρ signed so that positive = the metric worsens as the "
        f"truth worsens; a metric tracks a truth at ρ ≥ {TRACKS}.",
        "",
        "| metric | ρ with NLL-oracle (quality) | ρ with NLL-test (coverage) | verdict |",
        "|---|---|---|---|",
    ]
    for v in verdicts:
        rows.append(f"| {v.metric} | {v.rho_quality:+.2f} | {v.rho_coverage:+.2f} | {v.verdict} |")
    families = family_rhos(points, {v.metric: v.direction for v in verdicts})
    if len(families) > 1:
        names = list(families)
        rows += ["", "Per family, ρ with quality / with coverage:", "",
                 "| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]  # fmt: skip
        for v in verdicts:
            cells = ["{:+.2f} / {:+.2f}".format(*families[f][v.metric]) for f in names]
            rows.append(f"| {v.metric} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"
