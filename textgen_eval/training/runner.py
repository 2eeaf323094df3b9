"""One training loop for every model: the model supplies steps, the runner owns the rest.

The runner seeds every generator, picks the device, runs named optimizers on an alternating
schedule, clips gradients, schedules learning rates (constant, exponential decay, or divide by
``k`` when validation stops improving), stops early, respects step and time budgets, guards
against NaN/inf, logs every quantity to ``log.jsonl``, and writes atomic checkpoints from which
an interrupted run resumes to exactly the result of an uninterrupted one.
"""

from __future__ import annotations

import copy
import io
import json
import math
import platform
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from textgen_eval import __version__
from textgen_eval.core.config import to_dict
from textgen_eval.core.errors import ConfigError, DivergenceError, InputError, TrainingInterrupted
from textgen_eval.core.files import atomic_write_bytes, atomic_write_text
from textgen_eval.core.protocols import TrainingTask
from textgen_eval.core.seeding import resolve_device, rng_state, seed_everything, set_rng_state
from textgen_eval.training.callbacks import Callback
from textgen_eval.training.schedules import exponential_decay

CHECKPOINT = "checkpoint.pt"
LOG = "log.jsonl"
RUN_INFO = "run.json"


@dataclass(frozen=True)
class RunnerConfig:
    """Settings of the loop itself (the model's own hyperparameters live in its config).

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
        log_every: write a training record to ``log.jsonl`` every N updates.
        seed: seeds Python, NumPy, torch and the batch order.
        deterministic: ask torch for deterministic kernels.
        device: ``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda``, ``cuda:N``.
        restore_best: end with the weights of the best evaluation.
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

    def __post_init__(self) -> None:
        minimum = {
            "max_epochs": 1,
            "log_every": 1,
            "max_steps": 1,
            "eval_every": 1,
            "checkpoint_every": 1,
            "patience": 0,
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


@dataclass
class TrainState:
    """Everything about the loop's position that a checkpoint must restore."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    elapsed: float = 0.0
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = ""


@dataclass(frozen=True)
class TrainResult:
    steps: int
    epochs: int
    best: float | None
    best_step: int | None
    stopped: str
    elapsed: float
    evaluations: list[dict[str, Any]]
    resumed_from: int | None = None

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
        }


def versions() -> dict[str, str]:
    import numpy

    return {
        "textgen_eval": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
    }


