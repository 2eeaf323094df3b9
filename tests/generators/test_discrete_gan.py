"""Discrete text GANs (Semeniuta 2019 §5.4.2; GENERATORS.md §5–6, §9): REINFORCE, discounted
per-step and rollout credit checked against exact enumeration on a 2-step, 3-token toy; rewards
that stay with their own sample; causality; the wiring rules (g_lr = 0 keeps the pretrained LM,
a generator step leaves D untouched); the LeakGAN decoder against its teacher-forced likelihood."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch
from torch import Tensor

from tests.conftest import coco_lines
from textgen_eval.core.errors import ConfigError
from textgen_eval.core.training import RunnerConfig, StepContext
from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID
from textgen_eval.generators.discrete.config import (
    CNNConfig,
    CoTConfig,
    DiscriminatorConfig,
    GANConfig,
    GANGeneratorConfig,
    GANTrainConfig,
    GSGANConfig,
    GuoLeakGANConfig,
    LeakGeneratorConfig,
    MaliGANConfig,
    MediatorConfig,
    MultiRepConfig,
    RankGANConfig,
    RelGANConfig,
    RelGANGeneratorConfig,
    RelGANStagesConfig,
    TextGANConfig,
)
from textgen_eval.generators.discrete.model import (
    DPGAN,
    GSGAN,
    CoT,
    DiscreteGAN,
    GuoLeakGAN,
    LeakGANLeak,
    LeakGANMixed,
    LeakGANNoLeak,
    MaliGAN,
    RankGAN,
    RelGAN,
    SeqGANReinforce,
    SeqGANRollout,
    SeqGANStep,
    TextGAN,
)
from textgen_eval.generators.discrete.nets import LeakNet, RecurrentDiscriminator, d_states_before
from textgen_eval.generators.discrete.rewards import (
    discounted_rewards,
    policy_gradient_loss,
    rollout_rewards,
    sequence_rewards,
)
from textgen_eval.generators.discrete.task import DiscreteGANTask
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
from textgen_eval.generators.lstm_lm.model import LSTMLanguageModel
from textgen_eval.generators.text.sampler import sample_tokens
from textgen_eval.testing import GeneratorContract
from textgen_eval.training import Runner

TEXTS = [s for s in coco_lines("train")[:200] if s]

# -- the toy: y₁ ~ softmax(a), y₂ | y₁ ~ softmax(B[y₁]), three tokens, nine sequences ----------------

A = torch.tensor([0.3, -0.5, 0.1], dtype=torch.float64)
B = torch.tensor([[0.2, 1.0, -0.4], [-0.7, 0.0, 0.5], [0.9, -0.3, 0.1]], dtype=torch.float64)
REWARD = torch.tensor([[0.9, 0.1, 0.4], [0.2, 0.8, 0.3], [0.6, 0.05, 0.7]], dtype=torch.float64)  # D(y)
D1 = torch.tensor([0.3, 0.8, 0.5], dtype=torch.float64)  # per-step D(y₁)
SEQS = list(itertools.product(range(3), range(3)))


def _params() -> tuple[Tensor, Tensor]:
    return A.clone().requires_grad_(True), B.clone().requires_grad_(True)


def _enumerated(weight) -> tuple[Tensor, Tensor]:
    """∇ of Σ_y p(y)·weight(y, log p(y₁), log p(y₂|y₁)) by exact enumeration."""
    a, b = _params()
    total = torch.zeros((), dtype=torch.float64)
    for y1, y2 in SEQS:
        lp1, lp2 = torch.log_softmax(a, 0)[y1], torch.log_softmax(b[y1], 0)[y2]
        total = total + weight(y1, y2, lp1, lp2)
    ga, gb = torch.autograd.grad(total, (a, b))
    return ga, gb


def _estimates(
    rewards_of, baseline: float = 0.0, n: int = 200_000, chunks: int = 50
) -> tuple[Tensor, Tensor]:
    """Mean and standard error over ``chunks`` of the REINFORCE estimate −∇loss (a, B flattened)."""
    g = torch.Generator().manual_seed(0)
    per_chunk = []
    for _ in range(chunks):
        a, b = _params()
        m = n // chunks
        y1 = torch.multinomial(torch.softmax(a, 0).detach().expand(m, 3), 1, generator=g).squeeze(1)
        y2 = torch.multinomial(torch.softmax(b, 1).detach()[y1], 1, generator=g).squeeze(1)
        logp = torch.stack([torch.log_softmax(a, 0)[y1], torch.log_softmax(b, 1)[y1, y2]], dim=1)  # (m, 2)
        mask = torch.ones(m, 2, dtype=torch.float64)
        loss = policy_gradient_loss(logp, rewards_of(y1, y2, mask), mask, baseline)
        ga, gb = torch.autograd.grad(-loss, (a, b))
        per_chunk.append(torch.cat([ga.flatten(), gb.flatten()]))
    stacked = torch.stack(per_chunk)
    return stacked.mean(0), stacked.std(0) / math.sqrt(chunks)


def _within_4_se(exact: tuple[Tensor, Tensor], mean: Tensor, se: Tensor) -> None:
    target = torch.cat([exact[0].flatten(), exact[1].flatten()])
    z = ((mean - target).abs() / se).max()
    assert float(z) < 4.0, f"max |estimate − enumerated| = {float(z):.2f} standard errors"


def _sequence_credit(y1: Tensor, y2: Tensor, mask: Tensor) -> Tensor:
    return sequence_rewards(REWARD[y1, y2], mask)


@pytest.mark.parametrize("baseline", [0.0, 0.7])
def test_reinforce_is_unbiased_with_and_without_a_baseline(baseline: float) -> None:
    exact = _enumerated(lambda y1, y2, lp1, lp2: (lp1 + lp2).exp() * REWARD[y1, y2])
    mean, se = _estimates(_sequence_credit, baseline)
    _within_4_se(exact, mean, se)


def test_a_baseline_near_the_mean_reward_lowers_the_variance() -> None:
    expected = sum(float(torch.softmax(A, 0)[i] * torch.softmax(B[i], 0)[j] * REWARD[i, j]) for i, j in SEQS)
    _, se_none = _estimates(_sequence_credit, 0.0)
    _, se_mean = _estimates(_sequence_credit, expected)
    assert float(se_mean.sum()) < 0.8 * float(se_none.sum())


def _step_credit(gamma: float):
    def credit(y1: Tensor, y2: Tensor, mask: Tensor) -> Tensor:
        return discounted_rewards(torch.stack([D1[y1], REWARD[y1, y2]], dim=1), mask, gamma)

    return credit


def test_step_rewards_with_gamma_one_give_the_gradient_of_the_summed_step_scores() -> None:
    exact = _enumerated(lambda y1, y2, lp1, lp2: (lp1 + lp2).exp() * (D1[y1] + REWARD[y1, y2]))
    mean, se = _estimates(_step_credit(1.0))
    _within_4_se(exact, mean, se)


def test_step_rewards_with_gamma_below_one_match_the_enumerated_discounted_estimator() -> None:
    gamma = 0.6

    def weight(y1, y2, lp1, lp2):
        p = (lp1 + lp2).exp().detach()
        return p * (lp1 * (D1[y1] + gamma * REWARD[y1, y2]) + lp2 * REWARD[y1, y2])

    mean, se = _estimates(_step_credit(gamma))
    _within_4_se(_enumerated(weight), mean, se)


def test_discounted_rewards_follow_the_recursion_and_stop_at_pad() -> None:
    scores = torch.tensor([[0.5, 0.2, 0.9, 0.4]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    r = discounted_rewards(scores, mask, 0.5)
    assert torch.allclose(r, torch.tensor([[0.5 + 0.5 * (0.2 + 0.5 * 0.9), 0.2 + 0.5 * 0.9, 0.9, 0.0]]))


class ToyDecoder:
    """The toy as the shared sampler's decoder over ids 4, 5, 6, then EOS."""

    def step(self, tokens: Tensor, state: int | None) -> tuple[Tensor, int]:
        position = 0 if state is None else state
        logits = torch.full((tokens.shape[0], 7), -math.inf, dtype=torch.float64)
        if position == 0:
            logits[:, 4:] = A
        elif position == 1:
            logits[:, 4:] = B[(tokens - 4).clamp(0, 2)]
        else:
            logits[:, EOS_ID] = 0.0
        return logits, position + 1


