"""`--tensorboard DIR` (issue 33, item 5): event files written as training goes, read back with
TensorBoard's own reader, hold exactly the series and steps of log.jsonl; a resume after a crash
shows each step once; a missing extra is a clear error."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_oracle_cli import GAN_TINY, TINY, _sets, make_tiny_oracle
from textgen_eval.training.records import record_points
from textgen_eval.training.tensorboard import scalar_tag


def read_events(directory: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(directory), size_guidance={"scalars": 0})  # 0: keep every event
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def logged(log: Path) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for line in log.read_text().splitlines():
        for stage, optimizer, key, step, value in record_points(json.loads(line)):
            if not math.isnan(value):
                out.setdefault(scalar_tag(stage, optimizer, key), []).append((step, value))
    return out


def assert_events_match_log(events: Path, log: Path) -> None:
    got, want = read_events(events), logged(log)
    assert got.keys() == want.keys(), sorted(set(got) ^ set(want))
    for tag, points in want.items():
        assert [s for s, _ in got[tag]] == [s for s, _ in points], tag
        assert [v for _, v in got[tag]] == pytest.approx([v for _, v in points], rel=1e-6), tag  # float32


@pytest.fixture(scope="module")
def oracle_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_oracle(tmp_path_factory.mktemp("oracles") / "tiny-oracle")


@pytest.mark.parametrize("name", ["lstm-vae", "wgan-conv-lstm", "seqgan-rollout"])
def test_train_writes_the_series_and_steps_of_its_log(
    name: str, tge, oracle_bundle: Path, tmp_path: Path
) -> None:
    out = tmp_path / name
    sizes = [*TINY.get(name, GAN_TINY), "runner.log_every=2"]
    run = tge("train", name, "--data", oracle_bundle, "--out", out, "--tensorboard", tmp_path / "tb",
              "--no-progress", *_sets(sizes))  # fmt: skip
    assert run.code == 0, run.err
    assert_events_match_log(tmp_path / "tb" / name, out / "log.jsonl")
    tags = read_events(tmp_path / "tb" / name)
    assert any(t.endswith("nll_oracle") for t in tags)
    if name == "lstm-vae":
        assert any(t.endswith("/kl") for t in tags) and any(t.endswith("kl_weight") for t in tags)


class _CrashError(Exception):
    pass


def test_a_resume_after_a_crash_shows_every_step_once(tmp_path: Path) -> None:
    """Records written after the last checkpoint are redone on resume: log.jsonl drops them and
    TensorBoard purges them, so both hold each step once."""
    from tests.conftest import coco_lines
    from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
    from textgen_eval.generators.lstm_lm.model import LSTMLanguageModel
    from textgen_eval.training import Runner, RunnerConfig
    from textgen_eval.training.callbacks import Callback
    from textgen_eval.training.tensorboard import TensorBoardWriter

    class CrashAt(Callback):
        def on_step(self, runner: Any, state: Any, losses: Mapping[str, float]) -> None:
            if state.step == 8:
                raise _CrashError

    lines = [s for s in coco_lines("train")[:200] if s]
    config = RunnerConfig(max_epochs=50, seed=0, checkpoint_every=5, log_every=1)

    def fit(callbacks: list[Callback], resume: bool) -> None:
        model = LSTMLanguageModel(
            {"model": LSTMLMConfig(emb_dim=8, hidden_size=8), "train": TrainConfig(batch_size=16)}
        )
        runner = Runner(config, run_dir=tmp_path / "run", callbacks=callbacks, max_steps=12)
        model.fit(lines, lines[:20], runner, resume=resume)

    first = TensorBoardWriter(tmp_path / "tb")
    with pytest.raises(_CrashError):
        fit([first, CrashAt()], resume=False)
    first.writer.flush()  # what reached the disk before the crash: steps 1–8, checkpoint at 5
    assert max(s for s, _ in read_events(tmp_path / "tb")["train/main/loss"]) == 8
    fit([TensorBoardWriter(tmp_path / "tb")], resume=True)
    steps = [s for s, _ in read_events(tmp_path / "tb")["train/main/loss"]]
    assert steps == list(range(1, 13))
    assert_events_match_log(tmp_path / "tb", tmp_path / "run" / "log.jsonl")


def test_without_the_extra_the_option_exits_2_before_anything_is_written(
    tge, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard raises ImportError
    run = tge("train", "lstm-lm", "--data", "coco", "--out", tmp_path / "r", "--tensorboard", tmp_path / "tb")
    assert run.code == 2 and "pip install 'textgen_eval[tensorboard]'" in run.err
    assert not (tmp_path / "r").exists() and not (tmp_path / "tb").exists()
