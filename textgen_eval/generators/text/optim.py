"""The optimizer section shared by text generators (``[train]`` of ``lstm-lm``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from textgen_eval.core.config import settings

if TYPE_CHECKING:
    import torch


@settings
class TrainConfig:
    """Optimisation settings of one network: optimizer, learning rate, batch sizes.

    ``lr = 0`` is allowed and moves nothing: the same pipeline then evaluates a starting point
    (a pretrained checkpoint) as it is."""

    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    batch_size: int = 64
    eval_batch_size: int = 256

    def __post_init__(self) -> None:
        if not (self.lr >= 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a finite number ≥ 0, got {self.lr}")
        for name in ("weight_decay", "momentum"):  # torch refuses negatives only when it builds the optimizer
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number ≥ 0, got {value}")
        if self.momentum >= 1:
            raise ValueError(f"momentum must be < 1, got {self.momentum}")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError("batch sizes must be ≥ 1")


def make_optimizer(params: Iterable[torch.nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    """The ``torch.optim`` optimizer named by ``cfg`` (a registry keyed by name)."""
    import torch

    factories = {
        "adam": lambda: torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
        "adamw": lambda: torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
        "sgd": lambda: torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        ),
        "rmsprop": lambda: torch.optim.RMSprop(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        ),
    }
    optimizer: torch.optim.Optimizer = factories[cfg.optimizer]()
    return optimizer
