"""The exact-budget trial queue, workers and storages, with a fast fake trial function."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from textgen_eval.core.errors import DivergenceError, EnvironmentFault, TextgenEvalError
from textgen_eval.core.space import SearchSpace, choice, uniform
from textgen_eval.tuning import queue, worker
from textgen_eval.tuning.journal import recover_journal
from textgen_eval.tuning.storage import open_storage, parse_storage
from textgen_eval.tuning.timeout import TrialTimeout, time_limit
from textgen_eval.tuning.worker import Phase, TrialOutcome, TrialRequest, run_worker

SPACE = SearchSpace({"x": uniform(0.0, 1.0), "flag": choice(False, True)})


def journal(tmp_path: Path) -> object:
    return open_storage(parse_storage(str(tmp_path / "study.journal")), heartbeat_interval=None)


def phase(budget: int = 6, name: str = "t:search") -> Phase:
    slots = [(config, 100 + i) for i, config in enumerate(SPACE.draw(budget, seed=0))]
    return Phase("search", name, budget, "lower", queue.distributions(SPACE), lambda: slots)


def queued(storage: object, p: Phase) -> tuple[optuna.Study, list[tuple[dict[str, object], int]]]:
    """A study of ``p`` with its slots queued, as the coordinator leaves it."""
    study = optuna.create_study(study_name=p.study_name, storage=storage)
    slots = p.slots()
    assert slots is not None
    queue.ensure_slots(study, slots)
    return study, [(dict(params), seed) for params, seed in slots]


def objective(request: TrialRequest) -> TrialOutcome:
    return TrialOutcome(float(request.params["x"]), {"tge:metrics": {}}, work_seconds=0.0)


def test_one_worker_runs_exactly_the_budget_with_typed_params(tmp_path: Path) -> None:
    storage = journal(tmp_path)
    report = run_worker(storage, [phase(6)], objective, poll=0.01)
    study = optuna.load_study(study_name="t:search", storage=storage)
    trials = study.get_trials()
    assert report.ran == report.complete == 6 and len(trials) == 6
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert sorted(t.user_attrs[queue.SLOT] for t in trials) == list(range(6))
    drawn = SPACE.draw(6, seed=0)
    for t in trials:
        assert t.params == drawn[t.user_attrs[queue.SLOT]]  # recorded with distributions
        assert t.user_attrs[queue.SEED] == 100 + t.user_attrs[queue.SLOT]
        assert t.value == t.params["x"]
    assert study.best_value == min(c["x"] for c in drawn)


def test_a_diverged_trial_fails_with_its_error_and_the_study_goes_on(tmp_path: Path) -> None:
    def sometimes_diverges(request: TrialRequest) -> TrialOutcome:
        if request.slot == 2:
            raise DivergenceError("loss is nan at step 3")
        if request.slot == 4:
            raise RuntimeError("a bug in a plugin")
        return objective(request)

    storage = journal(tmp_path)
    report = run_worker(storage, [phase(6)], sometimes_diverges, poll=0.01)
    trials = optuna.load_study(study_name="t:search", storage=storage).get_trials()
    assert (report.complete, report.failed) == (4, 2)
    by_slot = {t.user_attrs[queue.SLOT]: t for t in trials}
    assert by_slot[2].state == TrialState.FAIL and by_slot[2].user_attrs[queue.STATUS] == "diverged"
    assert "loss is nan" in by_slot[2].user_attrs[queue.ERROR]
    assert (
        by_slot[4].user_attrs[queue.STATUS] == "error"
        and "a bug in a plugin" in by_slot[4].user_attrs[queue.ERROR]
    )
    assert "RuntimeError" in by_slot[4].user_attrs["tge:traceback"]
    counts = queue.count(trials, 6)
    assert (counts.complete, counts.failed, counts.finished) == (4, 2, True)


def test_a_non_finite_objective_is_a_failed_trial(tmp_path: Path) -> None:
    storage = journal(tmp_path)
    run_worker(storage, [phase(2)], lambda r: TrialOutcome(float("nan")), poll=0.01)
    trials = optuna.load_study(study_name="t:search", storage=storage).get_trials()
    assert all(
        t.user_attrs[queue.STATUS] == "error" and "not finite" in t.user_attrs[queue.ERROR] for t in trials
    )


def test_the_time_limit_fails_a_slow_trial(tmp_path: Path) -> None:
    def slow(request: TrialRequest) -> TrialOutcome:
        if request.slot == 0:
            time.sleep(5)
        return objective(request)

    storage = journal(tmp_path)
    start = time.perf_counter()
    run_worker(storage, [phase(2)], slow, trial_timeout=0.3, poll=0.01)
    assert time.perf_counter() - start < 3
    trials = optuna.load_study(study_name="t:search", storage=storage).get_trials()
    states = {t.user_attrs[queue.SLOT]: t.user_attrs[queue.STATUS] for t in trials}
    assert states == {0: "timeout", 1: "complete"}


def test_time_limit_is_inert_without_a_limit_and_restores_the_handler() -> None:
    before = signal.getsignal(signal.SIGALRM)
    with time_limit(None):
        pass
    with pytest.raises(TrialTimeout), time_limit(0.05):
        time.sleep(1)
    assert signal.getsignal(signal.SIGALRM) == before


def test_an_interrupted_trial_is_requeued_with_the_same_config(tmp_path: Path) -> None:
    calls = []

    def interrupt_once(request: TrialRequest) -> TrialOutcome:
        calls.append((request.slot, request.attempt, dict(request.params), request.seed))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return objective(request)

    storage = journal(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_worker(storage, [phase(4)], interrupt_once, poll=0.01)
    run_worker(storage, [phase(4)], interrupt_once, poll=0.01)  # the resumed worker
    trials = optuna.load_study(study_name="t:search", storage=storage).get_trials()
    assert len(trials) == 5
    interrupted = [t for t in trials if t.user_attrs.get(queue.STATUS) == "interrupted"]
    assert len(interrupted) == 1
    slot = interrupted[0].user_attrs[queue.SLOT]
    retries = [c for c in calls if c[0] == slot]
    assert [c[1] for c in retries] == [1, 2] and retries[0][2:] == retries[1][2:]
    assert queue.count(trials, 4).complete == 4


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "/runs/t/weights.pt"),
            "disk full writing /runs/t/weights.pt",
        ),
        (OSError(errno.EFBIG, "File too large", "/runs/t/log.jsonl"), "file size limit exceeded writing"),
        (MemoryError(), "out of memory"),
        (
            RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"),
            "out of memory",
        ),
    ],
)
def test_a_fault_of_the_machine_requeues_the_trial_instead_of_failing_it(
    tmp_path: Path, fault: BaseException, said: str
) -> None:
    """Issue 34, item 4: a full disk is not a verdict on the configuration that was training."""
    calls = []

    def faulty_once(request: TrialRequest) -> TrialOutcome:
        calls.append((request.slot, request.attempt, dict(request.params), request.seed))
        if len(calls) == 2:
            raise fault
        return objective(request)

    storage = journal(tmp_path)
    events: list[str] = []
    with pytest.raises(EnvironmentFault, match=f"{said}.*re-queued, not failed.*--resume"):
        run_worker(storage, [phase(4)], faulty_once, poll=0.01, on_event=events.append)
    assert any(said in e and "re-queued" in e for e in events)
    report = run_worker(storage, [phase(4)], faulty_once, poll=0.01)  # space freed, --resume
    assert report.failed == 0
    trials = optuna.load_study(study_name="t:search", storage=storage).get_trials()
    stopped = [t for t in trials if t.user_attrs.get(queue.STATUS) == "environment"]
    assert len(stopped) == 1 and said in stopped[0].user_attrs[queue.ERROR]
    retries = [c for c in calls if c[0] == stopped[0].user_attrs[queue.SLOT]]
    assert [c[1] for c in retries] == [1, 2] and retries[0][2:] == retries[1][2:]
    counts = queue.count(trials, 4)
    assert counts.complete == 4 and counts.failed == 0


def test_a_configuration_out_of_memory_in_every_attempt_is_a_failed_configuration(tmp_path: Path) -> None:
    """Out of memory three times for the same slot: the setting asks for more than the machine has."""
    attempts: list[int] = []

    def too_big(request: TrialRequest) -> TrialOutcome:
        if request.slot == 0:
            attempts.append(request.attempt)
            raise MemoryError
        return objective(request)

    storage = journal(tmp_path)
    for _ in range(worker.MEMORY_ATTEMPTS - 1):
        with pytest.raises(EnvironmentFault):
            run_worker(storage, [phase(3)], too_big, poll=0.01)
    report = run_worker(storage, [phase(3)], too_big, poll=0.01)
    assert attempts == list(range(1, worker.MEMORY_ATTEMPTS + 1))
    trials = optuna.load_study(study_name="t:search", storage=storage).get_trials()
    counts = queue.count(trials, 3)
    assert report.failed == 1 and counts.failed == 1 and counts.complete == 2
    final = [t for t in trials if t.user_attrs.get(queue.STATUS) == "error"]
    assert f"out of memory in {worker.MEMORY_ATTEMPTS} attempts" in final[0].user_attrs[queue.ERROR]


def test_claimed_duplicates_never_run(tmp_path: Path) -> None:
    storage = journal(tmp_path)
    p = phase(3)
    study, slots = queued(storage, p)
    params, seed = slots[1]
    study.enqueue_trial(dict(params), user_attrs={queue.SLOT: 1, queue.SEED: seed}, skip_if_exists=False)
    report = run_worker(storage, [p], objective, poll=0.01)
    trials = study.get_trials()
    assert report.ran == 3 and len(trials) == 4
    assert [t.user_attrs.get(queue.STATUS) for t in trials].count(queue.DUPLICATE) == 1
    assert queue.count(trials, 3).complete == 3


def test_a_dead_workers_trial_is_requeued(tmp_path: Path) -> None:
    storage = journal(tmp_path)
    p = phase(2)
    study, _ = queued(storage, p)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    claimed = queue.claim(study)
    assert claimed is not None
    queue.storage_of(study).set_trial_user_attr(
        queue.trial_id(claimed), queue.WORKER, {"host": os.uname().nodename, "pid": dead.pid, "start": "1"}
    )
    assert queue.count(study.get_trials(), 2).running == 1
    run_worker(storage, [p], objective, poll=0.01)
    trials = study.get_trials()
    assert [t.user_attrs.get(queue.STATUS) for t in trials].count("killed") == 1
    assert queue.count(trials, 2).complete == 2 and len(trials) == 3


def test_rdb_heartbeat_fails_and_requeues_a_silent_trial(tmp_path: Path) -> None:
    storage = open_storage(
        parse_storage(f"sqlite:///{tmp_path / 'db.sqlite'}"), heartbeat_interval=1, on_stale=queue.requeue
    )
    p = phase(2)
    study, _ = queued(storage, p)
    claimed = queue.claim(study)  # a worker on another machine that then goes silent
    assert claimed is not None
    storage_ = queue.storage_of(study)
    storage_.set_trial_user_attr(queue.trial_id(claimed), queue.WORKER, {"host": "elsewhere", "pid": 1})
    storage_.record_heartbeat(queue.trial_id(claimed))
    time.sleep(2.5)  # past the grace period (2 × interval)
    run_worker(storage, [p], objective, poll=0.05)
    trials = study.get_trials()
    assert len(trials) == 3 and queue.count(trials, 2).complete == 2
    stale = next(t for t in trials if t.number == claimed.number)
    assert stale.state == TrialState.FAIL


def test_retrain_phase_waits_for_its_slots(tmp_path: Path) -> None:
    storage = journal(tmp_path)
    search = phase(3)

    def retrain_slots() -> list[tuple[dict[str, object], int]] | None:
        study = optuna.load_study(study_name="t:search", storage=storage)
        if not queue.count(study.get_trials(), 3).finished:
            return None
        return [(dict(study.best_trial.params), 7 + k) for k in range(2)]

    retrain = Phase("retrain", "t:retrain", 2, "lower", search.distributions, retrain_slots)  # type: ignore[arg-type]
    report = run_worker(storage, [search, retrain], objective, poll=0.01)
    assert report.ran == 5
    best = optuna.load_study(study_name="t:search", storage=storage).best_trial
    again = optuna.load_study(study_name="t:retrain", storage=storage).get_trials()
    assert [t.params for t in again] == [best.params, best.params]
    assert [t.user_attrs[queue.SEED] for t in again] == [7, 8]


# ----------------------------------------------------------------------------- the journal


def _journal_with_trials(tmp_path: Path, n: int) -> Path:
    storage = journal(tmp_path)
    run_worker(storage, [phase(n)], objective, poll=0.01)
    return tmp_path / "study.journal"


def test_a_journal_cut_mid_record_is_recovered_with_a_warning(tmp_path: Path) -> None:
    path = _journal_with_trials(tmp_path, 3)
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"op_code": 5, "worker_id": "x", "trial_id": 0, "us')  # crash mid-write
    messages: list[str] = []
    storage = open_storage(parse_storage(str(path)), heartbeat_interval=None, notify=messages.append)
    assert len(messages) == 1 and "incomplete last record" in messages[0] and str(path) in messages[0]
    assert path.read_bytes() == whole
    backups = list(tmp_path.glob("study.journal.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_bytes().startswith(whole)
    study = optuna.load_study(study_name="t:search", storage=storage)
    assert queue.count(study.get_trials(), 3).complete == 3
    study.enqueue_trial({"x": 0.5, "flag": True})  # appending after recovery works, and re-reads cleanly
    fresh = open_storage(parse_storage(str(path)), heartbeat_interval=None, notify=messages.append)
    assert len(optuna.load_study(study_name="t:search", storage=fresh).get_trials()) == 4
    assert len(messages) == 1


def test_a_corrupted_middle_line_is_an_error_not_silently_dropped(tmp_path: Path) -> None:
    path = _journal_with_trials(tmp_path, 2)
    lines = path.read_bytes().split(b"\n")
    lines[1] = b"garbage"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(TextgenEvalError, match="line 2 is not a JSON record"):
        recover_journal(path)


def test_storage_urls_are_masked_and_validated(tmp_path: Path) -> None:
    spec = parse_storage("postgresql://tge:s3cret@db.example:5432/studies")
    assert spec.kind == "rdb" and spec.has_secret and "s3cret" not in spec.masked
    assert (
        parse_storage("runs/a/study.journal", base=tmp_path).url == f"journal:{tmp_path}/runs/a/study.journal"
    )
    with pytest.raises(TextgenEvalError, match="unknown scheme 'redis'"):
        parse_storage("redis://localhost")
    assert json.dumps(spec.masked)  # plain string
