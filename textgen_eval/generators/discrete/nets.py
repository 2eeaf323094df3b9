"""Networks of the discrete GANs: the recurrent discriminator, DPGAN's language-model
discriminator, RankGAN's CNN ranker and the thesis' LeakGAN generator.

Token rows are ids without BOS, ``(B, L)``, PAD after EOS.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from textgen_eval.data.vocab import BOS_ID, PAD_ID
from textgen_eval.generators.discrete.config import CNNConfig, DiscriminatorConfig, LeakGeneratorConfig
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig
from textgen_eval.generators.lstm_lm.model import LMNet, ban, sequence_cross_entropy

State = tuple[Tensor, Tensor]


class RecurrentDiscriminator(nn.Module):
    """Embedding → one-layer LSTM → linear: a real/fake logit after every prefix y_{1:t}.

    Per-step D: ``step_logits``. Per-sequence D: the same logit read at the last non-pad position
    (``sequence_logits``). Its hidden state after y_{1:t} is LeakGAN's h_d (``states``, ``step``).
    """

    def __init__(self, cfg: DiscriminatorConfig, vocab_size: int) -> None:
        super().__init__()
        self.hidden_size = cfg.hidden_size
        self.embedding = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=PAD_ID)
        self.rnn = nn.LSTM(cfg.emb_dim, cfg.hidden_size, batch_first=True)
        self.out = nn.Linear(cfg.hidden_size, 1)

    def states(self, tokens: Tensor) -> Tensor:
        """h_d after each prefix: ``(B, L)`` → ``(B, L, H)``."""
        hidden, _ = self.rnn(self.embedding(tokens))
        return hidden

    def step_logits(self, tokens: Tensor) -> Tensor:
        """Logit of D(y_{1:t}) at every position: ``(B, L)``."""
        return self.out(self.states(tokens)).squeeze(-1)

    def sequence_logits(self, tokens: Tensor) -> Tensor:
        """Logit of D(y) read at each row's last non-pad position: ``(B,)``."""
        last = ((tokens != PAD_ID).sum(dim=1) - 1).clamp(min=0)  # (B,)
        return self.step_logits(tokens).gather(1, last.unsqueeze(1)).squeeze(1)

    def step(self, tokens: Tensor, state: State | None) -> tuple[Tensor, State]:
        """Read one token per row: ``(B,)`` → h_d ``(B, H)`` and the new state."""
        hidden, state = self.rnn(self.embedding(tokens).unsqueeze(1), state)  # (B, 1, H)
        return hidden[:, -1], state


class LeakNet(nn.Module):
    """The thesis' LeakGAN generator: p(y_t | y_<t) = softmax(MLP(f_t)) with f_t = h_d (``leak``:
    G has no state of its own), h_g (``noleak``) or [h_g; h_d] (``mixed``), where h_g is G's LSTM
    state and h_d D's state after y_{1:t−1} (zeros before any token). D is an input here: its
    weights belong to the discriminator and are frozen whenever G is trained."""

    def __init__(
        self,
        cfg: LeakGeneratorConfig,
        vocab_size: int,
        mode: str,
        d_hidden: int,
        *,
        banned: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.banned: Tensor | None
        # ids whose logit is −∞ (a fixed-length token-id corpus: PAD, BOS, EOS, UNK); not saved
        self.register_buffer("banned", None if banned is None else torch.tensor(banned), persistent=False)
        if mode not in ("leak", "noleak", "mixed"):
            raise ValueError(f"LeakGAN mode {mode!r}: expected leak, noleak or mixed")
        self.mode, self.d_hidden = mode, d_hidden
        self.uses_own_state = mode != "leak"
        self.uses_d_state = mode != "noleak"
        features = (cfg.hidden_size if self.uses_own_state else 0) + (d_hidden if self.uses_d_state else 0)
        width = cfg.mlp_width or cfg.hidden_size
        self.embedding: nn.Embedding | None = None
        self.rnn: nn.LSTM | None = None
        if self.uses_own_state:
            self.embedding = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=PAD_ID)
            self.rnn = nn.LSTM(cfg.emb_dim, cfg.hidden_size, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(features, width), nn.ReLU(), nn.Linear(width, vocab_size))

    def logits(self, inputs: Tensor, h_d: Tensor, state: State | None = None) -> tuple[Tensor, State | None]:
        """``inputs (B, L)`` (BOS first) and D's states ``h_d (B, L, H_d)`` before each position →
        logits ``(B, L, V)`` and G's own LSTM state."""
        parts = []
        if self.uses_own_state:
            assert self.embedding is not None and self.rnn is not None
            h_g, state = self.rnn(self.embedding(inputs), state)
            parts.append(h_g)
        if self.uses_d_state:
            parts.append(h_d)
        return ban(self.mlp(torch.cat(parts, dim=-1)), self.banned), state


