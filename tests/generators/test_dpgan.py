"""DPGAN (Xu et al. 2018, TextGAN-PyTorch's form; PEERS.md §3.8): the reward is the language-model
discriminator's per-token NLL, scaled by its sentence mean and summed into returns; the
discriminator learns to expect what the generator repeats; the policy gradient against exact
enumeration on the toy."""

from __future__ import annotations

import torch

from tests.generators.test_discrete_gan import (
    SEQS,
    TINY,
    _enumerated,
    _estimates,
    _task,
    _within_4_se,
)
from textgen_eval.core.training import StepContext
from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID
from textgen_eval.generators.discrete.config import DiscriminatorConfig
from textgen_eval.generators.discrete.nets import LMDiscriminator
from textgen_eval.generators.discrete.rewards import discounted_rewards, dpgan_rewards
from textgen_eval.generators.discrete.task import CREDIT, discriminator_loss


def _disc(seed: int = 0, vocab: int = 12) -> LMDiscriminator:
    torch.manual_seed(seed)
    return LMDiscriminator(DiscriminatorConfig(emb_dim=4, hidden_size=6), vocab).eval()


def test_the_word_reward_is_the_discriminator_lms_nll_read_step_by_step() -> None:
    disc = _disc()
    tokens = torch.tensor([[5, 6, 7, EOS_ID, PAD_ID], [8, 9, 10, 11, EOS_ID]])
    got = disc.token_nll(tokens)
    with torch.no_grad():  # an independent path: the LM's one-step decoder, token by token
        state, previous, expected = None, torch.full((2,), BOS_ID), torch.zeros(2, 5)
        for t in range(5):
            logits, state = disc.lm.step(previous, state)
            expected[:, t] = -torch.log_softmax(logits, dim=-1).gather(1, tokens[:, t : t + 1]).squeeze(1)
            previous = tokens[:, t]
    expected[0, 4] = 0.0  # PAD
    torch.testing.assert_close(got.detach(), expected)


def test_rewards_are_sentence_times_word_nll_summed_into_returns() -> None:
    w = torch.tensor([[2.0, 1.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]], dtype=torch.float64)
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]], dtype=torch.float64)
    r = dpgan_rewards(w, mask)
    torch.testing.assert_close(
        r, torch.tensor([[4.0, 2.0, 6.0, 0.0], [1.0, 1.0, 1.0, 1.0]], dtype=torch.float64)
    )
    returns = discounted_rewards(r, mask, 1.0)  # γ = 1: reverse cumulative sums
    torch.testing.assert_close(returns[0], torch.tensor([12.0, 8.0, 6.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(returns[1], torch.tensor([4.0, 3.0, 2.0, 1.0], dtype=torch.float64))


def test_the_discriminator_stops_rewarding_what_the_generator_repeats() -> None:
    """D's update lowers its NLL of the generated sentence and raises it on real text, so the
    memorised (generated) sentence earns less reward than a novel one afterwards."""
    disc = _disc(1)
    disc.train()
    fake = torch.tensor([[5, 6, 7, 8, EOS_ID]] * 8)
    real = torch.tensor([[9, 10, 11, 4, EOS_ID]] * 8)
    novel = torch.tensor([[7, 5, 8, 6, EOS_ID]])
    opt = torch.optim.Adam(disc.parameters(), lr=0.05)

    class _Task:  # what discriminator_loss reads of a task
        module = type("M", (), {"disc": disc})()
        model = type("G", (), {"credit": "dpgan"})()

    before = float(disc.sentence_nll(fake[:1]).detach())
    for _ in range(30):
        loss, _, _ = discriminator_loss(_Task(), real, fake)  # type: ignore[arg-type]
        opt.zero_grad()
        loss.backward()
        opt.step()
    disc.eval()
    with torch.no_grad():
        assert float(disc.sentence_nll(fake[:1])) < before
        mask = (fake[:1] != PAD_ID).double()
        repeated = dpgan_rewards(disc.token_nll(fake[:1]).double(), mask).sum()
        fresh = dpgan_rewards(disc.token_nll(novel).double(), (novel != PAD_ID).double()).sum()
    assert float(repeated) < float(fresh)


def test_the_dpgan_policy_gradient_matches_enumeration() -> None:
    """Fixed per-token "discriminator NLL" tables on the toy (y₁, then y₂|y₁); returns with
    γ = 0.9; the REINFORCE estimate within 4 standard errors of the enumerated gradient."""
    w1 = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)
    w2 = torch.tensor([[1.0, 0.2, 3.0], [0.7, 1.5, 0.1], [2.5, 0.3, 0.9]], dtype=torch.float64)

    def returns(y1: torch.Tensor, y2: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        words = torch.stack([w1[y1], w2[y1, y2]], dim=1)
        return discounted_rewards(dpgan_rewards(words, mask), mask, 0.9)

    def weight(y1, y2, lp1, lp2):  # Σ_t R_t log p(y_t | y_<t), weighted by p(y) held fixed
        r = returns(torch.tensor([y1]), torch.tensor([y2]), torch.ones(1, 2, dtype=torch.float64))[0]
        return (lp1 + lp2).exp().detach() * (r[0] * lp1 + r[1] * lp2)

    assert len(SEQS) == 9
    _within_4_se(_enumerated(weight), *_estimates(returns))


def test_a_generator_step_reads_the_lm_discriminator_and_leaves_it_untouched() -> None:
    task = _task(TINY["dpgan"]())
    assert isinstance(task.module.disc, LMDiscriminator)
    before = {k: v.clone() for k, v in task.module.disc.state_dict().items()}
    out = task.training_step(None, StepContext("adversarial", "gen", 0, 0, 0, 0, None, None))
    out["loss"].backward()  # type: ignore[union-attr]
    assert float(out["reward"]) > 0  # NLLs: non-negative rewards
    assert all(p.grad is None for p in task.module.disc.parameters())
    assert all(torch.equal(v, task.module.disc.state_dict()[k]) for k, v in before.items())
    assert "dpgan" in CREDIT
