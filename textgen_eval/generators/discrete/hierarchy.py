"""The original LeakGAN's generator (Guo et al. 2018, §3.1–3.2): a Manager LSTM that reads the
discriminator's leaked CNN feature f_t of the prefix and emits a unit goal g_t, and a Worker LSTM
whose output matrix O_t ∈ R^{V×k} is combined with the goal embedding w_t = normalise(W_ψ Σ g)
(the last c goals) into the next-token logits O_t·w_t.

Token rows are ids without BOS, ``(B, L)``, PAD after EOS. The leaked features are computed
without gradient and without dropout: they are an input of the generator, never a path from its
losses into the discriminator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from textgen_eval.data.vocab import BOS_ID, PAD_ID
from textgen_eval.generators.discrete.config import GANGeneratorConfig, GuoLeakGANConfig
from textgen_eval.generators.discrete.nets import CNNDiscriminator
from textgen_eval.generators.lstm_lm.model import ban

State = tuple[Tensor, Tensor]
#: (the last K tokens (1, B, K), tokens read (1, B), D's pooled maps so far (1, B, F), Manager
#: state, Worker state, the last c − 1 goals (c − 1, B, F)): every tensor keeps the batch in
#: dimension 1 and a fixed size, so rollouts branch from it and rows at different positions batch
HierarchyState = tuple[Tensor, Tensor, Tensor, State | None, State | None, Tensor]


class HierarchicalGenerator(nn.Module):
    """Manager and Worker (Guo et al. 2018, eqs. 6–9). Sizes: both LSTMs have ``hidden_size``
    units; the goal has the leaked feature's size F (the code's 1,720 = D's filter maps); the goal
    embedding has ``goal_size`` = k dimensions; the Worker embeds tokens in ``emb_dim``."""

    def __init__(
        self,
        cfg: GANGeneratorConfig,
        hierarchy: GuoLeakGANConfig,
        feature_size: int,
        vocab_size: int,
        *,
        banned: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.banned: Tensor | None
        self.register_buffer("banned", None if banned is None else torch.tensor(banned), persistent=False)
        self.horizon, self.goal_size, self.vocab_size = hierarchy.horizon, hierarchy.goal_size, vocab_size
        self.feature_size = feature_size
        self.manager = nn.LSTM(feature_size, cfg.hidden_size, batch_first=True)
        self.manager_out = nn.Linear(cfg.hidden_size, feature_size)
        self.embedding = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=PAD_ID)
        self.worker = nn.LSTM(cfg.emb_dim, cfg.hidden_size, batch_first=True)
        self.worker_out = nn.Linear(cfg.hidden_size, vocab_size * hierarchy.goal_size)
        self.psi = nn.Linear(feature_size, hierarchy.goal_size, bias=False)  # W_ψ: no bias (eq. 8)


@dataclass(frozen=True)
class HierarchyStep:
    """One step's outputs: logits ``(B, V)`` of y_{t+1}, the goal g_t ``(B, F)`` (with its graph),
    the leaked feature f_t ``(B, F)`` it was computed from, and the state after the step."""

    logits: Tensor
    goal: Tensor
    feature: Tensor
    state: HierarchyState


def worker_logits(gen: HierarchicalGenerator, hidden: Tensor, w: Tensor) -> Tensor:
    """O_t·w_t with O_t = reshape(W_o h_t + b_o, (V, k)) (eq. 9), computed without forming O_t:
    Σ_j w_j·(W_o[v, j]·h + b_o[v, j]) = W'·vec(w ⊗ h) + B·w, W' = W_o as ``(V, k·H)``. ``hidden
    (..., H)``, ``w (..., k)`` → logits ``(..., V)`` (PAD/BOS/EOS/UNK −∞ on fixed-length corpora)."""
    weight = gen.worker_out.weight.view(gen.vocab_size, gen.goal_size * hidden.shape[-1])  # (V, k·H)
    bias = gen.worker_out.bias.view(gen.vocab_size, gen.goal_size)  # (V, k)
    outer = (w.unsqueeze(-1) * hidden.unsqueeze(-2)).flatten(-2)  # (..., k·H), index j·H + h
    return ban(outer @ weight.T + w @ bias.T, gen.banned)


def leaked_features(disc: CNNDiscriminator, prefix: Tensor) -> Tensor:
    """f_t = F(y_1:t) for ``(B, t)`` prefixes → ``(B, F)``: no gradient, no dropout."""
    with torch.no_grad():
        return disc.features(prefix, dropout=False)


def advance(
    gen: HierarchicalGenerator, disc: CNNDiscriminator, tokens: Tensor, state: HierarchyState | None
) -> HierarchyStep:
    """Read ``tokens (B,)`` (BOS first) and give the distribution of the next token.

    The Manager reads f_t, the feature of the prefix read so far (f_0: the empty prefix's),
    and emits g_t = ĝ_t/‖ĝ_t‖; the Worker's goal embedding w_t = normalise(W_ψ(g_{t−c+1} + … + g_t))
    uses detached goals, so the Worker's losses never reach the Manager (the paper trains them
    separately; its code normalises w_t); logits = O_t·w_t."""
    batch = tokens.shape[0]
    if state is None:
        if bool((tokens != BOS_ID).any()):
            raise ValueError("the LeakGAN decoder starts from BOS")
        window = torch.full((1, batch, disc.min_len), PAD_ID, dtype=tokens.dtype, device=tokens.device)
        count = tokens.new_zeros(1, batch)
        dtype = disc.out.weight.dtype
        pooled = torch.zeros(1, batch, disc.feature_size, device=tokens.device, dtype=dtype)
        manager_state: State | None = None
        worker_state: State | None = None
        history = torch.zeros(gen.horizon - 1, batch, gen.feature_size, device=tokens.device, dtype=dtype)
    else:  # read the token: D's pooling grows by the windows that end at it (PAD after EOS: none)
        window, count, pooled, manager_state, worker_state, history = state
        read = (tokens != PAD_ID).view(1, batch)
        shifted = torch.cat([window[:, :, 1:], tokens.view(1, batch, 1)], dim=2)
        window = torch.where(read.unsqueeze(2), shifted, window)
        count = count + read.long()
        with torch.no_grad():
            grown = disc.extend(window[0], count[0], pooled[0]).unsqueeze(0)
        pooled = torch.where(read.unsqueeze(2), grown, pooled)
    with torch.no_grad():  # f_t: an input of the generator, never a path into D
        feature = disc.finish(pooled[0], dropout=False)  # (B, F)
    hidden, manager_state = gen.manager(feature.unsqueeze(1), manager_state)  # (B, 1, H)
    goal = nn.functional.normalize(gen.manager_out(hidden[:, 0]), dim=1, eps=1e-8)  # (B, F)
    summed = history.sum(dim=0) + goal.detach()  # (B, F): the last c goals
    w = nn.functional.normalize(gen.psi(summed), dim=1, eps=1e-8)  # (B, k)
    out, worker_state = gen.worker(gen.embedding(tokens).unsqueeze(1), worker_state)  # (B, 1, H)
    logits = worker_logits(gen, out[:, 0], w)  # (B, V)
    history = torch.cat([history, goal.detach().unsqueeze(0)], dim=0)[1:]  # keep the last c − 1
    return HierarchyStep(logits, goal, feature, (window, count, pooled, manager_state, worker_state, history))


class HierarchicalDecoder:
    """The generator as the shared sampler's one-step decoder (branching: rollouts continue from
    the state after each prefix)."""

    state_batch_dim = 1

    def __init__(self, gen: HierarchicalGenerator, disc: CNNDiscriminator) -> None:
        self.gen, self.disc = gen, disc

    def step(self, tokens: Tensor, state: HierarchyState | None) -> tuple[Tensor, HierarchyState]:
        out = advance(self.gen, self.disc, tokens, state)
        return out.logits, out.state


@dataclass(frozen=True)
class Unrolled:
    """A teacher-forced pass over ``(B, L)`` rows: logits ``(B, L, V)`` (position t predicts
    y_{t+1}), goals ``(B, L, F)`` with their graph, leaked features f_0 … f_L ``(B, L+1, F)``."""

    logits: Tensor
    goals: Tensor
    feats: Tensor


def unroll(gen: HierarchicalGenerator, disc: CNNDiscriminator, tokens: Tensor) -> Unrolled:
    """Teacher-force ``tokens (B, L)`` (no BOS) in one pass: the leaked features of every prefix
    (``CNNRanker.prefix_pooled``), the Manager over them, the goal windows by a cumulative sum,
    the Worker over the tokens — the same functions :func:`advance` computes one step at a time
    (tested equal), so the likelihood of a sample is the one it was drawn with."""
    batch, length = tokens.shape
    bos = torch.full((batch, 1), BOS_ID, dtype=tokens.dtype, device=tokens.device)
    inputs = torch.cat([bos, tokens[:, :-1]], dim=1)  # (B, L)
    with torch.no_grad():
        feats = disc.finish(disc.prefix_pooled(tokens), dropout=False)  # (B, L+1, F): f_0 … f_L
    hidden, _ = gen.manager(feats[:, :length])  # (B, L, H): the Manager reads f_0 … f_{L−1}
    goals = nn.functional.normalize(gen.manager_out(hidden), dim=2, eps=1e-8)  # (B, L, F)
    running = goals.detach().cumsum(dim=1)  # (B, L, F)
    c = gen.horizon
    zeros = running.new_zeros(batch, c, running.shape[2])
    earlier = torch.cat([zeros, running[:, : max(length - c, 0)]], dim=1)  # Σ of the goals before t−c+1
    summed = running - earlier[:, :length]  # (B, L, F): g_{t−c+1} + … + g_t
    w = nn.functional.normalize(gen.psi(summed), dim=2, eps=1e-8)  # (B, L, k)
    out, _ = gen.worker(gen.embedding(inputs))  # (B, L, H)
    return Unrolled(worker_logits(gen, out, w), goals, feats)
