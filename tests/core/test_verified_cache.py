"""The one verified cache (issue 33, item 3): every derived artefact (reference LM, NLI encoder,
LSA, stored features) is built once across processes, checked by content hash on every load,
never half-written, and resumable from its partial directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from textgen_eval.core.verified_cache import META, Built, CacheEntry, load_or_build, read_meta


def _text_cache(root: Path, calls: list[str], notes: list[str] | None = None) -> str:
    def load(path: Path, meta: dict) -> str:  # type: ignore[type-arg]
        return (path / "value.txt").read_text()

    def build(partial: Path, target: Path) -> Built[str]:
        calls.append("built")
        (target / "value.txt").write_text("hello")
        return Built("hello", {"what": "a test"})

    value, state = load_or_build(CacheEntry(root, "k"), load, build, what="test", notes=notes)
    return f"{value}:{state}"


def test_built_once_then_loaded_checked_and_rebuilt_when_a_byte_flips(tmp_path: Path) -> None:
    calls: list[str] = []
    assert _text_cache(tmp_path, calls) == "hello:built"
    assert _text_cache(tmp_path, calls) == "hello:warm" and calls == ["built"]
    meta = json.loads((tmp_path / "k" / META).read_text())
    assert meta["what"] == "a test" and set(meta["content"]) == {"value.txt"}
    (tmp_path / "k" / "value.txt").write_text("hellO")
    with pytest.raises(Exception, match=r"content hash mismatch in value\.txt"):
        read_meta(tmp_path / "k")
    notes: list[str] = []
    assert _text_cache(tmp_path, calls, notes) == "hello:built" and calls == ["built", "built"]
    assert "failed its check and is rebuilt" in notes[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".k.lock", "k"]  # no temporary left


def test_a_crash_while_building_leaves_no_entry_and_keeps_the_partial_directory(tmp_path: Path) -> None:
    entry = CacheEntry(tmp_path, "k")

    def build(partial: Path, target: Path) -> Built[str]:
        partial.mkdir(parents=True, exist_ok=True)
        (partial / "checkpoint").write_text("step 5")
        (target / "value.txt").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_or_build(entry, lambda p, m: "", build, what="test")
    assert not entry.path.exists() and (entry.partial / "checkpoint").read_text() == "step 5"
    seen: list[str] = []

    def resume(partial: Path, target: Path) -> Built[str]:
        seen.append((partial / "checkpoint").read_text())
        (target / "value.txt").write_text("done")
        return Built("done", {})

    assert load_or_build(entry, lambda p, m: (p / "value.txt").read_text(), resume, what="test") == (
        "done",
        "built",
    )
    assert seen == ["step 5"] and not entry.partial.exists()  # resumed, then the checkpoints go


BUILDER = """
import sys, time
from pathlib import Path
from textgen_eval.core.verified_cache import Built, CacheEntry, load_or_build

def build(partial, target):
    time.sleep(0.5)
    (target / "value.txt").write_text("v")
    return Built("v", {})

def load(path, meta):
    return (path / "value.txt").read_text()

value, state = load_or_build(CacheEntry(Path(sys.argv[1]), "k"), load, build, what="test")
print(state)
"""


def test_concurrent_builders_build_once(tmp_path: Path) -> None:
    command = [sys.executable, "-c", BUILDER, str(tmp_path)]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=os.environ.copy()) for _ in range(3)
    ]
    states = sorted(p.communicate(timeout=120)[0].strip() for p in procs)
    assert states == ["built", "warm", "warm"]
