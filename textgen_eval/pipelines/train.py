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
from textgen_eval.core.training import MODEL_DIR, RESULT
from textgen_eval.generators.base import Generator
from textgen_eval.generators.registry import load_generator
from textgen_eval.generators.text.generator import TokenGenerator
from textgen_eval.pipelines.modalities import TrainingData, training_data
from textgen_eval.pipelines.rundir import (
    RunState,
    clear_failed_start,
    describe_foreign,
    recorded_identity,
    remove_if_created,
    run_lock,
    run_state,
)
from textgen_eval.training import Runner, RunnerConfig, TrainResult
from textgen_eval.training.callbacks import Callback, ProgressBar

__all__ = ["MODEL_DIR", "TrainSummary", "fit_model", "resolve_config", "sample_generator", "train_model"]


@dataclass(frozen=True)
class TrainSummary:
    out: Path
    result: TrainResult
    #: ``--resume`` of a run that had already finished: nothing was trained or changed.
    finished: bool = False

    def describe(self) -> str:
        r = self.result
        if self.finished:
            return (
                f"{self.out} is a finished run ({r.steps} steps, stopped: {r.stopped}); nothing to resume, "
                f"nothing changed; its model is {self.out / MODEL_DIR}"
            )
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
    tensorboard: str | Path | None = None,
) -> TrainSummary:
    """``tge train MODEL``: resolve the config, read the data, train, save the model
    (``tensorboard``: a directory whose subdirectory named after ``out`` gets the run's events).

    Everything is validated before anything is written; the run directory is locked for the
    whole command (docs/reliability.md, "run directories").
    """
    out = Path(out)
    if tensorboard is not None:
        from textgen_eval.training.tensorboard import require_tensorboard

        require_tensorboard()  # before anything is read or written
    configs = resolve_config(kind, config_path, overrides)
    data = training_data(model_class(kind).modality, bundle=bundle, train=train_path, valid=valid_path)
    check_format(kind, configs, data)
    existed = out.exists()
    try:
        with run_lock(out):
            state = run_state(out)
            if resume and state == "finished":
                return TrainSummary(out, read_result(out), finished=True)
            fresh = _check_start(out, state, resume=resume, identity=data.identity)
            _, result = fit_model(
                kind,
                configs,
                data,
                out=out,
                resume=not fresh,
                progress=progress,
                command=command,
                max_steps=max_steps,
                tensorboard=None if tensorboard is None else Path(tensorboard) / out.resolve().name,
            )
    finally:
        remove_if_created(out, existed)
    return TrainSummary(out, result)


def _check_start(out: Path, state: RunState, *, resume: bool, identity: str) -> bool:
    """Whether the run starts from scratch; refuse, naming the command that goes on, otherwise."""
    if state == "foreign":
        raise ConfigError(
            f"--out {out} is not empty and holds no tge run ({describe_foreign(out)}); "
            "choose a new or empty directory"
        )
    if not resume:
        if state in ("absent", "empty"):
            return True
        if state == "unstarted":
            raise ConfigError(
                f"--out {out} holds a run that stopped before its first checkpoint; rerun the same "
                "command with --resume to start it again from the beginning, or choose another --out"
            )
        if state == "finished":
            raise ConfigError(f"--out {out} holds a finished run ({RESULT}); choose another --out")
        raise ConfigError(
            f"--out {out} holds an interrupted run; continue it with the same command and --resume, "
            "or choose another --out"
        )
    if state in ("absent", "empty"):
        raise ConfigError(f"--resume: {out} holds no run to resume; drop --resume to start one")
    recorded = recorded_identity(out)
    if recorded is not None and recorded != identity:
        raise ConfigError(
            f"--resume: {out} was trained on other data ({recorded}) than given now ({identity}); "
            "resume with the run's own --data / --train / --valid"
        )
    if state == "unstarted":
        clear_failed_start(out)
        return True
    return False


def read_result(out: Path) -> TrainResult:
    """The ``result.json`` of a finished run."""
    try:
        payload = json.loads((out / RESULT).read_text(encoding="utf-8"))
        return TrainResult.from_dict(payload)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{out / RESULT}: unreadable result of a finished run ({exc})") from None


