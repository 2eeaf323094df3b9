"""TensorBoard event files written as training goes (``tge train/tune --tensorboard DIR``).

Every series of ``log.jsonl`` becomes a scalar (:func:`~textgen_eval.training.records.record_points`:
the same series ``tge plot`` draws), tagged ``STAGE/OPTIMIZER/KEY`` or ``STAGE/KEY`` so TensorBoard
groups them by stage, at the run's update count. A resumed run purges the events after its
checkpoint's step (``purge_step``), as ``log.jsonl`` drops its records after it, so the curves
show each step once. TensorBoard is an optional extra (``pip install 'textgen_eval[tensorboard]'``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textgen_eval.core.errors import MissingDependencyError
from textgen_eval.training.callbacks import Callback
from textgen_eval.training.records import record_points

if TYPE_CHECKING:
    from textgen_eval.training.runner import Runner
    from textgen_eval.training.state import TrainState

#: Events reach the disk at least this often, so a user watching live sees them.
FLUSH_SECONDS = 5


def scalar_tag(stage: str, optimizer: str | None, key: str) -> str:
    return f"{stage}/{optimizer}/{key}" if optimizer else f"{stage}/{key}"


def require_tensorboard(option: str = "--tensorboard") -> None:
    """Refuse early (exit 2) when the optional dependency is missing."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise MissingDependencyError("tensorboard", option, extra="tensorboard") from None


class TensorBoardWriter(Callback):
    """Mirror every training, validation and probe record of a run into event files in ``directory``."""

    def __init__(self, directory: str | Path) -> None:
        require_tensorboard()
        self.directory = Path(directory)
        self.writer: Any = None

    def on_start(self, runner: Runner, state: TrainState) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.directory.mkdir(parents=True, exist_ok=True)
        purge = state.step + 1 if state.step > 0 else None  # a resume: later events are redone
        self.writer = SummaryWriter(log_dir=str(self.directory), purge_step=purge, flush_secs=FLUSH_SECONDS)

    def on_record(self, runner: Runner, record: Mapping[str, Any]) -> None:
        if self.writer is None:
            return
        for stage, optimizer, key, step, value in record_points(record):
            if not math.isnan(value):
                self.writer.add_scalar(scalar_tag(stage, optimizer, key), value, global_step=step)

    def on_end(self, runner: Runner, state: TrainState) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