def _toy_score(rows: Tensor) -> Tensor:
    return REWARD[rows[:, 0] - 4, rows[:, 1] - 4].float()


class BranchingToyDecoder:
    """The same toy with a per-row state (its position), so rollouts branch from prefix states."""

    state_batch_dim = 0

    def step(self, tokens: Tensor, state: Tensor | None) -> tuple[Tensor, Tensor]:
        position = torch.zeros_like(tokens) if state is None else state
        logits = torch.full((tokens.shape[0], 7), -math.inf, dtype=torch.float64)
        first, second, last = position == 0, position == 1, position >= 2
        logits[first, 4:] = A
        logits[second, 4:] = B[(tokens[second] - 4).clamp(0, 2)]
        logits[last, EOS_ID] = 0.0
        return logits, position + 1


@pytest.mark.parametrize("decoder", [ToyDecoder(), BranchingToyDecoder()], ids=["re-read", "branching"])
def test_rollout_rewards_converge_to_the_conditional_expectation_and_end_with_d_of_y(decoder) -> None:
    tokens = torch.tensor([[4, 5, EOS_ID], [5, 6, EOS_ID], [6, 4, EOS_ID]])
    n = 20_000
    rewards = rollout_rewards(
        decoder, _toy_score, tokens, n_rollouts=n, generator=torch.Generator().manual_seed(1)
    )
    for row, (y1, y2) in enumerate([(0, 1), (1, 2), (2, 0)]):
        p2 = torch.softmax(B[y1], 0)
        expected = float((p2 * REWARD[y1]).sum())
        sd = float(((p2 * (REWARD[y1] - expected) ** 2).sum()).sqrt())
        assert abs(float(rewards[row, 0]) - expected) < 4 * sd / math.sqrt(n)
        assert float(rewards[row, 1]) == pytest.approx(
            float(REWARD[y1, y2]), abs=1e-6
        )  # the prefix ends in EOS
        assert float(rewards[row, 2]) == pytest.approx(float(REWARD[y1, y2]), abs=1e-6)  # t = T: D(y) itself


