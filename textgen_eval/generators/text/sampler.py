"""One autoregressive sampler for every text generator.

A model exposes a :class:`Decoder` (one step: previous token ids → next-token logits and a new
recurrent state). :func:`sample_tokens` draws sequences from it in one batched pass, with

- a temperature (0: greedy),
- an optional prefix per row, forced token by token before sampling continues (so many
  prefixes of different lengths complete in the same pass),
- per-step log-probabilities of the drawn tokens, with the autograd graph kept when asked
  (REINFORCE: ∇ log p(y_t | y_<t) weighted by a reward),

and :func:`rollouts` builds SeqGAN's Monte-Carlo completions (Yu et al. 2017, eq. 4; Semeniuta
2019 §5.4.2): every prefix ``y_{1:t}`` of every sequence completed ``R`` times, all in one pass.

Token conventions: PAD and BOS are never drawn; once a row has drawn EOS it is PAD afterwards
and its log-probabilities are 0 there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from textgen_eval.core.errors import ConfigError
from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID

DecoderState = Any


class Decoder(Protocol):
    """One step of an autoregressive model."""

    def step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState]:
        """``tokens (B,)`` long → logits ``(B, V)`` for the next token and the new state
        (``state`` is ``None`` before the first step)."""
        ...


class BranchingDecoder(Decoder, Protocol):
    """A decoder whose state is tensors (nested in tuples/lists, ``None`` allowed) that all keep
    the batch in dimension ``state_batch_dim`` (1 for torch's ``(layers, B, H)`` LSTM states).
    :func:`rollouts` then branches completions from the state after each prefix instead of
    re-reading the prefix for every completion; it may overwrite the logits ``step`` returns, so
    ``step`` must return a new tensor each call (not a cached one)."""

    state_batch_dim: int


def map_state(state: DecoderState, fn: Callable[[Tensor], Tensor]) -> DecoderState:
    """``fn`` applied to every tensor of a nested state (tuples, lists and ``None`` kept)."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return fn(state)
    if isinstance(state, (tuple, list)):
        return type(state)(map_state(s, fn) for s in state)
    raise TypeError(f"decoder state of type {type(state).__name__}: expected tensors in tuples/lists")


def select_rows(state: DecoderState, dim: int, index: Tensor) -> DecoderState:
    """The rows ``index`` (repeats allowed) of every tensor of a nested state."""
    return map_state(state, lambda t: t.index_select(dim, index))


def cat_states(states: list[DecoderState], dim: int) -> DecoderState:
    """Concatenate nested states of the same structure along the batch dimension ``dim``."""
    first = states[0]
    if first is None:
        return None
    if isinstance(first, Tensor):
        return torch.cat(states, dim=dim)
    return type(first)(cat_states([s[i] for s in states], dim) for i in range(len(first)))


@dataclass(frozen=True)
class SampleBatch:
    """Drawn sequences.

    Attributes:
        tokens: ``(B, L)`` ids without BOS; PAD after EOS (``L ≤ max_len``).
        logprobs: ``(B, L)`` log-probability of each token under the sampling distribution
            (the temperature-scaled model with PAD and BOS excluded), 0 at PAD; it carries the
            graph when sampled with ``keep_graph=True``.
        lengths: ``(B,)`` tokens per row up to and including EOS.
    """

    tokens: Tensor
    logprobs: Tensor
    lengths: Tensor


def check_sampling_args(n: int, max_len: int, temperature: float) -> None:
    """The argument checks every ``sample`` shares; a bad value names the option."""
    if n < 0:
        raise ConfigError(f"number of samples must be ≥ 0, got {n}")
    if max_len < 1:
        raise ConfigError(f"max_len must be ≥ 1, got {max_len}")
    if temperature < 0 or not math.isfinite(temperature):
        raise ConfigError(f"temperature must be a finite number ≥ 0, got {temperature}")


def sample_tokens(
    decoder: Decoder,
    rows: int,
    *,
    max_len: int,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    prefix: Tensor | None = None,
    prefix_len: Tensor | None = None,
    keep_graph: bool = False,
    uniforms: Tensor | None = None,
    with_logprobs: bool = True,
) -> SampleBatch:
    """Draw ``rows`` sequences of at most ``max_len`` tokens.

    Args:
        prefix: ``(rows, P)`` token ids (no BOS) forced at the first ``prefix_len[i]``
            positions of row ``i``; ``prefix_len`` defaults to ``P`` for every row.
        keep_graph: keep the autograd graph of ``logprobs`` (otherwise no graph is built).
        uniforms: ``(rows, max_len)`` numbers in [0, 1) that fix every draw by inverse CDF
            instead of ``generator`` (row ``i``'s token at position ``t`` depends on
            ``uniforms[i, t]`` alone, so two computations that batch rows differently draw the
            same tokens: how the rollout benchmark checks its per-prefix peer).
        with_logprobs: compute ``logprobs`` (``False``: zeros, and no log-softmax over the
            vocabulary at each step; what rollouts use).

    Each token is drawn by inverse CDF from one uniform per row and step (``generator``'s stream,
    or ``uniforms``), which costs a cumulative sum over the vocabulary — several times less than
    ``torch.multinomial``'s exponential noise on CPU (docs/performance.md).
    """
    device = torch.device(device)
    if prefix is not None:
        prefix = prefix.to(device)
        if prefix_len is None:
            prefix_len = torch.full((rows,), prefix.shape[1], dtype=torch.long, device=device)
        prefix_len = prefix_len.to(device)
    with torch.set_grad_enabled(keep_graph):
        tokens = torch.full((rows,), BOS_ID, dtype=torch.long, device=device)
        state: DecoderState = None
        done = torch.zeros(rows, dtype=torch.bool, device=device)
        drawn: list[Tensor] = []
        logps: list[Tensor] = []
        for position in range(max_len):
            logits, state = decoder.step(tokens, state)
            scaled = _masked_scaled(logits, temperature, in_place=False)  # keeps the graph
            forced = torch.zeros(rows, dtype=torch.bool, device=device)
            if prefix is not None and position < prefix.shape[1]:
                assert prefix_len is not None
                forced = position < prefix_len
            # one uniform per row and step, drawn for every row, so the stream does not depend on
            # which rows are free; only free rows (not forced, not done) are sampled
            column = None if uniforms is None else uniforms[:, position]
            u = _step_uniforms(column, rows, temperature, generator, device)
            free = (~forced & ~done).nonzero().squeeze(1)  # (F,)
            nxt = torch.full((rows,), PAD_ID, dtype=torch.long, device=device)
            if free.numel():
                nxt[free] = _pick(scaled.detach()[free], temperature, None if u is None else u[free])
            if prefix is not None and position < prefix.shape[1]:
                nxt = torch.where(forced & ~done, prefix[:, position], nxt)
            nxt = nxt.unsqueeze(1)  # (rows, 1)
            if with_logprobs:
                logp = torch.log_softmax(scaled, dim=-1).gather(1, nxt).squeeze(1)
                logps.append(logp.masked_fill(done, 0.0))
            drawn.append(nxt)
            done = done | (nxt.squeeze(1) == EOS_ID)
            tokens = nxt.squeeze(1)
            if bool(done.all()):
                break
        ids = torch.cat(drawn, dim=1)  # (rows, L)
        logprobs = torch.stack(logps, dim=1) if with_logprobs else torch.zeros(ids.shape, device=device)
    lengths = (ids != PAD_ID).sum(dim=1)
    return SampleBatch(ids, logprobs, lengths)


def _step_uniforms(
    column: Tensor | None,
    rows: int,
    temperature: float,
    generator: torch.Generator | None,
    device: torch.device,
) -> Tensor | None:
    """The uniforms of one step: ``column`` of a given table, else ``rows`` fresh draws from
    ``generator`` (for every row, so the stream does not depend on which rows are free);
    ``None`` when greedy."""
    if temperature == 0:
        return None
    if column is not None:
        return column.to(device)
    if generator is not None and generator.device != device:
        return torch.rand(rows, generator=generator, device=generator.device).to(device)
    return torch.rand(rows, generator=generator, device=device)


def _masked_scaled(logits: Tensor, temperature: float, *, in_place: bool) -> Tensor:
    """Float logits ``(N, V)`` with PAD and BOS at −∞, divided by the temperature (not at 0 or 1);
    ``in_place`` overwrites logits the caller owns and keeps no graph of."""
    never = torch.tensor([PAD_ID, BOS_ID], device=logits.device)
    logits = logits.float()
    logits = logits.index_fill_(1, never, -math.inf) if in_place else logits.index_fill(1, never, -math.inf)
    return logits if temperature in (0, 1) else logits / temperature


def _pick(scaled: Tensor, temperature: float, u: Tensor | None) -> Tensor:
    """One token per row of masked, scaled logits ``(N, V)``: argmax at temperature 0, else the
    inverse CDF of their softmax at ``u (N,)``."""
    if temperature == 0:
        return scaled.argmax(dim=-1)
    assert u is not None
    return inverse_cdf(torch.softmax(scaled, dim=-1), u).squeeze(1)


#: rows per decoder call while branching rollouts
ROLLOUT_CHUNK = 1024


def _branching_rollouts(
    decoder: BranchingDecoder,
    sequences: Tensor,
    lengths: list[int],
    n_rollouts: int,
    max_len: int,
    temperature: float,
    generator: torch.Generator | None,
    device: torch.device,
    uniforms: Tensor | None,
) -> Tensor:
    """:func:`rollouts` for a :class:`BranchingDecoder`: one teacher-forced pass over the
    sequences gives the state and next-token logits after every prefix; every completion starts
    there, and all completions advance together, each row leaving the batch at its EOS or at
    ``max_len``. Compared with re-reading each prefix, no logits are computed at prefix positions
    and finished rows cost nothing. Row ``(b, p, r)`` draws its token at position ``t`` from
    ``uniforms[b, p, r, t]`` when given, exactly as :func:`sample_tokens` with that prefix would."""
    batch, _ = sequences.shape
    dim = decoder.state_batch_dim
    n_prefix, rows = len(lengths), batch * len(lengths) * n_rollouts
    with torch.no_grad():
        # the teacher-forced pass: after feeding y_k, the state S_k and the logits of position k
        wanted = set(lengths)
        after: dict[int, tuple[Tensor, DecoderState]] = {}
        tokens = torch.full((batch,), BOS_ID, dtype=torch.long, device=device)
        state: DecoderState = None
        for k in range(max(lengths) + 1):
            logits, state = decoder.step(tokens, state)
            if k in wanted:
                after[k] = (logits, state)
            if k < sequences.shape[1]:
                tokens = sequences[:, k]
        # rows ordered (p, b, r) while sampling; (b, p, r) in the result
        base = torch.arange(batch, device=device).repeat_interleave(n_rollouts)  # (B·R,)
        first_logits = torch.stack([after[k][0] for k in lengths])  # (P, B, V): logits at position k
        state = cat_states([select_rows(after[k][1], dim, base) for k in lengths], dim)
        row_prefix = torch.arange(n_prefix, device=device).repeat_interleave(batch * n_rollouts)  # (N,)
        row_base = base.repeat(n_prefix)  # (N,)
        plen = torch.tensor(lengths, device=device)[row_prefix]  # (N,)
        seq_rows = sequences.index_select(0, row_base)  # (N, T)
        out = torch.full((rows, max_len), PAD_ID, dtype=torch.long, device=device)
        width = min(max_len, seq_rows.shape[1])
        keep = torch.arange(width, device=device).unsqueeze(0) < plen.unsqueeze(1)
        out[:, :width] = torch.where(keep, seq_rows[:, :width], PAD_ID)
        complete = ((out == EOS_ID).any(dim=1)) | (plen >= max_len)
        table = None
        if uniforms is not None:  # (B, P, R, L) → rows (p, b, r)
            table = uniforms.to(device).permute(1, 0, 2, 3).reshape(rows, max_len)
        active = (~complete).nonzero().squeeze(1)  # (A,) row ids
        position = plen[active]
        state = select_rows(state, dim, active)
        last: Tensor | None = None  # the tokens drawn at the previous step (None: none yet)
        while active.numel():
            column = None if table is None else table[active, position]
            u = _step_uniforms(column, active.numel(), temperature, generator, device)
            drawn = torch.empty_like(active)
            states = []
            # chunks keep the (rows × vocabulary) tensors of a step in cache: one batch of all
            # prefixes × rollouts at once is memory-bound (docs/performance.md)
            for lo in range(0, active.numel(), ROLLOUT_CHUNK):
                chunk = slice(lo, lo + ROLLOUT_CHUNK)
                if last is None:  # position k of each row: the teacher-forced pass's logits
                    logits = first_logits[row_prefix[active[chunk]], row_base[active[chunk]]]
                else:
                    index = torch.arange(lo, min(lo + ROLLOUT_CHUNK, active.numel()), device=device)
                    logits, st = decoder.step(last[chunk], select_rows(state, dim, index))
                    states.append(st)
                scaled = _masked_scaled(logits, temperature, in_place=True)  # fresh logits, no graph
                drawn[chunk] = _pick(scaled, temperature, None if u is None else u[chunk])
            if states:
                state = cat_states(states, dim)
            out[active, position] = drawn
            go_on = ((drawn != EOS_ID) & (position + 1 < max_len)).nonzero().squeeze(1)
            if not go_on.numel():
                break
            active, position, last = active[go_on], position[go_on] + 1, drawn[go_on]
            state = select_rows(state, dim, go_on)
    # (P, B, R, L) → (B, P, R, L)
    return out.view(n_prefix, batch, n_rollouts, max_len).permute(1, 0, 2, 3).contiguous()


def inverse_cdf(probs: Tensor, u: Tensor) -> Tensor:
    """The token of each row ``(N, V)`` whose cumulative probability first exceeds ``u (N,)`` of
    the row's total → ``(N, 1)`` (tokens of probability 0 are never drawn)."""
    cdf = probs.cumsum(dim=-1)  # (N, V)
    target = (u.to(cdf.dtype) * cdf[:, -1]).unsqueeze(1)  # (N, 1)
    idx = torch.searchsorted(cdf, target, right=True).clamp(max=probs.shape[1] - 1)
    # rounding at the top of the CDF can land on a zero-probability tail: take the last token of
    # positive probability instead (rare, so only those rows are fixed)
    bad = (probs.gather(1, idx) <= 0).squeeze(1).nonzero().squeeze(1)
    if bad.numel():
        positive = probs[bad] > 0  # (n_bad, V)
        last = positive.shape[1] - 1 - positive.flip(1).int().argmax(dim=1)
        idx[bad] = last.unsqueeze(1)
    return idx


def rollouts(
    decoder: Decoder,
    sequences: Tensor,
    *,
    n_rollouts: int,
    max_len: int,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    prefix_lengths: list[int] | None = None,
    uniforms: Tensor | None = None,
) -> Tensor:
    """Monte-Carlo completions of every prefix of every sequence, in one batched pass.

    Args:
        sequences: ``(B, T)`` token ids without BOS (PAD after EOS).
        prefix_lengths: which prefixes ``y_{1:t}`` to complete (default ``1 … T−1``; the full
            sequence needs no rollout).
        uniforms: ``(B, P, R, max_len)`` inverse-CDF draws (see :func:`sample_tokens`) instead of
            ``generator``.

    Returns:
        ``(B, P, R, max_len)`` ids: completion ``r`` of prefix ``p`` of sequence ``b``; its first
        ``prefix_lengths[p]`` tokens are the prefix. A prefix that already holds EOS is complete.
    """
    if n_rollouts < 1:
        raise ConfigError(f"n_rollouts must be ≥ 1, got {n_rollouts}")
    batch, length = sequences.shape
    lengths = prefix_lengths if prefix_lengths is not None else list(range(1, length))
    if not lengths:
        raise ConfigError("no prefix to roll out: sequences of length 1 are complete")
    if isinstance(getattr(decoder, "state_batch_dim", None), int):
        return _branching_rollouts(
            decoder,  # type: ignore[arg-type]
            sequences.to(device),
            lengths,
            n_rollouts,
            max_len,
            temperature,
            generator,
            torch.device(device),
            uniforms,
        )
    p = len(lengths)
    # rows ordered (b, p, r): sequence b repeated P·R times, prefix length per row
    prefix = sequences.to(device).repeat_interleave(p * n_rollouts, dim=0)  # (B·P·R, T)
    plen = torch.tensor(lengths, dtype=torch.long, device=device)
    plen = plen.repeat_interleave(n_rollouts).repeat(batch)  # (B·P·R,)
    out = sample_tokens(
        decoder,
        batch * p * n_rollouts,
        max_len=max_len,
        temperature=temperature,
        generator=generator,
        device=device,
        prefix=prefix,
        prefix_len=plen,
        uniforms=None if uniforms is None else uniforms.reshape(-1, max_len),
        with_logprobs=False,
    ).tokens
    full = torch.full((out.shape[0], max_len), PAD_ID, dtype=torch.long, device=out.device)
    full[:, : out.shape[1]] = out
    return full.view(batch, p, n_rollouts, max_len)  # (B, P, R, max_len)
