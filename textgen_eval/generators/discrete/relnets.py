"""RelGAN's networks (Nie et al. 2019): the relational memory core (Santoro et al. 2018, as
RelGAN's ``relational_memory.py`` codes it), the generator around it, and the multi-representation
CNN discriminator that reads (relaxed) one-hot rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID
from textgen_eval.generators.discrete.config import MultiRepConfig, RelGANGeneratorConfig
from textgen_eval.generators.discrete.nets import Highway
from textgen_eval.generators.discrete.relax import gumbel, gumbel_relax, pad_finished
from textgen_eval.generators.lstm_lm.model import ban


class RelationalMemory(nn.Module):
    """One step of the relational memory core: the input row joins the memory, multi-head
    self-attention with a residual and layer norm, a two-layer MLP with a residual and layer norm,
    the input row is dropped, and LSTM-like gates (forget bias 1, input bias 0) blend the result
    with the old memory: M' = σ(i)⊙tanh(Â) + σ(f + 1)⊙M. Queries are scaled by (2·key + head)^−½
    as RelGAN's code does (a quirk of the Sonnet implementation it ports)."""

    def __init__(self, input_size: int, mem_slots: int, num_heads: int, head_size: int) -> None:
        super().__init__()
        self.mem_slots, self.num_heads, self.head_size = mem_slots, num_heads, head_size
        self.mem_size = num_heads * head_size
        self.qkv_size = 3 * head_size  # key size = head size: q, k, v per head
        self.inp = nn.Linear(input_size, self.mem_size)
        self.qkv = nn.Linear(self.mem_size, num_heads * self.qkv_size, bias=False)
        self.qkv_norm = nn.LayerNorm(num_heads * self.qkv_size)
        self.attn_norm = nn.LayerNorm(self.mem_size)
        self.mlp = nn.Sequential(
            nn.Linear(self.mem_size, self.mem_size), nn.ReLU(), nn.Linear(self.mem_size, self.mem_size)
        )
        self.mlp_norm = nn.LayerNorm(self.mem_size)
        self.gate_input = nn.Linear(self.mem_size, 2 * self.mem_size)
        self.gate_memory = nn.Linear(self.mem_size, 2 * self.mem_size)
        self.forget_bias, self.input_bias = 1.0, 0.0

    def initial(self, batch: int, device: torch.device, dtype: torch.dtype) -> Tensor:
        """The identity rows padded with zeros (RelGAN's initial memory) → ``(B, N, M)``."""
        eye = torch.eye(self.mem_slots, device=device, dtype=dtype)
        if self.mem_size >= self.mem_slots:
            eye = nn.functional.pad(eye, (0, self.mem_size - self.mem_slots))
        else:
            eye = eye[:, : self.mem_size]
        return eye.unsqueeze(0).expand(batch, -1, -1)

    def attend(self, memory: Tensor) -> Tensor:
        """Multi-head self-attention over the rows of ``(B, R, M)`` → ``(B, R, M)``."""
        batch, rows, _ = memory.shape
        qkv = self.qkv_norm(self.qkv(memory)).view(batch, rows, self.num_heads, self.qkv_size)
        q, k, v = qkv.transpose(1, 2).split(self.head_size, dim=-1)  # each (B, heads, R, head)
        q = q * self.qkv_size**-0.5  # RelGAN/Sonnet: (2·key + head)^−½, not key^−½
        weights = torch.softmax(q @ k.transpose(-1, -2), dim=-1)  # (B, heads, R, R)
        return (weights @ v).transpose(1, 2).reshape(batch, rows, self.mem_size)

    def forward(self, x: Tensor, memory: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, input_size)``, ``memory (B, N, M)`` → the output ``(B, N·M)`` and the new memory."""
        inp = self.inp(x).unsqueeze(1)  # (B, 1, M)
        plus = torch.cat([memory, inp], dim=1)  # (B, N+1, M)
        plus = self.attn_norm(plus + self.attend(plus))
        plus = self.mlp_norm(plus + self.mlp(plus))
        candidate = plus[:, :-1]  # (B, N, M): the input row dropped
        gates = self.gate_memory(torch.tanh(memory)) + self.gate_input(inp)  # (B, N, 2M)
        input_gate, forget_gate = gates.split(self.mem_size, dim=-1)
        new = torch.sigmoid(input_gate + self.input_bias) * torch.tanh(candidate)
        new = new + torch.sigmoid(forget_gate + self.forget_bias) * memory
        return new.reshape(new.shape[0], -1), new


class RelGANNet(nn.Module):
    """Embedding → relational memory (or LSTM) → softmax layer; an autoregressive LM whose
    Gumbel-max samples are exact categorical samples, so its text and likelihood are an LM's.
    The state keeps the batch in dimension 1 (RMC memory ``(1, B, N, M)``; LSTM ``(1, B, H)``)."""

    state_batch_dim = 1

    def __init__(
        self, cfg: RelGANGeneratorConfig, vocab_size: int, *, banned: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        self.banned: Tensor | None
        self.register_buffer("banned", None if banned is None else torch.tensor(banned), persistent=False)
        self.core_kind = cfg.core
        self.embedding = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=PAD_ID)
        nn.init.trunc_normal_(self.embedding.weight, std=1 / math.sqrt(vocab_size))  # RelGAN's init
        self.rmc: RelationalMemory | None = None
        self.lstm: nn.LSTM | None = None
        if cfg.core == "rmc":
            self.rmc = RelationalMemory(cfg.emb_dim, cfg.mem_slots, cfg.num_heads, cfg.head_size)
            width = cfg.mem_slots * self.rmc.mem_size
        else:
            self.lstm = nn.LSTM(cfg.emb_dim, cfg.hidden_size, batch_first=True)
            width = cfg.hidden_size
        self.out = nn.Linear(width, vocab_size)
        nn.init.trunc_normal_(self.out.weight, std=1 / math.sqrt(width))
        nn.init.zeros_(self.out.bias)

    def step(self, tokens: Tensor, state: tuple[Tensor, ...] | None) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One step (the shared sampler's decoder): ``tokens (B,)`` → logits ``(B, V)``, state."""
        emb = self.embedding(tokens)  # (B, E)
        if self.rmc is not None:
            memory = (
                self.rmc.initial(tokens.shape[0], tokens.device, emb.dtype) if state is None else state[0][0]
            )
            out, memory = self.rmc(emb, memory)
            new_state: tuple[Tensor, ...] = (memory.unsqueeze(0),)
        else:
            assert self.lstm is not None
            lstm_state = None if state is None else (state[0], state[1])
            hidden, (h, c) = self.lstm(emb.unsqueeze(1), lstm_state)
            out, new_state = hidden[:, 0], (h, c)
        return ban(self.out(out), self.banned), new_state

    def forward(self, inputs: Tensor) -> Tensor:
        """Teacher-forced logits ``(B, T, V)`` of ``inputs (B, T)`` (BOS first)."""
        state: tuple[Tensor, ...] | None = None
        logits = []
        for t in range(inputs.shape[1]):
            step_logits, state = self.step(inputs[:, t], state)
            logits.append(step_logits)
        return torch.stack(logits, dim=1)


