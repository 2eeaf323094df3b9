"""The ``text`` trial kind: train a text generator, sample sentences, score them with every metric."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.files import atomic_write_text
from textgen_eval.core.hashing import file_digest
from textgen_eval.generators.base import Generator
from textgen_eval.pipelines.evaluate import DEFAULT_METRICS
from textgen_eval.pipelines.trials import RealData
from textgen_eval.pipelines.trials.common import train_trial, trial_outcome
from textgen_eval.tuning.spec import TuneSpec
from textgen_eval.tuning.worker import TrialOutcome, TrialRequest

if TYPE_CHECKING:
    from textgen_eval.pipelines.evaluate import EvaluationResult
    from textgen_eval.pipelines.resources import ReferenceResources


@dataclass(frozen=True)
class TextTrialOptions:
    """Options of text trials.

    Attributes:
        samples: sentences sampled from each trained model and scored.
        max_len: maximum tokens per sampled sentence.
        lm_recipe: ``--lm-recipe-set`` changes to the reference/reverse LM recipe.
    """

    samples: int = 1000
    max_len: int = 50
    lm_recipe: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.samples < 2:
            raise ConfigError(f"--samples must be ≥ 2 (FD needs two samples), got {self.samples}")
        if self.max_len < 1:
            raise ConfigError(f"--max-len must be ≥ 1, got {self.max_len}")


class TextTrialKind:
    default_metrics: tuple[str, ...] = DEFAULT_METRICS
    default_objective = "fd"

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        from textgen_eval.pipelines.evaluate import recipes_with

        image_only = sorted(k for k in ("n_eval",) if raw.get(k) is not None)
        if image_only:
            raise ConfigError(f"option(s) {image_only} apply to image models, not text generators")
        raw = {k: v for k, v in raw.items() if v is not None and k not in ("n_eval",)}
        known = set(TextTrialOptions.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"unknown text trial option(s) {unknown}; valid: {sorted(known)}")
        options = TextTrialOptions(**raw)
        recipes_with(options.lm_recipe)  # validates the keys
        out = asdict(options)
        out["lm_recipe"] = dict(options.lm_recipe)
        return out

    def data(self, data: str) -> tuple[str, str]:
        from textgen_eval.data.bundles import bundle_reference, resolve_bundle

        return bundle_reference(data), file_digest(str(resolve_bundle(data).split("train")), 12)

    def build(self, spec: TuneSpec, out: Path, device: str | None) -> TextTrial:
        return TextTrial(spec, out, device=device)

    def real_data(self, spec: TuneSpec, out: Path) -> RealData:
        """The bundle's held-out real sentences — its validation split (``valid.txt``, or every 20th
        training line, which neither the reference LM nor the generators train on) — scored with
        the run's metrics exactly as a trial's samples are: the same number (all of them when the
        split is smaller; the signature's ``n`` says so), the same references, the run's seed.
        The held-out text is written to ``RUN/real-data.txt``."""
        from textgen_eval.data.bundles import resolve_bundle
        from textgen_eval.pipelines.evaluate import recipes_with
        from textgen_eval.pipelines.resources import BundleTexts, ReferenceResources

        options = TextTrialOptions(**spec.trial_options)
        bundle = resolve_bundle(spec.data)
        texts = BundleTexts(bundle)
        held = list(texts.valid[: options.samples])
        atomic_write_text(out / "real-data.txt", "".join(t + "\n" for t in held))
        resources = ReferenceResources(bundle, **recipes_with(options.lm_recipe))
        evaluation = score_as_a_trial(held, spec, resources, seed=spec.seed, n_refs=len(texts.test))
        metrics = {
            s.name: {"value": s.value, "direction": s.direction, "signature": s.signature}
            for s in evaluation.scores
        }
        return RealData(f"{bundle.name}/{texts.valid_policy}", len(held), spec.seed, metrics)


def score_as_a_trial(
    texts: Sequence[str], spec: TuneSpec, resources: ReferenceResources, *, seed: int, n_refs: int
) -> EvaluationResult:
    """Score ``texts`` as every trial of ``spec`` is scored: the run's metrics against its bundle's
    test split, FD at equal n (both sets subsampled to the smaller, seeded), the given seed. The
    trials' samples and the real-data row go through this one function."""
    from textgen_eval.pipelines.evaluate import evaluate

    return evaluate(
        list(texts),
        metrics=list(spec.metrics),
        bundle=spec.data,
        seed=seed,
        fd_n=min(len(texts), n_refs) if len(texts) != n_refs else None,
        resources=resources,
        refuse_unreadable=False,  # a collapsed generator's all-<unk> samples are scored, not refused
    )


TEXT_TRIAL = TextTrialKind()
#: The sanity warnings of a trial's evaluation (:mod:`textgen_eval.pipelines.sanity`), which
#: ``tge report`` gathers per run.
WARNINGS_ATTR = "tge:warnings"


class TextTrial:
    """The trial function of a worker: train, sample, evaluate every metric."""

    def __init__(self, spec: TuneSpec, out: Path, *, device: str | None = None) -> None:
        from textgen_eval.data.bundles import resolve_bundle
        from textgen_eval.pipelines.evaluate import recipes_with
        from textgen_eval.pipelines.resources import BundleTexts, ReferenceResources

        self.spec, self.out, self.device = spec, out, device
        self.options = TextTrialOptions(**spec.trial_options)
        bundle = resolve_bundle(spec.data)
        digest = file_digest(str(bundle.split("train")), 12)
        if digest != spec.data_digest:
            raise ConfigError(
                f"--data {spec.data}: the training text differs from the run's (digest {digest}, the run was "
                f"started with {spec.data_digest}); every worker must see the same data"
            )
        self.texts = BundleTexts(bundle)
        self.text_format = bundle.meta.format
        self.resources = ReferenceResources(bundle, **recipes_with(self.options.lm_recipe))

    def __call__(self, request: TrialRequest) -> TrialOutcome:
        from textgen_eval.pipelines.modalities import TrainingData

        spec, options = self.spec, self.options
        data = TrainingData(
            list(self.texts.train),
            list(self.texts.valid),
            {"bundle": spec.data},
            text_format=self.text_format,
        )
        trained = train_trial(spec, request, self.out, self.device, data)
        model, run_dir = trained.model, trained.run_dir
        assert isinstance(model, Generator)
        t1 = time.perf_counter()
        samples = model.sample(options.samples, max_len=options.max_len, seed=request.seed)
        atomic_write_text(run_dir / "samples.txt", "".join(s + "\n" for s in samples))
        t2 = time.perf_counter()
        evaluation = score_as_a_trial(
            samples, spec, self.resources, seed=request.seed, n_refs=len(self.texts.test)
        )
        if self.text_format is not None:  # a synthetic-oracle bundle: the model's held-out and training NLL
            from textgen_eval.pipelines.evaluate_model import oracle_split_nlls, weights_digest

            ref = f"{model.name}@{weights_digest(model)}"  # search trials save no weights file
            evaluation.scores.extend(oracle_split_nlls(model, spec.data, ref))
        t3 = time.perf_counter()
        atomic_write_text(run_dir / "evaluation.json", evaluation.to_json() + "\n")
        warnings = {WARNINGS_ATTR: [w.to_dict() for w in evaluation.warnings]} if evaluation.warnings else {}
        return trial_outcome(
            spec, request, trained, evaluation.scores, {"sample": t2 - t1, "metrics": t3 - t2}, warnings
        )
