"""``tge tune``: the comparison protocol of Semeniuta (2019, §5.6.2) composed from its parts.

The engine (spec, phases, coordinator, workers, storages) is ``textgen_eval.tuning`` and knows
nothing of models or metrics; this module validates a run up front (model, search space, metrics
and the objective's direction from the metric registry, the trial kind of the model's modality
and its options, the data and its digest) and hands the engine the trial factory.

A run directory holds ``tune.json`` (the spec, storage and study names), ``study.journal`` (the
default storage), ``trials/`` (one run directory per trial) and ``workers/`` (worker logs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from textgen_eval.core.config import load_config_file
from textgen_eval.core.errors import ConfigError
from textgen_eval.core.space import SearchSpace
from textgen_eval.pipelines.trials import make_trial, trial_kind_for, trial_kinds
from textgen_eval.tuning import coordinator, entry
from textgen_eval.tuning.coordinator import Notify, TuneOptions
from textgen_eval.tuning.spec import TuneSpec
from textgen_eval.tuning.worker import WorkerReport

__all__ = ["TuneOptions", "TuneSpec", "build_spec", "resume", "start", "work"]


def build_spec(
    model: str,
    data: str,
    *,
    name: str,
    budget: int,
    retrain: int,
    objective: str | None,
    metrics: Sequence[str] | None,
    space_path: str | Path | None,
    overrides: Mapping[str, str],
    trial_options: Mapping[str, Any],
    seed: int,
    trial_timeout: float | None,
) -> TuneSpec:
    """Validate every option up front, so a bad one fails before any worker starts."""
    from textgen_eval.core.models import model_class
    from textgen_eval.metrics.registry import resolve_any_metric
    from textgen_eval.pipelines.train import resolve_config

    cls = model_class(model)
    if budget < 1 or retrain < 1:
        raise ConfigError("--budget and --retrain must be ≥ 1")
    space = cls.search_space
    if space_path is not None:
        space = (space or SearchSpace({})).merged(load_config_file(space_path), where=str(space_path))
    searched = sorted(set(overrides) & set(space.params)) if space is not None else []
    if searched:
        raise ConfigError(
            f"--set {', '.join(searched)}: searched by the space of {model!r}; to fix it for every trial "
            "put it under [fixed] in a --space file (it then stops being searched)"
        )
    if space is None or not space.params:
        raise ConfigError(
            f"model {model!r} declares no search space; pass one with --space FILE (see docs/tuning.md)"
        )
    kind_name = trial_kind_for(cls.modality)
    kind = trial_kinds.get(kind_name)
    objective = objective or cls.default_objective or kind.default_objective
    names = list(metrics) if metrics else list(cls.default_metrics or kind.default_metrics)
    if objective not in names:
        names.append(objective)
    instances = {m: resolve_any_metric(m) for m in names}
    for metric_name, instance in instances.items():
        if type(instance).modality != cls.modality:
            raise ConfigError(
                f"metric {metric_name!r} scores {type(instance).modality} models; {model!r} is a model "
                f"of modality {cls.modality!r}"
            )
    direction = type(instances[objective]).direction
    data_ref, digest = kind.data(data)
    spec = TuneSpec(
        model=cls.name,
        data=data_ref,
        data_digest=digest,
        name=name,
        trial_kind=kind_name,
        trial_options=kind.options(trial_options),
        budget=budget,
        retrain=retrain,
        objective=objective,
        direction=direction,
        metrics=tuple(names),
        space=space.to_dict(),
        overrides=dict(overrides),
        seed=seed,
        trial_timeout=trial_timeout,
    )
    # every drawn configuration must build: a typo in a space key fails now, not in trial 37
    for params, _ in spec.search_slots():
        resolve_config(spec.model, None, spec.trial_overrides(params, seed=0))
    return spec


def start(
    spec: TuneSpec, out: Path, *, storage: str | None, options: TuneOptions, notify: Notify
) -> dict[str, Any]:
    """Create the run and its studies, then run the workers (``tge tune MODEL ...``)."""
    return coordinator.start(spec, out, storage=storage, options=options, notify=notify)


def resume(out: Path, *, storage: str | None, options: TuneOptions, notify: Notify) -> dict[str, Any]:
    """Re-queue what was interrupted, then run the workers again (``tge tune --resume RUN``)."""
    return coordinator.resume(out, storage=storage, options=options, notify=notify)


def work(
    *,
    storage: str,
    study: str,
    out: Path,
    device: str | None,
    heartbeat: int,
    notify: Notify,
    max_trials: int | None = None,
) -> WorkerReport:
    """Join a run as a worker whose trials are those of the spec's trial kind (``tge tune --worker``)."""
    return entry.work(
        storage=storage,
        study=study,
        out=out,
        device=device,
        heartbeat=heartbeat,
        notify=notify,
        trial_factory=make_trial,
        max_trials=max_trials,
    )
