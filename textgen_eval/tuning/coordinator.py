"""``tge tune``'s coordinator: create (or resume) a run's studies, start the worker processes,
show progress, and say how the run ended. It never runs a trial itself."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgen_eval.core.errors import (
    ConfigError,
    LockTimeout,
    TextgenEvalError,
    TrainingInterrupted,
    UserError,
)
from textgen_eval.core.locking import file_lock
from textgen_eval.tuning import queue
from textgen_eval.tuning.directions import optuna_direction
from textgen_eval.tuning.live import describe_running
from textgen_eval.tuning.phases import describe_progress, first_error, phases, progress_counts
from textgen_eval.tuning.runfile import SPEC_FILE, read_run_file, run_storage, write_run_file
from textgen_eval.tuning.spec import PHASES, TuneSpec
from textgen_eval.tuning.storage import DEFAULT_JOURNAL, StorageSpec, open_storage, parse_storage

SPEC_ATTR = "tge:spec"  # the spec also lives in the study, for workers on other machines
Notify = Callable[[str], None]


@dataclass
class TuneOptions:
    workers: int = 1
    devices: Sequence[str] = ()
    #: torch/OpenMP threads per worker; 0 = cores // workers
    threads: int = 0
    heartbeat: int = 60
    progress: bool = True
    poll: float = 0.5
    #: the command that continues the run, as messages name it (``tge compare`` runs a model's
    #: tuning inside a comparison, which ``tge compare --resume`` continues as a whole)
    resume_command: str | None = None

    def resume_hint(self, out: Path) -> str:
        return self.resume_command or f"tge tune --resume {out}"


def open_backend(spec_storage: StorageSpec, heartbeat: int | None, notify: Notify) -> Any:
    """The storage, with RDB heartbeats: a silent worker's trial is failed and its copy queued."""
    return open_storage(spec_storage, heartbeat_interval=heartbeat, on_stale=queue.requeue, notify=notify)


COORDINATOR_LOCK = ".coordinator.lock"


@contextlib.contextmanager
def _coordinator_lock(out: Path) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(file_lock(out / COORDINATOR_LOCK, timeout=0.5))
        except LockTimeout:
            raise ConfigError(f"{out}: another `tge tune` is already coordinating this run") from None
        yield


def start(
    spec: TuneSpec, out: Path, *, storage: str | None, options: TuneOptions, notify: Notify
) -> dict[str, Any]:
    """``tge tune MODEL ...``: create the run and its studies, then run the workers.

    Nothing is left behind when the start fails before ``tune.json`` is written (unreachable
    storage, a duplicate study): the same command can simply be run again.
    """
    from textgen_eval.core.output import check_output_directory

    check_output_directory(out, what="--out (tuning run directory)")
    held = {p.name for p in out.iterdir()} - {COORDINATOR_LOCK} if out.is_dir() else set()
    if SPEC_FILE in held:
        raise ConfigError(
            f"--out {out} already holds a tuning run; continue it with `tge tune --resume {out}` "
            "or choose a new directory"
        )
    if held:
        shown = ", ".join(sorted(held)[:4]) + (" ..." if len(held) > 4 else "")
        raise ConfigError(
            f"--out {out} is not empty and holds no tuning run ({shown}); choose a new directory"
        )
    storage_spec = parse_storage(storage) if storage else parse_storage(str(out / DEFAULT_JOURNAL))
    backend = (
        None if storage_spec.kind == "journal" else open_backend(storage_spec, options.heartbeat, notify)
    )
    existed = out.exists()
    journal_existed = storage_spec.kind == "journal" and storage_spec.journal_path.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with _coordinator_lock(out):
            try:
                if backend is None:
                    backend = open_backend(storage_spec, options.heartbeat, notify)
                study = _create_search_study(spec, backend, storage_spec)
                write_run_file(out, spec.to_dict(), storage_spec, {p: spec.study_name(p) for p in PHASES})
            except BaseException:
                _undo_failed_start(out, existed=existed, journal=None if journal_existed else storage_spec)
                raise
            queue.ensure_slots(study, spec.search_slots())
            return _coordinate(spec, out, storage_spec, backend, options, notify)
    finally:
        if not (out / SPEC_FILE).exists():  # a refused start leaves nothing behind
            with contextlib.suppress(OSError):
                (out / COORDINATOR_LOCK).unlink()
            if not existed and out.is_dir() and not any(out.iterdir()):
                out.rmdir()


