"""The shared autoregressive sampler: prefixes, rollouts, log-probabilities with the graph kept,
checked against teacher forcing and against the exact conditional distribution of a toy model."""

from __future__ import annotations

import math

import pytest
import torch

from textgen_eval.core.errors import ConfigError
from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig
from textgen_eval.generators.lstm_lm.model import LMNet, token_nll
from textgen_eval.generators.text.sampler import check_sampling_args, rollouts, sample_tokens

V = 7  # PAD, BOS, EOS, UNK and three words


class Bigram(torch.nn.Module):
    """A toy decoder: the next-token logits depend on the previous token only (a table)."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.table = torch.nn.Parameter(torch.randn(V, V, generator=g))

    def step(self, tokens, state):
        return self.table[tokens], state


def net() -> LMNet:
    torch.manual_seed(0)
    return LMNet(LSTMLMConfig(emb_dim=6, hidden_size=8), V).eval()


def test_logprobs_equal_teacher_forced_likelihood_and_carry_gradients() -> None:
    model = net()
    gen = torch.Generator().manual_seed(3)
    drawn = sample_tokens(model, 16, max_len=9, generator=gen, keep_graph=True)
    assert drawn.logprobs.requires_grad
    batch = torch.cat([torch.full((16, 1), BOS_ID), drawn.tokens], dim=1)
    _, count = token_nll(model, batch)
    assert torch.equal(count, drawn.lengths)
    # teacher forcing under the sampling distribution (PAD and BOS can never be drawn)
    logits, _ = model(batch[:, :-1])  # (B, T, V)
    logp = torch.log_softmax(logits.index_fill(2, torch.tensor([PAD_ID, BOS_ID]), -math.inf), dim=-1)
    targets = batch[:, 1:]
    forced = logp.gather(2, targets.unsqueeze(-1)).squeeze(-1).masked_fill(targets == PAD_ID, 0.0)
    torch.testing.assert_close(drawn.logprobs, forced, rtol=1e-5, atol=1e-6)
    drawn.logprobs.sum().backward()
    assert model.decoder.weight.grad is not None and model.decoder.weight.grad.abs().sum() > 0
    # without keep_graph nothing is tracked
    assert not sample_tokens(model, 4, max_len=5, generator=gen).logprobs.requires_grad


def test_pad_and_bos_are_never_drawn_and_rows_end_at_eos() -> None:
    drawn = sample_tokens(Bigram(), 300, max_len=12, generator=torch.Generator().manual_seed(1))
    tokens = drawn.tokens
    assert not (tokens == BOS_ID).any()
    for row, length in zip(tokens.tolist(), drawn.lengths.tolist()):
        assert PAD_ID not in row[:length]
        if EOS_ID in row:
            assert row.index(EOS_ID) == length - 1 and set(row[length:]) <= {PAD_ID}
    assert (drawn.logprobs[tokens == PAD_ID] == 0).all()


def test_prefixes_are_forced_row_by_row() -> None:
    prefix = torch.tensor([[4, 5, 6, 4], [6, 6, 0, 0], [4, EOS_ID, 0, 0]])
    plen = torch.tensor([4, 2, 2])
    drawn = sample_tokens(
        Bigram(), 3, max_len=8, prefix=prefix, prefix_len=plen, generator=torch.Generator().manual_seed(2)
    )
    assert drawn.tokens[0, :4].tolist() == [4, 5, 6, 4]
    assert drawn.tokens[1, :2].tolist() == [6, 6]
    assert drawn.tokens[2].tolist()[:2] == [4, EOS_ID] and set(drawn.tokens[2].tolist()[2:]) <= {PAD_ID}


def test_rollouts_complete_every_prefix_from_the_models_conditional_distribution() -> None:
    """Completions of y_1 = 4 put mass p(y_2 | y_1 = 4) on each next token, exactly as the model
    says (compared with the softmax row, 20,000 draws, a 5-sigma binomial tolerance)."""
    toy = Bigram()
    sequences = torch.tensor([[4, 5, 6], [6, 4, EOS_ID]])
    out = rollouts(toy, sequences, n_rollouts=10_000, max_len=5, generator=torch.Generator().manual_seed(4))
    assert out.shape == (2, 2, 10_000, 5)  # (B, prefixes t = 1, 2, R, max_len)
    assert (out[0, 0, :, 0] == 4).all() and (out[0, 1, :, :2] == torch.tensor([4, 5])).all()
    assert (out[1, 1, :, :2] == torch.tensor([6, 4])).all()
    probs = torch.softmax(toy.table[4].detach().index_fill(0, torch.tensor([PAD_ID, BOS_ID]), -math.inf), 0)
    nxt = torch.cat([out[0, 0, :, 1], out[1, 1, :, 2]])  # both follow token 4
    n = nxt.numel()
    for token in range(V):
        p = float(probs[token])
        freq = float((nxt == token).sum()) / n
        assert abs(freq - p) <= 5 * math.sqrt(max(p * (1 - p), 1e-12) / n) + 1e-9, (token, freq, p)


def test_greedy_and_seeded_sampling() -> None:
    model = net()
    a = sample_tokens(model, 5, max_len=6, temperature=0, generator=torch.Generator().manual_seed(1))
    b = sample_tokens(model, 5, max_len=6, temperature=0, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a.tokens, b.tokens) and (a.tokens == a.tokens[:1]).all()
    c = sample_tokens(model, 5, max_len=6, generator=torch.Generator().manual_seed(9))
    d = sample_tokens(model, 5, max_len=6, generator=torch.Generator().manual_seed(9))
    assert torch.equal(c.tokens, d.tokens)


@pytest.mark.parametrize(
    ("n", "max_len", "temperature", "message"),
    [
        (-1, 5, 1.0, "number of samples"),
        (3, 0, 1.0, "max_len"),
        (3, 5, -0.5, "temperature"),
        (3, 5, math.nan, "temperature"),
    ],
)
def test_bad_sampling_arguments_name_the_option(
    n: int, max_len: int, temperature: float, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        check_sampling_args(n, max_len, temperature)


def test_inverse_cdf_draws_follow_the_distribution_and_never_a_zero_probability_token() -> None:
    from textgen_eval.generators.text.sampler import inverse_cdf

    probs = torch.tensor([0.5, 0.0, 0.2, 0.3, 0.0]).expand(200_000, 5)
    u = torch.rand(200_000, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(inverse_cdf(probs, u).squeeze(1), minlength=5).double() / 200_000
    assert counts[1] == 0 and counts[4] == 0
    assert torch.allclose(counts, probs[0].double(), atol=4 * (0.25 / 200_000) ** 0.5)
    edge = inverse_cdf(torch.tensor([[0.4, 0.6, 0.0]]), torch.tensor([0.9999999]))
    assert int(edge) == 1  # rounding at the top never lands on the zero-probability tail


def test_fixed_uniforms_make_draws_independent_of_how_rows_are_batched() -> None:
    torch.manual_seed(0)
    net = LMNet(LSTMLMConfig(emb_dim=8, hidden_size=16), 30)
    uniforms = torch.rand(10, 12, generator=torch.Generator().manual_seed(1))
    whole = sample_tokens(net, 10, max_len=12, uniforms=uniforms).tokens
    halves = [sample_tokens(net, 5, max_len=12, uniforms=uniforms[i : i + 5]).tokens for i in (0, 5)]
    width = whole.shape[1]
    padded = [torch.nn.functional.pad(h, (0, width - h.shape[1]), value=PAD_ID) for h in halves]
    assert torch.equal(whole, torch.cat(padded))
