from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from textgen_eval.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
COCO = ROOT / "data" / "coco"


def coco_lines(split: str) -> list[str]:
    return (COCO / f"{split}.txt").read_text(encoding="utf-8").split("\n")


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def tge(capsys: pytest.CaptureFixture[str]):
    """Run ``tge ARGS`` in-process; returns exit code, stdout and stderr."""

    def run(*args: str | os.PathLike[str]) -> Run:
        code = main([os.fspath(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def run_subprocess(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "textgen_eval", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)
