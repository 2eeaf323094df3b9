"""Networks of the WGAN-GP text models: the convolutional critic and three generators.

Every generator maps z ``(B, Z)`` to logits ``(B, T, V)``; ``BOS`` can never be produced (its
logit is −∞, so its softmax weight is exactly 0, as in every one-hot row of real data), nor, on a
fixed-length token-id corpus, PAD, EOS or UNK (every position is one of the corpus's ids). The
critic reads a ``(B, T, V)`` matrix — one-hot rows for real sentences, softmax rows for generated
ones — and returns one score per example.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from textgen_eval.data.vocab import BOS_ID
from textgen_eval.generators.wgan.config import ConvDeconvConfig, ConvLSTMConfig, CriticConfig


class ResidualBlock(nn.Module):
    """x + scale·conv(relu(conv(relu(x)))) with length-preserving 1-D convolutions ([42])."""

    def __init__(self, channels: int, kernel_size: int, scale: float) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(channels, channels, kernel_size, padding=pad)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, padding=pad)
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:  # (B, C, T) → (B, C, T)
        return x + self.scale * self.conv2(torch.relu(self.conv1(torch.relu(x))))


class Critic(nn.Module):
    """1×1 conv V → C, residual blocks, flatten, linear → score (no normalisation layers)."""

    def __init__(self, cfg: CriticConfig, vocab_size: int, seq_len: int) -> None:
        super().__init__()
        self.inp = nn.Conv1d(vocab_size, cfg.channels, 1)
        self.blocks = nn.Sequential(
            *(ResidualBlock(cfg.channels, cfg.kernel_size, cfg.residual_scale) for _ in range(cfg.blocks))
        )
        self.out = nn.Linear(cfg.channels * seq_len, 1)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T, V)`` → ``(B,)``."""
        h = self.blocks(self.inp(x.transpose(1, 2)))  # (B, C, T)
        return self.out(h.flatten(1)).squeeze(-1)  # (B, C·T) → (B,)


def mask(logits: Tensor, banned: Tensor) -> Tensor:
    """Logits ``(…, V)`` with the ``banned`` ids at −∞ (out of place: autograd keeps the rest)."""
    return logits.index_fill(-1, banned, -math.inf)


class TokenMatrixGenerator(nn.Module, ABC):
    """z ``(B, Z)`` → logits ``(B, T, V)``; the ids of ``banned`` (default BOS) are never produced."""

    noise_dim: int
    banned: Tensor

    def __init__(self, banned: Sequence[int] | None = None) -> None:
        super().__init__()
        ids = torch.tensor(list(banned) if banned is not None else [BOS_ID], dtype=torch.long)
        self.register_buffer("banned", ids, persistent=False)

    @abstractmethod
    def forward(self, z: Tensor) -> Tensor: ...

    def probs(self, z: Tensor) -> Tensor:
        """The generated T × V matrix the critic reads: a softmax per position."""
        return torch.softmax(self(z), dim=-1)


class DeconvGenerator(TokenMatrixGenerator):
    """The thesis' Conv-Deconv generator: z → linear → ``(C, ⌈T/2^L⌉)`` → L × [ReLU, transposed
    conv of stride 2] (each doubles the length) → ReLU → 1×1 conv to V, cropped to the first T
    positions (a crop only when T is not divisible by 2^L, e.g. an oracle corpus of length 20)."""

    def __init__(self, cfg: ConvDeconvConfig, vocab_size: int, banned: Sequence[int] | None = None) -> None:
        super().__init__(banned)
        self.noise_dim, self.channels = cfg.noise_dim, cfg.channels
        self.seq_len = cfg.seq_len
        self.short = math.ceil(cfg.seq_len / 2**cfg.layers)
        k, pad = cfg.kernel_size, cfg.kernel_size // 2
        self.project = nn.Linear(cfg.noise_dim, cfg.channels * self.short)
        # (L − 1)·2 − 2·pad + k + 1 = 2L for odd k: each layer exactly doubles the length
        self.deconvs = nn.ModuleList(
            nn.ConvTranspose1d(cfg.channels, cfg.channels, k, stride=2, padding=pad, output_padding=1)
            for _ in range(cfg.layers)
        )
        self.out = nn.Conv1d(cfg.channels, vocab_size, 1)

    def forward(self, z: Tensor) -> Tensor:
        h = self.project(z).view(z.shape[0], self.channels, self.short)  # (B, C, ⌈T/2^L⌉)
        for deconv in self.deconvs:
            h = deconv(torch.relu(h))  # length doubles
        h = h[:, :, : self.seq_len]  # (B, C, short·2^L) → (B, C, T)
        return mask(self.out(torch.relu(h)).transpose(1, 2), self.banned)  # (B, V, T) → (B, T, V)