class AnyTokenDecoder:
    def step(self, tokens: Tensor, state: None) -> tuple[Tensor, None]:
        logits = torch.zeros(tokens.shape[0], 40)
        logits[:, EOS_ID] = -math.inf
        return logits, None


class BranchingAnyTokenDecoder(AnyTokenDecoder):
    state_batch_dim = 0

    def step(self, tokens: Tensor, state: Tensor | None) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        logits, _ = super().step(tokens, None)
        return logits, tokens.clone()  # a per-row state, so rows can be selected


@pytest.mark.parametrize(
    "decoder", [AnyTokenDecoder(), BranchingAnyTokenDecoder()], ids=["re-read", "branching"]
)
def test_every_sample_gets_its_own_rollout_reward(decoder) -> None:
    """A D that returns the sample's index (coded in its first token) must reward sample b with b."""
    batch, length = 12, 5
    tokens = torch.randint(20, 40, (batch, length))
    tokens[:, 0] = 4 + torch.arange(batch)
    rewards = rollout_rewards(
        decoder, lambda rows: (rows[:, 0] - 4).float(), tokens, n_rollouts=3, generator=torch.Generator()
    )
    assert torch.equal(rewards, torch.arange(batch).float().unsqueeze(1).expand(batch, length))


def test_branching_rollouts_draw_exactly_what_re_reading_each_prefix_draws() -> None:
    """With the same table of uniforms, completions branched from prefix states equal those of
    the sampler re-reading every prefix (LSTM LM and LeakGAN decoders; sentences with and
    without EOS inside the prefix)."""
    from textgen_eval.generators.discrete.nets import LeakDecoder
    from textgen_eval.generators.lstm_lm.model import LMNet
    from textgen_eval.generators.text.sampler import rollouts

    class ReRead:  # hides state_batch_dim: the generic path
        def __init__(self, inner) -> None:
            self.inner = inner

        def step(self, tokens, state):
            return self.inner.step(tokens, state)

    torch.manual_seed(0)
    lm = LMNet(LSTMLMConfig(emb_dim=6, hidden_size=8), 20).eval()
    net, disc = _leak("mixed")
    tokens = torch.tensor(
        [[5, 6, EOS_ID, PAD_ID, PAD_ID, PAD_ID], [7, 8, 9, 10, 11, 12], [13, EOS_ID] + [PAD_ID] * 4]
    )
    for decoder in (lm, LeakDecoder(net.eval(), disc.eval())):
        uniforms = torch.rand(3, 5, 4, 9, generator=torch.Generator().manual_seed(3))
        branched = rollouts(decoder, tokens, n_rollouts=4, max_len=9, uniforms=uniforms)
        reread = rollouts(ReRead(decoder), tokens, n_rollouts=4, max_len=9, uniforms=uniforms)
        assert torch.equal(branched, reread)
        assert torch.equal(branched[0, 2, :, :3], tokens[0, :3].expand(4, 3))  # complete prefix kept as is
        assert bool((branched[0, 2, :, 3:] == PAD_ID).all())


