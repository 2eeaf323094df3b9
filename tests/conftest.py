from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

# Tests use tiny tensors: one thread avoids OpenMP start-up and oversubscription costs.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from textgen_eval.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
COCO = ROOT / "data" / "coco"


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tge-cache")


@pytest.fixture(autouse=True)
def _isolated_cache(session_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the user's cache; they share one cache per session. FD's default NLI
    encoder and the bundled corpora's reference LMs load from the shipped files (data/models/), so
    FD values in tests are the product's numbers (tests/metrics/test_shipped_models.py)."""
    monkeypatch.setenv("TGE_CACHE_DIR", str(session_cache))


#: Recipe overrides that make the reference and reverse LMs train in well under a second.
TINY_RECIPE = {
    "model.emb_dim": "8",
    "model.hidden_size": "16",
    "model.min_freq": "1",
    "runner.max_epochs": "2",
}


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/NAME.py`` as a module (the benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_recipe_args() -> list[str]:
    args = []
    for key, value in TINY_RECIPE.items():
        args += ["--lm-recipe-set", f"{key}={value}"]
    return args


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle of 300 training and 120 test COCO captions."""
    root = tmp_path_factory.mktemp("bundles") / "tinycoco"
    root.mkdir()
    (root / "train.txt").write_text("\n".join(coco_lines("train")[:300]) + "\n", encoding="utf-8")
    (root / "test.txt").write_text("\n".join(coco_lines("test")[:120]) + "\n", encoding="utf-8")
    return root


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


def run_subprocess(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, unset: tuple[str, ...] = ()
) -> Run:
    full_env = {**os.environ, **(env or {})}
    for name in unset:
        full_env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", "textgen_eval", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)
