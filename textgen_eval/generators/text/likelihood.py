"""Maximum likelihood of next-token networks: the per-position NLL, a batch's and a corpus's NLL,
and the one-network training task that minimises it (the LSTM LM, the transformer LM).

A network is a :class:`NextTokenNet`: ``net(inputs (B, T)) → (logits (B, T, V), state)`` over
``[BOS] ids [EOS]`` batches padded with PAD. The NLL is exact: EOS is scored, BOS is not,
padding never counts (Semeniuta 2019, eq. 2.1.2: log p(x) = Σ_t log p(x_t | x_<t)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from textgen_eval.core.training import RunnerConfig, StepContext
from textgen_eval.data.batching import EncodedCorpus, sorted_batches
from textgen_eval.data.vocab import PAD_ID
from textgen_eval.generators.text.task import SingleNetworkTask


class NextTokenNet(Protocol):
    """A network that reads ``[BOS] ids`` and gives next-token logits at every position."""

    def __call__(self, inputs: Tensor) -> tuple[Tensor, Any]: ...

    @property
    def contiguous_loss(self) -> bool:
        """Whether :func:`sequence_cross_entropy` uses the fast ``(B·T, V)`` layout for it."""
        ...


def sequence_cross_entropy(logits: Tensor, targets: Tensor, *, contiguous: bool) -> Tensor:
    """Per-position NLL ``(B, T)`` of ``targets (B, T)`` under ``logits (B, T, V)``, 0 at PAD.

    ``contiguous`` computes over ``(B·T, V)`` rows, twice as fast on CPU as the ``(B, V, T)``
    layout of the thesis' models, but not bit-identical to it (differences of ~1e-6 per token):
    the models whose numbers were published with the old layout (reference LMs in users' caches,
    README values) keep it; models that are new take the fast one."""
    if contiguous:
        batch, length, vocab = logits.shape
        flat = F.cross_entropy(
            logits.reshape(batch * length, vocab), targets.reshape(-1), ignore_index=PAD_ID, reduction="none"
        )
        return flat.view(batch, length)
    return F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=PAD_ID, reduction="none")


def token_nll(net: NextTokenNet, batch: Tensor) -> tuple[Tensor, Tensor]:
    """Summed NLL (nats) per sentence and number of predicted tokens, for a padded
    ``[BOS] ids [EOS]`` batch. Padding is never counted; EOS is scored, BOS is not."""
    inputs, targets = batch[:, :-1], batch[:, 1:]
    logits, _ = net(inputs)
    nll = sequence_cross_entropy(logits, targets, contiguous=net.contiguous_loss)
    mask = targets != PAD_ID
    return (nll * mask).sum(dim=1), mask.sum(dim=1)


def corpus_nll(
    net: NextTokenNet, corpus: EncodedCorpus, batch_size: int, device: torch.device
) -> tuple[float, int]:
    """Total NLL (float64 accumulation) and token count of ``corpus``."""
    total, count = 0.0, 0
    with torch.no_grad():
        for _, batch in sorted_batches(corpus.sequences, batch_size):
            nll, n = token_nll(net, torch.from_numpy(batch).to(device))
            total += float(nll.double().sum())
            count += int(n.sum())
    return total, count


NetT = TypeVar("NetT", bound=nn.Module)
NetT_co = TypeVar("NetT_co", bound=nn.Module, covariant=True)


class NetBuilder(Protocol[NetT_co]):
    """A model that builds its network and has a ``[train]`` section (the LMs)."""

    @property
    def configs(self) -> Mapping[str, Any]: ...

    def build_net(self) -> NetT_co: ...


class LikelihoodTask(SingleNetworkTask[NetT]):
    """One next-token network trained by maximum likelihood on every batch (one stage configured
    by ``[runner]``, one optimizer ``main``), validated by the exact NLL of the valid split."""

    def __init__(
        self,
        model: NetBuilder[NetT],
        train: EncodedCorpus,
        valid: EncodedCorpus | None,
        runner_config: RunnerConfig,
    ) -> None:
        super().__init__(model.build_net, train, valid, runner_config, model.configs["train"])

    def training_step(self, batch: np.ndarray, ctx: StepContext) -> Mapping[str, Tensor]:
        nll, count = token_nll(self.net, torch.from_numpy(batch).to(self.device))
        return {"loss": nll.sum() / count.sum()}

    @property
    def net(self) -> NextTokenNet:
        net: NextTokenNet = self.module  # type: ignore[assignment]
        return net

    def validate(self, stage: str) -> Mapping[str, float]:
        if self.valid is None:
            return {}
        total, count = corpus_nll(self.net, self.valid, self.train_config.eval_batch_size, self.device)
        loss = total / count
        return {"valid_loss": loss, "valid_ppl": math.exp(min(loss, 700.0))}