# -- networks ------------------------------------------------------------------------------------------


def test_the_per_step_discriminator_is_causal_and_reads_the_sequence_at_its_end() -> None:
    torch.manual_seed(0)
    disc = RecurrentDiscriminator(DiscriminatorConfig(emb_dim=4, hidden_size=6), 20)
    a = torch.tensor([[5, 6, 7, 8, EOS_ID, PAD_ID]])
    b = torch.tensor([[5, 6, 9, 10, 11, EOS_ID]])
    la, lb = disc.step_logits(a), disc.step_logits(b)
    assert torch.equal(la[:, :2], lb[:, :2]) and not torch.equal(la[:, 2], lb[:, 2])
    assert torch.equal(disc.sequence_logits(a), la[:, 4]) and torch.equal(disc.sequence_logits(b), lb[:, 5])


def _leak(mode: str) -> tuple[LeakNet, RecurrentDiscriminator]:
    torch.manual_seed(1)
    disc = RecurrentDiscriminator(DiscriminatorConfig(emb_dim=4, hidden_size=6), 20)
    return LeakNet(LeakGeneratorConfig(emb_dim=4, hidden_size=5, mlp_width=7), 20, mode, 6), disc


@pytest.mark.parametrize("mode", ["leak", "noleak", "mixed"])
def test_the_leakgan_generator_is_causal(mode: str) -> None:
    net, disc = _leak(mode)
    a = torch.tensor([[BOS_ID, 5, 6, 7, 8]])
    b = torch.tensor([[BOS_ID, 5, 6, 9, 10]])
    la, _ = net.logits(a, d_states_before(disc, a))
    lb, _ = net.logits(b, d_states_before(disc, b))
    # position t reads inputs ≤ t (G's LSTM and D's state after y_1:t alike); they differ from t = 3
    assert torch.equal(la[:, :3], lb[:, :3]) and not torch.equal(la[:, 3], lb[:, 3])


def test_leak_gives_the_same_distribution_after_prefixes_with_the_same_d_state() -> None:
    results = {}
    for mode in ("leak", "noleak"):
        net, disc = _leak(mode)
        with torch.no_grad():
            disc.embedding.weight[9] = disc.embedding.weight[7]  # D cannot tell token 9 from 7
        a = torch.tensor([[BOS_ID, 5, 7, 6]])
        b = torch.tensor([[BOS_ID, 5, 9, 6]])
        la, _ = net.logits(a, d_states_before(disc, a))
        lb, _ = net.logits(b, d_states_before(disc, b))
        results[mode] = torch.allclose(la[:, 3], lb[:, 3])
    assert results == {"leak": True, "noleak": False}  # noleak's own LSTM sees the difference