def check_format(kind: str, configs: Mapping[str, Any], data: TrainingData) -> None:
    """Refuse, before anything is written, a fixed-length token-id corpus (a synthetic-oracle
    bundle) for a model that cannot train on one."""
    if data.text_format is not None:
        _build(kind, configs, data)


def _build(kind: str, configs: Mapping[str, Any], data: TrainingData) -> Model[Any]:
    """Model ``kind`` with its config sections, in the data's text format where it has one."""
    cls = model_class(kind)
    model = cls({name: configs[name] for name in cls.config_sections})
    if data.text_format is not None:
        if not isinstance(model, Generator):
            raise ConfigError(f"{kind}: a token-id corpus is text; {kind} is a {cls.modality} model")
        model.use_format(data.text_format)
    return model


def preflight(model: Model[Any], data: TrainingData) -> None:
    """A model whose network, or one of whose per-batch working sets (rollouts, importance
    samples), cannot fit in this machine's memory is refused before anything is written
    (:mod:`textgen_eval.pipelines.preflight`). ``model`` is a probe, not the model that trains: a
    text generator's vocabulary is built here from the data, as training would build it, and an
    image model's net is built for the data's image shape, so the network's shapes are the real ones."""
    from textgen_eval.generators.text.generator import TokenGenerator
    from textgen_eval.pipelines.preflight import available_memory, check_fits, check_working_sets

    available = available_memory()
    network = model.network_builder(data.train)
    if network is not None:
        check_fits(model.name, network, model.configs, available=available)
        return
    builder = getattr(model, "build_net", None) or getattr(model, "build_module", None)
    if not isinstance(model, TokenGenerator) or builder is None:
        return
    if model.vocab is None:
        model.prepare_corpora(list(data.train), None if data.valid is None else list(data.valid))
    check_fits(model.name, builder, model.configs, available=available)
    fmt = data.text_format
    longest = fmt.length + 1 if fmt is not None else max((len(s.split()) for s in data.train), default=0) + 1
    check_working_sets(model.name, model.working_sets(longest), available=available)


def oracle_probes(model: Model[Any], data: TrainingData, runner: RunnerConfig) -> list[Callback]:
    """NLL-oracle logged during training when the data is a synthetic-oracle bundle
    (:mod:`textgen_eval.pipelines.oracle_probe`; ``runner.probe_samples`` per probe, every
    ``runner.probe_every``); nothing otherwise, or with ``probe_samples = 0``."""
    bundle = data.source.get("bundle")
    if data.text_format is None or not bundle or not isinstance(model, TokenGenerator):
        return []
    if runner.probe_samples == 0:
        return []
    from textgen_eval.data.bundle_meta import bundle_oracle
    from textgen_eval.data.bundles import resolve_bundle
    from textgen_eval.pipelines.oracle_probe import OracleProbe

    resolved = resolve_bundle(str(bundle))
    found = bundle_oracle(resolved.path, resolved.name)
    if found is None:
        return []
    return [OracleProbe(found, model, every=runner.probe_every, n=runner.probe_samples)]


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
    extra_callbacks: Sequence[Callback] = (),
    tensorboard: Path | None = None,
) -> tuple[Model[Any], TrainResult]:
    """Train model ``kind`` with resolved ``configs`` on ``data`` in run directory ``out``;
    ``tensorboard``: also write the logged series as TensorBoard events there."""
    cls = model_class(kind)
    preflight(_build(kind, configs, data), data)  # a separate instance: the probe's vocabulary is its own
    model = _build(kind, configs, data)  # its configs: the resolved ones, in the data's format
    callbacks: list[Callback] = [ProgressBar(desc=f"train {cls.name}")] if progress else []
    callbacks += oracle_probes(model, data, configs["runner"])
    callbacks += list(extra_callbacks)
    if tensorboard is not None:
        from textgen_eval.training.tensorboard import TensorBoardWriter

        # first, so it is open before any other callback's on_start logs (the probe before training)
        callbacks.insert(0, TensorBoardWriter(tensorboard))
    runner = Runner(
        configs["runner"],
        run_dir=out,
        callbacks=callbacks,
        task_config={name: to_dict(cfg) for name, cfg in model.configs.items()},
        command=command,
        max_steps=max_steps,
        info={
            "model": cls.name,
            "modality": cls.modality,
            "data": data.source,
            "data_identity": data.identity,
        },
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
