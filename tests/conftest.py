from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# Tests use tiny tensors: one thread avoids OpenMP start-up and oversubscription costs.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from textgen_eval.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
COCO = ROOT / "data" / "coco"


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tge-cache")


@pytest.fixture(scope="session")
def _quick_default_encoder(session_cache: Path) -> None:
    """The default FD featurizer is the NLI sentence encoder, whose full recipe trains for about
    4 minutes. The test session's cache holds, under the default recipe's entry, the same
    architecture trained on 1,000 pairs for one epoch (~6 s), so every test and every subprocess
    that scores FD with the default featurizer loads it instead of training. A test double: FD
    values in tests are not the product's numbers. tests/metrics/test_nli_encoder.py tests the
    real training path, the cache and the recipe; docs/reproductions.md measures the real one."""
    import dataclasses
    import os

    from textgen_eval.metrics.nli_encoder import EncoderRecipe, load_or_train, train_encoder

    def quick(pairs, recipe, checkpoint=None, **_):  # type: ignore[no-untyped-def]
        return train_encoder(pairs, dataclasses.replace(recipe, epochs=1, max_pairs=1000))

    previous = os.environ.get("TGE_CACHE_DIR")
    os.environ["TGE_CACHE_DIR"] = str(session_cache)
    try:
        load_or_train(EncoderRecipe(), train=quick)
    finally:
        if previous is None:
            del os.environ["TGE_CACHE_DIR"]
        else:
            os.environ["TGE_CACHE_DIR"] = previous


@pytest.fixture(autouse=True)
def _isolated_cache(
    session_cache: Path, monkeypatch: pytest.MonkeyPatch, _quick_default_encoder: None
) -> None:
    """Tests never touch the user's cache; they share one cache per session."""
    monkeypatch.setenv("TGE_CACHE_DIR", str(session_cache))


#: Recipe overrides that make the reference and reverse LMs train in well under a second.
TINY_RECIPE = {
    "model.emb_dim": "8",
    "model.hidden_size": "16",
    "model.min_freq": "1",
    "runner.max_epochs": "2",
}


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
