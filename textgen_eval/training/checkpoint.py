"""Atomic checkpoints: module, optimizers, the task's extra state, the best weights of the
stage, the loop position and every RNG state. They load with ``weights_only=True``."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.files import atomic_write_bytes
from textgen_eval.core.safe_load import load_tensors
from textgen_eval.core.seeding import rng_state, set_rng_state
from textgen_eval.core.training import TrainingTask
from textgen_eval.training.state import TrainState

#: Settings that may change between an interrupted run and its resumption.
RESUMABLE = frozenset(
    {
        "max_epochs",
        "max_steps",
        "time_budget",
        "device",
        "log_every",
        "checkpoint_every",
        "max_steps_cap",
        "probe_samples",  # the oracle probe draws its own random numbers: training is unchanged
        "probe_every",
    }
)

BestWeights = dict[str, torch.Tensor]


@dataclass
class Restored:
    state: TrainState
    best: BestWeights | None


def save_checkpoint(
    path: Path,
    *,
    config: Mapping[str, Any],
    task: TrainingTask,
    optimizers: Mapping[str, torch.optim.Optimizer],
    state: TrainState,
    best: BestWeights | None,
) -> None:
    payload = {
        "format": 2,
        "config": json.loads(json.dumps(config, default=str)),
        "state": state.to_payload(),
        "module": task.module.state_dict(),
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "task": task.extra_state(),
        "best_module": best,
        "rng": rng_state(),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(
    path: Path,
    *,
    config: Mapping[str, Any],
    task: TrainingTask,
    optimizers: Mapping[str, torch.optim.Optimizer],
) -> Restored:
    """Restore ``task`` and ``optimizers`` from ``path``; refuses a changed configuration."""
    payload = load_tensors(path, what="a training checkpoint")
    if not isinstance(payload, dict):
        raise InputError(f"{path}: not a training checkpoint (it holds a {type(payload).__name__})")
    _check_config(path, payload.get("config") or {}, json.loads(json.dumps(config, default=str)))
    try:
        task.module.load_state_dict(payload["module"])
        for name, opt in optimizers.items():
            opt.load_state_dict(payload["optimizers"][name])
    except (RuntimeError, ValueError, KeyError) as exc:  # shapes follow the data (vocabulary, image size)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"{path} does not fit the model built from the data given now ({first}); resume with the "
            "run's own training data (see run.json's data), or start a new run"
        ) from None
    task.load_extra_state(payload.get("task") or {})
    set_rng_state(payload["rng"])
    state = TrainState.from_payload(payload["state"])
    state.stopped = ""
    best = payload.get("best_module")
    return Restored(state, copy.deepcopy(best) if best is not None else None)


def _check_config(path: Path, saved: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    for section in sorted(set(saved) | set(current)):
        a, b = saved.get(section, {}), current.get(section, {})
        if not (isinstance(a, dict) and isinstance(b, dict)):
            changed = [section] if a != b and section not in RESUMABLE else []
            a, b = {section: a}, {section: b}
        else:
            changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in RESUMABLE)
        if changed:
            raise ConfigError(
                f"{path} was written with a different configuration ({section}: "
                f"{', '.join(f'{k}={a.get(k)!r}→{b.get(k)!r}' for k in changed)}); "
                "resume with the original settings or use a new output directory"
            )
