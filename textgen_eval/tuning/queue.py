"""The exact-budget trial queue on top of an Optuna study.

Every configuration of a phase is enqueued once as a WAITING trial carrying its *slot* (0 …
budget−1) and seed. Workers claim a WAITING trial by moving it to RUNNING through the storage
(an atomic compare-and-set in both the journal and the RDB storages), so no two workers run the
same trial, and a worker never asks Optuna for a new trial, so the budget cannot be overshot.

A slot's state is the union of its trials (a slot gets a new trial only when its previous one
was interrupted or its worker died):

* ``complete`` — a trial finished with a finite objective;
* ``failed`` — a trial failed on its own (diverged, timed out, raised): it counts against the
  budget and is not retried;
* ``running`` / ``waiting`` — in progress or queued;
* ``retried`` (a trial, not a slot) — interrupted, its worker died, or the machine stopped it (a
  full disk, no memory: status ``environment``); a copy is queued and the slot goes on;
* ``lost`` — every trial was interrupted and no copy is queued (a process died between
  failing the trial and re-queueing it); :func:`ensure_slots` queues it again.

Duplicated copies (two processes repairing the same slot at once) are detected when claimed and
recorded as ``duplicate``; they never run and never count.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from textgen_eval.core.space import Param, SearchSpace, Value

SLOT = "tge:slot"
SEED = "tge:seed"
ATTEMPT = "tge:attempt"
STATUS = "tge:status"
WORKER = "tge:worker"
ERROR = "tge:error"
ENQUEUED = "tge:enqueued"

#: Statuses of a FAIL trial that end its slot (count against the budget).
FINAL_FAILURES = frozenset({"diverged", "timeout", "error"})
#: Statuses of a FAIL trial whose slot is re-queued (the trial never got to finish).
RETRIED = frozenset({"interrupted", "killed"})
DUPLICATE = "duplicate"


def distribution(param: Param) -> Any:
    """The Optuna distribution of a :class:`~textgen_eval.core.space.Param`."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if param.kind == "choice":
        return CategoricalDistribution(list(param.choices))
    assert param.low is not None and param.high is not None
    if param.kind == "int":
        step = 1 if param.log else int(param.step or 1)
        return IntDistribution(int(param.low), int(param.high), log=param.log, step=step)
    return FloatDistribution(param.low, param.high, log=param.log, step=None if param.log else param.step)


def distributions(space: SearchSpace) -> dict[str, Any]:
    return {name: distribution(p) for name, p in space.params.items()}


# Optuna exposes a study's storage and a trial's id only as attributes (no public accessor);
# these two helpers are the only places that read them.


def storage_of(study: Any) -> Any:
    return study._storage


def trial_id(trial: Any) -> int:
    return int(trial._trial_id)