def _create_search_study(spec: TuneSpec, backend: Any, storage_spec: StorageSpec) -> Any:
    import optuna

    try:
        study = optuna.create_study(
            study_name=spec.study_name("search"),
            storage=backend,
            direction=optuna_direction(spec.direction),
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise ConfigError(
            f"--storage {storage_spec.masked} already has a study named {spec.study_name('search')!r}; "
            "choose another --study NAME, or resume it with `tge tune --resume`"
        ) from None
    study.set_user_attr(SPEC_ATTR, spec.to_dict())
    return study


def _undo_failed_start(out: Path, *, existed: bool, journal: StorageSpec | None) -> None:
    """A start that failed before ``tune.json`` leaves nothing behind: ``--out`` stays reusable."""
    if (out / SPEC_FILE).exists():
        return
    removable = []
    if journal is not None and journal.kind == "journal":
        path = journal.journal_path
        removable += [path, path.with_name(path.name + ".flock")]
    for item in removable:
        with contextlib.suppress(OSError):
            item.unlink()


def resume(out: Path, *, storage: str | None, options: TuneOptions, notify: Notify) -> dict[str, Any]:
    """``tge tune --resume RUN``: re-queue what was interrupted, then run the workers again."""
    import optuna

    data = read_run_file(out)
    spec = TuneSpec.from_dict(data["spec"])
    storage_spec = run_storage(out, data, storage)
    with _coordinator_lock(out):
        backend = open_backend(storage_spec, options.heartbeat, notify)
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
            if phase.name == "search":
                _check_spec_unchanged(out, spec, study)
            n = queue.recover_orphans(study, foreign_dead=journal, orphan_age=0.0)
            if n:
                notify(f"re-queued {n} {phase.name} trial(s) whose worker had died")
            slots = phase.slots()
            if slots is not None:
                queued = queue.ensure_slots(study, slots)
                if queued:
                    notify(f"queued {queued} {phase.name} trial(s) again")
        return _coordinate(spec, out, storage_spec, backend, options, notify)


def _check_spec_unchanged(out: Path, spec: TuneSpec, study: Any) -> None:
    """``tune.json``'s spec must be the one the run's study records (the workers read that one):
    an edited ``tune.json`` — a raised budget, say — would have the coordinator wait for trials no
    worker runs (issue 34, item 4). Refused, naming what differs."""
    recorded = study.user_attrs.get(SPEC_ATTR)
    if not isinstance(recorded, dict):
        return
    mine, theirs = spec.to_dict(), TuneSpec.from_dict(recorded).to_dict()
    differ = [k for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]
    if differ:
        shown = "; ".join(f"{k}: {mine.get(k)!r} in tune.json, {theirs.get(k)!r} in the run" for k in differ)
        raise ConfigError(
            f"{out / 'tune.json'} was changed after the run started ({shown}); a run's settings are fixed "
            "when it starts: restore the file, or start a new run (e.g. a larger --budget with a new --out)"
        )


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


def _coordinate(
    spec: TuneSpec, out: Path, storage: StorageSpec, backend: Any, options: TuneOptions, notify: Notify
) -> dict[str, Any]:
    procs = _spawn(spec, out, storage, options)
    bar = None
    total = spec.budget + spec.retrain
    if options.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"tune {spec.model}", unit="trial", file=sys.stderr)
    try:
        while True:
            counts = progress_counts(spec, backend)
            if bar is not None:
                bar.n = counts["search"].done + counts["retrain"].done
                running = describe_running(out)
                shown = describe_progress(spec, counts) + (f" | {running}" if running else "")
                bar.set_postfix_str(shown, refresh=True)
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
        raise TrainingInterrupted(f"interrupted; continue with `{options.resume_hint(out)}`") from None
    finally:
        if bar is not None:
            bar.close()
    counts = progress_counts(spec, backend)
    if counts["search"].finished and counts["search"].complete == 0:
        raise UserError(f"all {spec.budget} search trials failed; {first_error(spec, backend)}")
    failed = [(i, p.returncode) for i, p in enumerate(procs) if p.returncode != 0]
    if not (counts["search"].finished and counts["retrain"].finished):
        detail = "; ".join(
            f"worker {i} exited with {code}{_last_error(out / 'workers' / f'worker-{i}.log')} "
            f"(log: {out}/workers/worker-{i}.log)"
            for i, code in failed
        )
        unfinished = TextgenEvalError(
            f"the run is not finished ({describe_progress(spec, counts)}). {detail or 'workers stopped'}; "
            f"continue with `{options.resume_hint(out)}`"
        )
        if failed and all(code == 2 for _, code in failed):  # each stopped on a user's or machine's fault
            unfinished.exit_code = 2
        raise unfinished
    notify(describe_progress(spec, counts))
    return counts


def _last_error(log: Path, tail: int = 16384) -> str:
    """``": tge: error: …"`` — the last error a worker printed, so the coordinator can relay it."""
    try:
        with log.open("rb") as f:
            f.seek(max(f.seek(0, 2) - tail, 0))
            text = f.read(tail).decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [ln.strip() for ln in text.replace("\r", "\n").splitlines() if ln.startswith("tge: ")]
    errors = [ln for ln in lines if "error" in ln.split(":", 2)[1]]
    return f" ({errors[-1]})" if errors else ""
