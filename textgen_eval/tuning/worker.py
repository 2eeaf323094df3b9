"""A worker: claim queued trials of each phase in turn, run them, record the outcome.

Model-agnostic: a trial is a callable ``TrialRequest → TrialOutcome``. A worker leaves a phase
when all its slots are complete or failed; it then moves to the next phase, whose slots may only
be known once the previous phase is finished (the retraining of the best configuration).
"""

from __future__ import annotations

import math
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from textgen_eval.core.errors import DivergenceError, EnvironmentFault, TrainingInterrupted
from textgen_eval.core.faults import OUT_OF_MEMORY, environment_fault
from textgen_eval.core.space import Value
from textgen_eval.tuning import queue
from textgen_eval.tuning.directions import optuna_direction
from textgen_eval.tuning.timeout import TrialTimeout, time_limit

OVERHEAD = "tge:overhead"
WALL = "tge:wall"
#: A configuration that ran out of memory this many times is a failed configuration (it asks for more
#: memory than the machine has), not a fault to retry forever.
MEMORY_ATTEMPTS = 3


@dataclass(frozen=True)
class TrialRequest:
    """What a trial function gets: the configuration to train and the seed to train it with."""

    phase: str
    number: int
    slot: int
    seed: int
    attempt: int
    params: Mapping[str, Value]


@dataclass
class TrialOutcome:
    """The objective and everything to record (JSON-serialisable user attributes)."""

    value: float
    attrs: dict[str, Any] = field(default_factory=dict)
    #: seconds spent in the trial's own work (training, sampling, metrics), for overhead accounting
    work_seconds: float | None = None


TrialFunction = Callable[[TrialRequest], TrialOutcome]


@dataclass
class Phase:
    """One study of the protocol.

    ``slots()`` returns each slot's ``(params, seed)``, or ``None`` while they cannot be known yet.
    """

    name: str
    study_name: str
    budget: int
    direction: str
    distributions: Mapping[str, Any]
    slots: Callable[[], Sequence[tuple[Mapping[str, Value], int]] | None]


@dataclass
class WorkerReport:
    ran: int = 0
    complete: int = 0
    failed: int = 0


def load_or_create(storage: Any, phase: Phase) -> Any:
    import optuna

    return optuna.create_study(
        study_name=phase.study_name,
        storage=storage,
        direction=optuna_direction(phase.direction),
        load_if_exists=True,
    )


def run_worker(
    storage: Any,
    phases: Sequence[Phase],
    fn: TrialFunction,
    *,
    trial_timeout: float | None = None,
    poll: float = 0.5,
    on_event: Callable[[str], None] = lambda message: None,
    foreign_dead: bool = False,
    max_trials: int | None = None,
) -> WorkerReport:
    """Work through ``phases`` until every slot is done (or ``max_trials`` were run here)."""
    import optuna

    report = WorkerReport()
    for phase in phases:
        study = None
        while True:
            if study is None:
                if phase.slots() is None:  # e.g. retraining before the search is finished
                    time.sleep(poll)
                    continue
                study = load_or_create(storage, phase)
            with warnings.catch_warnings():  # "experimental" since Optuna 2.9; we rely on it on purpose
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
            queue.recover_orphans(study, foreign_dead=foreign_dead)
            views = queue.slot_views(study.get_trials(deepcopy=False), phase.budget)
            if all(v.state in ("complete", "failed") for v in views):
                queue.discard_leftovers(study)
                break
            if study.user_attrs.get(queue.ENQUEUED) != phase.budget or any(v.state == "lost" for v in views):
                slots = phase.slots()
                if slots is not None:
                    queue.ensure_slots(study, slots)
            started = time.perf_counter()
            trial = queue.claim(study)
            if trial is None:
                time.sleep(poll)
                continue
            report.ran += 1
            state = _run_trial(study, trial, phase, fn, trial_timeout, started, on_event)
            report.complete += state == "complete"
            report.failed += state != "complete"
            if max_trials is not None and report.ran >= max_trials:
                return report
    return report


def _requeue_after_fault(
    study: Any, frozen: Any, label: str, fault: str, on_event: Callable[[str], None]
) -> None:
    """Fail the trial as ``environment`` and queue its copy (issue 34, item 4).

    Recording may itself hit the full disk: the trial then stays RUNNING with a dead worker, and the
    next worker's orphan check re-queues it (``queue.recover_orphans``) — the same outcome, later.
    """
    try:
        queue.fail_and_requeue(study, frozen, "environment", f"{fault}; re-queued")
    except OSError:
        on_event(f"{label}: {fault}; could not record it either (the next worker re-queues the trial)")
        return
    on_event(f"{label}: {fault}; re-queued")