@pytest.mark.parametrize("mode", ["leak", "noleak", "mixed"])
def test_leakgan_sampling_log_probabilities_equal_the_teacher_forced_ones(mode: str) -> None:
    """The step-by-step decoder (D reading one token at a time) and the teacher-forced pass (D over
    the whole prefix) give the same conditionals (the sampler excludes PAD and BOS, so here too)."""
    from textgen_eval.generators.discrete.nets import LeakDecoder

    net, disc = _leak(mode)
    drawn = sample_tokens(LeakDecoder(net, disc), 6, max_len=8, generator=torch.Generator().manual_seed(2))
    inputs = torch.cat([torch.full((6, 1), BOS_ID), drawn.tokens[:, :-1]], dim=1)  # (6, 8)
    logits, _ = net.logits(inputs, d_states_before(disc, inputs))
    logits = logits.index_fill(2, torch.tensor([PAD_ID, BOS_ID]), -math.inf)
    logp = torch.log_softmax(logits, dim=-1).gather(2, drawn.tokens.clamp(min=2).unsqueeze(2)).squeeze(2)
    mask = drawn.tokens != PAD_ID
    assert torch.allclose((logp * mask).sum(1), drawn.logprobs.sum(1), atol=1e-5)


# -- the models ----------------------------------------------------------------------------------------


def _configs(model: object, **gan: object) -> dict[str, object]:
    defaults = {"pretrain_epochs": 1, "pretrain_d_steps": 2, "adversarial_steps": 2, "d_steps": 2,
                "rollouts": 2, "eval_every": 1}  # fmt: skip
    return {
        "model": model,
        "discriminator": DiscriminatorConfig(emb_dim=6, hidden_size=8),
        "train": GANTrainConfig(batch_size=8, g_lr=1e-3, d_lr=1e-3),
        "gan": GANConfig(**{**defaults, **gan}),  # type: ignore[arg-type]
    }


def _seqgan_cfg() -> GANGeneratorConfig:
    return GANGeneratorConfig(emb_dim=6, hidden_size=8, max_len=12, max_vocab=60)


def _leak_cfg() -> LeakGeneratorConfig:
    return LeakGeneratorConfig(emb_dim=6, hidden_size=8, max_len=12, max_vocab=60)


TINY = {
    "seqgan-reinforce": lambda: SeqGANReinforce(_configs(_seqgan_cfg())),
    "seqgan-step": lambda: SeqGANStep(_configs(_seqgan_cfg())),
    "seqgan-rollout": lambda: SeqGANRollout(_configs(_seqgan_cfg())),
    "leakgan-leak": lambda: LeakGANLeak(_configs(_leak_cfg())),
    "leakgan-noleak": lambda: LeakGANNoLeak(_configs(_leak_cfg())),
    "leakgan-mixed": lambda: LeakGANMixed(_configs(_leak_cfg())),
    "maligan": lambda: MaliGAN({**_configs(_seqgan_cfg()), "maligan": MaliGANConfig()}),
    "dpgan": lambda: DPGAN(_configs(_seqgan_cfg())),
    "rankgan": lambda: RankGAN(
        {
            **_configs(_seqgan_cfg()),
            "discriminator": CNNConfig(emb_dim=6, filter_sizes=(2, 3), num_filters=(5, 7)),
            "rankgan": RankGANConfig(reference_size=4, comparison_size=6),
        }
    ),
    "leakgan": lambda: GuoLeakGAN(
        {
            **_configs(_seqgan_cfg()),
            "discriminator": CNNConfig(emb_dim=6, filter_sizes=(1, 2, 3), num_filters=(4, 5, 6)),
            "leakgan": GuoLeakGANConfig(horizon=3, goal_size=4),
        }
    ),
    "relgan": lambda: RelGAN(
        {
            "model": RelGANGeneratorConfig(emb_dim=6, head_size=4, max_len=12, max_vocab=60),
            "discriminator": MultiRepConfig(emb_dim=8, num_rep=4, filter_sizes=(2, 3), num_filters=(4, 5)),
            "train": GANTrainConfig(batch_size=8, g_lr=1e-3, d_lr=1e-3),
            "gan": RelGANStagesConfig(pretrain_epochs=1, adversarial_steps=2, d_steps=2, eval_every=1),
            "relgan": RelGANConfig(beta_horizon=10),
        }
    ),
    "gsgan": lambda: GSGAN({**_configs(_seqgan_cfg()), "gsgan": GSGANConfig(beta_horizon=10)}),
    "textgan": lambda: TextGAN(
        {
            **_configs(_seqgan_cfg()),
            "discriminator": CNNConfig(emb_dim=6, filter_sizes=(2, 3), num_filters=(4, 5)),
            "textgan": TextGANConfig(z_dim=4, likelihood_samples=2),
        }
    ),
    "cot": lambda: CoT(
        {
            "model": _seqgan_cfg(),
            "mediator": MediatorConfig(),
            "train": GANTrainConfig(batch_size=8, g_lr=1e-3, d_lr=1e-3),
            "gan": CoTConfig(adversarial_steps=2, eval_every=1),
        }
    ),
}