def d_states_before(disc: RecurrentDiscriminator, inputs: Tensor) -> Tensor:
    """h_d before each position of teacher-forced ``inputs = [BOS, y₁, …, y_{L−1}]`` ``(B, L)``:
    zeros before y₁, then D's state after y_{1:t−1} → ``(B, L, H_d)``."""
    read = disc.states(inputs[:, 1:])  # (B, L−1, H_d): after y_1 … y_{L−1}
    zeros = read.new_zeros(inputs.shape[0], 1, disc.hidden_size)
    return torch.cat([zeros, read], dim=1)


class LeakDecoder:
    """:class:`LeakNet` as the shared sampler's one-step decoder (state: G's and D's LSTM states,
    each ``(1, B, H)``, so rollouts can branch from it)."""

    state_batch_dim = 1

    def __init__(self, net: LeakNet, disc: RecurrentDiscriminator) -> None:
        self.net, self.disc = net, disc

    def step(
        self, tokens: Tensor, state: tuple[State | None, State | None] | None
    ) -> tuple[Tensor, tuple[State | None, State | None]]:
        g_state, d_state = state if state is not None else (None, None)
        if state is None:  # before any token: D has read nothing
            if bool((tokens != BOS_ID).any()):
                raise ValueError("LeakDecoder starts from BOS")
            h_d = torch.zeros(tokens.shape[0], self.disc.hidden_size, device=tokens.device)
        else:
            h_d, d_state = self.disc.step(tokens, d_state)
        logits, g_state = self.net.logits(tokens.unsqueeze(1), h_d.unsqueeze(1), g_state)  # (B, 1, V)
        return logits[:, -1], (g_state, d_state)


def leak_token_nll(net: LeakNet, disc: RecurrentDiscriminator, batch: Tensor) -> tuple[Tensor, Tensor]:
    """Summed NLL per sentence and predicted tokens for a padded ``[BOS] ids [EOS]`` batch."""
    inputs, targets = batch[:, :-1], batch[:, 1:]
    logits, _ = net.logits(inputs, d_states_before(disc, inputs))
    nll = sequence_cross_entropy(logits, targets, contiguous=net.banned is not None)
    mask = targets != PAD_ID
    return (nll * mask).sum(dim=1), mask.sum(dim=1)


