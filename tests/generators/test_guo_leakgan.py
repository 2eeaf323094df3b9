"""The original LeakGAN (Guo et al. 2018; PEERS.md §3.7): leaked features computed one token at
a time equal the batched ones, goals and logits are causal, sampling and teacher forcing give
the same likelihood, the rescaled activation follows D's ranks (not batch positions), the
Worker's intrinsic-reward estimator matches enumeration on the toy, and interleaved MLE steps
move only the generator."""

from __future__ import annotations

import math

import pytest
import torch

from tests.generators.test_discrete_gan import SEQS, TINY, _enumerated, _estimates, _task, _within_4_se
from textgen_eval.core.training import StepContext
from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID
from textgen_eval.generators.discrete.config import CNNConfig, GANGeneratorConfig, GuoLeakGANConfig
from textgen_eval.generators.discrete.hierarchy import HierarchicalDecoder, HierarchicalGenerator, unroll
from textgen_eval.generators.discrete.nets import CNNDiscriminator
from textgen_eval.generators.discrete.rewards import (
    goal_cosines,
    intrinsic_rewards,
    rescaled_rewards,
)
from textgen_eval.generators.discrete.task import ADVERSARIAL, D_KIND
from textgen_eval.generators.text.sampler import rollouts, sample_tokens

VOCAB = 30


def _nets(seed: int = 0, horizon: int = 3) -> tuple[HierarchicalGenerator, CNNDiscriminator]:
    torch.manual_seed(seed)
    disc = CNNDiscriminator(CNNConfig(emb_dim=5, filter_sizes=(1, 2, 3), num_filters=(3, 4, 5)), VOCAB)
    gen = HierarchicalGenerator(
        GANGeneratorConfig(emb_dim=4, hidden_size=6),
        GuoLeakGANConfig(horizon=horizon, goal_size=4),
        disc.feature_size,
        VOCAB,
    )
    return gen.double(), disc.double().eval()


def _rows() -> torch.Tensor:
    tokens = torch.randint(4, VOCAB, (5, 8), generator=torch.Generator().manual_seed(1))
    tokens[0, 3], tokens[0, 4:] = EOS_ID, PAD_ID  # a short sentence, PAD after EOS
    return tokens


def test_leaked_features_read_one_token_at_a_time_equal_the_batched_features_of_each_prefix() -> None:
    gen, disc = _nets()
    tokens = _rows()
    out = unroll(gen, disc, tokens)
    assert out.feats.shape == (5, 9, disc.feature_size)
    for t in range(9):
        torch.testing.assert_close(out.feats[:, t], disc.features(tokens[:, :t], dropout=False).detach())
    # trailing PAD changes nothing, so a batch of unequal rows pools each row as it is alone
    torch.testing.assert_close(disc.pooled(tokens[:1, :4]), disc.pooled(tokens[:1]))


@pytest.mark.parametrize("t", [0, 2, 5])
def test_goals_and_logits_are_causal(t: int) -> None:
    """Nothing at step t (the goal g_t, the feature f_t, the logits of y_{t+1}) depends on the
    tokens after y_t."""
    gen, disc = _nets()
    tokens = _rows()[1:]
    changed = tokens.clone()
    changed[:, t:] = torch.randint(4, VOCAB, changed[:, t:].shape, generator=torch.Generator().manual_seed(9))
    a, b = unroll(gen, disc, tokens), unroll(gen, disc, changed)
    torch.testing.assert_close(a.goals[:, : t + 1], b.goals[:, : t + 1])
    torch.testing.assert_close(a.feats[:, : t + 1], b.feats[:, : t + 1])
    torch.testing.assert_close(a.logits[:, : t + 1], b.logits[:, : t + 1])
    assert not torch.allclose(a.goals[:, t + 1 :], b.goals[:, t + 1 :])
    # and goals are unit vectors
    torch.testing.assert_close(a.goals.norm(dim=2), torch.ones(4, 8, dtype=torch.float64))


@pytest.mark.parametrize("horizon", [1, 3, 10])
def test_sampling_log_probabilities_equal_the_teacher_forced_ones(horizon: int) -> None:
    """The sampler (one step at a time: D's pooling grown token by token, goals kept in a window)
    and the batched teacher-forced pass give the same conditionals, for horizons shorter and
    longer than the sentence (the sampler excludes PAD and BOS, so here too)."""
    gen, disc = _nets(horizon=horizon)
    drawn = sample_tokens(
        HierarchicalDecoder(gen, disc),
        6,
        max_len=7,
        generator=torch.Generator().manual_seed(3),
        keep_graph=False,
    )
    out = unroll(gen, disc, drawn.tokens)
    logits = out.logits.index_fill(2, torch.tensor([PAD_ID, BOS_ID]), -math.inf)  # as the sampler
    logp = torch.log_softmax(logits, dim=2).gather(2, drawn.tokens.unsqueeze(2)).squeeze(2)
    mask = drawn.tokens != PAD_ID
    torch.testing.assert_close(drawn.logprobs[mask].double(), logp.detach()[mask], rtol=1e-5, atol=1e-6)


