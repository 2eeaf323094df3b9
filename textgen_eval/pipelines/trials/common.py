"""What every trial kind does around its own scoring: train the model of one trial in its run
directory (resuming an attempt that checkpointed, discarding one that did not), and turn the
scores into the trial's outcome and user attributes."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgen_eval.core.config import to_dict
from textgen_eval.core.model import Model
from textgen_eval.core.training import CHECKPOINT, MODEL_DIR, TrainResult
from textgen_eval.metrics.base import Score
from textgen_eval.pipelines.modalities import TrainingData
from textgen_eval.tuning.spec import TuneSpec
from textgen_eval.tuning.worker import TrialOutcome, TrialRequest


@dataclass(frozen=True)
class TrainedTrial:
    model: Model[Any]
    result: TrainResult
    configs: Mapping[str, Any]
    run_dir: Path
    started: float  # perf_counter() when training started
    seconds: float  # training time


def train_trial(
    spec: TuneSpec, request: TrialRequest, out: Path, device: str | None, data: TrainingData
) -> TrainedTrial:
    """Train the trial's configuration (its drawn parameters and seed) in ``out/trials/PHASE-SLOT``;
    retraining trials keep their model."""
    from textgen_eval.pipelines.train import fit_model, resolve_config

    overrides = spec.trial_overrides(request.params, seed=request.seed)
    if device is not None:
        overrides["runner.device"] = device
    configs = resolve_config(spec.model, None, overrides)
    run_dir = out / "trials" / f"{request.phase}-{request.slot:04d}"
    resume = (run_dir / CHECKPOINT).is_file()
    if run_dir.exists() and not resume:
        shutil.rmtree(run_dir)  # an attempt killed before its first checkpoint
    t0 = time.perf_counter()
    model, result = fit_model(
        spec.model,
        configs,
        data,
        out=run_dir,
        resume=resume,
        save=request.phase == "retrain",
        command=["tge", "tune", spec.name, request.phase, str(request.slot)],
        tensorboard=tensorboard_dir(spec, run_dir),
    )
    return TrainedTrial(model, result, configs, run_dir, t0, time.perf_counter() - t0)


#: Set by ``tge tune --tensorboard DIR`` for its workers (as the thread count is): where each
#: trial writes its TensorBoard events, one run per trial.
TENSORBOARD_ENV = "TGE_TENSORBOARD"


def tensorboard_dir(spec: TuneSpec, run_dir: Path) -> Path | None:
    """``DIR/<tuning run>/<trial>`` when the worker was asked for TensorBoard events."""
    root = os.environ.get(TENSORBOARD_ENV)
    return Path(root) / spec.name / run_dir.name if root else None


def trial_outcome(
    spec: TuneSpec,
    request: TrialRequest,
    trained: TrainedTrial,
    scores: Sequence[Score],
    timing: Mapping[str, float],
    extra: Mapping[str, Any] | None = None,
) -> TrialOutcome:
    """The outcome of a scored trial: objective, the attributes every trial records, and its
    checkpoint removed (the trial is final; keep the disk small)."""
    (trained.run_dir / CHECKPOINT).unlink(missing_ok=True)
    metrics = {
        s.name: {"value": s.value, "direction": s.direction, "signature": s.signature, "n": s.n}
        for s in scores
    }
    result = trained.result
    attrs: dict[str, Any] = {
        "tge:config": {name: to_dict(cfg) for name, cfg in trained.configs.items()},
        "tge:metrics": metrics,
        "tge:training": {"steps": result.steps, "epochs": result.epochs, "stopped": result.stopped},
        "tge:timing": {"train": trained.seconds, **timing},
        "tge:run_dir": str(trained.run_dir),
        **(extra or {}),
    }
    if request.phase == "retrain":
        attrs["tge:model"] = str(trained.run_dir / MODEL_DIR)
    objective = float(metrics[spec.objective]["value"])
    return TrialOutcome(objective, attrs, work_seconds=time.perf_counter() - trained.started)
