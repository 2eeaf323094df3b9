"""The ``image`` trial kind: train an image model, score it with the image metrics.

Search trials are scored on a fixed subset of the bundle's *valid* split (the objective never
sees test images); retraining trials on a subset of the *test* split, and they save seeded
samples (``.npy`` + PNG). Both subsets are drawn with ``subset_seed`` (fixed, so every trial
sees the same images) and recorded in each score's signature.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.files import atomic_write_text
from textgen_eval.pipelines.trials import RealData
from textgen_eval.pipelines.trials.common import train_trial, trial_outcome
from textgen_eval.tuning.spec import TuneSpec
from textgen_eval.tuning.worker import TrialOutcome, TrialRequest

#: The text trials' CLI options; given to an image run they are refused.
TEXT_ONLY = ("max_len", "lm_recipe")


@dataclass(frozen=True)
class ImageTrialOptions:
    """Options of image trials.

    Attributes:
        n_eval: images scored per trial (a fixed seeded subset; 0 = the whole split).
        subset_seed: seed of that subset.
        samples: images sampled and saved by each retraining trial.
        batch_size: images per forward pass when scoring.
    """

    n_eval: int = 1000
    subset_seed: int = 0
    samples: int = 64
    batch_size: int = 500

    def __post_init__(self) -> None:
        if self.n_eval < 0:
            raise ConfigError(f"--n-eval must be ≥ 0, got {self.n_eval}")
        if self.samples < 0 or self.batch_size < 1:
            raise ConfigError("--samples must be ≥ 0 and the batch size ≥ 1")


class ImageTrialKind:
    default_metrics: tuple[str, ...] = ("neg-elbo", "nll-iw-100", "active-units-kl", "kl-per-layer")
    default_objective = "nll-iw-100"

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        given = {k: v for k, v in raw.items() if v is not None and v != {}}
        text = sorted(set(given) & set(TEXT_ONLY))
        if text:
            raise ConfigError(f"option(s) {text} apply to text models, not image models")
        known = set(ImageTrialOptions.__dataclass_fields__)
        unknown = sorted(set(given) - known)
        if unknown:
            raise ConfigError(f"unknown image trial option(s) {unknown}; valid: {sorted(known)}")
        return asdict(ImageTrialOptions(**given))

    def data(self, data: str) -> tuple[str, str]:
        from textgen_eval.data.images import resolve_image_bundle

        bundle = resolve_image_bundle(data)
        if bundle.valid is None:
            raise ConfigError(f"--data {data}: tuning needs a valid split (valid.npy) for the objective")
        return bundle.reference, bundle.digest

    def build(self, spec: TuneSpec, out: Path, device: str | None) -> ImageTrial:
        return ImageTrial(spec, out, device=device)

    def real_data(self, spec: TuneSpec, out: Path) -> RealData | None:
        """No real-data row: image metrics score a model, not a set of generated images."""
        return None


IMAGE_TRIAL = ImageTrialKind()


class ImageTrial:
    """The trial function of a worker: train, score (valid subset in search, test in retrain)."""

    def __init__(self, spec: TuneSpec, out: Path, *, device: str | None = None) -> None:
        from textgen_eval.data.images import resolve_image_bundle

        self.spec, self.out, self.device = spec, out, device
        self.options = ImageTrialOptions(**spec.trial_options)
        self.bundle = resolve_image_bundle(spec.data)
        if self.bundle.digest != spec.data_digest:
            raise ConfigError(
                f"--data {spec.data}: the images differ from the run's (digest {self.bundle.digest}, the run "
                f"was started with {spec.data_digest}); every worker must see the same data"
            )

    def __call__(self, request: TrialRequest) -> TrialOutcome:
        from textgen_eval.pipelines.evaluate_image import evaluation_split, score_image_model, write_samples
        from textgen_eval.pipelines.modalities import TrainingData

        spec, options = self.spec, self.options
        data = TrainingData(self.bundle.train, self.bundle.valid, self.bundle.source())
        trained = train_trial(spec, request, self.out, self.device, data)
        retrain = request.phase == "retrain"
        t1 = time.perf_counter()
        split = self.bundle.test if retrain else self.bundle.valid
        assert split is not None
        scored = evaluation_split(
            trained.model, split, n_eval=options.n_eval or None, seed=options.subset_seed
        )
        scores = score_image_model(
            trained.model, scored, spec.metrics, seed=request.seed, batch_size=options.batch_size
        )
        t2 = time.perf_counter()
        if retrain and options.samples and hasattr(trained.model, "sample"):
            write_samples(trained.model, trained.run_dir, n=options.samples, seed=request.seed)
        payload = {"split": scored.describe(), "metrics": [s.to_dict() for s in scores]}
        atomic_write_text(trained.run_dir / "evaluation.json", json.dumps(payload, indent=2) + "\n")
        return trial_outcome(
            spec, request, trained, scores, {"metrics": t2 - t1}, {"tge:scored": scored.describe()}
        )
