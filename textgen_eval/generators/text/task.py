"""The training task of text models with one network and one optimizer (LM, VAEs): one stage
configured by ``[runner]``, batches of the encoded training corpus in a seeded order."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import numpy as np
import torch
from torch import nn

from textgen_eval.core.training import RunnerConfig, SingleOptimizerTask
from textgen_eval.data.batching import EncodedCorpus, iterate_batches
from textgen_eval.generators.text.optim import TrainConfig, make_optimizer

NetT = TypeVar("NetT", bound=nn.Module)


class SingleNetworkTask(SingleOptimizerTask, Generic[NetT]):
    """One network ``module`` built by ``build`` and trained by the optimizer ``main``; subclasses
    write ``training_step`` and ``validate``."""

    def __init__(
        self,
        build: Callable[[], NetT],
        train: EncodedCorpus,
        valid: EncodedCorpus | None,
        runner_config: RunnerConfig,
        train_config: TrainConfig,
    ) -> None:
        self.build, self.train, self.valid = build, train, valid
        self.runner_config, self.train_config = runner_config, train_config
        self.seed = runner_config.seed
        self.module: NetT = build()
        self.device = torch.device("cpu")
        self._optimizer: torch.optim.Optimizer | None = None

    def setup(self, device: torch.device) -> None:
        self.device = device
        self.module = self.build().to(device)
        self._optimizer = make_optimizer(self.module.parameters(), self.train_config)

    def batches_per_epoch(self, stage: str) -> int:
        # bucketing chunks hold whole batches except the last, so this is exact
        return math.ceil(len(self.train) / self.train_config.batch_size)

    def num_data(self) -> int:
        return len(self.train)

    def train_batches(self, stage: str, epoch: int) -> Iterator[np.ndarray]:
        return iterate_batches(self.train, self.train_config.batch_size, seed=self.seed, epoch=epoch)
