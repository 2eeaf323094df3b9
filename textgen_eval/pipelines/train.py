"""Train and sample generators: the flows behind ``tge train`` and ``tge sample``.

A run directory holds ``run.json`` (resolved config, command line, versions, seed),
``log.jsonl`` (every logged quantity), ``checkpoint.pt`` (resume) and, when training ends,
``model/`` (the saved generator) and ``result.json``.
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
from textgen_eval.data.sources import read_texts
from textgen_eval.generators.base import Generator
from textgen_eval.generators.registry import generator_class, load_generator
from textgen_eval.training import Runner, RunnerConfig, TrainResult
from textgen_eval.training.callbacks import ProgressBar

MODEL_DIR = "model"


@dataclass(frozen=True)
class TrainSummary:
    out: Path
    result: TrainResult

    def describe(self) -> str:
        r = self.result
        best = f", best valid_loss {r.best:.4f} at step {r.best_step}" if r.best is not None else ""
        return (
            f"trained {r.steps} steps over {r.epochs} epochs in {r.elapsed:.1f} s "
            f"(stopped: {r.stopped}){best}; "
            f"model saved to {self.out / MODEL_DIR}"
        )


def resolve_config(
    kind: str, config_path: str | Path | None, overrides: Mapping[str, str] | None
) -> dict[str, Any]:
    """One config dataclass per section of generator ``kind`` plus ``runner``, strictly loaded."""
    cls = generator_class(kind)
    sections: dict[str, type] = {**cls.config_sections, "runner": RunnerConfig}
    data = load_config_file(config_path) if config_path is not None else {}
    where = str(config_path) if config_path is not None else "config"
    return build_sections(sections, data, overrides, where=where)


def train_generator(
    kind: str,
    train_path: str,
    valid_path: str | None,
    *,
    out: str | Path,
    config_path: str | Path | None = None,
    overrides: Mapping[str, str] | None = None,
    resume: bool = False,
    progress: bool = False,
    command: Sequence[str] | None = None,
) -> TrainSummary:
    out = Path(out)
    configs = resolve_config(kind, config_path, overrides)
    if out.exists() and any(out.iterdir()) and not resume:
        raise ConfigError(
            f"--out {out} already holds a run; pass --resume to continue it or choose an empty directory"
        )
    if resume and not (out / "checkpoint.pt").is_file():
        raise ConfigError(f"--resume: {out} has no checkpoint.pt to resume from")
    train = read_texts(train_path, option="--train")
    valid = read_texts(valid_path, option="--valid") if valid_path else None
    _, result = fit_generator(
        kind,
        configs,
        list(train),
        list(valid) if valid is not None else None,
        out=out,
        resume=resume,
        progress=progress,
        command=command,
    )
    return TrainSummary(out, result)


def fit_generator(
    kind: str,
    configs: Mapping[str, Any],
    train: list[str],
    valid: list[str] | None,
    *,
    out: Path,
    resume: bool = False,
    progress: bool = False,
    command: Sequence[str] | None = None,
    save: bool = True,
) -> tuple[Generator, TrainResult]:
    """Train generator ``kind`` with resolved ``configs`` in run directory ``out``."""
    cls = generator_class(kind)
    model_configs = {name: configs[name] for name in cls.config_sections}
    model = cls(model_configs)
    runner = Runner(
        configs["runner"],
        run_dir=out,
        callbacks=[ProgressBar(desc=f"train {kind}")] if progress else [],
        task_config={name: to_dict(cfg) for name, cfg in model_configs.items()},
        command=command,
    )
    result = model.fit(train, valid, runner, resume=resume)
    if save:
        model.save(out / MODEL_DIR)
    atomic_write_text(out / "result.json", json.dumps(result.to_dict(), indent=2) + "\n")
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
    model = load_generator(model_dir)
    if not progress:
        return model.sample(n, max_len=max_len, temperature=temperature, seed=seed)
    import sys

    from tqdm.auto import tqdm

    with tqdm(total=n, desc="sample", unit="sent", file=sys.stderr) as bar:
        return model.sample(n, max_len=max_len, temperature=temperature, seed=seed, progress=bar.update)
