"""WGAN-GP training as one runner stage: ``n_critic`` critic updates on real batches, then one
data-free generator update (Gulrajani et al. 2017, Alg. 1; Semeniuta 2019 §5.4.1).

Logged per critic update: ``loss`` (mean D(fake) − mean D(real) + λ·GP), ``wdist`` (the critic's
Wasserstein estimate), ``gp`` and ``penalty_grad_norm`` (mean ‖∇D(x̂)‖). Per generator update:
``loss`` (−mean D(G(z))), ``d_fake`` and ``fake_entropy`` (mean per-position entropy of the
generated softmax in nats: the generator sharpening towards one-hot rows shows here). Each
validation logs ``valid_wdist`` (held-out sentences against a fixed noise batch) and ``js1``…``js4``
(n-gram JS divergence between the fixed batch's decoded sentences and the training text).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from textgen_eval.core.training import (
    BaseTask,
    Cycle,
    OptimizerSettings,
    RunnerConfig,
    Stage,
    StepContext,
    Update,
)
from textgen_eval.data.batching import EncodedCorpus, iterate_batches, pad
from textgen_eval.generators.text.frozen import frozen
from textgen_eval.generators.text.ngram_js import js_divergence, ngram_counts
from textgen_eval.generators.wgan.config import WGANConfig, WGANTrainConfig
from textgen_eval.generators.wgan.nets import WGANPair
from textgen_eval.generators.wgan.penalty import (
    critic_loss,
    generator_loss,
    gradient_penalty,
    interpolation_weights,
    wasserstein_estimate,
)
from textgen_eval.generators.wgan.representation import one_hot, real_ids, sentence_ids

if TYPE_CHECKING:
    from textgen_eval.generators.wgan.model import TextWGAN

STAGE = "adversarial"
JS_ORDERS = (1, 2, 3, 4)


class WGANTask(BaseTask):
    """The critic ``module.critic`` and the generator ``module.gen`` with their own Adams."""

    def __init__(
        self, model: TextWGAN, train: EncodedCorpus, valid: EncodedCorpus | None, runner_config: RunnerConfig
    ) -> None:
        self.model, self.train, self.valid, self.runner_config = model, train, valid, runner_config
        self.wgan: WGANConfig = model.configs["wgan"]
        self.train_config: WGANTrainConfig = model.configs["train"]
        self.seq_len: int = model.configs["model"].seq_len
        self.noise_dim: int = model.configs["model"].noise_dim
        self.vocab_size = len(model.require_vocab())
        self.module: WGANPair = model.build_module()
        self.device = torch.device("cpu")
        self._opts: dict[str, torch.optim.Optimizer] = {}
        # the reference n-grams: each sentence without BOS, and without its EOS where it has one
        # (a fixed-length token-id corpus has none)
        end = None if model.text_format is not None else -1
        sentences = [seq[1:end].tolist() for seq in train.sequences]
        self.reference = {n: ngram_counts(sentences, n) for n in JS_ORDERS}

    def setup(self, device: torch.device) -> None:
        self.device = device
        self.module = self.model.build_module().to(device)
        cfg = self.train_config
        betas = (cfg.adam_beta1, cfg.adam_beta2)
        self._opts = {
            "critic": torch.optim.Adam(self.module.critic.parameters(), lr=cfg.d_lr, betas=betas),
            "gen": torch.optim.Adam(self.module.gen.parameters(), lr=cfg.g_lr, betas=betas),
        }

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        return self._opts

    def stages(self) -> Sequence[Stage]:
        per_gen = self.wgan.n_critic + 1
        max_steps = self.wgan.gen_iters * per_gen
        if self.runner_config.max_steps is not None:
            max_steps = min(max_steps, self.runner_config.max_steps)
        clip = OptimizerSettings(grad_clip=self.runner_config.grad_clip)
        return [
            Stage(
                STAGE,
                Cycle((Update("critic", self.wgan.n_critic), Update("gen", 1, batch=False))),
                optimizers={"critic": clip, "gen": clip},
                max_steps=max_steps,
                time_budget=self.runner_config.time_budget,
                eval_every=self.wgan.eval_every * per_gen,
                monitor=None,
            )
        ]

    def batches_per_epoch(self, stage: str) -> int:
        return math.ceil(len(self.train) / self.train_config.batch_size)

    def num_data(self) -> int:
        return len(self.train)

    def train_batches(self, stage: str, epoch: int) -> Iterator[np.ndarray]:
        # bucket=1: uniformly random real batches, not grouped by length as an LM's are
        return iterate_batches(
            self.train, self.train_config.batch_size, seed=self.runner_config.seed, epoch=epoch, bucket=1
        )

    def _real(self, batch: np.ndarray) -> Tensor:
        return one_hot(torch.from_numpy(real_ids(batch, self.seq_len)).to(self.device), self.vocab_size)

    def training_step(self, batch: np.ndarray | None, ctx: StepContext) -> Mapping[str, Tensor | float]:
        gen, critic = self.module.gen, self.module.critic
        if ctx.optimizer == "critic":
            assert batch is not None
            real = self._real(batch)  # (B, T, V)
            size = real.shape[0]
            with torch.no_grad():
                fake = gen.probs(torch.randn(size, self.noise_dim, device=self.device))
            d_real, d_fake = critic(real), critic(fake)
            penalty = gradient_penalty(critic, real, fake, interpolation_weights(size, device=self.device))
            return {
                "loss": critic_loss(d_real, d_fake, penalty.gp, self.wgan.gp_lambda),
                "wdist": wasserstein_estimate(d_real, d_fake).detach(),
                "gp": penalty.gp.detach(),
                "penalty_grad_norm": penalty.norms.mean(),
            }
        z = torch.randn(self.train_config.batch_size, self.noise_dim, device=self.device)
        probs = gen.probs(z)  # (B, T, V)
        with frozen(critic):
            d_fake = critic(probs)
        entropy = -(probs * torch.log(probs.clamp_min(1e-30))).sum(-1).mean()
        return {
            "loss": generator_loss(d_fake),
            "d_fake": d_fake.mean().detach(),
            "fake_entropy": entropy.detach(),
        }

    # -- validation --------------------------------------------------------------------------------

    def fixed_noise(self) -> Tensor:
        """The noise batch every validation decodes (from the run's seed, not the training RNG)."""
        g = torch.Generator().manual_seed(self.runner_config.seed * 7919 + 17)
        return torch.randn(self.wgan.eval_samples, self.noise_dim, generator=g).to(self.device)

    @torch.no_grad()
    def validate(self, stage: str) -> Mapping[str, float]:
        gen, critic = self.module.gen, self.module.critic
        step = self.train_config.eval_batch_size
        noise = self.fixed_noise()
        fake_scores, sentences = [], []
        for start in range(0, noise.shape[0], step):
            logits = gen(noise[start : start + step])  # (b, T, V)
            fake_scores.append(critic(torch.softmax(logits, dim=-1)))
            sentences.extend(sentence_ids(logits.argmax(dim=-1)))
        out = {f"js{n}": js_divergence(ngram_counts(sentences, n), self.reference[n]) for n in JS_ORDERS}
        if self.valid is not None and len(self.valid):
            seqs = self.valid.sequences
            real_scores = [critic(self._real(pad(seqs[i : i + step]))) for i in range(0, len(seqs), step)]
            out["valid_wdist"] = float(torch.cat(real_scores).mean() - torch.cat(fake_scores).mean())
        return out
