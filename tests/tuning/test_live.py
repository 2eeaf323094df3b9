"""`tge tune`'s progress line shows the running trials' stage, step and loss (issue 19)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from textgen_eval.tuning.live import describe_running, last_record


def _trial(root: Path, name: str, records: list[dict], age: float = 0.0) -> None:
    log = root / "trials" / name / "log.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    stamp = time.time() - age
    os.utime(log, (stamp, stamp))


def test_running_trials_are_described_and_finished_or_stale_ones_are_not(tmp_path: Path) -> None:
    _trial(tmp_path, "search-0003", [
        {"event": "train", "stage": "pretrain", "step": 40, "epoch": 1, "lr": 0.001, "loss": 4.2},
        {"event": "valid", "stage": "pretrain", "step": 50, "valid_loss": 3.9},
        {"event": "train", "stage": "adversarial", "step": 120, "optimizer": "g", "lr": 1e-4,
         "g_loss": 3.4123},
    ], age=1)  # fmt: skip
    _trial(tmp_path, "search-0001", [{"event": "train", "step": 9, "loss": 2.0}, {"event": "end", "step": 9}])
    _trial(tmp_path, "search-0000", [{"event": "train", "step": 3, "loss": 5.0}], age=3600)  # killed long ago
    _trial(tmp_path, "retrain-0000", [{"event": "train", "stage": "train", "step": 7, "loss": 2.5}], age=0)
    line = describe_running(tmp_path)
    assert line == "retrain-0000 train step 7 loss 2.5; search-0003 adversarial step 120 g_loss 3.412"
    assert describe_running(tmp_path / "nothing") == ""


def test_last_record_skips_a_line_cut_by_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text('{"event": "train", "step": 1}\n{"event": "tr', encoding="utf-8")
    assert last_record(path) == {"event": "train", "step": 1}
    assert last_record(tmp_path / "missing.jsonl") is None
