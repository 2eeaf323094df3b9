"""One training loop for every model: the model supplies stages and steps, the runner owns the rest.

The runner seeds every generator, picks the device, and runs the task's stages in order. Within a
stage it steps the optimizer its update schedule names (data-free updates take no batch), clips
gradients and schedules learning rates per optimizer, validates, stops early, respects step and
time budgets, guards against NaN/inf, logs every quantity to ``log.jsonl`` tagged with its stage,
and writes atomic checkpoints from which an interrupted run — in any stage — resumes to exactly
the result of an uninterrupted one.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from textgen_eval.core.config import to_dict
from textgen_eval.core.errors import ConfigError, DivergenceError, TrainingInterrupted
from textgen_eval.core.seeding import resolve_device, seed_everything
from textgen_eval.core.training import (
    CHECKPOINT,
    RunnerConfig,
    Stage,
    StageResult,
    StepContext,
    TrainingTask,
    TrainResult,
)
from textgen_eval.training.callbacks import Callback
from textgen_eval.training.checkpoint import BestWeights, load_checkpoint, save_checkpoint
from textgen_eval.training.interrupt import InterruptFlag
from textgen_eval.training.lr import epoch_lr, plateau_lr
from textgen_eval.training.runlog import RunLog
from textgen_eval.training.state import TrainState

_EXHAUSTED = object()


@dataclass
class _Fit:
    """What one ``fit`` call works on: the task, its optimizers, the position, the stage's best
    weights, and the clock and Ctrl-C flag."""

    task: TrainingTask
    optimizers: dict[str, torch.optim.Optimizer]
    base_lrs: dict[str, list[float]]
    state: TrainState
    best: BestWeights | None
    started: float = 0.0
    interrupt: InterruptFlag | None = None


class Runner:
    """Train a :class:`~textgen_eval.core.training.TrainingTask`.

    Args:
        config: loop settings (and the stage of single-stage models).
        run_dir: where ``run.json``, ``log.jsonl`` and ``checkpoint.pt`` go (``None``: keep
            nothing on disk, no resume).
        callbacks: progress bars and other observers.
        task_config: the model's resolved config, recorded in ``run.json`` and checked on resume.
        command: the command line to record.
        max_steps: cap every stage at this many updates (a quick end-to-end check).
        info: more JSON-able facts for ``run.json`` (e.g. the data the run was trained on).
    """

    def __init__(
        self,
        config: RunnerConfig | None = None,
        *,
        run_dir: str | Path | None = None,
        callbacks: Sequence[Callback] = (),
        task_config: Mapping[str, Any] | None = None,
        command: Sequence[str] | None = None,
        max_steps: int | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        if max_steps is not None and max_steps < 1:
            raise ConfigError(f"--max-steps must be ≥ 1, got {max_steps}")
        self.config = config or RunnerConfig()
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.callbacks = list(callbacks)
        self.task_config = dict(task_config or {})
        self.command = list(command) if command is not None else list(sys.argv)
        self.max_steps = max_steps
        self.info = dict(info or {})
        self.device: torch.device | None = None
        self.task: TrainingTask | None = None
        #: the stage being run (``None`` before the first), for callbacks that act per stage
        self.current_stage: Stage | None = None
        self.log = RunLog(self.run_dir, on_write=self._tell_record)

    def _tell_record(self, record: Mapping[str, Any]) -> None:
        for cb in self.callbacks:
            cb.on_record(self, record)

    @property
    def seed(self) -> int:
        return self.config.seed

    # -- public -------------------------------------------------------------------------------

    def fit(self, task: TrainingTask, *, resume: bool = False) -> TrainResult:
        cfg = self.config
        self.task = task
        seed_everything(cfg.seed, deterministic=cfg.deterministic)
        self.device = resolve_device(cfg.device)
        task.setup(self.device)
        optimizers = dict(task.optimizers())
        stages = self._check_stages(task.stages(), optimizers)
        base_lrs = {name: [g["lr"] for g in opt.param_groups] for name, opt in optimizers.items()}
        run = _Fit(task, optimizers, base_lrs, TrainState(), None)
        resumed_from = None
        checkpoint = self._checkpoint_path()
        if resume and checkpoint is not None and checkpoint.is_file():
            restored = load_checkpoint(
                checkpoint, config=self._resolved_config(), task=task, optimizers=optimizers
            )
            run.state, run.best = restored.state, restored.best
            resumed_from = run.state.step
            self.log.truncate(run.state.step)
            self.log.note_resume(run.state.step, self.command)
        else:
            self.log.start(self._run_info(stages))
            run.state.enter_stage(0, stages[0].name)
        state = run.state
        for cb in self.callbacks:
            cb.on_start(self, state)
        run.started = time.monotonic() - state.elapsed
        with InterruptFlag() as interrupt:
            run.interrupt = interrupt
            try:
                while state.stage_index < len(stages):
                    stage = stages[state.stage_index]
                    self._run_stage(run, stage)
                    if state.stopped == "interrupted":
                        break
                    self._end_stage(run, stage, stages)
            except DivergenceError:
                for cb in self.callbacks:
                    cb.on_end(self, state)
                raise
        if state.stopped == "interrupted":
            self._save(run)
            for cb in self.callbacks:
                cb.on_end(self, state)
            path = self._checkpoint_path()
            where = f"; resume with the same command and --resume (checkpoint {path})" if path else ""
            raise TrainingInterrupted(f"interrupted at step {state.step} (stage {state.stage}){where}")
        self.log.write({"event": "end", "step": state.step, "stopped": state.stopped, "best": state.best})
        for cb in self.callbacks:
            cb.on_end(self, state)
        finished = tuple(StageResult(**r) for r in state.finished)
        last = finished[-1]
        return TrainResult(
            steps=state.step,
            epochs=last.epochs,
            best=last.best,
            best_step=last.best_step,
            stopped=last.stopped,
            elapsed=state.elapsed,
            evaluations=state.evaluations,
            resumed_from=resumed_from,
            stages=finished,
        )

    # -- one stage ----------------------------------------------------------------------------

    def stage_max_steps(self, stage: Stage) -> int | None:
        caps = [n for n in (stage.max_steps, self.max_steps) if n is not None]
        return min(caps) if caps else None

    def _run_stage(self, run: _Fit, stage: Stage) -> None:
        cfg, task, state = self.config, run.task, run.state
        assert run.interrupt is not None
        max_steps = self.stage_max_steps(stage)
        per_epoch = task.batches_per_epoch(stage.name)
        num_data = task.num_data()
        self.current_stage = stage
        for cb in self.callbacks:
            cb.on_stage_start(self, state, stage)
        stage_started = time.monotonic() - state.stage_elapsed
        batches: Iterator[Any] | None = None
        if stage.max_epochs is not None and state.epoch >= stage.max_epochs:
            state.stopped = "max_epochs"
        if max_steps is not None and state.stage_step >= max_steps:
            state.stopped = "max_steps"
        while not state.stopped:
            update = stage.schedule.at(state.stage_step)
            batch = None
            if update.batch:
                if batches is None:
                    self._apply_epoch_lr(stage, run)
                    batches = iter(task.train_batches(stage.name, state.epoch))
                    for _ in range(state.batch_in_epoch):  # resume mid-epoch: skip what was consumed
                        next(batches, None)
                batch = next(batches, _EXHAUSTED)
                if batch is _EXHAUSTED:
                    batches = None
                    self._end_epoch(run, stage)
                    continue
            ctx = StepContext(
                stage=stage.name,
                optimizer=update.optimizer,
                step=state.step,
                stage_step=state.stage_step,
                epoch=state.epoch,
                batch_in_epoch=state.batch_in_epoch,
                batches_per_epoch=per_epoch,
                num_data=num_data,
            )
            values = self._update(run, stage, batch, ctx)
            state.step += 1
            state.stage_step += 1
            state.updates[update.optimizer] = state.updates.get(update.optimizer, 0) + 1
            if update.batch:
                state.batch_in_epoch += 1
            state.elapsed = time.monotonic() - run.started
            state.stage_elapsed = time.monotonic() - stage_started
            if state.updates[update.optimizer] % cfg.log_every == 0:
                self.log.write(
                    {
                        "event": "train",
                        "stage": stage.name,
                        "step": state.step,
                        "epoch": state.epoch,
                        "optimizer": update.optimizer,
                        "lr": run.optimizers[update.optimizer].param_groups[0]["lr"],
                        "time": round(state.elapsed, 3),
                        **values,
                    }
                )
            for cb in self.callbacks:
                cb.on_step(self, state, values)
            if stage.eval_every is not None and state.stage_step % stage.eval_every == 0:
                self._evaluate(run, stage)
            elif cfg.checkpoint_every is not None and state.step % cfg.checkpoint_every == 0:
                self._save(run)
            if max_steps is not None and state.stage_step >= max_steps:
                state.stopped = state.stopped or "max_steps"
            if stage.time_budget is not None and state.stage_elapsed >= stage.time_budget:
                state.stopped = state.stopped or "time_budget"
            if run.interrupt.raised:
                state.stopped = "interrupted"

    def _update(self, run: _Fit, stage: Stage, batch: Any, ctx: StepContext) -> dict[str, float]:
        run.task.module.train()
        for cb in self.callbacks:
            cb.on_update_start(self, ctx)
        losses = run.task.training_step(batch, ctx)
        values = self._check_finite(losses, run.state)
        opt = run.optimizers[ctx.optimizer]
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        clip = stage.settings(ctx.optimizer).grad_clip
        if clip is not None:
            params = [p for g in opt.param_groups for p in g["params"]]
            norm = torch.nn.utils.clip_grad_norm_(params, clip)
            values["grad_norm"] = float(norm)
            if not math.isfinite(values["grad_norm"]):
                raise self._divergence(run.state, "grad_norm", values["grad_norm"])
        opt.step()
        return values

    def _end_epoch(self, run: _Fit, stage: Stage) -> None:
        state = run.state
        if state.batch_in_epoch == 0:
            raise ConfigError(
                f"stage {stage.name!r}: train_batches() yielded no batch in epoch {state.epoch}"
            )
        state.epoch += 1
        state.batch_in_epoch = 0
        for cb in self.callbacks:
            cb.on_epoch_end(self, state, stage)
        if stage.eval_every is None:
            self._evaluate(run, stage)
        if stage.max_epochs is not None and state.epoch >= stage.max_epochs and not state.stopped:
            state.stopped = "max_epochs"

    def _end_stage(self, run: _Fit, stage: Stage, stages: Sequence[Stage]) -> None:
        """Restore the stage's best weights if asked, record it, and enter the next stage."""
        state = run.state
        if stage.restore_best and run.best is not None:
            run.task.module.load_state_dict(run.best)
        result = StageResult(
            name=stage.name,
            steps=state.stage_step,
            epochs=state.epoch,
            best=state.best,
            best_step=state.best_step,
            stopped=state.stopped,
            elapsed=state.stage_elapsed,
        )
        state.finished.append(result.to_dict())
        self.log.write({"event": "stage_end", "stage": stage.name, **result.to_dict(), "step": state.step})
        for cb in self.callbacks:
            cb.on_stage_end(self, state, stage)
        if state.stage_index + 1 < len(stages):
            state.enter_stage(state.stage_index + 1, stages[state.stage_index + 1].name)
        else:
            state.stage_index += 1
        run.best = None
        self._save(run)

    def _evaluate(self, run: _Fit, stage: Stage) -> None:
        task, state = run.task, run.state
        task.module.eval()
        task.prepare_eval(stage.name)
        with torch.no_grad():
            metrics = {k: float(v) for k, v in task.validate(stage.name).items()}
        task.module.train()
        record = {"stage": stage.name, "step": state.step, "epoch": state.epoch, **metrics}
        state.evaluations.append(record)
        self.log.write({"event": "valid", "time": round(state.elapsed, 3), **record})
        if metrics and stage.monitor is not None:
            if stage.monitor not in metrics:
                raise ConfigError(
                    f"stage {stage.name!r} monitors {stage.monitor!r}, which is not among the validation "
                    f"quantities: {', '.join(metrics)}"
                )
            value = metrics[stage.monitor]
            if not math.isfinite(value):
                raise self._divergence(state, stage.monitor, value)
            better = state.best is None or (value < state.best if stage.mode == "min" else value > state.best)
            if better:
                state.best, state.best_step, state.bad_evals = value, state.step, 0
                if stage.restore_best:
                    run.best = {
                        k: v.detach().to("cpu", copy=True) for k, v in task.module.state_dict().items()
                    }
            else:
                state.bad_evals += 1
                self._plateau(stage, run.optimizers, state.bad_evals)
                if stage.patience is not None and state.bad_evals > stage.patience:
                    state.stopped = "early_stopping"
        for cb in self.callbacks:
            cb.on_eval(self, state, metrics)
        self._save(run)

    # -- learning rates -----------------------------------------------------------------------

    @staticmethod
    def _apply_epoch_lr(stage: Stage, run: _Fit) -> None:
        for name in stage.schedule.optimizers():
            schedule = stage.settings(name).lr
            for group, base in zip(run.optimizers[name].param_groups, run.base_lrs[name]):
                lr = epoch_lr(schedule, base, run.state.epoch)
                if lr is not None:
                    group["lr"] = lr

    @staticmethod
    def _plateau(stage: Stage, optimizers: dict[str, torch.optim.Optimizer], bad_evals: int) -> None:
        for name in stage.schedule.optimizers():
            schedule = stage.settings(name).lr
            if schedule.kind == "plateau" and bad_evals > schedule.plateau_patience:
                for group in optimizers[name].param_groups:
                    group["lr"] = plateau_lr(schedule, group["lr"])

    # -- checks -------------------------------------------------------------------------------

    @staticmethod
    def _check_stages(
        stages: Sequence[Stage], optimizers: Mapping[str, torch.optim.Optimizer]
    ) -> list[Stage]:
        if not optimizers:
            raise ConfigError("the model defines no optimizer")
        stages = list(stages)
        if not stages:
            raise ConfigError("the model declares no training stage")
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise ConfigError(f"stage names must be unique: {', '.join(names)}")
        for stage in stages:
            missing = sorted(stage.schedule.optimizers() - set(optimizers))
            if missing:
                raise ConfigError(
                    f"stage {stage.name!r} steps optimizer(s) {', '.join(map(repr, missing))}; "
                    f"defined: {', '.join(optimizers)}"
                )
            if stage.max_steps is None and stage.time_budget is None and not _consumes_data(stage):
                raise ConfigError(f"stage {stage.name!r} consumes no data, so it needs max_steps")
        return stages

    def _check_finite(self, losses: Mapping[str, Any], state: TrainState) -> dict[str, float]:
        if "loss" not in losses:
            raise ConfigError(f"training_step must return a 'loss' entry (returned: {', '.join(losses)})")
        values = {}
        for key, value in losses.items():
            number = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
            if not math.isfinite(number):
                raise self._divergence(state, key, number)
            values[key] = number
        return values

    def _divergence(self, state: TrainState, key: str, value: float) -> DivergenceError:
        kept = self._checkpoint_path()
        where = f"; the last good checkpoint is kept at {kept}" if kept is not None and kept.is_file() else ""
        self.log.write(
            {
                "event": "diverged",
                "stage": state.stage,
                "step": state.step,
                "quantity": key,
                "value": str(value),
            }
        )
        return DivergenceError(
            f"training diverged at step {state.step} (stage {state.stage}, epoch {state.epoch}): "
            f"{key} = {value}{where}. Try a lower learning rate or gradient clipping (grad_clip)."
        )

    # -- run directory and checkpoints ---------------------------------------------------------

    def _checkpoint_path(self) -> Path | None:
        return self.run_dir / CHECKPOINT if self.run_dir is not None else None

    def _resolved_config(self) -> dict[str, Any]:
        return {"runner": to_dict(self.config), "model": self.task_config, "max_steps_cap": self.max_steps}

    def _run_info(self, stages: Sequence[Stage]) -> dict[str, Any]:
        return {
            "config": self._resolved_config(),
            "stages": [s.describe() for s in stages],
            "max_steps": self.max_steps,
            "command": self.command,
            "seed": self.config.seed,
            "device": str(self.device),
            **self.info,
        }

    def _save(self, run: _Fit) -> None:
        path = self._checkpoint_path()
        if path is not None:
            save_checkpoint(
                path,
                config=self._resolved_config(),
                task=run.task,
                optimizers=run.optimizers,
                state=run.state,
                best=run.best,
            )


def _consumes_data(stage: Stage) -> bool:
    """Whether any update of the stage takes a batch (checked on its first 10,000 updates)."""
    return any(stage.schedule.at(i).batch for i in range(10_000))
