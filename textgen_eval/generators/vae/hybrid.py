"""The hybrid convolutional-deconvolutional VAE (Semeniuta 2019 §5.3.2–5.3.4, Figs. 5.2–5.3).

Encoder: strided 1-D convolutions (batch norm, ReLU), each halving the length, then a linear map
to (μ, log σ²). Decoder: a linear map from z to a short, wide tensor, then transposed 1-D
convolutions (batch norm, ReLU), each doubling the length, up to L positions of features. On top,
an autoregressive head whose input at position t is the feature at t and the previous symbol:
``none`` (the historyless conv-deconv model, Fig. 5.2: a softmax of the feature alone),
``lstm`` (Fig. 5.3a) or ``bytenet`` (Fig. 5.3b: N masked convolutions of kernel 2, no dilation,
no skip connections, so the head sees the previous N + 1 symbols, §5.5.2). With a head, the
auxiliary term J_aux = −Σ_t log p(x_t|z) reads a softmax of the deconvolution features
(eq. 5.3.2), and the objective is J_vae + α·J_aux (eq. 5.3.3); the reported bound is J_vae.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from textgen_eval.core.space import SearchSpace
from textgen_eval.data.token_ids import TokenIdFormat
from textgen_eval.data.vocab import PAD_ID
from textgen_eval.generators.lstm_lm.model import ban
from textgen_eval.generators.vae.base import TextVAE, VAEModule
from textgen_eval.generators.vae.config import HybridObjectiveConfig, HybridVAEConfig, TrainConfig
from textgen_eval.generators.vae.lstm_vae import word_dropout
from textgen_eval.generators.vae.space import HYBRID_VAE_SPACE

#: (position, the head's own state: the LSTM's (h, c), the ByteNet's input history, or None)
HeadState = tuple[int, "Tensor | tuple[Tensor, Tensor] | None"]


class ByteNetHead(nn.Module):
    """N causal convolutions of kernel 2 (left-padded by one), ReLU, no dilation, no skips."""

    def __init__(self, in_size: int, size: int, layers: int, vocab_size: int) -> None:
        super().__init__()
        self.inp = nn.Conv1d(in_size, size, 1)
        self.layers = nn.ModuleList(nn.Conv1d(size, size, 2) for _ in range(layers))
        self.out = nn.Conv1d(size, vocab_size, 1)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T, in)`` → logits ``(B, T, V)``; position t sees inputs t − N … t."""
        h = F.relu(self.inp(x.transpose(1, 2)))  # (B, C, T)
        for conv in self.layers:
            h = F.relu(conv(F.pad(h, (1, 0))))  # causal: output t reads t − 1 and t
        return self.out(h).transpose(1, 2)  # (B, T, V)