def _task(model: DiscreteGAN) -> DiscreteGANTask:
    train, valid = model.prepare_corpora(TEXTS, TEXTS[:20])
    task = DiscreteGANTask(model, train, valid, RunnerConfig(device="cpu", seed=0))
    task.setup(torch.device("cpu"))
    return task


@pytest.mark.parametrize("name", sorted(TINY))
def test_a_generator_step_leaves_the_discriminator_untouched_and_without_gradients(name: str) -> None:
    task = _task(TINY[name]())
    before = {k: v.clone() for k, v in task.module.disc.state_dict().items()}
    loss = task.training_step(None, StepContext("adversarial", "gen", 0, 0, 0, 0, None, None))["loss"]
    loss.backward()  # type: ignore[union-attr]
    task.optimizers()["gen"].step()
    assert all(p.grad is None for p in task.module.disc.parameters())
    assert all(torch.equal(v, task.module.disc.state_dict()[k]) for k, v in before.items())
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in task.module.gen.parameters())


def test_stage_orders() -> None:
    assert [s.name for s in _task(TINY["seqgan-step"]()).stages()] == [
        "pretrain-g",
        "pretrain-d",
        "adversarial",
    ]
    assert [s.name for s in _task(TINY["leakgan-mixed"]()).stages()] == [
        "pretrain-d",
        "pretrain-g",
        "adversarial",
    ]
    skipped = SeqGANReinforce(_configs(_seqgan_cfg(), pretrain_epochs=0, pretrain_d_steps=0))
    assert [s.name for s in _task(skipped).stages()] == ["adversarial"]


def test_leakgan_refuses_an_lm_initialisation() -> None:
    with pytest.raises(ConfigError, match=r"gan\.init_from loads an lstm-lm"):
        LeakGANLeak(_configs(_leak_cfg(), init_from="runs/lm"))


@pytest.fixture(scope="module")
def saved_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lm = LSTMLanguageModel(
        {"model": LSTMLMConfig(emb_dim=6, hidden_size=8, max_len=12), "train": TrainConfig(batch_size=8)}
    )
    lm.fit(TEXTS, TEXTS[:20], Runner(RunnerConfig(device="cpu", max_epochs=1, seed=3)))
    return lm.save(tmp_path_factory.mktemp("lm") / "model")


