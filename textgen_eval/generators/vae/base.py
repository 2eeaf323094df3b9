"""What the text VAEs share: the training task (rec + β_t·KL + α·aux, one stage configured by
``[runner]``), sampling from z ~ N(0, I), the labelled importance-weighted bound, persistence."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.memory import WorkingSet, logits_rows
from textgen_eval.core.protocols import TokenScores
from textgen_eval.core.training import (
    RunnerConfig,
    StepContext,
    TaskRunner,
    TrainResult,
)
from textgen_eval.data.batching import EncodedCorpus, encode_corpus, sorted_batches
from textgen_eval.data.vocab import PAD_ID, Vocab
from textgen_eval.generators.text.generator import AutoregressiveGenerator, load_weights
from textgen_eval.generators.text.sampler import Decoder
from textgen_eval.generators.text.scoring import encode_for_scoring
from textgen_eval.generators.text.task import SingleNetworkTask
from textgen_eval.generators.vae.bounds import elbo_terms, iw_log_likelihood, validation_terms
from textgen_eval.generators.vae.config import VAEConfig


class VAEModule(nn.Module, ABC):
    """A text VAE network: q(z|x), log p(x|z), an optional auxiliary term, and a one-token-at-a-time
    decoder given z (it satisfies :class:`~textgen_eval.generators.vae.bounds.LatentTextNet`)."""

    latent_size: int

    @abstractmethod
    def encode(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        """``(μ, log σ²)``, each ``(B, Z)``, for a padded ``[BOS] ids [EOS]`` batch."""

    @abstractmethod
    def reconstruction_nll(self, z: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
        """Summed −log p(x|z) per sentence ``(B,)`` and scored tokens ``(B,)`` (EOS scored)."""

    def auxiliary_nll(self, z: Tensor, batch: Tensor) -> Tensor | None:
        """The auxiliary reconstruction term per sentence, or ``None`` (no auxiliary head)."""
        return None

    @abstractmethod
    def latent_decoder(self, z: Tensor) -> Decoder:
        """The decoder given z ``(B, Z)`` as the shared sampler's one-step decoder."""


class VAETask(SingleNetworkTask[VAEModule]):
    """J = rec + β_t·KL + α·aux averaged over the sentences of a batch (Semeniuta 2019 eq. 5.3.3;
    α = 0 without an auxiliary head); the logged ``bound`` is rec + KL per token (β = 1)."""

    def __init__(
        self, model: TextVAE, train: EncodedCorpus, valid: EncodedCorpus | None, runner_config: RunnerConfig
    ) -> None:
        super().__init__(model.build_net, train, valid, runner_config, model.configs["train"])
        self.model = model
        self.vae: VAEConfig = model.configs["vae"]

    def training_step(self, batch: np.ndarray, ctx: StepContext) -> Mapping[str, Tensor | float]:
        ids = torch.from_numpy(self.model.prepare_batch(batch)).to(self.device)
        eps = torch.randn(ids.shape[0], self.module.latent_size, device=self.device)
        terms = elbo_terms(self.module, ids, eps)
        weight = self.vae.weight(ctx.step)
        objective = terms.rec + weight * terms.kl
        out: dict[str, Tensor | float] = {}
        if terms.aux is not None:
            objective = objective + self.model.alpha * terms.aux
            out["aux"] = terms.aux.mean()
        out.update(
            {
                "loss": objective.mean(),
                "rec": terms.rec.mean(),  # nats per sentence
                "kl": terms.kl.mean(),  # nats per sentence
                "kl_weight": weight,
                "bound": (terms.rec + terms.kl).sum() / terms.tokens.sum(),  # nats per token, β = 1
            }
        )
        return out

    def validate(self, stage: str) -> Mapping[str, float]:
        if self.valid is None:
            return {}
        totals = validation_terms(
            self.module,
            self.valid,
            self.train_config.eval_batch_size,
            self.device,
            prepare=self.model.prepare_batch,
        )
        out = {
            "valid_loss": (totals["rec"] + totals["kl"]) / totals["tokens"],
            "valid_rec": totals["rec"] / totals["sentences"],
            "valid_kl": totals["kl"] / totals["sentences"],
        }
        if self.model.has_aux:
            out["valid_aux"] = totals["aux"] / totals["sentences"]
        return out


