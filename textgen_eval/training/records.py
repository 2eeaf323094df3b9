"""The series of a run's log records (``log.jsonl``): which fields of which records are the
quantities a run logs, and their names. Shared by ``tge plot`` (:mod:`textgen_eval.pipelines.curves`)
and the TensorBoard writer (:mod:`textgen_eval.training.tensorboard`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: The record kinds that carry series, and the fields of a record that are not series.
SERIES_EVENTS = ("train", "valid", "oracle")
BOOKKEEPING = frozenset(
    {
        "event",
        "stage",
        "step",
        "epoch",
        "time",
        "optimizer",
        "index",
        "n",
        "updates",
        "elapsed",
        "temperature",
    }
)


def record_points(record: Mapping[str, Any]) -> list[tuple[str, str | None, str, int, float]]:
    """The series points of one ``log.jsonl`` record: ``(stage, optimizer, key, step, value)``
    for each numeric, non-bookkeeping field of a training, validation or probe record (non-finite
    values as NaN); none for other records. What ``tge plot`` draws and TensorBoard receives."""
    if record.get("event") not in SERIES_EVENTS:
        return []
    step = record.get("step")
    if not isinstance(step, int) or isinstance(step, bool):
        return []
    stage = str(record.get("stage", "train"))
    optimizer = record.get("optimizer") if record.get("event") == "train" else None
    out = []
    for key, value in record.items():
        if key in BOOKKEEPING or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out.append((stage, None if optimizer is None else str(optimizer), key, step,
                    float(value) if math.isfinite(value) else math.nan))  # fmt: skip
    return out


def series_name(stage: str, optimizer: str | None, key: str) -> str:
    """``STAGE: OPTIMIZER/KEY`` (``STAGE: KEY`` without an optimizer)."""
    return f"{stage}: {optimizer}/{key}" if optimizer else f"{stage}: {key}"
