"""The run directory's records: ``run.json`` (how the run was started) and ``log.jsonl`` (every
logged quantity, one JSON object a line, each tagged with its stage)."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from textgen_eval import __version__
from textgen_eval.core.files import atomic_write_text
from textgen_eval.core.training import LOG, RUN_INFO


def threading_info() -> dict[str, object]:
    """torch's thread count and the OpenMP variables in force (they change speed, not numbers)."""
    import os

    import torch

    names = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
    return {"torch_threads": torch.get_num_threads(), **{n: os.environ.get(n) for n in names}}


def versions() -> dict[str, str]:
    import numpy
    import torch

    return {
        "textgen_eval": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
    }


class RunLog:
    """``run.json`` and ``log.jsonl`` of ``run_dir``; every method is a no-op without one."""

    def __init__(
        self, run_dir: Path | None, on_write: Callable[[Mapping[str, Any]], None] | None = None
    ) -> None:
        self.run_dir = run_dir
        #: told of every record (the runner passes it to its callbacks' ``on_record``)
        self.on_write = on_write

    def start(self, info: Mapping[str, Any]) -> None:
        """A new run: write ``run.json`` and an empty log."""
        if self.run_dir is None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        record = {
            **info,
            "versions": versions(),
            "threads": threading_info(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        atomic_write_text(self.run_dir / RUN_INFO, json.dumps(record, indent=2, default=str) + "\n")
        (self.run_dir / LOG).write_text("", encoding="utf-8")

    def note_resume(self, step: int, command: Sequence[str]) -> None:
        """Record a resumption in ``run.json`` (its ``resumes`` list) without rewriting the rest."""
        if self.run_dir is None:
            return
        path = self.run_dir / RUN_INFO
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return
        info.setdefault("resumes", []).append(
            {"step": step, "command": list(command), "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        )
        atomic_write_text(path, json.dumps(info, indent=2, default=str) + "\n")

    def write(self, record: Mapping[str, Any]) -> None:
        if self.on_write is not None:
            self.on_write(record)
        if self.run_dir is None:
            return
        with open(self.run_dir / LOG, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=float) + "\n")

    def truncate(self, step: int) -> None:
        """Drop records written after the checkpoint at ``step`` (they will be redone)."""
        if self.run_dir is None:
            return
        path = self.run_dir / LOG
        if not path.is_file():
            return
        kept = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            if record.get("event") in ("end", "diverged"):
                continue
            if record.get("step", 0) <= step:
                kept.append(line)
        atomic_write_text(path, "".join(line + "\n" for line in kept))