class TextVAE(AutoregressiveGenerator):
    """Base of the text VAEs: sampling from the prior, the IW bound, persistence."""

    #: weight α of the auxiliary reconstruction term (0 for models without one)
    alpha: float = 0.0
    has_aux: bool = False

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs, vocab=vocab)
        self.net: VAEModule | None = None

    @abstractmethod
    def build_net(self) -> VAEModule:
        """The network for the current vocabulary and config."""

    def prepare_batch(self, batch: np.ndarray) -> np.ndarray:
        """A padded ``[BOS] ids [EOS]`` batch as the network takes it (fixed-length models pad)."""
        return batch

    def fit(
        self, train: Sequence[str], valid: Sequence[str] | None, runner: TaskRunner, *, resume: bool = False
    ) -> TrainResult:
        task, result = self.fit_task(
            lambda tr, va: VAETask(self, tr, va, runner.config), train, valid, runner, resume=resume
        )
        self.net = task.module.eval()
        return result

    def _ready(self) -> VAEModule:
        if self.net is None or self.vocab is None:
            raise ConfigError("the model is not trained or loaded")
        self.net.eval()
        return self.net

    def decoder(self) -> Decoder:
        raise ConfigError(f"{self.name} decodes from a latent code z: use sample(), which draws z ~ N(0, I)")

    def batch_decoder(self, size: int, generator: torch.Generator) -> Decoder:
        """Draw z ~ N(0, I) for ``size`` samples; the decoder then samples given z."""
        return self.training_decoder(self._ready(), size, generator)

    def training_decoder(self, module: nn.Module, size: int, generator: torch.Generator) -> Decoder:
        assert isinstance(module, VAEModule)
        z = torch.randn(size, module.latent_size, generator=generator, device=generator.device)
        return module.latent_decoder(z)

    #: sentences per batch of :meth:`score_texts` (each repeated K times through the decoder)
    SCORE_BATCH = 64

    def working_sets(self, longest: int) -> list[WorkingSet]:
        """The importance-weighted bound of one scoring batch: K copies of every sentence through
        the decoder at once (``bounds.iw_log_likelihood``), logits at every position."""
        k = self.configs["vae"].iw_samples
        return [
            logits_rows(
                f"importance-weighted NLL ({self.SCORE_BATCH} sentences × {k:,} samples)",
                self.SCORE_BATCH * k,
                len(self.require_vocab()),
                (f"vae.iw_samples = {k:,}",),
                steps=longest,
            )
        ]

    def score_texts(
        self, texts: Sequence[str], *, k: int | None = None, seed: int = 0, batch_size: int = SCORE_BATCH
    ) -> TokenScores:
        """Per-sentence −(IW bound) with ``k`` samples (default ``[vae] iw_samples``): an upper
        bound on the NLL in nats, labelled as such (``estimate="iw"``); seeded."""
        net, vocab = self._ready(), self.require_vocab()
        k = k if k is not None else self.configs["vae"].iw_samples
        corpus, oov = encode_for_scoring(texts, vocab, max_len=self.score_max_len(), fixed=self.text_format)
        nll = np.zeros(len(corpus), dtype=np.float64)
        tokens = np.zeros(len(corpus), dtype=np.int64)
        gen = torch.Generator(device=self.device).manual_seed(seed)
        with torch.no_grad():
            for idx, batch in sorted_batches(corpus.sequences, batch_size):
                ids = torch.from_numpy(self.prepare_batch(batch)).to(self.device)
                nll[idx] = (-iw_log_likelihood(net, ids, k, gen)).double().cpu().numpy()
                tokens[idx] = (ids[:, 1:] != PAD_ID).sum(dim=1).cpu().numpy()
        return TokenScores(nll=nll, tokens=tokens, oov=oov, estimate="iw", importance_samples=k)

    def diagnostics(self, texts: Sequence[str]) -> dict[str, float]:
        """Reconstruction, KL (β = 1) and auxiliary terms of ``texts`` in nats per sentence, the KL
        in bits per character, and the bound per token: a collapsed KL shows at a glance."""
        net, vocab = self._ready(), self.require_vocab()
        if self.text_format is not None:
            corpus, _ = encode_for_scoring(texts, vocab, source="texts", fixed=self.text_format)
        else:
            corpus = encode_corpus(texts, vocab, max_len=self.score_max_len(), long="drop", source="texts")
        totals = validation_terms(
            net, corpus, self.configs["train"].eval_batch_size, self.device, prepare=self.prepare_batch
        )
        sentences, chars = max(totals["sentences"], 1.0), max(sum(len(t) for t in texts), 1)
        out = {
            "rec_per_sentence": totals["rec"] / sentences,
            "kl_per_sentence": totals["kl"] / sentences,
            "kl_bits_per_char": totals["kl"] / math.log(2) / chars,
            "elbo_bound_per_token": (totals["rec"] + totals["kl"]) / max(totals["tokens"], 1.0),
            "sentences": totals["sentences"],
        }
        if self.has_aux:
            out["aux_per_sentence"] = totals["aux"] / sentences
        return out

    def score_max_len(self) -> int | None:
        """Longest sentence (tokens) the model can score; ``None``: any."""
        return None

    def state_dict(self) -> dict[str, Any]:
        return dict(self._ready().state_dict())

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.net = load_weights(self.build_net(), state)