def test_branching_rollouts_continue_each_prefix_from_its_state() -> None:
    """A rollout drawn by branching from the state after a prefix equals one drawn by re-reading
    that prefix (the state carries D's pooling, so rows at different positions batch together)."""
    gen, disc = _nets()
    tokens = _rows()[1:3, :6]
    uniforms = torch.rand(2, 5, 2, 6, generator=torch.Generator().manual_seed(4))

    class ReRead:  # the same decoder without a branchable state
        def __init__(self, inner: HierarchicalDecoder) -> None:
            self.inner = inner

        def step(self, toks, state):  # type: ignore[no-untyped-def]
            return self.inner.step(toks, state)

    with torch.no_grad():
        branched = rollouts(
            HierarchicalDecoder(gen, disc), tokens, n_rollouts=2, max_len=6, uniforms=uniforms
        )
        reread = rollouts(
            ReRead(HierarchicalDecoder(gen, disc)), tokens, n_rollouts=2, max_len=6, uniforms=uniforms
        )
    assert torch.equal(branched, reread)


# -- the bootstrapped rescaled activation --------------------------------------------------------------


def test_rescaled_rewards_follow_d_and_not_the_batch_position() -> None:
    """PEERS.md §3.7: the peers' rescale maps D = [0.9, 0.1, 0.5, 0.7] and [0.1, 0.9, 0.7, 0.5]
    to the same rewards; here the best-scored row gets the most, wherever it sits."""
    mask = torch.ones(4, 1)
    a = rescaled_rewards(torch.tensor([[0.9], [0.1], [0.5], [0.7]]), mask, 16.0)[:, 0]
    b = rescaled_rewards(torch.tensor([[0.1], [0.9], [0.7], [0.5]]), mask, 16.0)[:, 0]
    assert a.argsort(descending=True).tolist() == [0, 3, 2, 1]
    assert b.argsort(descending=True).tolist() == [1, 2, 3, 0]
    torch.testing.assert_close(b, a[[1, 0, 3, 2]])  # the same D, permuted: the same rewards, permuted
    # σ(δ(0.5 − rank/B)): the ranks 1 … 4 of four rows
    expected = torch.sigmoid(16.0 * (0.5 - torch.tensor([1, 4, 3, 2]) / 4))
    torch.testing.assert_close(a, expected)


def test_rescaled_rewards_are_a_function_of_ranks_per_position_and_permute_with_the_batch() -> None:
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(16, 6, generator=g)
    mask = torch.ones(16, 6)
    mask[3, 4:] = 0.0  # a row that ended: it is not ranked at positions 4 and 5
    r = rescaled_rewards(scores, mask, 12.0)
    perm = torch.randperm(16, generator=g)
    torch.testing.assert_close(rescaled_rewards(scores[perm], mask[perm], 12.0), r[perm])
    torch.testing.assert_close(rescaled_rewards(scores.pow(3) * 5 - 1, mask, 12.0), r)  # monotone map
    for t in range(6):  # monotone in D within each position
        valid = mask[:, t] > 0
        order = scores[valid, t].argsort()
        assert bool((r[valid, t][order].diff() > 0).all())
    assert float(r[3, 4:].abs().sum()) == 0.0
    top = torch.sigmoid(torch.tensor(12.0 * (0.5 - 1 / 15)))  # 15 rows ranked at position 4
    assert float(r[:, 4].max()) == pytest.approx(float(top))


# -- the Manager's and the Worker's signals ------------------------------------------------------------


def test_goal_cosines_and_intrinsic_rewards_match_their_written_out_definitions() -> None:
    g = torch.Generator().manual_seed(2)
    feats, goals, c = torch.randn(3, 7, 5, generator=g), torch.randn(3, 6, 5, generator=g), 2
    cos = torch.nn.functional.cosine_similarity
    got = goal_cosines(feats, goals, c)
    intrinsic = intrinsic_rewards(feats, goals, c)
    for t in range(6):
        ahead = min(t + c, 6)
        torch.testing.assert_close(got[:, t], cos(feats[:, ahead] - feats[:, t], goals[:, t], dim=1))
        back = [t + 1 - i for i in range(1, c + 1) if t + 1 - i >= 0]
        terms = [cos(feats[:, t + 1] - feats[:, j], goals[:, j], dim=1) for j in back]
        torch.testing.assert_close(intrinsic[:, t], sum(terms) / len(terms))