# ----------------------------------------------------------------------------- worker identity


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` after the command name (Linux), else ``None``."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_ticks(pid: int) -> str | None:
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def identity() -> dict[str, Any]:
    """Who runs a trial: host, pid and the process's start time (guards against pid reuse)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _start_ticks(os.getpid())}


def is_alive(worker: Mapping[str, Any] | None) -> bool | None:
    """Whether the process that claimed a trial still runs; ``None`` when it is on another host."""
    if not worker or worker.get("host") != socket.gethostname():
        return None
    pid = int(worker.get("pid", -1))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _proc_stat(pid)
    if fields is None:
        return True  # no /proc: the pid exists, which is all we can tell
    if fields[0] in ("Z", "X"):  # a zombie: killed, not yet reaped by its parent
        return False
    start = fields[19] if len(fields) > 19 else None
    return start is None or worker.get("start") in (None, start)


# ----------------------------------------------------------------------------- slots


@dataclass
class SlotView:
    slot: int
    state: str
    trials: list[Any] = field(default_factory=list)

    @property
    def final(self) -> Any | None:
        """The trial that decided the slot (complete or finally failed), if any."""
        for trial in self.trials:
            if _trial_state(trial) == self.state and self.state in ("complete", "failed"):
                return trial
        return None


@dataclass(frozen=True)
class Counts:
    budget: int
    complete: int
    failed: int
    running: int
    waiting: int

    @property
    def done(self) -> int:
        return self.complete + self.failed

    @property
    def finished(self) -> bool:
        return self.done >= self.budget

    def to_dict(self) -> dict[str, int]:
        return {
            "complete": self.complete,
            "failed": self.failed,
            "running": self.running,
            "waiting": self.waiting,
        }


def _trial_state(trial: Any) -> str:
    from optuna.trial import TrialState

    if trial.state == TrialState.COMPLETE:
        return "complete"
    if trial.state == TrialState.RUNNING:
        return "running"
    if trial.state == TrialState.WAITING:
        return "waiting"
    status = trial.user_attrs.get(STATUS)
    if status == DUPLICATE:
        return DUPLICATE
    if status in FINAL_FAILURES:
        return "failed"
    return "retried"  # interrupted, or failed by a heartbeat / orphan check: re-queued


def slot_views(trials: Iterable[Any], budget: int) -> list[SlotView]:
    by_slot: dict[int, list[Any]] = {slot: [] for slot in range(budget)}
    for trial in trials:
        slot = trial.user_attrs.get(SLOT)
        if isinstance(slot, int) and 0 <= slot < budget and _trial_state(trial) != DUPLICATE:
            by_slot[slot].append(trial)
    views = []
    for slot, group in by_slot.items():
        group.sort(key=lambda t: t.number)
        states = {_trial_state(t) for t in group}
        state = next((s for s in ("complete", "failed", "running", "waiting") if s in states), "lost")
        views.append(SlotView(slot, state, group))
    return views


def count(trials: Iterable[Any], budget: int) -> Counts:
    states = [v.state for v in slot_views(trials, budget)]
    return Counts(
        budget,
        complete=states.count("complete"),
        failed=states.count("failed"),
        running=states.count("running"),
        waiting=states.count("waiting") + states.count("lost"),
    )


# ----------------------------------------------------------------------------- enqueue / claim


def ensure_slots(study: Any, slots: Sequence[tuple[Mapping[str, Value], int]]) -> int:
    """Queue every slot that has no trial that is complete, failed, running or waiting.

    ``slots[i]`` is slot ``i``'s ``(params, seed)``. Returns how many trials were queued. Safe to
    call from several processes: a copy queued twice is discarded when claimed.
    """
    views = slot_views(study.get_trials(deepcopy=False), len(slots))
    queued = 0
    for view in views:
        if view.state != "lost":
            continue
        params, seed = slots[view.slot]
        attempt = 1 + sum(1 for t in view.trials)
        study.enqueue_trial(
            dict(params), user_attrs={SLOT: view.slot, SEED: seed, ATTEMPT: attempt}, skip_if_exists=False
        )
        queued += 1
    study.set_user_attr(ENQUEUED, len(slots))
    return queued


def requeue(study: Any, trial: Any) -> None:
    """Queue a fresh copy of an interrupted/killed ``trial`` (same slot, params and seed)."""
    params = trial.system_attrs.get("fixed_params", trial.params)
    study.enqueue_trial(
        dict(params),
        user_attrs={
            SLOT: trial.user_attrs.get(SLOT),
            SEED: trial.user_attrs.get(SEED),
            ATTEMPT: int(trial.user_attrs.get(ATTEMPT, 1)) + 1,
        },
        skip_if_exists=False,
    )


def fail_and_requeue(study: Any, trial: Any, status: str, message: str) -> bool:
    """Fail a RUNNING trial with ``status`` and queue its copy; False if another process was faster."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage = storage_of(study)
    tid = trial_id(trial)
    try:
        storage.set_trial_user_attr(tid, STATUS, status)
        storage.set_trial_user_attr(tid, ERROR, message)
        if not storage.set_trial_state_values(tid, TrialState.FAIL):
            return False
    except UpdateFinishedTrialError:
        return False
    requeue(study, trial)
    return True


def recover_orphans(study: Any, *, foreign_dead: bool = False, orphan_age: float = 60.0) -> int:
    """Re-queue RUNNING trials whose worker died.

    A worker on this host is checked by pid; one on another host only when ``foreign_dead``
    (``--resume`` on a journal file, which serves one machine). RDB storages also have heartbeats.
    A trial claimed but never stamped with its worker is orphaned after ``orphan_age`` seconds.
    """
    import datetime as dt

    from optuna.trial import TrialState

    recovered = 0
    now = dt.datetime.now()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(WORKER)
        if worker is None:
            started = trial.datetime_start
            dead = started is not None and (now - started).total_seconds() > orphan_age
        else:
            alive = is_alive(worker)
            dead = alive is False or (alive is None and foreign_dead)
        if dead:
            who = f"{worker.get('host')}:{worker.get('pid')}" if worker else "an unknown worker"
            recovered += fail_and_requeue(study, trial, "killed", f"worker {who} died during the trial")
    return recovered


def claim(study: Any) -> Any | None:
    """Move one WAITING trial to RUNNING for this process; ``None`` when none is waiting."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage = storage_of(study)
    waiting = sorted(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)), key=lambda t: t.number)
    for candidate in waiting:
        try:
            if not storage.set_trial_state_values(trial_id(candidate), TrialState.RUNNING):
                continue
        except UpdateFinishedTrialError:
            continue
        storage.set_trial_user_attr(trial_id(candidate), WORKER, identity())
        if _is_duplicate(study, candidate):
            storage.set_trial_user_attr(trial_id(candidate), STATUS, DUPLICATE)
            storage.set_trial_state_values(trial_id(candidate), TrialState.FAIL)
            continue
        return storage.get_trial(trial_id(candidate))
    return None


def discard_leftovers(study: Any) -> int:
    """Mark WAITING copies left after every slot is decided as duplicates (they must not run)."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage = storage_of(study)
    discarded = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if not storage.set_trial_state_values(trial_id(trial), TrialState.RUNNING):
                continue
        except UpdateFinishedTrialError:
            continue
        storage.set_trial_user_attr(trial_id(trial), STATUS, DUPLICATE)
        storage.set_trial_state_values(trial_id(trial), TrialState.FAIL)
        discarded += 1
    return discarded


def _is_duplicate(study: Any, mine: Any) -> bool:
    slot = mine.user_attrs.get(SLOT)
    for other in study.get_trials(deepcopy=False):
        if other.number == mine.number or other.user_attrs.get(SLOT) != slot:
            continue
        state = _trial_state(other)
        if state in ("complete", "failed") or (state == "running" and other.number < mine.number):
            return True
    return False
