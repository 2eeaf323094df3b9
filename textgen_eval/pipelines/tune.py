"""The comparison protocol of Semeniuta (2019, §5.6.2), behind ``tge tune``.

1. **Search**: ``budget`` configurations are drawn once from the generator's search space with a
   seeded random sampler and queued in an Optuna study; workers train each on the bundle's
   training split, sample ``samples`` sentences and compute every metric; the objective (FD by
   default) is what Optuna records as the trial's value.
2. **Retraining**: the best configuration is trained again with ``retrain`` seeds, as a second
   study in the same storage; reports give the mean ± std of every metric over those seeds.

A run directory holds ``tune.json`` (the spec, storage and study names), ``study.journal`` (the
default storage), ``trials/`` (one run directory per trial) and ``workers/`` (worker logs).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textgen_eval import __version__
from textgen_eval.core.config import load_config_file, to_dict
from textgen_eval.core.errors import (
    ConfigError,
    LockTimeout,
    TextgenEvalError,
    TrainingInterrupted,
    UserError,
)
from textgen_eval.core.files import atomic_write_text
from textgen_eval.core.hashing import file_digest
from textgen_eval.core.locking import file_lock
from textgen_eval.core.space import SearchSpace, Value
from textgen_eval.tuning import queue
from textgen_eval.tuning.runfile import read_run_file, run_storage, write_run_file
from textgen_eval.tuning.storage import DEFAULT_JOURNAL, StorageSpec, open_storage, parse_storage
from textgen_eval.tuning.worker import Phase, TrialOutcome, TrialRequest, run_worker

SPEC_ATTR = "tge:spec"  # the spec also lives in the study, for workers on other machines
PHASES = ("search", "retrain")
Notify = Callable[[str], None]


def derive_seed(seed: int, phase: str, slot: int) -> int:
    """The training seed of ``slot`` in ``phase``: fixed by the run seed, distinct per slot."""
    return int(np.random.SeedSequence([seed, PHASES.index(phase), slot]).generate_state(1)[0] % 2**31)


@dataclass(frozen=True)
class TuneSpec:
    """Everything that defines a tuning run; stored in ``tune.json`` and in the study itself."""

    generator: str
    data: str
    data_digest: str
    name: str
    budget: int = 100
    retrain: int = 7
    objective: str = "fd"
    direction: str = "lower"
    metrics: tuple[str, ...] = ()
    space: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, str] = field(default_factory=dict)
    lm_recipe: Mapping[str, str] = field(default_factory=dict)
    seed: int = 0
    samples: int = 1000
    max_len: int = 50
    trial_timeout: float | None = None
    version: str = __version__

    def search_space(self) -> SearchSpace:
        return SearchSpace.from_dict(self.space, where="tune.json space")

    def study_name(self, phase: str) -> str:
        return f"{self.name}:{phase}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["metrics"] = list(self.metrics)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TuneSpec:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        values["metrics"] = tuple(values.get("metrics", ()))
        return cls(**values)

    def search_slots(self) -> list[tuple[dict[str, Value], int]]:
        configs = self.search_space().draw(self.budget, self.seed)
        return [(config, derive_seed(self.seed, "search", i)) for i, config in enumerate(configs)]


# ----------------------------------------------------------------------------- building a spec


def build_spec(
    generator: str,
    data: str,
    *,
    name: str,
    budget: int,
    retrain: int,
    objective: str,
    metrics: Sequence[str] | None,
    space_path: str | Path | None,
    overrides: Mapping[str, str],
    lm_recipe: Mapping[str, str],
    seed: int,
    samples: int,
    max_len: int,
    trial_timeout: float | None,
) -> TuneSpec:
    """Validate every option up front, so a bad one fails before any worker starts."""
    from textgen_eval.data.bundles import resolve_bundle
    from textgen_eval.generators.registry import generator_class
    from textgen_eval.metrics.registry import resolve_metric
    from textgen_eval.pipelines.evaluate import DEFAULT_METRICS, recipes_with
    from textgen_eval.pipelines.train import resolve_config

    cls = generator_class(generator)
    if budget < 1 or retrain < 1:
        raise ConfigError("--budget and --retrain must be ≥ 1")
    space = cls.search_space
    if space_path is not None:
        space = (space or SearchSpace({})).merged(load_config_file(space_path), where=str(space_path))
    if space is None or not space.params:
        raise ConfigError(
            f"generator {generator!r} declares no search space; "
            "pass one with --space FILE (see docs/tuning.md)"
        )
    names = list(metrics) if metrics else list(DEFAULT_METRICS)
    if objective not in names:
        names.append(objective)
    instances = {m: resolve_metric(m) for m in names}
    direction = type(instances[objective]).direction
    bundle = resolve_bundle(data)
    data_ref = str(bundle.path.resolve()) if Path(data).is_dir() else data
    recipes_with(lm_recipe)  # validates the keys
    spec = TuneSpec(
        generator=generator,
        data=data_ref,
        data_digest=file_digest(str(bundle.split("train")), 12),
        name=name,
        budget=budget,
        retrain=retrain,
        objective=objective,
        direction=direction,
        metrics=tuple(names),
        space=space.to_dict(),
        overrides=dict(overrides),
        lm_recipe=dict(lm_recipe),
        seed=seed,
        samples=samples,
        max_len=max_len,
        trial_timeout=trial_timeout,
    )
    # every drawn configuration must build: a typo in a space key fails now, not in trial 37
    for params, _ in spec.search_slots():
        resolve_config(generator, None, trial_overrides(spec, params, seed=0))
    return spec


def trial_overrides(spec: TuneSpec, params: Mapping[str, Value], *, seed: int) -> dict[str, str]:
    space = spec.search_space()
    merged: dict[str, Any] = {**spec.overrides, **space.overrides_for(params), "runner.seed": seed}
    return {k: str(v) for k, v in merged.items()}


# ----------------------------------------------------------------------------- the trial


class TrialRunner:
    """The trial function of a worker: train, sample, evaluate every metric."""

    def __init__(self, spec: TuneSpec, out: Path, *, device: str | None = None) -> None:
        from textgen_eval.data.bundles import resolve_bundle
        from textgen_eval.pipelines.evaluate import recipes_with
        from textgen_eval.pipelines.resources import BundleTexts, ReferenceResources

        self.spec, self.out, self.device = spec, out, device
        bundle = resolve_bundle(spec.data)
        digest = file_digest(str(bundle.split("train")), 12)
        if digest != spec.data_digest:
            raise ConfigError(
                f"--data {spec.data}: the training text differs from the run's (digest {digest}, the run was "
                f"started with {spec.data_digest}); every worker must see the same data"
            )
        self.texts = BundleTexts(bundle)
        self.resources = ReferenceResources(bundle, **recipes_with(spec.lm_recipe))

    def __call__(self, request: TrialRequest) -> TrialOutcome:
        from textgen_eval.pipelines.evaluate import evaluate
        from textgen_eval.pipelines.train import MODEL_DIR, fit_generator, resolve_config

        spec = self.spec
        overrides = trial_overrides(spec, request.params, seed=request.seed)
        if self.device is not None:
            overrides["runner.device"] = self.device
        configs = resolve_config(spec.generator, None, overrides)
        run_dir = self.out / "trials" / f"{request.phase}-{request.slot:04d}"
        resume = (run_dir / "checkpoint.pt").is_file()
        if run_dir.exists() and not resume:
            shutil.rmtree(run_dir)  # an attempt killed before its first checkpoint
        t0 = time.perf_counter()
        model, result = fit_generator(
            spec.generator,
            configs,
            list(self.texts.train),
            list(self.texts.valid),
            out=run_dir,
            resume=resume,
            save=request.phase == "retrain",
            command=["tge", "tune", spec.name, request.phase, str(request.slot)],
        )
        t1 = time.perf_counter()
        samples = model.sample(spec.samples, max_len=spec.max_len, seed=request.seed)
        atomic_write_text(run_dir / "samples.txt", "".join(s + "\n" for s in samples))
        t2 = time.perf_counter()
        n_refs = len(self.texts.test)
        evaluation = evaluate(
            samples,
            metrics=list(spec.metrics),
            bundle=spec.data,
            seed=request.seed,
            fd_n=min(len(samples), n_refs) if len(samples) != n_refs else None,
            resources=self.resources,
        )
        t3 = time.perf_counter()
        (run_dir / "checkpoint.pt").unlink(missing_ok=True)  # the trial is final; keep the disk small
        atomic_write_text(run_dir / "evaluation.json", evaluation.to_json() + "\n")
        metrics = {
            s.name: {"value": s.value, "direction": s.direction, "signature": s.signature, "n": s.n}
            for s in evaluation.scores
        }
        attrs = {
            "tge:config": {name: to_dict(cfg) for name, cfg in configs.items()},
            "tge:metrics": metrics,
            "tge:training": {"steps": result.steps, "epochs": result.epochs, "stopped": result.stopped},
            "tge:timing": {"train": t1 - t0, "sample": t2 - t1, "metrics": t3 - t2},
            "tge:run_dir": str(run_dir),
        }
        if request.phase == "retrain":
            attrs["tge:model"] = str(run_dir / MODEL_DIR)
        objective = float(metrics[spec.objective]["value"])
        return TrialOutcome(objective, attrs, work_seconds=t3 - t0)


# ----------------------------------------------------------------------------- phases


def best_trial(trials: Sequence[Any], direction: str) -> Any | None:
    """The complete trial with the best objective (ties: lowest slot)."""
    from optuna.trial import TrialState

    done = [t for t in trials if t.state == TrialState.COMPLETE]
    if not done:
        return None
    sign = 1.0 if direction == "lower" else -1.0
    return min(done, key=lambda t: (sign * t.value, t.user_attrs.get(queue.SLOT, 0)))


def phases(spec: TuneSpec, storage: Any) -> list[Phase]:
    """The search and retraining phases of ``spec`` on ``storage``."""
    import optuna

    dists = queue.distributions(spec.search_space())
    search_slots = spec.search_slots()

    def retrain_slots() -> list[tuple[dict[str, Value], int]] | None:
        search = optuna.load_study(study_name=spec.study_name("search"), storage=storage)
        trials = search.get_trials(deepcopy=False)
        if not queue.count(trials, spec.budget).finished:
            return None
        best = best_trial(trials, spec.direction)
        if best is None:
            raise UserError(
                f"all {spec.budget} search trials failed; there is no configuration to retrain "
                "(see the trial errors with `tge report --format json`)"
            )
        params = dict(best.system_attrs.get("fixed_params", best.params))
        return [(params, derive_seed(spec.seed, "retrain", k)) for k in range(spec.retrain)]

    return [
        Phase("search", spec.study_name("search"), spec.budget, spec.direction, dists, lambda: search_slots),
        Phase("retrain", spec.study_name("retrain"), spec.retrain, spec.direction, dists, retrain_slots),
    ]


def progress_counts(spec: TuneSpec, storage: Any) -> dict[str, Any]:
    """Slot counts of both phases and the current best objective."""
    import optuna

    out: dict[str, Any] = {}
    for phase, budget in (("search", spec.budget), ("retrain", spec.retrain)):
        try:
            study = optuna.load_study(study_name=spec.study_name(phase), storage=storage)
        except KeyError:
            out[phase] = queue.Counts(budget, 0, 0, 0, 0)
            continue
        trials = study.get_trials(deepcopy=False)
        out[phase] = queue.count(trials, budget)
        if phase == "search":
            best = best_trial(trials, spec.direction)
            out["best"] = None if best is None else best.value
    return out


# ----------------------------------------------------------------------------- coordinator


@dataclass
class TuneOptions:
    workers: int = 1
    devices: Sequence[str] = ()
    #: torch/OpenMP threads per worker; 0 = cores // workers
    threads: int = 0
    heartbeat: int = 60
    progress: bool = True
    poll: float = 0.5


def _open(spec_storage: StorageSpec, heartbeat: int | None, notify: Notify) -> Any:
    # RDB heartbeats: a trial whose worker stopped beating is failed and its copy queued
    return open_storage(spec_storage, heartbeat_interval=heartbeat, on_stale=queue.requeue, notify=notify)


@contextlib.contextmanager
def _coordinator_lock(out: Path) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(file_lock(out / ".coordinator.lock", timeout=0.5))
        except LockTimeout:
            raise ConfigError(f"{out}: another `tge tune` is already coordinating this run") from None
        yield


def start(
    spec: TuneSpec, out: Path, *, storage: str | None, options: TuneOptions, notify: Notify
) -> dict[str, Any]:
    """``tge tune GENERATOR ...``: create the run and its studies, then run the workers."""
    import optuna

    if out.exists() and any(out.iterdir()):
        raise ConfigError(
            f"--out {out} is not empty; continue that run with `tge tune --resume {out}` "
            "or choose a new directory"
        )
    storage_spec = parse_storage(storage) if storage else parse_storage(str(out / DEFAULT_JOURNAL))
    out.mkdir(parents=True, exist_ok=True)
    with _coordinator_lock(out):
        backend = _open(storage_spec, options.heartbeat, notify)
        try:
            study = optuna.create_study(
                study_name=spec.study_name("search"),
                storage=backend,
                direction="minimize" if spec.direction == "lower" else "maximize",
            )
        except optuna.exceptions.DuplicatedStudyError:
            raise ConfigError(
                f"--storage {storage_spec.masked} already has a study named {spec.study_name('search')!r}; "
                "choose another --study NAME, or resume it with `tge tune --resume`"
            ) from None
        study.set_user_attr(SPEC_ATTR, spec.to_dict())
        write_run_file(out, spec.to_dict(), storage_spec, {p: spec.study_name(p) for p in PHASES})
        queue.ensure_slots(study, spec.search_slots())
        return _coordinate(spec, out, storage_spec, backend, options, notify)


def resume(out: Path, *, storage: str | None, options: TuneOptions, notify: Notify) -> dict[str, Any]:
    """``tge tune --resume RUN``: re-queue what was interrupted, then run the workers again."""
    import optuna

    data = read_run_file(out)
    spec = TuneSpec.from_dict(data["spec"])
    storage_spec = run_storage(out, data, storage)
    with _coordinator_lock(out):
        backend = _open(storage_spec, options.heartbeat, notify)
        journal = storage_spec.kind == "journal"
        for phase in phases(spec, backend):
            try:
                study = optuna.load_study(study_name=phase.study_name, storage=backend)
            except KeyError:
                if phase.name == "search":
                    raise ConfigError(
                        f"{storage_spec.masked} has no study {phase.study_name!r}; is --storage right?"
                    ) from None
                continue
            n = queue.recover_orphans(study, foreign_dead=journal, orphan_age=0.0)
            if n:
                notify(f"re-queued {n} {phase.name} trial(s) whose worker had died")
            slots = phase.slots()
            if slots is not None:
                queued = queue.ensure_slots(study, slots)
                if queued:
                    notify(f"queued {queued} {phase.name} trial(s) again")
        return _coordinate(spec, out, storage_spec, backend, options, notify)


def default_devices(workers: int | None) -> tuple[int, list[str]]:
    """One worker per CUDA device when there are any, else ``workers`` (default 1) CPU workers."""
    try:
        import torch

        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # a broken CUDA setup must not stop CPU tuning
        gpus = 0
    if gpus:
        n = workers or gpus
        return n, [f"cuda:{i % gpus}" for i in range(n)]
    n = workers or 1
    return n, ["cpu"] * n


def _spawn(
    spec: TuneSpec, out: Path, storage: StorageSpec, options: TuneOptions
) -> list[subprocess.Popen[bytes]]:
    n, devices = default_devices(options.workers)
    if options.devices:
        devices = [options.devices[i % len(options.devices)] for i in range(n)]
    threads = options.threads or max(1, (os.cpu_count() or 1) // n)
    logs = out / "workers"
    logs.mkdir(exist_ok=True)
    procs = []
    for i, device in enumerate(devices):
        env = {
            **os.environ,
            "TGE_STORAGE": storage.url,
            "OMP_NUM_THREADS": str(threads),
            "TGE_WORKER_THREADS": str(threads),
        }
        argv = [
            sys.executable, "-m", "textgen_eval", "tune", "--worker",
            "--study", spec.name, "--out", str(out), "--device", device,
            "--heartbeat", str(options.heartbeat),
        ]  # fmt: skip
        with open(logs / f"worker-{i}.log", "ab") as log:
            procs.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs


def describe_progress(spec: TuneSpec, counts: Mapping[str, Any]) -> str:
    s, r = counts["search"], counts["retrain"]
    best = counts.get("best")
    best_text = f", best {spec.objective} {best:.4g}" if best is not None else ""
    return (
        f"search {s.done}/{s.budget} done ({s.failed} failed, {s.running} running, {s.waiting} waiting)"
        f"{best_text}; retrain {r.done}/{r.budget}"
    )


def _coordinate(
    spec: TuneSpec, out: Path, storage: StorageSpec, backend: Any, options: TuneOptions, notify: Notify
) -> dict[str, Any]:
    procs = _spawn(spec, out, storage, options)
    bar = None
    total = spec.budget + spec.retrain
    if options.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"tune {spec.generator}", unit="trial", file=sys.stderr)
    try:
        while True:
            counts = progress_counts(spec, backend)
            if bar is not None:
                bar.n = counts["search"].done + counts["retrain"].done
                bar.set_postfix_str(describe_progress(spec, counts), refresh=True)
            if all(p.poll() is not None for p in procs):
                break
            time.sleep(options.poll)
    except KeyboardInterrupt:
        for p in procs:  # they got SIGINT too; make sure, then let them re-queue their trials
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=60)
        raise TrainingInterrupted(f"interrupted; continue with `tge tune --resume {out}`") from None
    finally:
        if bar is not None:
            bar.close()
    counts = progress_counts(spec, backend)
    if counts["search"].finished and counts["search"].complete == 0:
        raise UserError(f"all {spec.budget} search trials failed; {_first_error(spec, backend)}")
    failed = [(i, p.returncode) for i, p in enumerate(procs) if p.returncode != 0]
    if not (counts["search"].finished and counts["retrain"].finished):
        detail = "; ".join(
            f"worker {i} exited with {code} (log: {out}/workers/worker-{i}.log)" for i, code in failed
        )
        raise TextgenEvalError(
            f"the run is not finished ({describe_progress(spec, counts)}). {detail or 'workers stopped'}; "
            f"continue with `tge tune --resume {out}`"
        )
    notify(describe_progress(spec, counts))
    return counts


def _first_error(spec: TuneSpec, storage: Any) -> str:
    import optuna

    study = optuna.load_study(study_name=spec.study_name("search"), storage=storage)
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get(queue.STATUS) in queue.FINAL_FAILURES:
            return f"trial {trial.number}: {trial.user_attrs.get(queue.ERROR)}"
    return "no error was recorded"


# ----------------------------------------------------------------------------- a worker


def work(
    *,
    storage: str,
    study: str,
    out: Path,
    device: str | None,
    heartbeat: int,
    notify: Notify,
    max_trials: int | None = None,
) -> Any:
    """``tge tune --worker``: join the run named ``study`` in ``storage`` and work until it is done."""
    import optuna

    storage_spec = parse_storage(storage)
    backend = _open(storage_spec, heartbeat, notify)
    try:
        search = optuna.load_study(study_name=f"{study}:search", storage=backend)
    except KeyError:
        raise ConfigError(
            f"--storage {storage_spec.masked} has no tuning run named {study!r}; start it with `tge tune "
            "GENERATOR --data ... --storage URL --study NAME` first"
        ) from None
    spec = TuneSpec.from_dict(search.user_attrs[SPEC_ATTR])
    threads = os.environ.get("TGE_WORKER_THREADS")
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    out.mkdir(parents=True, exist_ok=True)
    runner = TrialRunner(spec, out, device=device)
    return run_worker(
        backend,
        phases(spec, backend),
        runner,
        trial_timeout=spec.trial_timeout,
        on_event=notify,
        foreign_dead=False,
        max_trials=max_trials,
    )