def test_the_intrinsic_reward_estimator_matches_enumeration_on_the_toy() -> None:
    """Σ_t r^I_t·∇log p(y_t | y_<t) with r^I from the toy's leaked features and goals (a function
    of the prefix only) against its expectation over the nine sequences."""
    g = torch.Generator().manual_seed(8)
    f0, f1, f2 = (
        torch.randn(4, generator=g),
        torch.randn(3, 4, generator=g),
        torch.randn(3, 3, 4, generator=g),
    )
    g0, g1 = torch.randn(4, generator=g), torch.randn(3, 4, generator=g)

    def reward(y1: torch.Tensor, y2: torch.Tensor) -> torch.Tensor:
        feats = torch.stack([f0.expand(len(y1), 4), f1[y1], f2[y1, y2]], dim=1).double()  # (m, 3, 4)
        goals = torch.stack([g0.expand(len(y1), 4), g1[y1]], dim=1).double()  # (m, 2, 4)
        return intrinsic_rewards(feats, goals, 2)

    def weight(y1, y2, lp1, lp2):  # type: ignore[no-untyped-def]
        r = reward(torch.tensor([y1]), torch.tensor([y2]))[0]
        return (lp1 + lp2).exp().detach() * (r[0] * lp1 + r[1] * lp2)

    assert len(SEQS) == 9
    _within_4_se(_enumerated(weight), *_estimates(lambda y1, y2, mask: reward(y1, y2) * mask))


# -- wiring ----------------------------------------------------------------------------------------


def test_the_task_wires_a_cnn_discriminator_and_interleaves_mle_in_the_adversarial_stage() -> None:
    task = _task(TINY["leakgan"]())
    assert isinstance(task.module.disc, CNNDiscriminator) and D_KIND["leakgan"] == "sequence"
    stage = {s.name: s for s in task.stages()}[ADVERSARIAL]
    slots = [(stage.schedule.at(k).optimizer, stage.schedule.at(k).batch) for k in range(5)]
    assert slots == [("gen", False), ("disc", True), ("disc", True), ("gen", True), ("gen", False)]


def test_interleaved_mle_steps_move_only_the_generator() -> None:
    task = _task(TINY["leakgan"]())
    before_d = {k: v.clone() for k, v in task.module.disc.state_dict().items()}
    before_g = {k: v.clone() for k, v in task.module.gen.state_dict().items()}
    batch = next(iter(task.train_batches(ADVERSARIAL, 0)))
    out = task.training_step(batch, StepContext(ADVERSARIAL, "gen", 3, 3, 0, 0, None, None))
    out["loss"].backward()  # type: ignore[union-attr]
    task.optimizers()["gen"].step()
    assert all(p.grad is None for p in task.module.disc.parameters())
    assert all(torch.equal(v, task.module.disc.state_dict()[k]) for k, v in before_d.items())
    assert any(not torch.equal(v, task.module.gen.state_dict()[k]) for k, v in before_g.items())
    # both the Worker (NLL) and the Manager (its pretraining loss) learn from real text
    assert {"nll", "manager"} <= set(out)
    gen = task.module.gen
    assert gen.manager_out.weight.grad is not None and float(gen.manager_out.weight.grad.abs().sum()) > 0
    assert gen.worker_out.weight.grad is not None and float(gen.worker_out.weight.grad.abs().sum()) > 0


def test_the_workers_loss_does_not_reach_the_manager() -> None:
    gen, disc = _nets()
    out = unroll(gen, disc, _rows())
    nll = torch.nn.functional.cross_entropy(out.logits.reshape(-1, VOCAB), _rows().reshape(-1))
    nll.backward()
    assert gen.manager_out.weight.grad is None or float(gen.manager_out.weight.grad.abs().sum()) == 0.0
    assert gen.worker_out.weight.grad is not None
    assert BOS_ID != PAD_ID


def test_window_rollouts_score_each_window_by_its_end_and_every_1_is_every_prefix() -> None:
    from textgen_eval.generators.discrete.rewards import rollout_rewards, window_rollout_rewards

    gen, disc = _nets()
    policy = HierarchicalDecoder(gen, disc)
    tokens = _rows()[1:4]  # (3, 8), no EOS

    def score(rows: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(disc.sequence_logits(rows)).double()

    with torch.no_grad():
        every1 = window_rollout_rewards(policy, score, tokens, n_rollouts=3, every=1,
                                        generator=torch.Generator().manual_seed(5))  # fmt: skip
        plain = rollout_rewards(
            policy, score, tokens, n_rollouts=3, generator=torch.Generator().manual_seed(5)
        )
        torch.testing.assert_close(every1, plain)
        windows = window_rollout_rewards(policy, score, tokens, n_rollouts=3, every=3,
                                         generator=torch.Generator().manual_seed(5))  # fmt: skip
    # windows end at prefixes 3 and 6; positions 0–2 share prefix 3's score, 3–5 prefix 6's, 6–7 D(y)
    for lo, hi in ((0, 3), (3, 6), (6, 8)):
        assert torch.equal(windows[:, lo:hi], windows[:, lo : lo + 1].expand(-1, hi - lo))
    torch.testing.assert_close(windows[:, 7], score(tokens))