class ResNetGenerator(TokenMatrixGenerator):
    """[42]'s generator: z → linear → ``(C, T)`` → residual blocks → 1×1 conv to V."""

    def __init__(self, cfg: ConvDeconvConfig, vocab_size: int, banned: Sequence[int] | None = None) -> None:
        super().__init__(banned)
        self.noise_dim, self.channels, self.seq_len = cfg.noise_dim, cfg.channels, cfg.seq_len
        self.project = nn.Linear(cfg.noise_dim, cfg.channels * cfg.seq_len)
        self.blocks = nn.Sequential(
            *(ResidualBlock(cfg.channels, cfg.kernel_size, cfg.residual_scale) for _ in range(cfg.layers))
        )
        self.out = nn.Conv1d(cfg.channels, vocab_size, 1)

    def forward(self, z: Tensor) -> Tensor:
        h = self.project(z).view(z.shape[0], self.channels, self.seq_len)  # (B, C, T)
        return mask(self.out(self.blocks(h)).transpose(1, 2), self.banned)  # (B, T, V)


class ConvLSTMGenerator(TokenMatrixGenerator):
    """The thesis' Conv-LSTM generator: an LSTM that feeds back its whole softmax.

    (h₀, c₀) = tanh(W z + b); the first input is a learned start vector; at step t the logits are
    ``out(h_t)`` and the next input is the expected embedding p_t·E (``(B, V) @ (V, E)``), so
    ∂D(G(z))/∂θ_G exists (an argmax or a sampled token would cut it). With
    ``noise_input = "state+input"`` z is also concatenated to every input.
    """

    def __init__(self, cfg: ConvLSTMConfig, vocab_size: int, banned: Sequence[int] | None = None) -> None:
        super().__init__(banned)
        self.noise_dim, self.seq_len, self.hidden_size = cfg.noise_dim, cfg.seq_len, cfg.hidden_size
        self.z_input = cfg.noise_input == "state+input"
        self.embedding = nn.Parameter(torch.randn(vocab_size, cfg.emb_dim) * 0.1)
        self.start = nn.Parameter(torch.zeros(cfg.emb_dim))
        self.init_state = nn.Linear(cfg.noise_dim, 2 * cfg.hidden_size)
        self.cell = nn.LSTMCell(cfg.emb_dim + (cfg.noise_dim if self.z_input else 0), cfg.hidden_size)
        self.out = nn.Linear(cfg.hidden_size, vocab_size)

    def forward(self, z: Tensor) -> Tensor:
        h, c = torch.tanh(self.init_state(z)).chunk(2, dim=-1)  # (B, H) each
        x = self.start.expand(z.shape[0], -1)  # (B, E)
        steps: list[Tensor] = []
        for _ in range(self.seq_len):
            h, c = self.cell(torch.cat([x, z], dim=-1) if self.z_input else x, (h, c))
            logits = mask(self.out(h), self.banned)  # (B, V)
            steps.append(logits)
            x = torch.softmax(logits, dim=-1) @ self.embedding  # expected embedding (B, E)
        return torch.stack(steps, dim=1)  # (B, T, V)


class WGANPair(nn.Module):
    """The generator and the critic, trained by separate optimizers (weights ``gen.*``, ``critic.*``)."""

    def __init__(self, gen: TokenMatrixGenerator, critic: Critic) -> None:
        super().__init__()
        self.gen = gen
        self.critic = critic
