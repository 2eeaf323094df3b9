"""A tiny two-stage-and-more adversarial text model for testing the platform (not shipped).

``tiny-gan``: an LSTM generator (the LM's :class:`LMNet`) and a GRU discriminator over short
token sequences, trained in three stages — ``pretrain-g`` (MLE, early-stopped on validation,
best weights restored), ``pretrain-d`` (discriminator on real vs generated batches) and
``adversarial`` (two discriminator updates on data, then one data-free REINFORCE generator update
with a running-mean baseline kept in the checkpoint's task state). It exercises stages,
alternation, data-free steps, per-optimizer ownership, extra state, and LM initialisation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from textgen_eval.core.training import (
    BaseTask,
    Cycle,
    OptimizerSettings,
    Stage,
    StepContext,
    TaskRunner,
    TrainResult,
    Update,
)
from textgen_eval.data.batching import EncodedCorpus, iterate_batches
from textgen_eval.data.vocab import PAD_ID, Vocab
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig
from textgen_eval.generators.lstm_lm.model import LMNet, corpus_nll, token_nll
from textgen_eval.generators.lstm_lm.pretrained import init_decoder, load_pretrained_lm
from textgen_eval.generators.text.generator import AutoregressiveGenerator
from textgen_eval.generators.text.optim import TrainConfig, make_optimizer
from textgen_eval.generators.text.sampler import sample_tokens


@dataclass(frozen=True)
class AdversarialConfig:
    pretrain_epochs: int = 2
    pretrain_d_steps: int = 3
    adversarial_steps: int = 6
    d_per_g: int = 2
    d_hidden: int = 8
    max_len: int = 12
    init_from: str | None = None
    grad_clip: float | None = 5.0


class Discriminator(nn.Module):
    def __init__(self, vocab_size: int, hidden: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, hidden, padding_idx=PAD_ID)
        self.rnn = nn.GRU(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, tokens: Tensor) -> Tensor:
        """Logit of "real" for ``(B, T)`` ids without BOS (mean-pooled over non-pad positions)."""
        hidden, _ = self.rnn(self.embedding(tokens))  # (B, T, H)
        mask = (tokens != PAD_ID).unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.out(pooled).squeeze(-1)  # (B,)


class TinyGANTask(BaseTask):
    def __init__(self, model: TinyGAN, train: EncodedCorpus, valid: EncodedCorpus | None, seed: int) -> None:
        self.model, self.train, self.valid, self.seed = model, train, valid, seed
        self.adv: AdversarialConfig = model.configs["adversarial"]
        self.batch_size = model.configs["train"].batch_size
        self.module = model.build_module()
        self.device = torch.device("cpu")
        self.baseline = 0.0

    def setup(self, device: torch.device) -> None:
        self.device = device
        self.module = self.model.build_module().to(device)
        if self.adv.init_from is not None:
            init_decoder(self.module["gen"], load_pretrained_lm(self.adv.init_from))
        cfg = self.model.configs["train"]
        self.opts = {
            "gen": make_optimizer(self.module["gen"].parameters(), cfg),
            "disc": make_optimizer(self.module["disc"].parameters(), cfg),
        }

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        return self.opts

    def stages(self) -> Sequence[Stage]:
        clip = {"gen": OptimizerSettings(grad_clip=self.adv.grad_clip)}
        stages = [
            Stage(
                "pretrain-d",
                Cycle((Update("disc"),)),
                max_steps=self.adv.pretrain_d_steps,
            ),
            Stage(
                "adversarial",
                Cycle((Update("disc", self.adv.d_per_g), Update("gen", 1, batch=False))),
                optimizers=clip,
                max_steps=self.adv.adversarial_steps,
            ),
        ]
        if self.adv.init_from is None:
            pretrain = Stage(
                "pretrain-g",
                Cycle((Update("gen"),)),
                optimizers=clip,
                max_epochs=self.adv.pretrain_epochs,
                monitor="valid_loss",
                restore_best=True,
            )
            stages.insert(0, pretrain)
        return stages

    def batches_per_epoch(self, stage: str) -> int:
        return math.ceil(len(self.train) / self.batch_size)

    def num_data(self) -> int:
        return len(self.train)

    def train_batches(self, stage: str, epoch: int) -> Iterator[np.ndarray]:
        return iterate_batches(self.train, self.batch_size, seed=self.seed + len(stage), epoch=epoch)

    def _generator(self, ctx: StepContext) -> torch.Generator:
        """Sampling noise fixed by (seed, step): resumed runs draw the same sequences."""
        return torch.Generator(device=self.device).manual_seed(self.seed * 100_003 + ctx.step)

    def training_step(self, batch: np.ndarray | None, ctx: StepContext) -> Mapping[str, Tensor]:
        gen, disc = self.module["gen"], self.module["disc"]
        if ctx.optimizer == "gen" and ctx.stage == "pretrain-g":
            assert batch is not None
            nll, count = token_nll(gen, torch.from_numpy(batch).to(self.device))
            return {"loss": nll.sum() / count.sum()}
        if ctx.optimizer == "disc":
            assert batch is not None
            real = torch.from_numpy(batch).to(self.device)[:, 1:]  # drop BOS
            fake = sample_tokens(
                gen,
                real.shape[0],
                max_len=self.adv.max_len,
                generator=self._generator(ctx),
                device=self.device,
            ).tokens
            logits_real, logits_fake = disc(real), disc(fake)
            loss = F.binary_cross_entropy_with_logits(
                logits_real, torch.ones_like(logits_real)
            ) + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake))
            return {"loss": loss, "d_real": torch.sigmoid(logits_real).mean()}
        # data-free REINFORCE: reward D(y) minus a running-mean baseline, ∇ log p(y)
        drawn = sample_tokens(
            gen,
            self.batch_size,
            max_len=self.adv.max_len,
            generator=self._generator(ctx),
            device=self.device,
            keep_graph=True,
        )
        with torch.no_grad():
            reward = torch.sigmoid(disc(drawn.tokens))
        advantage = reward - self.baseline
        self.baseline = 0.9 * self.baseline + 0.1 * float(reward.mean())
        loss = -(advantage * drawn.logprobs.sum(dim=1)).mean()
        return {"loss": loss, "reward": reward.mean()}

    def validate(self, stage: str) -> Mapping[str, float]:
        if self.valid is None:
            return {}
        total, count = corpus_nll(self.module["gen"], self.valid, 64, self.device)
        return {"valid_loss": total / count}

    def extra_state(self) -> dict[str, Any]:
        return {"baseline": self.baseline}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.baseline = float(state.get("baseline", 0.0))


class TinyGAN(AutoregressiveGenerator):
    name = "tiny-gan"
    description = "test-only adversarial model (MLE → discriminator → REINFORCE)"
    paper = "none (test model)"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": LSTMLMConfig,
        "train": TrainConfig,
        "adversarial": AdversarialConfig,
    }

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs, vocab=vocab)
        self.module: nn.ModuleDict | None = None

    def build_module(self) -> nn.ModuleDict:
        vocab = self.require_vocab()
        adv: AdversarialConfig = self.configs["adversarial"]
        return nn.ModuleDict(
            {"gen": LMNet(self.configs["model"], len(vocab)), "disc": Discriminator(len(vocab), adv.d_hidden)}
        )

    def fit(
        self, train: Sequence[str], valid: Sequence[str] | None, runner: TaskRunner, *, resume: bool = False
    ) -> TrainResult:
        adv: AdversarialConfig = self.configs["adversarial"]
        if adv.init_from is not None and self.vocab is None:
            self.vocab = load_pretrained_lm(adv.init_from).vocab
        train_corpus, valid_corpus = self.prepare_corpora(train, valid)
        task = TinyGANTask(self, train_corpus, valid_corpus, runner.config.seed)
        result = runner.fit(task, resume=resume)
        self.module = task.module.eval()
        self.device = task.device
        return result

    def initialise(self) -> None:
        """Build the networks from ``init_from`` without training (for the LM-initialisation test)."""
        adv: AdversarialConfig = self.configs["adversarial"]
        assert adv.init_from is not None
        pretrained = load_pretrained_lm(adv.init_from)
        self.vocab = pretrained.vocab
        self.module = self.build_module().eval()
        init_decoder(self.module["gen"], pretrained)

    def decoder(self) -> LMNet:
        assert self.module is not None, "not trained"
        return self.module["gen"].eval()

    def state_dict(self) -> dict[str, Any]:
        assert self.module is not None
        return dict(self.module.state_dict())

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        module = self.build_module()
        module.load_state_dict(state)
        self.module = module.eval()
