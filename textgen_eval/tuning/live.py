"""What the running trials are doing, for ``tge tune``'s progress line.

Each trial trains in ``RUN/trials/PHASE-SLOT`` and the training runner appends a JSON record per
logged step to its ``log.jsonl`` (stage, step, losses). The coordinator reads the last record of
every trial directory written to recently and not finished, so a progress bar that sits at 0/6
for a quarter of an hour still says which trial is at which stage, step and loss.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

LOG = "log.jsonl"
#: A trial whose log has not changed for this long is not shown (killed, or between phases).
STALE_SECONDS = 300.0
_NOT_LOSSES = frozenset({"event", "stage", "step", "epoch", "optimizer", "lr", "time", "batch"})


def last_record(path: Path, tail: int = 4096) -> dict[str, Any] | None:
    """The last complete JSON line of ``path`` (``None`` when there is none)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - tail))
            lines = handle.read().split(b"\n")
    except OSError:
        return None
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            return record
    return None


def describe_record(name: str, record: dict[str, Any]) -> str:
    """``search-0003 pretrain step 120 loss 3.41``: the stage, step and first loss of a record."""
    parts = [name]
    if record.get("stage"):
        parts.append(str(record["stage"]))
    if record.get("step") is not None:
        parts.append(f"step {record['step']}")
    losses = [(k, v) for k, v in record.items() if k not in _NOT_LOSSES and isinstance(v, (int, float))]
    if losses:
        key, value = losses[0]
        parts.append(f"{key} {value:.4g}")
    return " ".join(parts)


def describe_running(out: Path, *, now: float | None = None, limit: int = 4) -> str:
    """The running trials of the run in ``out``, most recently active first ("" when none)."""
    now = time.time() if now is None else now
    live = []
    for log in (out / "trials").glob(f"*/{LOG}"):
        try:
            modified = log.stat().st_mtime
        except OSError:
            continue
        if now - modified > STALE_SECONDS:
            continue
        record = last_record(log)
        if record is None or record.get("event") in ("end", "diverged"):
            continue
        live.append((modified, describe_record(log.parent.name, record)))
    live.sort(reverse=True)
    return "; ".join(text for _, text in live[:limit])