@pytest.mark.parametrize("cls", [SeqGANReinforce, SeqGANRollout])
def test_g_lr_zero_reproduces_the_pretrained_lm_exactly(cls: type[DiscreteGAN], saved_lm: Path) -> None:
    from textgen_eval.core.models import load_model

    lm = load_model(saved_lm)
    assert isinstance(lm, LSTMLanguageModel)
    gan = cls(_configs(_seqgan_cfg(), init_from=str(saved_lm), adversarial_steps=3))
    gan.configs["train"] = GANTrainConfig(batch_size=8, g_lr=0.0, d_lr=1e-3)
    result = gan.fit(TEXTS, TEXTS[:20], Runner(RunnerConfig(device="cpu", seed=5)))
    assert [s.name for s in result.stages] == ["pretrain-d", "adversarial"]
    lm_state, gen_state = lm.state_dict(), gan.state_dict()
    assert all(torch.equal(v, gen_state[f"gen.{k}"]) for k, v in lm_state.items())
    assert gan.sample(20, seed=9) == lm.sample(20, seed=9)
    assert (gan.score_texts(TEXTS[:5]).nll == lm.score_texts(TEXTS[:5]).nll).all()


def test_a_positive_g_lr_moves_the_generator_away_from_the_lm(saved_lm: Path) -> None:
    gan = SeqGANReinforce(_configs(_seqgan_cfg(), init_from=str(saved_lm), adversarial_steps=3))
    gan.fit(TEXTS, TEXTS[:20], Runner(RunnerConfig(device="cpu", seed=5)))
    from textgen_eval.core.models import load_model

    lm_state = load_model(saved_lm).state_dict()
    assert any(not torch.equal(v, gan.state_dict()[f"gen.{k}"]) for k, v in lm_state.items())


def test_the_moving_average_baseline_is_checkpointed_and_recorded(tmp_path: Path) -> None:
    model = SeqGANReinforce(_configs(_seqgan_cfg(), baseline="moving-average", baseline_decay=0.5))
    task = _task(model)
    ctx = StepContext("adversarial", "gen", 0, 0, 0, 0, None, None)
    first = task.training_step(None, ctx)
    assert first["baseline"] == 0.0 and task.baseline == pytest.approx(0.5 * float(first["reward"]))
    assert task.extra_state()["baseline"] == task.baseline


def test_a_lagged_rollout_policy_starts_as_g_and_then_follows_it_by_a_moving_average() -> None:
    model = SeqGANRollout(_configs(_seqgan_cfg(), rollout_lag=0.8))
    task = _task(model)
    first = StepContext("adversarial", "gen", 0, 0, 0, 0, None, None)
    task.training_step(None, first)["loss"].backward()  # type: ignore[union-attr]
    start = {k: v.clone() for k, v in task.module.gen.state_dict().items()}
    assert all(torch.equal(task.lagged[k], v) for k, v in start.items())
    task.optimizers()["gen"].step()
    live = {k: v.clone() for k, v in task.module.gen.state_dict().items()}
    task.training_step(None, StepContext("adversarial", "gen", 2, 2, 0, 0, None, None))
    for key, value in live.items():
        assert torch.allclose(task.lagged[key], 0.8 * start[key] + 0.2 * value)
    assert set(task.extra_state()["lagged"]) == set(live)


class TestLaggedRolloutsWithABaselineThroughTheShippedContractClass(GeneratorContract):
    """Resume in every stage restores the lagged policy and the baseline (extra task state)."""

    def make_generator(self) -> SeqGANRollout:
        return SeqGANRollout(_configs(_seqgan_cfg(), rollout_lag=0.5, baseline="moving-average"))


def test_step_credit_scores_a_token_by_its_prefix_only() -> None:
    """With γ = 0, SeqGAN-step's reward R_t is the per-step score D(y_1:t): it must not change when
    tokens after t change (with γ > 0, R_t adds later scores by definition)."""
    from textgen_eval.generators.discrete.task import step_credit

    task = _task(SeqGANStep(_configs(_seqgan_cfg(), gamma=0.0)))
    a = torch.tensor([[5, 6, 7, 8, EOS_ID]])
    b = torch.tensor([[5, 6, 9, 10, EOS_ID]])
    with torch.no_grad():
        ra, rb = step_credit(task, a), step_credit(task, b)
    assert torch.equal(ra[:, :2], rb[:, :2]) and not torch.equal(ra[:, 2], rb[:, 2])
