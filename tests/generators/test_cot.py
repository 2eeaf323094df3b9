"""CoT (Lu et al. 2019; PEERS.md §3.6): the generator's per-step loss is KL(G ‖ M) over the full
vocabulary with the closed form's gradient, the mediator's loss is the balanced NLL of the
mixture, and on the enumerable toy one CoT step with the exact mixture mediator lowers
JSD(P ‖ G)."""

from __future__ import annotations

import itertools

import pytest
import torch

from tests.generators.test_discrete_gan import TINY, _task
from textgen_eval.core.training import StepContext
from textgen_eval.data.vocab import PAD_ID
from textgen_eval.generators.discrete.cot import balanced_nll
from textgen_eval.generators.discrete.nets import LMDiscriminator
from textgen_eval.generators.discrete.rewards import cot_kl
from textgen_eval.generators.discrete.task import D_KIND

SEQS = list(itertools.product(range(3), range(3)))


def _log_softmax(*shape: int, seed: int) -> torch.Tensor:
    return torch.log_softmax(
        torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)), -1
    )


def test_the_per_step_loss_is_kl_of_g_from_m_and_zero_only_at_g_equals_m() -> None:
    log_g, log_m = _log_softmax(4, 6, 7, seed=0), _log_softmax(4, 6, 7, seed=1)
    kl = cot_kl(log_g, log_m)
    reference = torch.nn.functional.kl_div(log_m, log_g, log_target=True, reduction="none").sum(-1)
    torch.testing.assert_close(kl, reference)
    assert bool((kl > 0).all())
    torch.testing.assert_close(cot_kl(log_g, log_g), torch.zeros(4, 6, dtype=torch.float64))
    # ids neither gives mass (the banned specials of a fixed-length corpus) add nothing
    banned_g, banned_m = log_g.clone(), log_m.clone()
    banned_g[..., 0] = banned_m[..., 0] = -torch.inf
    assert torch.isfinite(cot_kl(torch.log_softmax(banned_g, -1), torch.log_softmax(banned_m, -1))).all()


def test_its_gradient_is_the_closed_forms() -> None:
    logits = torch.randn(
        5, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(2), requires_grad=True
    )
    log_m = _log_softmax(5, 9, seed=3)
    (grad,) = torch.autograd.grad(cot_kl(torch.log_softmax(logits, -1), log_m).sum(), logits)
    p = torch.softmax(logits.detach(), -1)
    # d/dz Σ_v p_v (log p_v − log m_v) = p ⊙ (log p − log m − KL)
    kl = (p * (p.log() - log_m)).sum(-1, keepdim=True)
    torch.testing.assert_close(grad, p * (p.log() - log_m - kl))


def _joint(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.softmax(a, 0).unsqueeze(1) * torch.softmax(b, 1)  # (3, 3): G(y₁, y₂)


def _jsd(p: torch.Tensor, q: torch.Tensor) -> float:
    mix = 0.5 * (p + q)
    return float(0.5 * (p * (p / mix).log()).sum() + 0.5 * (q * (q / mix).log()).sum())


def test_one_cot_step_with_the_exact_mixture_mediator_lowers_the_jsd_on_the_toy() -> None:
    """V = 3, T = 2: the mediator M*(y_t | y_<t) = (P(y_≤t) + G(y_≤t)) / (P(y_<t) + G(y_<t)); the
    CoT loss is the KL of every state weighted by G's (non-differentiated) state probability."""
    g = torch.Generator().manual_seed(4)
    p = torch.softmax(torch.randn(9, dtype=torch.float64, generator=g), 0).view(3, 3)
    a = torch.randn(3, dtype=torch.float64, generator=g).requires_grad_(True)
    b = torch.randn(3, 3, dtype=torch.float64, generator=g).requires_grad_(True)
    before = _jsd(p, _joint(a, b).detach())
    with torch.no_grad():
        q = _joint(a, b)
        m1 = 0.5 * (p.sum(1) + q.sum(1))  # M*(y₁)
        m2 = (p + q) / (p.sum(1, keepdim=True) + q.sum(1, keepdim=True))  # M*(y₂ | y₁)
    log_g1, log_g2 = torch.log_softmax(a, 0), torch.log_softmax(b, 1)
    loss = cot_kl(log_g1, m1.log()) + (log_g1.exp().detach() * cot_kl(log_g2, m2.log())).sum()
    ga, gb = torch.autograd.grad(loss, (a, b))
    with torch.no_grad():
        after = _jsd(p, _joint(a - 0.1 * ga, b - 0.1 * gb))
    assert after < before - 1e-4, (before, after)
    assert len(SEQS) == 9


def test_the_mediator_loss_is_the_mean_of_the_two_nlls() -> None:
    torch.manual_seed(0)
    from textgen_eval.generators.discrete.config import DiscriminatorConfig

    m = LMDiscriminator(DiscriminatorConfig(emb_dim=4, hidden_size=6), 12).eval()
    real = torch.tensor([[5, 6, 2, PAD_ID], [7, 8, 9, 2]])
    fake = torch.tensor([[4, 2, PAD_ID, PAD_ID], [10, 11, 4, 2]])
    with torch.no_grad():
        loss, nll_real, nll_fake = balanced_nll(m, real, fake)
        per_real, per_fake = m.token_nll(real), m.token_nll(fake)
    assert float(nll_real) == pytest.approx(float(per_real.sum() / 7))  # 7 real tokens
    assert float(nll_fake) == pytest.approx(float(per_fake.sum() / 6))
    assert float(loss) == pytest.approx(0.5 * (float(nll_real) + float(nll_fake)))


def test_cot_is_wired_to_a_twice_as_large_mediator_and_no_pretraining() -> None:
    task = _task(TINY["cot"]())
    m = task.module.disc
    assert isinstance(m, LMDiscriminator) and D_KIND["cot"] == "mediator"
    assert m.hidden_size == 2 * task.model.configs["model"].hidden_size
    assert [s.name for s in task.stages()] == ["adversarial"]
    out = task.training_step(None, StepContext("adversarial", "gen", 0, 0, 0, 0, None, None))
    assert float(out["kl"]) > 0
