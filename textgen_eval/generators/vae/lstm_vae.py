"""The LSTM VAE (Bowman et al. 2016, as the baseline of Semeniuta 2019 §5.3.1, Fig. 5.1).

An LSTM encoder reads the sentence (its tokens and EOS); its last hidden state gives the diagonal
Gaussian q(z|x) = N(μ, diag σ²). The decoder LSTM starts from (h₀, c₀) = tanh(W z + b) and
predicts each token from the previous one, which is replaced by UNK with probability
``word_dropout`` during training (1: the historyless decoder, which sees UNK at every position
also when sampling). The loss is J_vae = β_t·KL(q(z|x) ‖ N(0, I)) − E_q[log p(x|z)] (eq. 5.3.1)
with β_t the KL annealing weight; the reported bound always has β = 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from textgen_eval.core.space import SearchSpace
from textgen_eval.data.vocab import PAD_ID, UNK_ID
from textgen_eval.generators.lstm_lm.cells import RecurrentDropoutLSTM
from textgen_eval.generators.lstm_lm.model import ban
from textgen_eval.generators.vae.base import TextVAE, VAEModule
from textgen_eval.generators.vae.config import LSTMVAEConfig, TrainConfig, VAEConfig
from textgen_eval.generators.vae.space import LSTM_VAE_SPACE

State = tuple[Tensor, Tensor]


def word_dropout(inputs: Tensor, p: float, training: bool) -> Tensor:
    """Each non-pad token becomes UNK with probability ``p`` in training (Bowman et al.'s word
    dropout); with ``p = 1`` every token is UNK, in training and in evaluation (historyless)."""
    if p >= 1.0:
        return inputs.masked_fill(inputs != PAD_ID, UNK_ID)
    if training and p > 0:
        drop = torch.rand(inputs.shape, device=inputs.device) < p
        return inputs.masked_fill(drop & (inputs != PAD_ID), UNK_ID)
    return inputs


class LSTMVAENet(VAEModule):
    """Encoder, posterior head, latent-to-state map, decoder and softmax layer."""

    def __init__(
        self, cfg: LSTMVAEConfig, vocab_size: int, word_dropout: float, *, banned: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.banned: Tensor | None
        # ids whose logit is −∞ (a fixed-length token-id corpus: PAD, BOS, EOS, UNK); not saved
        self.register_buffer("banned", None if banned is None else torch.tensor(banned), persistent=False)
        self.latent_size = cfg.latent_size
        self.word_dropout = word_dropout
        self.embedding = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=PAD_ID)
        self.encoder = RecurrentDropoutLSTM(cfg.emb_dim, cfg.hidden_size, layer_norm=cfg.layer_norm)
        self.posterior = nn.Linear(cfg.hidden_size, 2 * cfg.latent_size)
        self.latent_to_state = nn.Linear(cfg.latent_size, 2 * cfg.hidden_size)
        self.decoder = RecurrentDropoutLSTM(cfg.emb_dim, cfg.hidden_size, layer_norm=cfg.layer_norm)
        self.out = nn.Linear(cfg.hidden_size, vocab_size)

    def encode(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        tokens = batch[:, 1:]  # (B, T−1): the words and EOS (the last word on a token-id corpus)
        hidden, _ = self.encoder(self.embedding(tokens))  # (B, T−1, H)
        last = (tokens != PAD_ID).sum(dim=1) - 1  # index of each row's last token
        final = hidden[torch.arange(tokens.shape[0], device=batch.device), last]  # (B, H)
        mu, logvar = self.posterior(final).chunk(2, dim=-1)
        return mu, logvar

    def initial_state(self, z: Tensor) -> State:
        """(h₀, c₀) = tanh(W z + b), each ``(1, B, H)``."""
        h, c = torch.tanh(self.latent_to_state(z)).chunk(2, dim=-1)
        return h.unsqueeze(0).contiguous(), c.unsqueeze(0).contiguous()

    def decode(self, z: Tensor, inputs: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """Logits ``(B, T, V)`` for decoder inputs ``(B, T)`` given z ``(B, Z)``."""
        if state is None:
            state = self.initial_state(z)
        embedded = self.embedding(word_dropout(inputs, self.word_dropout, self.training))
        hidden, state = self.decoder(embedded, state)
        return ban(self.out(hidden), self.banned), state

    def reconstruction_nll(self, z: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
        inputs, targets = batch[:, :-1], batch[:, 1:]
        logits, _ = self.decode(z, inputs)
        nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=PAD_ID, reduction="none")
        mask = targets != PAD_ID
        return (nll * mask).sum(dim=1), mask.sum(dim=1)

    def latent_decoder(self, z: Tensor) -> LatentDecoder:
        return LatentDecoder(self, z)


class LatentDecoder:
    """The LSTM decoder given z, one token at a time."""

    def __init__(self, net: LSTMVAENet, z: Tensor) -> None:
        self.net, self.z = net, z

    def step(self, tokens: Tensor, state: State | None) -> tuple[Tensor, State]:
        logits, state = self.net.decode(self.z, tokens.unsqueeze(1), state)  # (B, 1, V)
        return logits[:, -1], state


class LSTMVAE(TextVAE):
    """LSTM VAE with word dropout and KL annealing; ``score_texts`` gives the IW bound."""

    name = "lstm-vae"
    description = "LSTM VAE with word dropout and KL annealing (the historyless variant at p = 1)"
    paper = "Bowman et al. 2016; Semeniuta 2019 §5.3.1 (eq. 5.3.1), §5.5"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": LSTMVAEConfig,
        "train": TrainConfig,
        "vae": VAEConfig,
    }
    search_space: ClassVar[SearchSpace | None] = LSTM_VAE_SPACE

    @property
    def cfg(self) -> LSTMVAEConfig:
        cfg: LSTMVAEConfig = self.configs["model"]
        return cfg

    #: trains and samples on synthetic-oracle bundles (fixed-length token ids)
    supports_fixed_length = True

    def build_net(self) -> LSTMVAENet:
        return LSTMVAENet(
            self.cfg,
            len(self.require_vocab()),
            self.configs["vae"].word_dropout,
            banned=self.banned_outputs(),
        )
