"""MaliGAN (Che et al. 2017; PEERS.md §3.1): the normalised importance weights, their transform
D/(1 − D), and — with an exact discriminator on the enumerable toy — a gradient equal to the MLE
gradient, which Texygen's D/ΣD weights do not give."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from tests.generators.test_discrete_gan import _configs, _seqgan_cfg
from textgen_eval.core.errors import ConfigError
from textgen_eval.generators.discrete.config import MaliGANConfig
from textgen_eval.generators.discrete.model import MaliGAN
from textgen_eval.generators.discrete.rewards import (
    maligan_ratio,
    maligan_weights,
    policy_gradient_loss,
    sequence_rewards,
)

SEQS = list(itertools.product(range(3), range(3)))


def _logit(d: float) -> float:
    return math.log(d / (1 - d))


def test_r_is_d_over_one_minus_d() -> None:
    r = maligan_ratio(torch.tensor([_logit(0.5), _logit(0.8), _logit(0.2)], dtype=torch.float64), 1e-3)
    assert r.tolist() == pytest.approx([1.0, 4.0, 0.25])


def test_a_confident_discriminator_is_clamped() -> None:
    r = maligan_ratio(torch.tensor([40.0, -40.0], dtype=torch.float64), 1e-3)  # D = 1 − 4e-18, 4e-18
    assert r.tolist() == pytest.approx([999.0, 1 / 999.0])
    w = maligan_weights(torch.tensor([40.0, 0.0, 0.0], dtype=torch.float64), 1e-3)
    assert torch.isfinite(w).all()


@pytest.mark.parametrize("form", ["ratio", "texygen"])
def test_weights_are_normalised_then_centred(form: str) -> None:
    logits = torch.randn(64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    w = maligan_weights(logits, 1e-3, form)
    assert float(w.sum()) == pytest.approx(0.0, abs=1e-12)  # after the baseline 1/m
    assert float((w + 1 / 64).sum()) == pytest.approx(1.0)  # before it: normalised
    if form == "ratio":  # and invariant to scaling r by a constant (a shift of every logit)
        shifted = maligan_weights(logits + math.log(7.0), 1e-3, form)
        torch.testing.assert_close(shifted, w)
        expected = torch.exp(logits) / torch.exp(logits).sum() - 1 / 64  # r/Σr − 1/m, written out
        torch.testing.assert_close(w, expected)


def _toy_gradients(d_of_sequence) -> tuple[torch.Tensor, torch.Tensor]:
    """A tabular generator y₁ ~ softmax(a), y₂|y₁ ~ softmax(B[y₁]) at a = B = 0 (uniform over the
    nine sequences), a "batch" holding each sequence once — exactly the expectation under p_θ —
    and MaliGAN's loss from D's logits; returns its gradient and the MLE gradient of p_data."""
    a = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    y1 = torch.tensor([s[0] for s in SEQS])
    y2 = torch.tensor([s[1] for s in SEQS])
    logp = torch.stack([torch.log_softmax(a, 0)[y1], torch.log_softmax(b, 1)[y1, y2]], dim=1)  # (9, 2)
    mask = torch.ones(9, 2, dtype=torch.float64)
    rewards = sequence_rewards(d_of_sequence, mask)
    mali = torch.autograd.grad(policy_gradient_loss(logp, rewards, mask), (a, b))
    return torch.cat([g.flatten() for g in mali]), logp


def test_with_an_exact_discriminator_the_gradient_is_the_mle_gradient() -> None:
    """D* = p_d/(p_d + p_θ) ⇒ r = p_d/p_θ ⇒ the MaliGAN gradient is (1/m)·∇E_{p_d}[log p_θ]
    (PEERS.md §3.1 test 2); Texygen's D/ΣD weights give another direction."""
    p_data = torch.softmax(torch.randn(9, dtype=torch.float64, generator=torch.Generator().manual_seed(3)), 0)
    p_theta = torch.full((9,), 1 / 9, dtype=torch.float64)
    logits = torch.log(p_data / p_theta)  # logit(D*) = log(p_d/p_θ)
    mali, _ = _toy_gradients(maligan_weights(logits, 1e-6))
    a = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    nll = -sum(
        p_data[i] * (torch.log_softmax(a, 0)[y1] + torch.log_softmax(b[y1], 0)[y2])
        for i, (y1, y2) in enumerate(SEQS)
    )
    mle = torch.cat([g.flatten() for g in torch.autograd.grad(nll, (a, b))])
    torch.testing.assert_close(mali * 9, mle)  # equal up to the normaliser 1/m
    texygen, _ = _toy_gradients(maligan_weights(logits, 1e-6, "texygen"))
    cosine = float(texygen @ mle / (texygen.norm() * mle.norm()))
    assert cosine < 0.999  # a different estimator


def test_maligan_refuses_a_second_baseline_and_a_bad_eps() -> None:
    with pytest.raises(ConfigError, match=r"gan\.baseline must be none"):
        MaliGAN({**_configs(_seqgan_cfg(), baseline="moving-average"), "maligan": MaliGANConfig()})
    with pytest.raises(ValueError, match=r"eps must be in \(0, 0.5\)"):
        MaliGANConfig(eps=0.5)
