"""RankGAN (Lin et al. 2017; PEERS.md §3.2): the ranking functions against written-out
definitions and their limits, the policy gradient with rank-score rollouts against exact
enumeration on the toy, and a ranker that learns to rank real text above generated text."""

from __future__ import annotations

import math

import pytest
import torch

from tests.generators.test_discrete_gan import (
    SEQS,
    TINY,
    BranchingToyDecoder,
    _enumerated,
    _estimates,
    _task,
    _within_4_se,
)
from textgen_eval.core.training import StepContext
from textgen_eval.generators.discrete.config import CNNConfig, RankGANConfig
from textgen_eval.generators.discrete.nets import CNNRanker
from textgen_eval.generators.discrete.rewards import (
    cosine_matrix,
    rank_log_scores,
    rank_probabilities,
    rank_scores,
    rollout_rewards,
)
from textgen_eval.generators.discrete.task import CREDIT, D_KIND, rank_scorer

G = torch.Generator().manual_seed(11)


def _randn(*shape: int, seed: int | None = None) -> torch.Tensor:
    gen = G if seed is None else torch.Generator().manual_seed(seed)
    return torch.randn(*shape, dtype=torch.float64, generator=gen)


def _alpha(n: int, u: int) -> torch.Tensor:
    return cosine_matrix(_randn(n, 8), _randn(u, 8))


def test_cosine_relevance_is_the_cosine_and_ignores_positive_scaling() -> None:
    a, b = _randn(5, 8), _randn(3, 8)
    expected = torch.tensor(
        [[float(x @ y) / float(x.norm() * y.norm()) for y in b] for x in a], dtype=torch.float64
    )
    torch.testing.assert_close(cosine_matrix(a, b), expected)
    torch.testing.assert_close(cosine_matrix(2.5 * a, 0.1 * b), expected)


def test_rank_probabilities_sum_to_one_and_are_permutation_equivariant() -> None:
    alpha = _alpha(7, 4)
    p = rank_probabilities(alpha, 2.0)
    torch.testing.assert_close(p.sum(dim=0), torch.ones(4, dtype=torch.float64))
    perm = torch.randperm(7, generator=G)
    torch.testing.assert_close(rank_probabilities(alpha[perm], 2.0), p[perm])


def test_rank_probabilities_go_uniform_as_gamma_vanishes_and_to_the_best_as_it_grows() -> None:
    alpha = _alpha(6, 3)
    uniform = torch.full((6, 3), 1 / 6, dtype=torch.float64)
    torch.testing.assert_close(rank_probabilities(alpha, 1e-9), uniform)
    sharp = rank_probabilities(alpha, 1e4)
    best = torch.nn.functional.one_hot(alpha.argmax(dim=0), 6).T.to(torch.float64)  # (6, 3)
    torch.testing.assert_close(sharp, best)


def test_the_rank_score_is_the_mean_over_references_of_the_probability_within_c_and_s() -> None:
    """R(s | U, C) written out: rank s inside C ∪ {s} for every u, average over U (eqs. 3–4)."""
    alpha_s, alpha_c, gamma = _alpha(5, 4), _alpha(6, 4), 1.7
    got = rank_scores(alpha_s, alpha_c, gamma)
    for i in range(5):
        joint = torch.cat([alpha_s[i : i + 1], alpha_c])  # s first, then C
        expected = float(rank_probabilities(joint, gamma)[0].mean())
        assert float(got[i]) == pytest.approx(expected, rel=1e-12)
    # and exactly, for a large γ, in log space (no overflow to inf/inf)
    assert torch.isfinite(rank_log_scores(alpha_s, alpha_c, 1e6)).all()
    assert float(rank_scores(alpha_s, alpha_c, 1e-9).mean()) == pytest.approx(1 / 7)  # uniform: 1/(|C| + 1)


# -- the policy gradient with rank-score rollouts against enumeration on the toy -------------------------

FEATURES = _randn(3, 3, 6, seed=5)  # y_s of y₁y₂
REFS = _randn(4, 6, seed=6)  # U
COMPARISON = _randn(5, 6, seed=7)  # C⁺


