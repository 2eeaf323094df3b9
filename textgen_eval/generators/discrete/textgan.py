"""TextGAN (Zhang et al. 2017, "Adversarial feature matching for text generation"; PEERS.md §3.3)
on the discrete-GAN task.

Generator: an LSTM whose initial state is set by a latent code z ~ N(0, I); its text is sampled
token by token (not greedy: Texygen's argmax decoding makes NLL-oracle look good and collapses
diversity). The adversarial path feeds back the soft-argmax ỹ_t = softmax(L·o_t) (its mixture of
embeddings) and passes the soft rows to D. D is a CNN feature extractor f with two heads: a
real/fake logit and a reconstruction ẑ of the code of generated text. Objectives: the generator
minimises MMD²(f(real), f(generated)) under a Gaussian-kernel mixture; D minimises the GAN loss
+ λ_r‖z − ẑ‖² − λ_m MMD² (it *maximises* the MMD, the paper's sign; Texygen's is opposite). The
likelihood of a sentence is log (1/K) Σ_k p(y | z_k) over K prior draws — an importance-weighted
bound with the prior as proposal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID
from textgen_eval.generators.discrete.config import CNNConfig, GANGeneratorConfig, TextGANConfig
from textgen_eval.generators.discrete.nets import Highway
from textgen_eval.generators.discrete.relax import DStepScores, gaussian_mmd2, median_sigmas2, pad_finished
from textgen_eval.generators.discrete.relnets import one_hot_rows
from textgen_eval.generators.lstm_lm.model import ban, sequence_cross_entropy
from textgen_eval.generators.text.frozen import frozen

if TYPE_CHECKING:
    from textgen_eval.generators.discrete.task import DiscreteGANTask

MEDIAN_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
State = tuple[Tensor, Tensor]


class TextGANNet(nn.Module):
    """Embedding → LSTM (initial state h₀ = tanh(W z + b), c₀ = 0) → softmax layer."""

    def __init__(
        self, cfg: GANGeneratorConfig, z_dim: int, vocab_size: int, *, banned: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        self.banned: Tensor | None
        self.register_buffer("banned", None if banned is None else torch.tensor(banned), persistent=False)
        self.z_dim, self.hidden_size = z_dim, cfg.hidden_size
        self.embedding = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=PAD_ID)
        self.z_in = nn.Linear(z_dim, cfg.hidden_size)
        self.rnn = nn.LSTM(cfg.emb_dim, cfg.hidden_size, batch_first=True)
        self.out = nn.Linear(cfg.hidden_size, vocab_size)

    def initial(self, z: Tensor) -> State:
        """The LSTM state set by codes ``z (B, z_dim)``: ``(1, B, H)`` each."""
        h = torch.tanh(self.z_in(z)).unsqueeze(0)
        return h, torch.zeros_like(h)

    def logits(self, inputs: Tensor, z: Tensor) -> Tensor:
        """Teacher-forced logits ``(B, T, V)`` of ``inputs (B, T)`` (BOS first) given ``z``."""
        hidden, _ = self.rnn(self.embedding(inputs), self.initial(z))
        return ban(self.out(hidden), self.banned)

    def step(self, tokens: Tensor, state: State) -> tuple[Tensor, State]:
        hidden, state = self.rnn(self.embedding(tokens).unsqueeze(1), state)
        return ban(self.out(hidden[:, -1]), self.banned), state


class LatentDecoder:
    """The generator as the shared sampler's decoder (branching): each row's code z ~ N(0, I) is
    drawn by ``generator`` (the sampler's, so one seed draws codes and tokens; ``None``: torch's
    global generator) at the first step."""

    state_batch_dim = 1

    def __init__(self, net: TextGANNet, generator: torch.Generator | None = None) -> None:
        self.net, self.generator = net, generator

    def step(self, tokens: Tensor, state: State | None) -> tuple[Tensor, State]:
        if state is None:
            z = torch.randn(tokens.shape[0], self.net.z_dim, generator=self.generator)
            state = self.net.initial(z.to(tokens.device))
        return self.net.step(tokens, state)


def soft_argmax_rows(net: TextGANNet, z: Tensor, *, max_len: int, scale: float) -> Tensor:
    """The adversarial path: unroll from ``z`` feeding back softmax(L·o_t)'s mixture of
    embeddings → soft rows ``(B, L, V)`` with their graph (one-hot PAD after the argmax reaches
    EOS, constant)."""
    batch = z.shape[0]
    state = net.initial(z)
    inputs = net.embedding(torch.full((batch,), BOS_ID, dtype=torch.long, device=z.device))
    done = torch.zeros(batch, dtype=torch.bool, device=z.device)
    rows = []
    for _ in range(max_len):
        hidden, state = net.rnn(inputs.unsqueeze(1), state)
        soft = torch.softmax(scale * ban(net.out(hidden[:, 0]), net.banned), dim=-1)  # (B, V)
        _, soft = pad_finished(soft.argmax(-1), soft, done)
        rows.append(soft)
        done = done | (soft.argmax(-1) == EOS_ID)
        inputs = soft @ net.embedding.weight
    return torch.stack(rows, dim=1)


class FeatureDiscriminator(nn.Module):
    """D: (soft) one-hot rows ``(B, L, V)`` → embedding matrix → CNN (widths, max over time,
    highway, dropout) → features f ``(B, F)``; heads: a real/fake logit and ẑ ``(B, z_dim)``."""

    def __init__(self, cfg: CNNConfig, vocab_size: int, z_dim: int) -> None:
        super().__init__()
        self.min_len = max(cfg.filter_sizes)
        self.embedding = nn.Parameter(torch.empty(vocab_size, cfg.emb_dim))
        nn.init.normal_(self.embedding, std=0.1)
        self.convs = nn.ModuleList(
            nn.Conv1d(cfg.emb_dim, maps, k) for k, maps in zip(cfg.filter_sizes, cfg.num_filters, strict=True)
        )
        self.feature_size = sum(cfg.num_filters)
        self.highway = Highway(self.feature_size)
        self.dropout = nn.Dropout(cfg.dropout)
        self.logit = nn.Linear(self.feature_size, 1)
        self.recon = nn.Linear(self.feature_size, z_dim)

    def features(self, onehot: Tensor) -> Tensor:
        batch, length, vocab = onehot.shape
        if length < self.min_len:
            pad = F.one_hot(torch.full((batch, self.min_len - length), PAD_ID, device=onehot.device), vocab)
            onehot = torch.cat([onehot, pad.to(onehot.dtype)], dim=1)
        emb = (onehot @ self.embedding).transpose(1, 2)  # (B, E, L)
        pooled = torch.cat([torch.relu(conv(emb)).amax(dim=2) for conv in self.convs], dim=1)
        return self.dropout(self.highway(pooled))  # (B, F)


def mmd2(cfg: TextGANConfig, real: Tensor, fake: Tensor) -> Tensor:
    """MMD² of D's features of real and generated rows under ``cfg``'s kernel mixture."""
    sigmas2 = median_sigmas2(real, fake, MEDIAN_FACTORS) if cfg.bandwidth == "median" else cfg.sigmas2
    return gaussian_mmd2(real, fake, sigmas2)


def _parts(task: DiscreteGANTask) -> tuple[TextGANNet, FeatureDiscriminator, TextGANConfig]:
    gen, disc = task.module.gen, task.module.disc
    assert isinstance(gen, TextGANNet) and isinstance(disc, FeatureDiscriminator)
    return gen, disc, task.model.configs["textgan"]


def textgan_d_loss(task: DiscreteGANTask, real: Tensor) -> DStepScores:
    """BCE(real, 1) + BCE(generated, 0) + λ_r·mean‖z − ẑ‖² − λ_m·MMD²; returns it, D(real), D(fake)
    (an absolute classifier: no pairing, so no ``real_above_fake``)."""
    gen, disc, cfg = _parts(task)
    z = torch.randn(real.shape[0], cfg.z_dim, device=real.device)
    with torch.no_grad():
        fake = soft_argmax_rows(gen, z, max_len=task.max_len, scale=cfg.soft_argmax_scale)
    f_real = disc.features(one_hot_rows(real, fake.shape[-1], real.shape[1]))
    f_fake = disc.features(fake)
    l_real, l_fake = disc.logit(f_real).squeeze(-1), disc.logit(f_fake).squeeze(-1)
    gan = F.binary_cross_entropy_with_logits(
        l_real, torch.ones_like(l_real)
    ) + F.binary_cross_entropy_with_logits(l_fake, torch.zeros_like(l_fake))
    recon = (disc.recon(f_fake) - z).pow(2).sum(dim=1).mean()
    loss = gan + cfg.recon_weight * recon - cfg.mmd_weight * mmd2(cfg, f_real, f_fake)
    return DStepScores(loss, torch.sigmoid(l_real).mean(), torch.sigmoid(l_fake).mean(), None)


def textgan_generator_step(task: DiscreteGANTask) -> Mapping[str, Tensor | float]:
    """G minimises MMD²(f(real), f(generated)) through the soft-argmax path (D frozen)."""
    gen, disc, cfg = _parts(task)
    real = task.real_rows(task.train_config.batch_size, key=(task.update_step, 5))
    z = torch.randn(real.shape[0], cfg.z_dim, device=real.device)
    with frozen(disc):
        fake = soft_argmax_rows(gen, z, max_len=task.max_len, scale=cfg.soft_argmax_scale)
        f_real = disc.features(one_hot_rows(real, fake.shape[-1], real.shape[1]))
        loss = mmd2(cfg, f_real, disc.features(fake))
    return {"loss": loss, "mmd2": float(loss.detach())}


def conditional_nll(net: TextGANNet, batch: Tensor, z: Tensor, *, contiguous: bool) -> tuple[Tensor, Tensor]:
    """Summed −log p(y | z) per sentence and scored tokens of a ``[BOS] ids [EOS]`` batch."""
    inputs, targets = batch[:, :-1], batch[:, 1:]
    nll = sequence_cross_entropy(net.logits(inputs, z), targets, contiguous=contiguous)
    mask = targets != PAD_ID
    return (nll * mask).sum(dim=1), mask.sum(dim=1)


def marginal_nll(net: TextGANNet, batch: Tensor, k: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """−log (1/K) Σ_k p(y | z_k), z_k ~ N(0, I) drawn by ``generator`` (an upper bound on −log p(y)
    in expectation, tightening with K)."""
    per_k, counts = [], None
    for _ in range(k):
        z = torch.randn(batch.shape[0], net.z_dim, generator=generator)
        z = z.to(device=batch.device, dtype=net.z_in.weight.dtype)
        nll, counts = conditional_nll(net, batch, z, contiguous=net.banned is not None)
        per_k.append(-nll.double())
    assert counts is not None
    return -(torch.logsumexp(torch.stack(per_k), dim=0) - math.log(k)), counts


def textgan_d_score(task: DiscreteGANTask, tokens: Tensor) -> Tensor:
    """D's probability that each row of ``(B, L)`` tokens is real → ``(B,)``."""
    gen, disc, _ = _parts(task)
    feats = disc.features(one_hot_rows(tokens, gen.out.out_features, tokens.shape[1]))
    return torch.sigmoid(disc.logit(feats).squeeze(-1))
