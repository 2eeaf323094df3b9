"""The shared training runner: resume, NaN guard, atomic checkpoints, schedules, logs."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch

from tests.conftest import coco_lines
from textgen_eval.core.config import build_sections, from_mapping, load_config_file
from textgen_eval.core.errors import ConfigError, DivergenceError, TrainingInterrupted
from textgen_eval.core.training import BaseTask, Cycle, Update
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
from textgen_eval.generators.lstm_lm.model import LSTMLanguageModel
from textgen_eval.training import Runner, RunnerConfig
from textgen_eval.training.callbacks import Callback
from textgen_eval.training.schedules import cyclical_anneal, exponential_decay, linear_anneal, sigmoid_anneal

TRAIN = coco_lines("train")[:160]
VALID = coco_lines("train")[160:200]


def _model() -> LSTMLanguageModel:
    cfg = LSTMLMConfig(emb_dim=8, hidden_size=12, recurrent_dropout=0.3, input_dropout=0.1)
    return LSTMLanguageModel({"model": cfg, "train": TrainConfig(batch_size=16, lr=3e-3)})


def _runner(run_dir: Path | None, callbacks=(), **kw) -> Runner:
    cfg = RunnerConfig(max_epochs=3, device="cpu", seed=5, checkpoint_every=4, log_every=1, **kw)
    return Runner(cfg, run_dir=run_dir, callbacks=callbacks, task_config={"tiny": True})


class InterruptAt(Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step(self, runner, state, losses) -> None:
        if state.step == self.step:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does


def _weights(model: LSTMLanguageModel) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_resume_after_interruption_gives_the_uninterrupted_result(tmp_path: Path) -> None:
    straight = _model()
    result = straight.fit(TRAIN, VALID, _runner(tmp_path / "a"))
    interrupted = _model()
    with pytest.raises(TrainingInterrupted, match="--resume"):
        interrupted.fit(TRAIN, VALID, _runner(tmp_path / "b", callbacks=[InterruptAt(13)]))  # mid-epoch
    assert (tmp_path / "b" / "checkpoint.pt").is_file()
    resumed = _model()
    again = resumed.fit(TRAIN, VALID, _runner(tmp_path / "b"), resume=True)
    assert again.resumed_from == 13
    assert again.steps == result.steps and again.best == result.best
    for key, value in _weights(straight).items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    assert resumed.sample(5, seed=1) == straight.sample(5, seed=1)
    # the log has each step once, as if never interrupted
    steps = [
        r["step"]
        for r in map(json.loads, (tmp_path / "b" / "log.jsonl").read_text().splitlines())
        if r["event"] == "train"
    ]
    assert steps == list(range(1, result.steps + 1))


def test_resume_refuses_a_changed_configuration(tmp_path: Path) -> None:
    with pytest.raises(TrainingInterrupted):
        _model().fit(TRAIN, VALID, _runner(tmp_path, callbacks=[InterruptAt(3)]))
    with pytest.raises(ConfigError, match=r"different configuration .*grad_clip"):
        _model().fit(TRAIN, VALID, _runner(tmp_path, grad_clip=1.0), resume=True)


class NaNTask(BaseTask):
    def __init__(self, bad_step: int) -> None:
        self.bad_step = bad_step
        self.module = torch.nn.Linear(2, 1)

    def setup(self, device) -> None:
        self.opt = torch.optim.SGD(self.module.parameters(), lr=0.1)

    def optimizers(self):
        return {"main": self.opt}

    def stages(self):
        return [RunnerConfig(max_epochs=3).single_stage(Cycle((Update("main"),)))]

    def train_batches(self, stage, epoch):
        return [torch.ones(4, 2)] * 5

    def training_step(self, batch, ctx):
        loss = self.module(batch).pow(2).mean()
        return {"loss": loss * float("nan") if ctx.step == self.bad_step else loss}


def test_nan_guard_raises_a_typed_error_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    runner = Runner(RunnerConfig(max_epochs=3, device="cpu", checkpoint_every=2), run_dir=tmp_path)
    with pytest.raises(DivergenceError, match=r"diverged at step 7 .*loss = nan.*last good checkpoint"):
        runner.fit(NaNTask(bad_step=7))
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert state["state"]["step"] == 6
    assert all(torch.isfinite(v).all() for v in state["module"].values())
    assert DivergenceError("x").exit_code == 2


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = Runner(RunnerConfig(max_epochs=1, device="cpu", checkpoint_every=2), run_dir=tmp_path)
    runner.fit(NaNTask(bad_step=-1))
    good = (tmp_path / "checkpoint.pt").read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        Runner(RunnerConfig(max_epochs=1, device="cpu", checkpoint_every=2), run_dir=tmp_path).fit(
            NaNTask(-1)
        )
    assert (tmp_path / "checkpoint.pt").read_bytes() == good, "a failed write must leave the old checkpoint"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")], "no temporary file may be left"


def test_early_stopping_plateau_lr_and_best_weights(tmp_path: Path) -> None:
    model = _model()
    runner = Runner(
        RunnerConfig(
            max_epochs=30,
            device="cpu",
            eval_every=2,
            patience=2,
            lr_schedule="plateau",
            lr_divisor=4.0,
            log_every=1,
        ),
        run_dir=tmp_path,
    )
    result = model.fit(TRAIN, VALID, runner)
    assert result.stopped == "early_stopping"
    losses = [e["valid_loss"] for e in result.evaluations]
    assert result.best == min(losses)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert min(r["lr"] for r in log if r["event"] == "train") < 3e-3  # divided at least once
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["seed"] == 0 and "torch" in info["versions"] and info["config"]["runner"]["lr_divisor"] == 4.0


def test_step_and_time_budgets(tmp_path: Path) -> None:
    assert _model().fit(TRAIN, None, Runner(RunnerConfig(max_steps=3, device="cpu"))).steps == 3
    result = _model().fit(TRAIN, None, Runner(RunnerConfig(time_budget=1e-9, device="cpu")))
    assert result.stopped == "time_budget" and result.steps == 1


class Alternating(NaNTask):
    def stages(self):
        return [RunnerConfig(max_epochs=2).single_stage(Cycle((Update("d", 2), Update("g", 1))))]

    def setup(self, device) -> None:
        self.d = torch.optim.SGD(self.module.parameters(), lr=0.1)
        self.g = torch.optim.SGD(self.module.parameters(), lr=0.1)
        self.seen: list[str] = []

    def optimizers(self):
        return {"d": self.d, "g": self.g}

    def training_step(self, batch, ctx):
        self.seen.append(ctx.optimizer)
        return super().training_step(batch, ctx)


def test_alternating_optimizer_schedule() -> None:
    task = Alternating(bad_step=-1)
    Runner(RunnerConfig(max_epochs=2, device="cpu")).fit(task)
    assert task.seen == ["d", "d", "g"] * 3 + ["d"]


def test_schedules_are_pure_functions() -> None:
    assert exponential_decay(1.0, 9, 0.97, 10) == 1.0
    assert exponential_decay(1.0, 11, 0.5, 10) == 0.25
    assert linear_anneal(5, start=0, end=10) == 0.5 and linear_anneal(20, start=0, end=10) == 1.0
    assert sigmoid_anneal(100, midpoint=100, rate=1.0) == 0.5
    assert cyclical_anneal(15, period=10, ratio=0.5) == 1.0 and cyclical_anneal(12, period=10) == 0.4


def test_strict_config_loading(tmp_path: Path) -> None:
    path = tmp_path / "lm.toml"
    path.write_text("[model]\nhidden_size = 64\n[train]\nlr = 0.01\n[runner]\nmax_epochs = 2\n")
    sections = {"model": LSTMLMConfig, "train": TrainConfig, "runner": RunnerConfig}
    built = build_sections(
        sections, load_config_file(path), {"model.layer_norm": "true", "runner.grad_clip": "none"}
    )
    assert built["model"].hidden_size == 64 and built["model"].layer_norm is True
    assert built["train"].lr == 0.01 and built["runner"].grad_clip is None
    with pytest.raises(ConfigError, match=r"unknown key 'hiden_size'; valid keys: .*hidden_size"):
        from_mapping(LSTMLMConfig, {"hiden_size": 3}, where="lm.toml [model]")
    with pytest.raises(ConfigError, match="unknown section 'modle'"):
        build_sections(sections, {"modle": {}})
    with pytest.raises(ConfigError, match="expected an integer"):
        build_sections(sections, None, {"model.hidden_size": "big"})
    with pytest.raises(ConfigError, match="is not one of 'semeniuta', 'gal', 'moon'"):
        build_sections(sections, None, {"model.recurrent_dropout_kind": "zaremba"})
    with pytest.raises(ConfigError, match="recurrent_dropout must be in"):
        build_sections(sections, None, {"model.recurrent_dropout": "1.5"})


def test_a_checkpoint_state_written_before_stages_maps_to_the_single_train_stage() -> None:
    from textgen_eval.training.state import TrainState

    old = {  # the "state" of a format-1 checkpoint: no stage fields, no format key
        "step": 13, "epoch": 1, "batch_in_epoch": 3, "best": 4.2, "best_step": 10, "bad_evals": 1,
        "elapsed": 7.5, "evaluations": [{"step": 10, "epoch": 1, "valid_loss": 4.2}], "stopped": "",
    }  # fmt: skip
    state = TrainState.from_payload(old)
    assert (state.stage_index, state.stage, state.stage_step, state.stage_elapsed) == (0, "train", 13, 7.5)
    assert (state.step, state.epoch, state.batch_in_epoch, state.best, state.bad_evals) == (13, 1, 3, 4.2, 1)
    assert TrainState.from_payload(state.to_payload()) == state
