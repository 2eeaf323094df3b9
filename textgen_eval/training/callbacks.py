"""Observers of a training run: progress bars, and anything a caller wants to watch.

Library code never prints; the CLI attaches :class:`ProgressBar`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textgen_eval.training.runner import Runner, TrainState


class Callback:
    """Hooks with no-op defaults; override what you need."""

    def on_start(self, runner: Runner, state: TrainState) -> None:
        """Before the first step (also after a resume)."""

    def on_step(self, runner: Runner, state: TrainState, losses: Mapping[str, float]) -> None:
        """After every update."""

    def on_eval(self, runner: Runner, state: TrainState, metrics: Mapping[str, float]) -> None:
        """After every validation."""

    def on_end(self, runner: Runner, state: TrainState) -> None:
        """When the loop ends for any reason."""


class ProgressBar(Callback):
    """A tqdm bar on stderr with the running loss, the last validation value and an ETA.

    ``steps_per_epoch`` sets the total (``max_epochs × steps_per_epoch`` capped by ``max_steps``).
    """

    def __init__(self, steps_per_epoch: int | None = None, *, desc: str = "train") -> None:
        self.steps_per_epoch = steps_per_epoch
        self.desc = desc
        self._bar: Any = None
        self._postfix: dict[str, str] = {}

    def on_start(self, runner: Runner, state: TrainState) -> None:
        from tqdm.auto import tqdm

        cfg = runner.config
        total = None
        per_epoch = self.steps_per_epoch or getattr(runner.task, "steps_per_epoch", None)
        if per_epoch:
            total = cfg.max_epochs * per_epoch
        if cfg.max_steps is not None:
            total = min(total, cfg.max_steps) if total else cfg.max_steps
        self._bar = tqdm(
            total=total,
            initial=state.step,
            desc=self.desc,
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
        if self._bar is not None and runner.config.monitor in metrics:
            self._postfix[runner.config.monitor] = f"{metrics[runner.config.monitor]:.4f}"
            self._bar.set_postfix(self._postfix)

    def on_end(self, runner: Runner, state: TrainState) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