class HybridVAENet(VAEModule):
    def __init__(
        self,
        cfg: HybridVAEConfig,
        vocab_size: int,
        word_dropout: float,
        *,
        banned: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        #: ids no softmax ever gives mass to (a fixed-length token-id corpus: PAD, BOS, EOS, UNK)
        self.banned: Tensor | None
        self.register_buffer("banned", None if banned is None else torch.tensor(banned), persistent=False)
        self.cfg = cfg
        self.latent_size = cfg.latent_size
        self.word_dropout = word_dropout
        k, pad = cfg.kernel_size, cfg.kernel_size // 2
        widths = [cfg.channels * 2**i for i in range(cfg.conv_layers)]  # c, 2c, 4c, …
        self.short = cfg.length
        for _ in range(cfg.conv_layers):
            self.short = (self.short + 1) // 2  # a stride-2 convolution of odd kernel, padding k // 2
        self.embedding = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=PAD_ID)
        convs: list[nn.Module] = []
        for c_in, c_out in zip([cfg.emb_dim, *widths[:-1]], widths):
            convs += [nn.Conv1d(c_in, c_out, k, stride=2, padding=pad), nn.BatchNorm1d(c_out), nn.ReLU()]
        self.conv = nn.Sequential(*convs)
        self.posterior = nn.Linear(widths[-1] * self.short, 2 * cfg.latent_size)
        self.expand = nn.Linear(cfg.latent_size, widths[-1] * self.short)
        deconvs: list[nn.Module] = []
        outs = [*reversed(widths[:-1]), cfg.feature_size]
        for c_in, c_out in zip(reversed(widths), outs):
            deconvs += [
                nn.ConvTranspose1d(c_in, c_out, k, stride=2, padding=pad, output_padding=1),
                nn.BatchNorm1d(c_out),
                nn.ReLU(),
            ]
        self.deconv = nn.Sequential(*deconvs)
        self.aux = nn.Linear(cfg.feature_size, vocab_size)
        head_in = cfg.feature_size + cfg.emb_dim
        self.lstm: nn.LSTM | None = None
        self.lstm_out: nn.Linear | None = None
        self.bytenet: ByteNetHead | None = None
        if cfg.head == "lstm":
            self.lstm = nn.LSTM(head_in, cfg.head_size, batch_first=True)
            self.lstm_out = nn.Linear(cfg.head_size, vocab_size)
        elif cfg.head == "bytenet":
            self.bytenet = ByteNetHead(head_in, cfg.head_size, cfg.bytenet_layers, vocab_size)

    # -- encoder and deconvolution ------------------------------------------------------------------

    def encode(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        positions = batch[:, 1:]  # (B, L): the words, EOS, padding
        h = self.conv(self.embedding(positions).transpose(1, 2))  # (B, C, short): ⌈L/2⌉ per conv
        mu, logvar = self.posterior(h.flatten(1)).chunk(2, dim=-1)
        return mu, logvar

    def features(self, z: Tensor) -> Tensor:
        """Deconvolution features ``(B, L, F)`` of z ``(B, Z)``."""
        h = F.relu(self.expand(z)).view(z.shape[0], -1, self.short)  # (B, C, short)
        h = self.deconv(h)[:, :, : self.cfg.length]  # (B, F, short·2^n) → (B, F, L)
        return h.transpose(1, 2)  # (B, L, F)

    # -- the head -------------------------------------------------------------------------------------

    def aux_logits(self, features: Tensor) -> Tensor:
        """The deconvolution's own softmax logits ``(B, T, V)`` of features ``(B, T, F)``: J_aux's
        (eq. 5.3.2), and the whole model's without a head."""
        return ban(self.aux(features), self.banned)

    def head_logits(self, features: Tensor, inputs: Tensor) -> Tensor:
        """Logits ``(B, T, V)`` of positions 0 … T−1 from their features ``(B, T, F)`` and the
        previous symbols ``(B, T)`` (BOS first)."""
        if self.cfg.head == "none":
            return self.aux_logits(features)
        x = torch.cat(
            [features, self.embedding(word_dropout(inputs, self.word_dropout, self.training))], dim=-1
        )
        if self.bytenet is not None:
            return ban(self.bytenet(x), self.banned)
        assert self.lstm is not None and self.lstm_out is not None
        hidden, _ = self.lstm(x)
        return ban(self.lstm_out(hidden), self.banned)

    def reconstruction_nll(self, z: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
        inputs, targets = batch[:, :-1], batch[:, 1:]  # (B, L) each
        logits = self.head_logits(self.features(z), inputs)
        return _masked_nll(logits, targets)

    def auxiliary_nll(self, z: Tensor, batch: Tensor) -> Tensor | None:
        if self.cfg.head == "none":
            return None  # the reconstruction already is the deconvolution's softmax
        nll, _ = _masked_nll(self.aux_logits(self.features(z)), batch[:, 1:])
        return nll

    def latent_decoder(self, z: Tensor) -> HybridDecoder:
        return HybridDecoder(self, z)


def _masked_nll(logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=PAD_ID, reduction="none")
    mask = targets != PAD_ID
    return (nll * mask).sum(dim=1), mask.sum(dim=1)


class HybridDecoder:
    """Sampling from the hybrid given z: the features once, then the head one position at a time."""

    def __init__(self, net: HybridVAENet, z: Tensor) -> None:
        self.net = net
        self.features = net.features(z)  # (B, L, F)

    def step(self, tokens: Tensor, state: HeadState | None) -> tuple[Tensor, HeadState]:
        net = self.net
        position, inner = state if state is not None else (0, None)
        feature = self.features[:, position : position + 1]  # (B, 1, F)
        if net.cfg.head == "none":
            return net.aux_logits(feature)[:, -1], (position + 1, None)
        if net.bytenet is not None:
            assert inner is None or isinstance(inner, Tensor)
            history = tokens.unsqueeze(1) if inner is None else torch.cat([inner, tokens.unsqueeze(1)], 1)
            logits = net.head_logits(self.features[:, : position + 1], history)
            return logits[:, -1], (position + 1, history)
        assert net.lstm is not None and net.lstm_out is not None
        assert inner is None or isinstance(inner, tuple)
        previous = net.embedding(word_dropout(tokens.unsqueeze(1), net.word_dropout, False))
        hidden, lstm_state = net.lstm(torch.cat([feature, previous], -1), inner)
        return ban(net.lstm_out(hidden), net.banned)[:, -1], (position + 1, lstm_state)


class HybridVAE(TextVAE):
    """Hybrid convolutional-deconvolutional VAE with an optional autoregressive head."""

    name = "hybrid-vae"
    description = "conv encoder, deconv decoder and an LSTM/ByteNet/no head, with an auxiliary loss α"
    paper = "Semeniuta, Severyn & Barth 2017; Semeniuta 2019 §5.3.2–5.3.4 (eqs. 5.3.2–5.3.4), §5.5"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": HybridVAEConfig,
        "train": TrainConfig,
        "vae": HybridObjectiveConfig,
    }
    search_space: ClassVar[SearchSpace | None] = HYBRID_VAE_SPACE

    @property
    def cfg(self) -> HybridVAEConfig:
        cfg: HybridVAEConfig = self.configs["model"]
        return cfg

    @property
    def alpha(self) -> float:  # type: ignore[override]
        return float(self.configs["vae"].alpha)

    @property
    def has_aux(self) -> bool:  # type: ignore[override]
        return self.cfg.head != "none"

    #: trains and samples on synthetic-oracle bundles: L becomes the corpus's length, no EOS
    supports_fixed_length = True

    def configs_for_format(self, fmt: TokenIdFormat) -> dict[str, Any]:
        """L becomes the corpus's length: every position is an id, none EOS or padding."""
        return self._with_length(fmt, "length")

    def build_net(self) -> HybridVAENet:
        return HybridVAENet(
            self.cfg,
            len(self.require_vocab()),
            self.configs["vae"].word_dropout,
            banned=self.banned_outputs(),
        )

    def prepare_batch(self, batch: np.ndarray) -> np.ndarray:
        """Pad ``[BOS] ids [EOS]`` rows to the fixed L + 1 columns."""
        width = self.cfg.length + 1
        if batch.shape[1] > width:
            raise ValueError(
                f"a sentence longer than length − 1 = {self.cfg.max_len} tokens reached the model"
            )
        return np.pad(batch, ((0, 0), (0, width - batch.shape[1])), constant_values=PAD_ID)

    def max_sample_len(self, requested: int) -> int:
        if self.text_format is not None:
            return self.text_format.length
        return min(requested, self.cfg.length)

    def score_max_len(self) -> int:
        return self.cfg.max_len

    def valid_max_len(self) -> int:
        return self.cfg.max_len
