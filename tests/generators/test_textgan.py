"""TextGAN (Zhang et al. 2017; PEERS.md §3.3): the MMD² against its definition and a closed form,
the median heuristic, the soft-argmax's limit, D's sign of the MMD, the likelihood bound over
prior codes, and a sampler that draws (never argmax) from a seeded code."""

from __future__ import annotations

import math

import pytest
import torch

from tests.generators.test_discrete_gan import TEXTS, TINY, _task
from textgen_eval.core.training import RunnerConfig
from textgen_eval.data.vocab import BOS_ID
from textgen_eval.generators.discrete.config import GANGeneratorConfig
from textgen_eval.generators.discrete.relax import gaussian_mmd2, median_sigmas2, squared_distances
from textgen_eval.generators.discrete.task import D_KIND
from textgen_eval.generators.discrete.textgan import (
    TextGANNet,
    conditional_nll,
    marginal_nll,
    soft_argmax_rows,
    textgan_d_loss,
)
from textgen_eval.training import Runner


def _x(n: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(n, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) + shift


def test_mmd2_is_zero_for_identical_samples_nonnegative_and_grows_with_a_mean_shift() -> None:
    x = _x(40, 0)
    assert float(gaussian_mmd2(x, x, (1.0, 4.0))) == pytest.approx(0.0, abs=1e-12)
    values = [float(gaussian_mmd2(x, _x(40, 1, shift), (1.0, 4.0))) for shift in (0.0, 0.5, 1.0, 2.0)]
    assert all(v >= 0 for v in values) and values == sorted(values) and values[-1] > 10 * values[0]


def test_mmd2_matches_its_closed_form_on_two_points_and_its_written_out_definition() -> None:
    a, b, s2 = torch.tensor([[0.3]], dtype=torch.float64), torch.tensor([[1.7]], dtype=torch.float64), 0.8
    expected = 2 - 2 * math.exp(-((0.3 - 1.7) ** 2) / (2 * s2))
    assert float(gaussian_mmd2(a, b, (s2,))) == pytest.approx(expected, rel=1e-12)
    x, y = _x(5, 2), _x(4, 3)
    k = lambda p, q: sum(math.exp(-float(((p - q) ** 2).sum()) / (2 * s)) for s in (0.5, 2.0))  # noqa: E731
    by_hand = (sum(k(p, q) for p in x for q in x) / 25 + sum(k(p, q) for p in y for q in y) / 16
               - 2 * sum(k(p, q) for p in x for q in y) / 20)  # fmt: skip
    assert float(gaussian_mmd2(x, y, (0.5, 2.0))) == pytest.approx(by_hand, rel=1e-10)


def test_the_median_heuristic_scales_the_median_squared_distance() -> None:
    x, y = _x(6, 4), _x(5, 5)
    pooled = torch.cat([x, y])
    d2 = squared_distances(pooled, pooled)
    off = d2[~torch.eye(11, dtype=torch.bool)]
    torch.testing.assert_close(
        median_sigmas2(x, y, (0.5, 2.0)), off.median() * torch.tensor([0.5, 2.0], dtype=torch.float64)
    )


def _net() -> TextGANNet:
    torch.manual_seed(0)
    return TextGANNet(GANGeneratorConfig(emb_dim=5, hidden_size=7), 4, 12).double()


def test_the_soft_argmax_tends_to_the_argmax_tokens_embedding_with_finite_gradients() -> None:
    net = _net()
    z = torch.randn(3, 4, dtype=torch.float64)
    sharp = soft_argmax_rows(net, z, max_len=1, scale=1e6)[:, 0]  # (3, V)
    logits = net.logits(torch.full((3, 1), BOS_ID), z)[:, 0]
    torch.testing.assert_close(sharp, torch.nn.functional.one_hot(logits.argmax(-1), 12).double())
    rows = soft_argmax_rows(net, z, max_len=4, scale=1000.0)
    (grad,) = torch.autograd.grad((rows * torch.arange(12.0, dtype=torch.float64)).sum(), net.out.weight)
    assert bool(torch.isfinite(grad).all())


def test_the_likelihood_over_prior_codes_is_a_jensen_bound_and_k1_is_the_conditional() -> None:
    net = _net()
    batch = torch.tensor([[BOS_ID, 5, 6, 7, 2], [BOS_ID, 8, 9, 2, 0]])
    one, _ = marginal_nll(net, batch, 1, torch.Generator().manual_seed(1))
    z = torch.randn(2, 4, generator=torch.Generator().manual_seed(1)).double()
    cond, counts = conditional_nll(net, batch, z, contiguous=False)
    torch.testing.assert_close(one, cond.double())
    assert counts.tolist() == [4, 3]
    many, _ = marginal_nll(net, batch, 8, torch.Generator().manual_seed(2))
    gen, each = torch.Generator().manual_seed(2), []
    for _ in range(8):
        each.append(
            conditional_nll(net, batch, torch.randn(2, 4, generator=gen).double(), contiguous=False)[0]
        )
    assert bool((many <= torch.stack(each).mean(0) + 1e-12).all())  # −log mean p ≤ mean −log p


def test_d_maximises_the_mmd_and_the_generator_step_leaves_d_untouched() -> None:
    task = _task(TINY["textgan"]())
    assert D_KIND["textgan"] == "features"
    task.module.eval()  # no dropout: the two losses differ only by the MMD term
    real = task.real_rows(8, key=(0,))
    cfg = task.model.configs["textgan"]
    torch.manual_seed(3)
    with_mmd = textgan_d_loss(task, real).loss
    task.model.configs["textgan"] = type(cfg)(z_dim=cfg.z_dim, mmd_weight=0.0, recon_weight=cfg.recon_weight)
    torch.manual_seed(3)
    without = textgan_d_loss(task, real).loss
    assert float(with_mmd.detach()) < float(without.detach())  # −λ_m·MMD² < 0: D is rewarded for a larger MMD
    task.model.configs["textgan"] = cfg
    out = task.model.adversarial_step(task)
    assert out is not None and float(out["mmd2"]) >= 0
    out["loss"].backward()  # type: ignore[union-attr]
    assert all(p.grad is None for p in task.module.disc.parameters())


def test_samples_are_drawn_not_argmax_and_a_seed_fixes_codes_and_tokens() -> None:
    model = TINY["textgan"]()
    model.fit(TEXTS[:40], TEXTS[:8], Runner(RunnerConfig(device="cpu", max_steps=3)))
    a = model.sample(30, seed=5, max_len=8)
    assert a == model.sample(30, seed=5, max_len=8) and a != model.sample(30, seed=6, max_len=8)
    assert len(set(a)) > 1