class _InterruptFlag:
    """Turns the first Ctrl-C into a flag checked between steps (so the checkpoint is
    consistent); a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.raised = False
        self._previous: Any = None

    def __enter__(self) -> _InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class Runner:
    """Train a :class:`~textgen_eval.core.protocols.TrainingTask`.

    Args:
        config: loop settings.
        run_dir: where ``run.json``, ``log.jsonl`` and ``checkpoint.pt`` go (``None``: keep
            nothing on disk, no resume).
        callbacks: progress bars and other observers.
        task_config: the model's resolved config, recorded in ``run.json`` and checked on resume.
        command: the command line to record.
    """

    def __init__(
        self,
        config: RunnerConfig | None = None,
        *,
        run_dir: str | Path | None = None,
        callbacks: Sequence[Callback] = (),
        task_config: Mapping[str, Any] | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        self.config = config or RunnerConfig()
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.callbacks = list(callbacks)
        self.task_config = dict(task_config or {})
        self.command = list(command) if command is not None else list(sys.argv)
        self.device: torch.device | None = None
        self.task: TrainingTask | None = None

    # -- public -------------------------------------------------------------------------------

    def fit(self, task: TrainingTask, *, resume: bool = False) -> TrainResult:
        cfg = self.config
        self.task = task
        seed_everything(cfg.seed, deterministic=cfg.deterministic)
        self.device = resolve_device(cfg.device)
        task.setup(self.device)
        optimizers = dict(task.optimizers())
        schedule = self._check_schedule(task, optimizers)
        base_lrs = {name: [g["lr"] for g in opt.param_groups] for name, opt in optimizers.items()}
        state = TrainState()
        best_state: dict[str, Any] | None = None
        resumed_from = None
        checkpoint = self._checkpoint_path()
        if resume and checkpoint is not None and checkpoint.is_file():
            state, best_state = self._load_checkpoint(task, optimizers)
            resumed_from = state.step
            self._truncate_log(state.step)
        else:
            self._start_run_dir()
        for cb in self.callbacks:
            cb.on_start(self, state)
        started = time.monotonic() - state.elapsed
        with _InterruptFlag() as interrupt:
            try:
                best_state = self._loop(
                    task, optimizers, schedule, base_lrs, state, best_state, started, interrupt
                )
            except DivergenceError:
                for cb in self.callbacks:
                    cb.on_end(self, state)
                raise
        state.elapsed = time.monotonic() - started
        if state.stopped == "interrupted":
            path = self._save_checkpoint(task, optimizers, state, best_state)
            for cb in self.callbacks:
                cb.on_end(self, state)
            where = f"; resume with the same command and --resume (checkpoint {path})" if path else ""
            raise TrainingInterrupted(f"interrupted at step {state.step}{where}")
        if cfg.restore_best and best_state is not None:
            task.module.load_state_dict(best_state)
        self._save_checkpoint(task, optimizers, state, best_state)
        self._log({"event": "end", "step": state.step, "stopped": state.stopped, "best": state.best})
        for cb in self.callbacks:
            cb.on_end(self, state)
        return TrainResult(
            state.step,
            state.epoch,
            state.best,
            state.best_step,
            state.stopped,
            state.elapsed,
            state.evaluations,
            resumed_from,
        )

    # -- the loop -----------------------------------------------------------------------------

    def _loop(
        self,
        task: TrainingTask,
        optimizers: dict[str, torch.optim.Optimizer],
        schedule: list[str],
        base_lrs: dict[str, list[float]],
        state: TrainState,
        best_state: dict[str, Any] | None,
        started: float,
        interrupt: _InterruptFlag,
    ) -> dict[str, Any] | None:
        cfg = self.config
        while state.epoch < cfg.max_epochs and not state.stopped:
            self._apply_epoch_lr(optimizers, base_lrs, state.epoch)
            batches = iter(task.train_batches(state.epoch))
            for _ in range(state.batch_in_epoch):  # resume mid-epoch: skip what was consumed
                next(batches, None)
            for batch in batches:
                task.module.train()
                name = schedule[state.step % len(schedule)]
                losses = task.training_step(batch, optimizer=name, step=state.step, epoch=state.epoch)
                values = self._check_finite(losses, state)
                opt = optimizers[name]
                opt.zero_grad(set_to_none=True)
                losses["loss"].backward()
                if cfg.grad_clip is not None:
                    params = [p for g in opt.param_groups for p in g["params"]]
                    norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                    values["grad_norm"] = float(norm)
                    if not math.isfinite(values["grad_norm"]):
                        raise self._divergence(state, "grad_norm", values["grad_norm"])
                opt.step()
                state.step += 1
                state.batch_in_epoch += 1
                state.elapsed = time.monotonic() - started
                if state.step % cfg.log_every == 0:
                    self._log(
                        {
                            "event": "train",
                            "step": state.step,
                            "epoch": state.epoch,
                            "lr": opt.param_groups[0]["lr"],
                            "time": round(state.elapsed, 3),
                            **values,
                        }
                    )
                for cb in self.callbacks:
                    cb.on_step(self, state, values)
                if cfg.eval_every is not None and state.step % cfg.eval_every == 0:
                    best_state = self._evaluate(task, optimizers, state, best_state)
                elif cfg.checkpoint_every is not None and state.step % cfg.checkpoint_every == 0:
                    self._save_checkpoint(task, optimizers, state, best_state)
                if cfg.max_steps is not None and state.step >= cfg.max_steps:
                    state.stopped = state.stopped or "max_steps"
                if cfg.time_budget is not None and state.elapsed >= cfg.time_budget:
                    state.stopped = state.stopped or "time_budget"
                if interrupt.raised:
                    state.stopped = "interrupted"
                if state.stopped:
                    break
            else:
                state.epoch += 1
                state.batch_in_epoch = 0
                if cfg.eval_every is None:
                    best_state = self._evaluate(task, optimizers, state, best_state)
                if state.epoch >= cfg.max_epochs and not state.stopped:
                    state.stopped = "max_epochs"
        return best_state

    def _evaluate(
        self,
        task: TrainingTask,
        optimizers: dict[str, torch.optim.Optimizer],
        state: TrainState,
        best_state: dict[str, Any] | None,
    ) -> dict[str, Any] | None:
        cfg = self.config
        task.module.eval()
        with torch.no_grad():
            metrics = {k: float(v) for k, v in task.validate().items()}
        task.module.train()
        record = {"step": state.step, "epoch": state.epoch, **metrics}
        state.evaluations.append(record)
        self._log({"event": "valid", "time": round(state.elapsed, 3), **record})
        if metrics:
            if cfg.monitor not in metrics:
                raise ConfigError(
                    f"monitor {cfg.monitor!r} is not among the validation quantities: {', '.join(metrics)}"
                )
            value = metrics[cfg.monitor]
            if not math.isfinite(value):
                raise self._divergence(state, cfg.monitor, value)
            better = state.best is None or (value < state.best if cfg.mode == "min" else value > state.best)
            if better:
                state.best, state.best_step, state.bad_evals = value, state.step, 0
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in task.module.state_dict().items()}
            else:
                state.bad_evals += 1
                if cfg.lr_schedule == "plateau" and state.bad_evals > cfg.plateau_patience:
                    self._divide_lr(optimizers)
                if cfg.patience is not None and state.bad_evals > cfg.patience:
                    state.stopped = "early_stopping"
        for cb in self.callbacks:
            cb.on_eval(self, state, metrics)
        self._save_checkpoint(task, optimizers, state, best_state)
        return best_state

    # -- learning rates -----------------------------------------------------------------------

    def _apply_epoch_lr(
        self, optimizers: dict[str, torch.optim.Optimizer], base_lrs: dict[str, list[float]], epoch: int
    ) -> None:
        cfg = self.config
        if cfg.lr_schedule != "exponential":
            return
        for name, opt in optimizers.items():
            for group, base in zip(opt.param_groups, base_lrs[name]):
                group["lr"] = max(
                    cfg.min_lr, exponential_decay(base, epoch, cfg.lr_decay, cfg.lr_decay_start)
                )

    def _divide_lr(self, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        for opt in optimizers.values():
            for group in opt.param_groups:
                group["lr"] = max(self.config.min_lr, group["lr"] / self.config.lr_divisor)

    # -- checks -------------------------------------------------------------------------------

    @staticmethod
    def _check_schedule(task: TrainingTask, optimizers: Mapping[str, Any]) -> list[str]:
        if not optimizers:
            raise ConfigError("the model defines no optimizer")
        slots: list[str] = []
        for name, repeats in task.update_schedule:
            if name not in optimizers:
                raise ConfigError(
                    f"update schedule names optimizer {name!r}; defined: {', '.join(optimizers)}"
                )
            if repeats < 1:
                raise ConfigError(f"update schedule: {name!r} repeats {repeats} times; expected ≥ 1")
            slots.extend([name] * repeats)
        if not slots:
            raise ConfigError("the update schedule is empty")
        return slots

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
        self._log({"event": "diverged", "step": state.step, "quantity": key, "value": str(value)})
        return DivergenceError(
            f"training diverged at step {state.step} (epoch {state.epoch}): {key} = {value}{where}. "
            "Try a lower learning rate or gradient clipping (grad_clip)."
        )

    # -- run directory, log and checkpoints ----------------------------------------------------

    def _checkpoint_path(self) -> Path | None:
        return self.run_dir / CHECKPOINT if self.run_dir is not None else None

    def _resolved_config(self) -> dict[str, Any]:
        return {"runner": to_dict(self.config), "model": self.task_config}

    def _start_run_dir(self) -> None:
        if self.run_dir is None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        info = {
            "config": self._resolved_config(),
            "command": self.command,
            "versions": versions(),
            "seed": self.config.seed,
            "device": str(self.device),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        atomic_write_text(self.run_dir / RUN_INFO, json.dumps(info, indent=2, default=str) + "\n")
        (self.run_dir / LOG).write_text("", encoding="utf-8")

    def _log(self, record: Mapping[str, Any]) -> None:
        if self.run_dir is None:
            return
        with open(self.run_dir / LOG, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=float) + "\n")

    def _truncate_log(self, step: int) -> None:
        """Drop log records written after the checkpoint we resume from (they will be redone)."""
        assert self.run_dir is not None
        path = self.run_dir / LOG
        if not path.is_file():
            return
        kept = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            if record.get("event") in ("end", "diverged"):
                continue
            if record.get("step", 0) <= step:
                kept.append(line)
        atomic_write_text(path, "".join(line + "\n" for line in kept))

    def _save_checkpoint(
        self,
        task: TrainingTask,
        optimizers: Mapping[str, torch.optim.Optimizer],
        state: TrainState,
        best_state: dict[str, Any] | None,
    ) -> Path | None:
        path = self._checkpoint_path()
        if path is None:
            return None
        payload = {
            "format": 1,
            "config": self._resolved_config(),
            "state": state.__dict__,
            "module": task.module.state_dict(),
            "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
            "best_module": best_state,
            "rng": rng_state(),
        }
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        atomic_write_bytes(path, buffer.getvalue())
        return path

    def _load_checkpoint(
        self, task: TrainingTask, optimizers: Mapping[str, torch.optim.Optimizer]
    ) -> tuple[TrainState, dict[str, Any] | None]:
        path = self._checkpoint_path()
        assert path is not None
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # any unpickling/zip error means the file is not usable
            raise InputError(f"{path}: cannot read checkpoint ({type(exc).__name__}: {exc})") from None
        saved = json.loads(json.dumps(payload.get("config"), default=str))
        current = json.loads(json.dumps(self._resolved_config(), default=str))
        for section in ("runner", "model"):
            a, b = saved.get(section, {}), current.get(section, {})
            changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in _RESUMABLE)
            if changed:
                raise ConfigError(
                    f"{path} was written with a different configuration ({section}: "
                    f"{', '.join(f'{k}={a.get(k)!r}→{b.get(k)!r}' for k in changed)}); "
                    "resume with the original settings or use a new output directory"
                )
        task.module.load_state_dict(payload["module"])
        for name, opt in optimizers.items():
            opt.load_state_dict(payload["optimizers"][name])
        set_rng_state(payload["rng"])
        state = TrainState(**payload["state"])
        state.stopped = ""
        best = payload.get("best_module")
        return state, copy.deepcopy(best) if best is not None else None


#: Settings that may change between an interrupted run and its resumption.
_RESUMABLE = frozenset({"max_epochs", "max_steps", "time_budget", "device", "log_every", "checkpoint_every"})