class LMDiscriminator(nn.Module):
    """DPGAN's discriminator (Xu et al. 2018): a one-layer LSTM language model over the same
    vocabulary; its per-token NLL of a sentence is the generator's reward ("novelty") and its
    training makes generated text likely and real text unlikely (TextGAN-PyTorch's
    ``DPGAN_D``/``dpgan_instructor``)."""

    def __init__(
        self,
        cfg: DiscriminatorConfig,
        vocab_size: int,
        *,
        banned: Sequence[int] | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.hidden_size = cfg.hidden_size
        lm_cfg = LSTMLMConfig(emb_dim=cfg.emb_dim, hidden_size=cfg.hidden_size, output_dropout=dropout)
        self.lm = LMNet(lm_cfg, vocab_size, banned=banned)

    def log_probs(self, tokens: Tensor) -> Tensor:
        """log D(· | y_<t) over the vocabulary at every position of ``(B, L)`` rows → ``(B, L, V)``
        (CoT's mediator: the full next-token distribution, not only the drawn token's)."""
        bos = torch.full((tokens.shape[0], 1), BOS_ID, dtype=tokens.dtype, device=tokens.device)
        logits, _ = self.lm(torch.cat([bos, tokens[:, :-1]], dim=1))  # (B, L, V)
        return torch.log_softmax(logits, dim=-1)

    def token_nll(self, tokens: Tensor) -> Tensor:
        """−log D(y_t | y_<t) of every position of ``(B, L)`` tokens (no BOS; PAD after EOS) →
        ``(B, L)``, 0 at PAD."""
        bos = torch.full((tokens.shape[0], 1), BOS_ID, dtype=tokens.dtype, device=tokens.device)
        logits, _ = self.lm(torch.cat([bos, tokens[:, :-1]], dim=1))  # (B, L, V): y_t from y_<t
        return sequence_cross_entropy(logits, tokens, contiguous=True)

    def sentence_nll(self, tokens: Tensor) -> Tensor:
        """The mean per-token NLL of each sentence ``(B,)``: DPGAN's sentence-level reward."""
        mask = (tokens != PAD_ID).to(torch.float32)
        return (self.token_nll(tokens) * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)


class Highway(nn.Module):
    """One highway layer (Srivastava et al. 2015): t = σ(W_t x + b_t), y = t·relu(W_h x + b_h) +
    (1 − t)·x, as SeqGAN's and the peers' CNN discriminators use after pooling."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.transform = nn.Linear(size, size)
        self.gate = nn.Linear(size, size)

    def forward(self, x: Tensor) -> Tensor:
        t = torch.sigmoid(self.gate(x))
        return t * torch.relu(self.transform(x)) + (1.0 - t) * x


class CNNRanker(nn.Module):
    """RankGAN's ranker network (Lin et al. 2017, §2.2; Texygen's and TextBox's
    ``RankGANDiscriminator``): embedding → one 1-D convolution per filter width, ReLU, max over
    time → concatenation → highway → dropout; the sentence feature y_s, compared with others by
    cosine (:func:`~textgen_eval.generators.discrete.rewards.cosine_matrix`)."""

    def __init__(self, cfg: CNNConfig, vocab_size: int) -> None:
        super().__init__()
        self.min_len = max(cfg.filter_sizes)
        self.widths = tuple(cfg.filter_sizes)
        self.maps = tuple(cfg.num_filters)
        self.embedding = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=PAD_ID)
        widths = zip(cfg.filter_sizes, cfg.num_filters, strict=True)
        self.convs = nn.ModuleList(nn.Conv1d(cfg.emb_dim, maps, width) for width, maps in widths)
        self.feature_size = sum(cfg.num_filters)
        self.highway = Highway(self.feature_size)
        self.dropout = nn.Dropout(cfg.dropout)

    def pooled(self, tokens: Tensor) -> Tensor:
        """Max over time of every feature map, over the windows that lie wholly inside each row's
        tokens: ``(B, L)`` rows (no BOS; PAD only after the last token) → ``(B, F)``. Trailing PAD
        changes nothing, so a row pools the same alone, in a batch of longer rows, or as a
        prefix; a width no window of which fits (a row shorter than it) pools to 0 (ReLU outputs
        are ≥ 0, so masking to 0 is exact). :meth:`extend` computes the same one token at a time."""
        lengths = (tokens != PAD_ID).sum(dim=1)  # (B,)
        if tokens.shape[1] < self.min_len:
            tokens = nn.functional.pad(tokens, (0, self.min_len - tokens.shape[1]), value=PAD_ID)
        emb = self.embedding(tokens).transpose(1, 2)  # (B, E, L): channels first for Conv1d
        pooled = []
        for conv, width in zip(self.convs, self.widths, strict=True):
            maps = torch.relu(conv(emb))  # (B, maps, W): window p covers positions p … p + width − 1
            ends = torch.arange(maps.shape[2], device=tokens.device) + width  # (W,)
            inside = (ends.unsqueeze(0) <= lengths.unsqueeze(1)).unsqueeze(1)  # (B, 1, W)
            pooled.append(maps.masked_fill(~inside, 0.0).amax(dim=2))  # (B, maps)
        return torch.cat(pooled, dim=1)

    def prefix_pooled(self, tokens: Tensor) -> Tensor:
        """:meth:`pooled` of every prefix y_1:t, t = 0 … L, of ``(B, L)`` rows in one pass →
        ``(B, L+1, F)``: the windows' activations once, then a running max over the windows
        complete by t (each prefix's pooling is the max over the windows that end by t and inside
        the row's tokens)."""
        length = tokens.shape[1]
        lengths = (tokens != PAD_ID).sum(dim=1)  # (B,)
        if length < self.min_len:
            tokens = nn.functional.pad(tokens, (0, self.min_len - length), value=PAD_ID)
        emb = self.embedding(tokens).transpose(1, 2)  # (B, E, L')
        t = torch.arange(length + 1, device=tokens.device)  # (L+1,)
        read = torch.minimum(t.unsqueeze(0), lengths.unsqueeze(1))  # (B, L+1): tokens of y_1:t
        parts = []
        for conv, width in zip(self.convs, self.widths, strict=True):
            running = torch.relu(conv(emb)).cummax(dim=2).values  # (B, maps, W): max of windows 0 … p
            last = read - width  # (B, L+1): the last window complete in y_1:t (none if < 0)
            index = last.clamp(min=0).unsqueeze(1).expand(-1, running.shape[1], -1)  # (B, maps, L+1)
            picked = running.gather(2, index).masked_fill((last < 0).unsqueeze(1), 0.0)
            parts.append(picked.transpose(1, 2))  # (B, L+1, maps)
        return torch.cat(parts, dim=2)

    def extend(self, window: Tensor, count: Tensor, pooled: Tensor) -> Tensor:
        """:meth:`pooled` after one more token: ``window (B, K)`` holds the last K = widest-filter
        tokens read (the newest last; PAD before the first), ``count (B,)`` how many tokens have
        been read including the newest, ``pooled (B, F)`` the pooling before it. Each width k adds
        the one window that ends at the newest token, if k tokens have been read."""
        emb = self.embedding(window).transpose(1, 2)  # (B, E, K)
        parts, start = [], 0
        for conv, width, size in zip(self.convs, self.widths, self.maps, strict=True):
            new = torch.relu(conv(emb[:, :, -width:])).squeeze(2)  # (B, maps): the window ending now
            old = pooled[:, start : start + size]
            parts.append(torch.where((count >= width).unsqueeze(1), torch.maximum(old, new), old))
            start += size
        return torch.cat(parts, dim=1)

    def finish(self, pooled: Tensor, *, dropout: bool = True) -> Tensor:
        """The highway (and dropout, unless ``dropout=False``) over pooled maps → y_s ``(B, F)``."""
        out = self.highway(pooled)
        return self.dropout(out) if dropout else out

    def features(self, tokens: Tensor, *, dropout: bool = True) -> Tensor:
        """y_s of ``(B, L)`` token rows → ``(B, F)``, F = Σ num_filters (:meth:`pooled`, then
        :meth:`finish`). ``dropout=False`` leaves dropout out whatever the mode (LeakGAN's leaked
        features)."""
        return self.finish(self.pooled(tokens), dropout=dropout)


class CNNDiscriminator(CNNRanker):
    """The original LeakGAN's discriminator (Guo et al. 2018, §3.1): the CNN feature extractor
    F (the ranker's network) and a linear real/fake logit on its features, D = σ(φ_lᵀ F(s))."""

    def __init__(self, cfg: CNNConfig, vocab_size: int) -> None:
        super().__init__(cfg, vocab_size)
        self.out = nn.Linear(self.feature_size, 1)

    def sequence_logits(self, tokens: Tensor) -> Tensor:
        """Logit of D(y) for ``(B, L)`` rows → ``(B,)``."""
        return self.out(self.features(tokens)).squeeze(-1)


Discriminator = RecurrentDiscriminator | LMDiscriminator | CNNRanker | nn.Module


class GANPair(nn.Module):
    """The generator and the discriminator (weights ``gen.*`` and ``disc.*``)."""

    disc: Discriminator

    def __init__(self, gen: nn.Module, disc: Discriminator) -> None:
        super().__init__()
        self.gen = gen
        self.disc = disc
