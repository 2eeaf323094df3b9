"""The runner's position in training: everything a checkpoint restores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATE_FORMAT = 2


@dataclass
class TrainState:
    """Global counters plus the position inside the current stage.

    Attributes:
        step: updates over all stages.
        elapsed: training seconds over all stages and resumes.
        stage_index / stage: the current stage.
        stage_step / epoch / batch_in_epoch: position inside the stage.
        best / best_step / bad_evals: early-stopping state of the stage's monitor.
        stage_elapsed: seconds spent in the stage (its ``time_budget``).
        evaluations: every validation record of the run, each tagged with its stage.
        finished: results of the stages already done (dicts of ``StageResult``).
        stopped: why the current stage stopped (``""`` while it runs).
        updates: updates per optimizer over all stages (``log_every`` counts these, so a GAN's
            generator is logged as often as its critic whatever ``n_critic`` is).
    """

    step: int = 0
    elapsed: float = 0.0
    stage_index: int = 0
    stage: str = ""
    stage_step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    stage_elapsed: float = 0.0
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    finished: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = ""
    updates: dict[str, int] = field(default_factory=dict)

    def enter_stage(self, index: int, name: str) -> None:
        """Reset the per-stage position for stage ``index``."""
        self.stage_index, self.stage = index, name
        self.stage_step = self.epoch = self.batch_in_epoch = self.bad_evals = 0
        self.best = self.best_step = None
        self.stage_elapsed = 0.0
        self.stopped = ""

    def to_payload(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, **self.__dict__}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> TrainState:
        data = dict(payload)
        if data.pop("format", 1) == 1:  # a single-stage checkpoint written before stages existed
            data = {
                **{k: v for k, v in data.items() if k in cls.__dataclass_fields__},
                "stage_index": 0,
                "stage": "train",
                "stage_step": data["step"],
                "stage_elapsed": data.get("elapsed", 0.0),
            }
        return cls(**data)
