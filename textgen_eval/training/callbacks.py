"""Observers of a training run: progress bars, and anything a caller wants to watch.

Library code never prints; the CLI attaches :class:`ProgressBar`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textgen_eval.core.training import Stage, StepContext
    from textgen_eval.training.runner import Runner
    from textgen_eval.training.state import TrainState


class Callback:
    """Hooks with no-op defaults; override what you need."""

    def on_start(self, runner: Runner, state: TrainState) -> None:
        """Before the first step (also after a resume)."""

    def on_stage_start(self, runner: Runner, state: TrainState, stage: Stage) -> None:
        """When a stage starts or resumes."""

    def on_update_start(self, runner: Runner, ctx: StepContext) -> None:
        """Before ``training_step`` of every update."""

    def on_step(self, runner: Runner, state: TrainState, losses: Mapping[str, float]) -> None:
        """After every update."""

    def on_epoch_end(self, runner: Runner, state: TrainState, stage: Stage) -> None:
        """After each pass over the data (``state.epoch`` already counts it), before the
        epoch's validation and checkpoint."""

    def on_eval(self, runner: Runner, state: TrainState, metrics: Mapping[str, float]) -> None:
        """After every validation."""

    def on_stage_end(self, runner: Runner, state: TrainState, stage: Stage) -> None:
        """When a stage ends (not when it is interrupted)."""

    def on_end(self, runner: Runner, state: TrainState) -> None:
        """When the run ends for any reason."""

    def on_record(self, runner: Runner, record: Mapping[str, Any]) -> None:
        """After each record of ``log.jsonl`` is made (also when the run keeps no directory):
        training, validation, probe, stage-end and end records, as written."""


class ProgressBar(Callback):
    """One tqdm bar per stage on stderr with the running loss, the last validation value and an ETA."""

    def __init__(self, *, desc: str = "train") -> None:
        self.desc = desc
        self._bar: Any = None
        self._postfix: dict[str, str] = {}
        self._monitor: str | None = None

    def on_stage_start(self, runner: Runner, state: TrainState, stage: Stage) -> None:
        from tqdm.auto import tqdm

        self._close()
        total = None
        per_epoch = runner.task.batches_per_epoch(stage.name) if runner.task is not None else None
        if per_epoch and stage.max_epochs is not None:
            total = stage.max_epochs * per_epoch
        cap = runner.stage_max_steps(stage)
        if cap is not None:
            total = min(total, cap) if total else cap
        self._monitor = stage.monitor
        self._postfix = {}
        several = len(state.finished) > 0 or stage.name != "train"
        self._bar = tqdm(
            total=total,
            initial=state.stage_step,
            desc=f"{self.desc} [{stage.name}]" if several else self.desc,
            file=sys.stderr,
            dynamic_ncols=True,
            unit="step",
            leave=True,
        )

    def on_step(self, runner: Runner, state: TrainState, losses: Mapping[str, float]) -> None:
        if self._bar is None:
            return
        self._bar.update(1)
        if state.step % 10 == 0:
            self._postfix["loss"] = f"{losses['loss']:.4f}"
            self._postfix["epoch"] = str(state.epoch)
            self._bar.set_postfix(self._postfix, refresh=False)

    def on_eval(self, runner: Runner, state: TrainState, metrics: Mapping[str, float]) -> None:
        if self._bar is not None and self._monitor is not None and self._monitor in metrics:
            self._postfix[self._monitor] = f"{metrics[self._monitor]:.4f}"
            self._bar.set_postfix(self._postfix)

    def on_stage_end(self, runner: Runner, state: TrainState, stage: Stage) -> None:
        self._close()

    def on_end(self, runner: Runner, state: TrainState) -> None:
        self._close()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
