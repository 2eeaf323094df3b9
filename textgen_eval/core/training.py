"""The contract between a model and the shared training runner (``textgen_eval.training``).

A model hands the runner a :class:`TrainingTask`. The task declares an ordered list of
:class:`Stage` objects (an LM has one; a GAN may have ``pretrain-g`` → ``pretrain-d`` →
``adversarial``). Each stage has its own update schedule (:class:`Cycle` of :class:`Update`, or
any :class:`UpdateSchedule` that depends on the step), its own per-optimizer gradient clipping and
learning-rate schedule (:class:`OptimizerSettings`, :class:`LRSchedule`), budget, early-stopping
quantity, and whether it restores its best weights when it ends. At every update the runner passes
an immutable :class:`StepContext`. Everything here is plain data with no torch import, so the
model packages (``generators``, ``images``) can declare stages without importing ``training``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from textgen_eval.core.config import settings

if TYPE_CHECKING:
    import torch

#: The file names of a run directory, in one place.
CHECKPOINT = "checkpoint.pt"
LOG = "log.jsonl"
RUN_INFO = "run.json"
RESULT = "result.json"
MODEL_DIR = "model"
#: Held (``flock``) by the one process that writes the run directory.
RUN_LOCK = ".run.lock"
#: The files a run writes next to ``model/``: no ``--output`` may overwrite them.
RUN_RECORDS = (RUN_INFO, LOG, CHECKPOINT, RESULT)


@dataclass(frozen=True)
class StepContext:
    """Where an update happens; built by the runner, read by ``training_step``.

    Attributes:
        stage: the stage's name.
        optimizer: the optimizer this update steps.
        step: global update count before this update (0-based, over all stages).
        stage_step: update count before this update within the stage.
        epoch: epoch within the stage (passes over the training batches).
        batch_in_epoch: batches of this epoch consumed before this update.
        batches_per_epoch: batches in one epoch (``None`` when the task does not say).
        num_data: training examples (``None`` when the task does not say); with
            ``batch_in_epoch`` and ``batches_per_epoch`` it gives the per-minibatch KL weights
            πᵢ of Blundell et al. (2015, eq. 9).
    """

    stage: str
    optimizer: str
    step: int
    stage_step: int
    epoch: int
    batch_in_epoch: int
    batches_per_epoch: int | None
    num_data: int | None


@dataclass(frozen=True)
class Update:
    """``repeats`` consecutive updates of optimizer ``optimizer``; ``batch=False`` means the
    update consumes no training batch (a generator step that samples from itself)."""

    optimizer: str
    repeats: int = 1
    batch: bool = True

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ValueError(f"update of {self.optimizer!r} repeats {self.repeats} times; expected ≥ 1")


class UpdateSchedule(Protocol):
    """Which update comes at a given step of a stage. It must be a pure function of
    ``stage_step`` so that a resumed run takes the same decisions."""

    def at(self, stage_step: int) -> Update: ...

    def optimizers(self) -> frozenset[str]: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Cycle:
    """Cycle through ``updates``: ``Cycle((Update("disc", 5), Update("gen", 1, batch=False)))``
    alternates five discriminator updates on data with one data-free generator update."""

    updates: tuple[Update, ...]

    def __post_init__(self) -> None:
        if not self.updates:
            raise ValueError("an update cycle needs at least one update")
        object.__setattr__(self, "_slots", tuple(u for u in self.updates for _ in range(u.repeats)))

    def at(self, stage_step: int) -> Update:
        slots: tuple[Update, ...] = self._slots  # type: ignore[attr-defined]
        return slots[stage_step % len(slots)]

    def optimizers(self) -> frozenset[str]:
        return frozenset(u.optimizer for u in self.updates)

    def describe(self) -> str:
        return " ".join(f"{u.optimizer}×{u.repeats}{'' if u.batch else '(no data)'}" for u in self.updates)


@dataclass(frozen=True)
class Warmup:
    """``first`` for the first ``steps`` updates of the stage, then ``then``: WGAN-GP's 100
    critic updates per generator update for the first 25 generator updates is
    ``Warmup(Cycle((Update("critic", 100), Update("gen", 1, batch=False))), 2525, Cycle(...))``."""

    first: Cycle
    steps: int
    then: Cycle

    def at(self, stage_step: int) -> Update:
        if stage_step < self.steps:
            return self.first.at(stage_step)
        return self.then.at(stage_step - self.steps)

    def optimizers(self) -> frozenset[str]:
        return self.first.optimizers() | self.then.optimizers()

    def describe(self) -> str:
        return f"[{self.first.describe()}] for {self.steps} steps, then [{self.then.describe()}]"


@dataclass(frozen=True)
class LRSchedule:
    """A learning-rate schedule of one optimizer within one stage (pure data; the arithmetic is
    in ``textgen_eval.training.lr``).

    Attributes:
        kind: ``constant``; ``exponential`` (× ``decay`` per epoch from epoch ``start``,
            Semeniuta 2019 §3.4.3); ``plateau`` (÷ ``divisor`` after ``plateau_patience`` + 1
            evaluations without improvement of the stage's monitor); ``step`` (× ``decay`` every
            ``every`` epochs, or at each epoch in ``milestones``: Sønderby et al. 2016's
            × 0.75 every 200 epochs).
        min_lr: the learning rate never goes below this.
    """

    kind: Literal["constant", "exponential", "plateau", "step"] = "constant"
    decay: float = 0.97
    start: int = 10
    divisor: float = 2.0
    plateau_patience: int = 0
    every: int | None = None
    milestones: tuple[int, ...] = ()
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.decay <= 1:
            raise ValueError(f"lr decay must be in (0, 1], got {self.decay}")
        if self.divisor <= 1:
            raise ValueError(f"lr divisor must be > 1, got {self.divisor}")
        if self.kind == "step" and self.every is None and not self.milestones:
            raise ValueError("a 'step' lr schedule needs `every` or `milestones`")
        if self.every is not None and self.every < 1:
            raise ValueError(f"lr schedule `every` must be ≥ 1, got {self.every}")


@dataclass(frozen=True)
class OptimizerSettings:
    """Per-optimizer settings within a stage: max-norm gradient clipping (``None``: off) and the
    learning-rate schedule."""

    grad_clip: float | None = None
    lr: LRSchedule = field(default_factory=LRSchedule)

    def __post_init__(self) -> None:
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"grad_clip must be > 0, got {self.grad_clip}")


@dataclass(frozen=True)
class Stage:
    """One phase of training.

    Attributes:
        name: unique within the task (``pretrain-g``, ``adversarial``, ``train``).
        schedule: which optimizer steps at each update of the stage.
        optimizers: settings per optimizer name; optimizers not listed get the defaults.
        max_epochs / max_steps / time_budget: the stage ends at the first that is reached
            (``time_budget`` in seconds, summed over resumes). A stage whose updates consume no
            data must set ``max_steps``.
        monitor / mode / patience: the validation quantity for early stopping, plateau schedules
            and the best weights (``monitor=None``: validation is logged, never monitored).
        eval_every: validate every N updates of the stage (``None``: at every epoch's end).
        restore_best: end the stage with the weights of its best evaluation.
        sampler: the stage's optimizer is a sampler (SG-HMC): no clipping, constant learning
            rates and no restoring of a "best" state (that would keep one posterior sample).
    """

    name: str
    schedule: UpdateSchedule
    optimizers: Mapping[str, OptimizerSettings] = field(default_factory=dict)
    max_epochs: int | None = None
    max_steps: int | None = None
    time_budget: float | None = None
    monitor: str | None = None
    mode: Literal["min", "max"] = "min"
    patience: int | None = None
    eval_every: int | None = None
    restore_best: bool = False
    sampler: bool = False

    def __post_init__(self) -> None:
        for name in ("max_epochs", "max_steps", "eval_every"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"stage {self.name!r}: {name} must be ≥ 1, got {value}")
        if self.patience is not None and self.patience < 0:
            raise ValueError(f"stage {self.name!r}: patience must be ≥ 0, got {self.patience}")
        if self.time_budget is not None and self.time_budget <= 0:
            raise ValueError(f"stage {self.name!r}: time_budget must be > 0 seconds")
        if self.max_epochs is None and self.max_steps is None and self.time_budget is None:
            raise ValueError(f"stage {self.name!r} has no budget (max_epochs, max_steps or time_budget)")
        if self.restore_best and self.monitor is None:
            raise ValueError(f"stage {self.name!r}: restore_best needs a monitor")
        unknown = set(self.optimizers) - self.schedule.optimizers()
        if unknown:
            raise ValueError(
                f"stage {self.name!r}: settings for optimizers it never steps: {sorted(unknown)}"
            )
        if self.sampler:
            bad = [
                n for n, s in self.optimizers.items() if s.grad_clip is not None or s.lr.kind != "constant"
            ]
            if bad or self.restore_best:
                raise ValueError(
                    f"stage {self.name!r} is a sampler: no gradient clipping, constant learning rates "
                    "and restore_best=False (restoring the best state would keep one posterior sample)"
                )

    def settings(self, optimizer: str) -> OptimizerSettings:
        return self.optimizers.get(optimizer, _DEFAULT_SETTINGS)

    def describe(self) -> dict[str, Any]:
        """A JSON-able record for ``run.json``."""
        return {
            "name": self.name,
            "schedule": self.schedule.describe(),
            "optimizers": {
                n: {"grad_clip": s.grad_clip, "lr": s.lr.kind} for n, s in sorted(self.optimizers.items())
            },
            "max_epochs": self.max_epochs,
            "max_steps": self.max_steps,
            "time_budget": self.time_budget,
            "monitor": self.monitor,
            "mode": self.mode,
            "patience": self.patience,
            "eval_every": self.eval_every,
            "restore_best": self.restore_best,
            "sampler": self.sampler,
        }


_DEFAULT_SETTINGS = OptimizerSettings()


@dataclass(frozen=True)
class StageResult:
    """How one stage ended."""

    name: str
    steps: int
    epochs: int
    best: float | None
    best_step: int | None
    stopped: str
    elapsed: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TrainResult:
    """How a run ended; ``best``/``best_step``/``epochs``/``stopped`` are the last stage's."""

    steps: int
    epochs: int
    best: float | None
    best_step: int | None
    stopped: str
    elapsed: float
    evaluations: list[dict[str, Any]]
    resumed_from: int | None = None
    stages: tuple[StageResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "epochs": self.epochs,
            "best": self.best,
            "best_step": self.best_step,
            "stopped": self.stopped,
            "elapsed": self.elapsed,
            "evaluations": self.evaluations,
            "resumed_from": self.resumed_from,
            "stages": [s.to_dict() for s in self.stages],
        }

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> TrainResult:
        """The inverse of :meth:`to_dict` (a finished run's ``result.json``)."""
        fields = {k: payload[k] for k in ("steps", "epochs", "best", "best_step", "stopped", "elapsed")}
        stages = tuple(StageResult(**stage) for stage in payload.get("stages", ()))
        return cls(
            **fields,
            evaluations=list(payload.get("evaluations", ())),
            resumed_from=payload.get("resumed_from"),
            stages=stages,
        )


@settings
class RunnerConfig:
    """The ``[runner]`` section: settings of the loop, and the one stage of single-stage models.

    ``seed``, ``deterministic``, ``device``, ``log_every`` and ``checkpoint_every`` apply to every
    run. The other fields describe the stage that :meth:`single_stage` builds (an LM's only
    stage); a multi-stage model declares its stages from its own config instead.

    Attributes:
        max_epochs: passes over the training data.
        max_steps: stop after this many updates (``None``: no limit).
        time_budget: stop after this many seconds of training, summed over resumes.
        grad_clip: max-norm gradient clipping threshold per optimizer (``None``: off).
        monitor: validation quantity for early stopping, LR plateaus and the best checkpoint.
        mode: ``min`` or ``max``: which direction of ``monitor`` is better.
        patience: stop after this many evaluations without improvement (``None``: never).
        lr_schedule: ``constant``; ``exponential`` (× ``lr_decay`` per epoch from epoch
            ``lr_decay_start``, as in Semeniuta 2019 §3.4.3); ``plateau`` (÷ ``lr_divisor``
            after ``plateau_patience`` + 1 evaluations without improvement).
        eval_every: evaluate every N updates (``None``: at the end of every epoch).
        checkpoint_every: checkpoint every N updates (``None``: at every evaluation).
        log_every: write a training record to ``log.jsonl`` every N updates of each optimizer.
        seed: seeds Python, NumPy, torch and the batch order.
        deterministic: ask torch for deterministic kernels.
        device: ``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda``, ``cuda:N``.
        restore_best: end with the weights of the best evaluation.
        probe_samples: on a synthetic-oracle bundle, the samples each NLL-oracle probe draws
            (default 9,984, the peers' count; 0 turns the probe off). The probe has its own
            random numbers, so this never changes training, and may change on resume.
        probe_every: probe after the 1st, (1 + k)th, (1 + 2k)th … epoch or generator update
            (SeqGAN's 5).
    """

    max_epochs: int = 10
    max_steps: int | None = None
    time_budget: float | None = None
    grad_clip: float | None = None
    monitor: str = "valid_loss"
    mode: Literal["min", "max"] = "min"
    patience: int | None = None
    lr_schedule: Literal["constant", "exponential", "plateau"] = "constant"
    lr_decay: float = 0.97
    lr_decay_start: int = 10
    lr_divisor: float = 2.0
    plateau_patience: int = 0
    min_lr: float = 0.0
    eval_every: int | None = None
    checkpoint_every: int | None = None
    log_every: int = 50
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    restore_best: bool = True
    probe_samples: int = 9984
    probe_every: int = 5

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be an integer from 0 to 2**32 - 1, got {self.seed}")
        minimum = {
            "max_epochs": 1,
            "log_every": 1,
            "max_steps": 1,
            "eval_every": 1,
            "checkpoint_every": 1,
            "patience": 0,
            "probe_samples": 0,
            "probe_every": 1,
            "lr_decay_start": 0,
            "plateau_patience": 0,
        }
        for name, least in minimum.items():
            value = getattr(self, name)
            if value is not None and value < least:
                raise ValueError(f"{name} must be ≥ {least}, got {value}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"grad_clip must be > 0, got {self.grad_clip}")
        if self.time_budget is not None and self.time_budget <= 0:
            raise ValueError(f"time_budget must be > 0 seconds, got {self.time_budget}")
        if self.lr_divisor <= 1:
            raise ValueError(f"lr_divisor must be > 1, got {self.lr_divisor}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if not (self.min_lr >= 0 and math.isfinite(self.min_lr)):
            raise ValueError(f"min_lr must be a finite number ≥ 0, got {self.min_lr}")

    def single_stage(self, schedule: UpdateSchedule, *, name: str = "train") -> Stage:
        """The stage these settings describe, every optimizer of ``schedule`` clipped and scheduled alike."""
        lr = LRSchedule(
            kind=self.lr_schedule,
            decay=self.lr_decay,
            start=self.lr_decay_start,
            divisor=self.lr_divisor,
            plateau_patience=self.plateau_patience,
            min_lr=self.min_lr,
        )
        settings = OptimizerSettings(grad_clip=self.grad_clip, lr=lr)
        return Stage(
            name=name,
            schedule=schedule,
            optimizers={opt: settings for opt in sorted(schedule.optimizers())},
            max_epochs=self.max_epochs,
            max_steps=self.max_steps,
            time_budget=self.time_budget,
            monitor=self.monitor,
            mode=self.mode,
            patience=self.patience,
            eval_every=self.eval_every,
            restore_best=self.restore_best,
        )


class TrainingTask(Protocol):
    """What a model gives the runner. ``textgen_eval.training.Task`` is a base class with the
    optional hooks filled in.

    The runner seeds, calls :meth:`setup` (build the module and optimizers on ``device``), reads
    :meth:`stages`, and for each stage calls :meth:`training_step` with a batch of
    :meth:`train_batches` (or ``None`` for a data-free update) and a :class:`StepContext`.
    """

    @property
    def module(self) -> torch.nn.Module:
        """The trained network (all the weights the runner checkpoints)."""
        ...

    def setup(self, device: torch.device) -> None: ...

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        """Named optimizers (created in :meth:`setup`)."""
        ...

    def stages(self) -> Sequence[Stage]:
        """The ordered stages (at least one)."""
        ...

    def train_batches(self, stage: str, epoch: int) -> Iterable[Any]:
        """The batches of ``epoch`` of ``stage``; must depend only on the seed, stage and epoch."""
        ...

    def batches_per_epoch(self, stage: str) -> int | None: ...

    def num_data(self) -> int | None: ...

    def training_step(self, batch: Any, ctx: StepContext) -> Mapping[str, Any]:
        """Losses as 0-d tensors; ``"loss"`` is minimised by ``ctx.optimizer``, the rest are logged."""
        ...

    def validate(self, stage: str) -> Mapping[str, float]:
        """Validation quantities (``{"valid_loss": 3.2}``); ``{}`` when there is nothing to validate."""
        ...

    def prepare_eval(self, stage: str) -> None:
        """Called before :meth:`validate` (e.g. re-collect batch-norm statistics)."""
        ...

    def extra_state(self) -> dict[str, Any]:
        """State beyond the module and optimizers that a checkpoint must keep (tensors, numbers,
        lists, dicts: what ``torch.load(weights_only=True)`` reads)."""
        ...

    def load_extra_state(self, state: Mapping[str, Any]) -> None: ...


class TaskRunner(Protocol):
    """The part of ``textgen_eval.training.Runner`` a model uses (no import of ``training``)."""

    #: the ``[runner]`` section: the seed of batch orders, the stage of single-stage models
    config: RunnerConfig

    def fit(self, task: TrainingTask, *, resume: bool = False) -> TrainResult: ...


class BaseTask:
    """Defaults for the optional hooks of :class:`TrainingTask`; subclass and fill in the rest."""

    def batches_per_epoch(self, stage: str) -> int | None:
        return None

    def num_data(self) -> int | None:
        return None

    def validate(self, stage: str) -> Mapping[str, float]:
        return {}

    def prepare_eval(self, stage: str) -> None:
        """Nothing to prepare by default."""

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Nothing to restore by default."""


class SingleOptimizerTask(BaseTask):
    """A task with one optimizer, ``main``, stepping on every batch in the one stage ``[runner]``
    describes (LM, text VAEs, image VAEs). Subclasses set ``runner_config`` and create
    ``_optimizer`` in :meth:`setup`."""

    runner_config: RunnerConfig
    _optimizer: torch.optim.Optimizer | None = None

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        if self._optimizer is None:
            raise RuntimeError(f"{type(self).__name__}: optimizers() before setup()")
        return {"main": self._optimizer}

    def stages(self) -> Sequence[Stage]:
        return [self.runner_config.single_stage(Cycle((Update("main"),)))]
