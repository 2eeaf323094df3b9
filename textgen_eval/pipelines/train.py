"""Train and sample models: the flows behind ``tge train`` and ``tge sample``.

A run directory holds ``run.json`` (resolved config, stages, command line, versions, seed, data),
``log.jsonl`` (every logged quantity, tagged with its stage), ``checkpoint.pt`` (resume) and,
when training ends, ``model/`` (the saved model) and ``result.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgen_eval.core.config import build_sections, load_config_file, to_dict
from textgen_eval.core.errors import ConfigError
from textgen_eval.core.files import atomic_write_text
from textgen_eval.core.model import Model
from textgen_eval.core.models import model_class
from textgen_eval.core.training import CHECKPOINT, MODEL_DIR, RESULT
from textgen_eval.generators.registry import load_generator
from textgen_eval.pipelines.modalities import TrainingData, training_data
from textgen_eval.training import Runner, RunnerConfig, TrainResult
from textgen_eval.training.callbacks import ProgressBar

__all__ = ["MODEL_DIR", "TrainSummary", "fit_model", "resolve_config", "sample_generator", "train_model"]


@dataclass(frozen=True)
class TrainSummary:
    out: Path
    result: TrainResult

    def describe(self) -> str:
        r = self.result
        best = f", best {r.best:.4f} at step {r.best_step}" if r.best is not None else ""
        stages = ""
        if len(r.stages) > 1:
            stages = " (" + ", ".join(f"{s.name}: {s.steps} steps, {s.stopped}" for s in r.stages) + ")"
        return (
            f"trained {r.steps} steps over {r.epochs} epochs in {r.elapsed:.1f} s "
            f"(stopped: {r.stopped}){best}{stages}; "
            f"model saved to {self.out / MODEL_DIR}"
        )


def resolve_config(
    kind: str, config_path: str | Path | None, overrides: Mapping[str, str] | None
) -> dict[str, Any]:
    """One config dataclass per section of model ``kind`` plus ``runner``, strictly loaded."""
    cls = model_class(kind)
    sections: dict[str, type] = {**cls.config_sections, "runner": RunnerConfig}
    data = load_config_file(config_path) if config_path is not None else {}
    where = str(config_path) if config_path is not None else "config"
    return build_sections(sections, data, overrides, where=where)


def train_model(
    kind: str,
    *,
    out: str | Path,
    bundle: str | None = None,
    train_path: str | None = None,
    valid_path: str | None = None,
    config_path: str | Path | None = None,
    overrides: Mapping[str, str] | None = None,
    resume: bool = False,
    progress: bool = False,
    command: Sequence[str] | None = None,
    max_steps: int | None = None,
) -> TrainSummary:
    """``tge train MODEL``: resolve the config, read the data, train, save the model."""
    out = Path(out)
    configs = resolve_config(kind, config_path, overrides)
    if out.exists() and any(out.iterdir()) and not resume:
        raise ConfigError(
            f"--out {out} already holds a run; pass --resume to continue it or choose an empty directory"
        )
    if resume and not (out / CHECKPOINT).is_file():
        raise ConfigError(f"--resume: {out} has no {CHECKPOINT} to resume from")
    data = training_data(model_class(kind).modality, bundle=bundle, train=train_path, valid=valid_path)
    _, result = fit_model(
        kind,
        configs,
        data,
        out=out,
        resume=resume,
        progress=progress,
        command=command,
        max_steps=max_steps,
    )
    return TrainSummary(out, result)


def fit_model(
    kind: str,
    configs: Mapping[str, Any],
    data: TrainingData,
    *,
    out: Path,
    resume: bool = False,
    progress: bool = False,
    command: Sequence[str] | None = None,
    save: bool = True,
    max_steps: int | None = None,
) -> tuple[Model[Any], TrainResult]:
    """Train model ``kind`` with resolved ``configs`` on ``data`` in run directory ``out``."""
    cls = model_class(kind)
    model_configs = {name: configs[name] for name in cls.config_sections}
    model = cls(model_configs)
    runner = Runner(
        configs["runner"],
        run_dir=out,
        callbacks=[ProgressBar(desc=f"train {cls.name}")] if progress else [],
        task_config={name: to_dict(cfg) for name, cfg in model_configs.items()},
        command=command,
        max_steps=max_steps,
        info={"model": cls.name, "modality": cls.modality, "data": data.source},
    )
    result = model.fit(data.train, data.valid, runner, resume=resume)
    if save:
        model.save(out / MODEL_DIR)
    atomic_write_text(out / RESULT, json.dumps(result.to_dict(), indent=2) + "\n")
    return model, result


def sample_generator(
    model_dir: str | Path,
    n: int,
    *,
    temperature: float = 1.0,
    seed: int = 0,
    max_len: int = 50,
    progress: bool = False,
) -> list[str]:
    """``n`` sentences from a saved text generator (a model or `tge train` run directory)."""
    model = load_generator(model_dir)
    if not progress:
        return model.sample(n, max_len=max_len, temperature=temperature, seed=seed)
    import sys

    from tqdm.auto import tqdm

    with tqdm(total=n, desc="sample", unit="sent", file=sys.stderr) as bar:
        return model.sample(n, max_len=max_len, temperature=temperature, seed=seed, progress=bar.update)