def _record_params(trial: Any, params: Mapping[str, Value], dists: Mapping[str, Any]) -> None:
    """Suggest the queued values so Optuna (and optuna-dashboard) sees typed parameters."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    for name, value in params.items():
        dist = dists.get(name)
        if isinstance(dist, FloatDistribution):
            got: Any = trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
        elif isinstance(dist, IntDistribution):
            got = trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
        elif isinstance(dist, CategoricalDistribution):
            got = trial.suggest_categorical(name, dist.choices)
        else:
            continue
        if got != value:  # pragma: no cover - Optuna returns the queued value when it is in range
            raise RuntimeError(f"trial {trial.number}: {name} = {got!r}, queued {value!r}")


class _Heartbeat:
    """Records Optuna heartbeats of one trial from a thread while it runs (RDB storages)."""

    def __init__(self, storage: Any, tid: int) -> None:
        interval = getattr(storage, "get_heartbeat_interval", None)
        self.interval = interval() if callable(interval) else None
        self.storage, self.tid = storage, tid
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _Heartbeat:
        if self.interval:
            self.storage.record_heartbeat(self.tid)
            self.thread = threading.Thread(target=self._beat, name="tge-heartbeat", daemon=True)
            self.thread.start()
        return self

    def _beat(self) -> None:
        assert self.interval
        while not self.stop.wait(self.interval):
            try:
                self.storage.record_heartbeat(self.tid)
            except Exception:  # a lost connection must not kill the trial; the next beat retries
                continue

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


def _run_trial(
    study: Any,
    frozen: Any,
    phase: Phase,
    fn: TrialFunction,
    trial_timeout: float | None,
    started: float,
    on_event: Callable[[str], None],
) -> str:
    import optuna
    from optuna.trial import TrialState

    storage = queue.storage_of(study)
    tid = queue.trial_id(frozen)
    params = dict(frozen.system_attrs.get("fixed_params", frozen.params))
    request = TrialRequest(
        phase=phase.name,
        number=frozen.number,
        slot=int(frozen.user_attrs[queue.SLOT]),
        seed=int(frozen.user_attrs[queue.SEED]),
        attempt=int(frozen.user_attrs.get(queue.ATTEMPT, 1)),
        params=params,
    )
    trial = optuna.trial.Trial(study, tid)
    _record_params(trial, params, phase.distributions)
    label = f"{phase.name} trial {frozen.number} (slot {request.slot}, attempt {request.attempt})"
    on_event(f"{label}: started")
    status, error, outcome = "complete", "", None
    work_start = time.perf_counter()
    try:
        with _Heartbeat(storage, tid), time_limit(trial_timeout):
            outcome = fn(request)
        if not math.isfinite(outcome.value):
            status, error = "error", f"the objective is {outcome.value} (not finite)"
    except (KeyboardInterrupt, TrainingInterrupted):
        queue.fail_and_requeue(study, frozen, "interrupted", "interrupted (Ctrl-C / SIGTERM); re-queued")
        on_event(f"{label}: interrupted, re-queued")
        raise
    except TrialTimeout as exc:
        status, error = "timeout", str(exc)
    except DivergenceError as exc:
        status, error = "diverged", str(exc)
    except Exception as exc:
        fault = environment_fault(exc)
        if fault is not None and not (fault == OUT_OF_MEMORY and request.attempt >= MEMORY_ATTEMPTS):
            _requeue_after_fault(study, frozen, label, fault, on_event)
            raise EnvironmentFault(
                f"{label}: {fault}; the trial is re-queued, not failed: free the space or memory and "
                "continue with --resume"
            ) from exc
        repeated = f"{fault} in {request.attempt} attempts: " if fault is not None else ""
        status, error = "error", f"{repeated}{type(exc).__name__}: {exc}"
        storage.set_trial_user_attr(tid, "tge:traceback", traceback.format_exc()[-4000:])
    work = time.perf_counter() - work_start
    if outcome is not None:
        for key, value in outcome.attrs.items():
            storage.set_trial_user_attr(tid, key, value)
        if outcome.work_seconds is not None:
            work = outcome.work_seconds
    storage.set_trial_user_attr(tid, queue.STATUS, status)
    if status != "complete":
        storage.set_trial_user_attr(tid, queue.ERROR, error)
    wall = time.perf_counter() - started  # attributes must be set before tell() finishes the trial
    storage.set_trial_user_attr(tid, WALL, wall)
    storage.set_trial_user_attr(tid, OVERHEAD, max(wall - work, 0.0))
    if status == "complete":
        assert outcome is not None
        study.tell(trial, outcome.value)
    else:
        study.tell(trial, state=TrialState.FAIL)
    value = f" value {outcome.value:.6g}" if status == "complete" and outcome else f": {error}"
    on_event(f"{label}: {status}{value} in {wall:.1f} s")
    return status