def relaxed_sample(
    net: RelGANNet, rows: int, *, max_len: int, beta: float, generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """Draw ``rows`` sentences by Gumbel-max, feeding the hard token back, and keep the relaxed
    one-hots softmax(β·(o + g)) with their graph (RelGAN, §2.2): → hard ids ``(rows, L)`` (PAD after
    EOS) and soft rows ``(rows, L, V)`` (one-hot PAD after EOS, constant). Gradients reach the
    logits only through the soft rows, never through the fed-back hard tokens."""
    tokens = torch.full((rows,), BOS_ID, dtype=torch.long, device=device)
    state: tuple[Tensor, ...] | None = None
    done = torch.zeros(rows, dtype=torch.bool, device=device)
    hards, softs = [], []
    for _ in range(max_len):
        logits, state = net.step(tokens, state)
        hard, soft = gumbel_relax(logits, gumbel(tuple(logits.shape), generator=generator, device=device,
                                                  dtype=logits.dtype), beta)  # fmt: skip
        hard, soft = pad_finished(hard, soft, done)
        hards.append(hard)
        softs.append(soft)
        done = done | (hard == EOS_ID)
        tokens = hard
    return torch.stack(hards, dim=1), torch.stack(softs, dim=1)


class MultiRepDiscriminator(nn.Module):
    """RelGAN's discriminator on (relaxed) one-hot rows ``(B, L, V)``: embed (a plain matrix, so a
    soft row embeds as the mixture of its tokens' embeddings), split the embedding into
    ``num_rep`` representations of width E/R that share one CNN over time, and give one logit per
    representation → ``(B·R,)`` ordered (b, r)."""

    def __init__(self, cfg: MultiRepConfig, vocab_size: int) -> None:
        super().__init__()
        self.num_rep, self.width = cfg.num_rep, cfg.emb_dim // cfg.num_rep
        self.min_len = max(cfg.filter_sizes)
        self.embedding = nn.Parameter(torch.empty(vocab_size, cfg.emb_dim))
        nn.init.normal_(self.embedding, std=1 / math.sqrt(vocab_size))
        self.convs = nn.ModuleList(
            nn.Conv1d(self.width, maps, k) for k, maps in zip(cfg.filter_sizes, cfg.num_filters, strict=True)
        )
        features = sum(cfg.num_filters)
        self.highway = Highway(features)
        self.dropout = nn.Dropout(cfg.dropout)
        self.hidden = nn.Linear(features, cfg.hidden)
        self.out = nn.Linear(cfg.hidden, 1)

    def forward(self, onehot: Tensor) -> Tensor:
        batch, length, _ = onehot.shape
        if length < self.min_len:  # one-hot PAD rows up to the widest filter
            pad = torch.zeros(
                batch, self.min_len - length, onehot.shape[2], dtype=onehot.dtype, device=onehot.device
            )
            pad[:, :, PAD_ID] = 1.0
            onehot, length = torch.cat([onehot, pad], dim=1), self.min_len
        emb = onehot @ self.embedding  # (B, L, E)
        reps = emb.view(batch, length, self.num_rep, self.width).permute(0, 2, 3, 1)  # (B, R, w, L)
        x = reps.reshape(batch * self.num_rep, self.width, length)  # (B·R, w, L): shared CNN
        pooled = torch.cat([torch.relu(conv(x)).amax(dim=2) for conv in self.convs], dim=1)  # (B·R, F)
        h = self.dropout(self.highway(pooled))
        return self.out(self.hidden(h)).squeeze(-1)  # (B·R,)


def one_hot_rows(tokens: Tensor, vocab_size: int, length: int) -> Tensor:
    """Token rows ``(B, T)`` → one-hot ``(B, length, V)`` float, PAD beyond T."""
    if tokens.shape[1] < length:
        tokens = nn.functional.pad(tokens, (0, length - tokens.shape[1]), value=PAD_ID)
    return nn.functional.one_hot(tokens[:, :length], vocab_size).float()