def _toy_rank(rows: torch.Tensor) -> torch.Tensor:
    feats = FEATURES[rows[:, 0] - 4, rows[:, 1] - 4]  # (N, 6)
    return rank_scores(cosine_matrix(feats, REFS), cosine_matrix(COMPARISON, REFS), 2.0)


def test_rank_score_rollouts_give_an_unbiased_gradient_of_the_expected_rank_score() -> None:
    """Σ_t Q(y_1:t)·∇log p(y_t | y_<t) with Q estimated by one rollout per prefix and R(y | U, C⁺)
    at the end is an unbiased estimate of ∇E[R(y | U, C⁺)], enumerated over the nine sequences."""
    table = _toy_rank(torch.tensor([[a + 4, b + 4] for a, b in SEQS])).view(3, 3)
    exact = _enumerated(lambda y1, y2, lp1, lp2: (lp1 + lp2).exp() * table[y1, y2])
    decoder = BranchingToyDecoder()
    gen = torch.Generator().manual_seed(2)

    def rewards_of(y1: torch.Tensor, y2: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        tokens = torch.stack([y1 + 4, y2 + 4], dim=1)  # (m, 2), no EOS: the toy's fixed length
        return rollout_rewards(decoder, _toy_rank, tokens, n_rollouts=1, generator=gen) * mask

    _within_4_se(exact, *_estimates(rewards_of, n=100_000))


# -- the ranker in the task ---------------------------------------------------------------------------


def test_the_ranker_features_pad_short_rows_and_are_deterministic_in_eval_mode() -> None:
    torch.manual_seed(0)
    ranker = CNNRanker(CNNConfig(emb_dim=4, filter_sizes=(2, 5), num_filters=(3, 2), dropout=0.5), 20)
    rows = torch.randint(4, 20, (3, 2))  # shorter than the widest filter
    assert ranker.features(rows).shape == (3, 5)
    ranker.eval()
    torch.testing.assert_close(ranker.features(rows), ranker.features(rows))


def test_rankgan_is_wired_to_a_ranker_with_rollout_credit() -> None:
    task = _task(TINY["rankgan"]())
    assert isinstance(task.module.disc, CNNRanker) and D_KIND["rankgan"] == "rank"
    cfg: RankGANConfig = task.model.configs["rankgan"]
    task.module.train()  # dropout on: the reward must still not depend on it
    score = rank_scorer(task, (3,))
    rows = task.sample_rows(10)
    torch.testing.assert_close(score(rows), rank_scorer(task, (3,))(rows))
    assert bool(((score(rows) > 0) & (score(rows) < 1)).all())
    # U and C⁺ are drawn by their key: a resumed run draws the same real sets
    torch.testing.assert_close(task.real_rows(cfg.reference_size, key=(3, 1)), task.real_rows(4, key=(3, 1)))
    assert not torch.equal(task.real_rows(6, key=(3, 2)), task.real_rows(6, key=(4, 2)))
    rewards = CREDIT["rankgan"](task, rows)
    mask = rows != 0
    assert bool(((rewards[mask] > 0) & (rewards[mask] < 1)).all()) and bool((rewards[~mask] == 0).all())


def test_the_ranker_learns_to_rank_real_text_above_generated_text() -> None:
    """The ranker's loss falls and real sentences end up ranked above generated ones."""
    task = _task(TINY["rankgan"]())
    task.module.train()
    opt = task.optimizers()["disc"]
    for group in opt.param_groups:
        group["lr"] = 1e-2
    batches = task.train_batches("pretrain-d", 0)
    losses, gaps = [], []
    for step in range(60):
        try:
            batch = next(batches)
        except StopIteration:
            batches = task.train_batches("pretrain-d", step)
            batch = next(batches)
        out = task.training_step(batch, StepContext("pretrain-d", "disc", step, step, 0, 0, None, None))
        opt.zero_grad()
        out["loss"].backward()  # type: ignore[union-attr]
        opt.step()
        losses.append(float(out["loss"].detach()))  # type: ignore[union-attr]
        gaps.append(math.log(float(out["d_real"])) - math.log(float(out["d_fake"])))
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10 - 0.1
    assert sum(gaps[-10:]) / 10 > 0.1  # log R(real | U, C⁻) − log R(fake | U, C⁺)
