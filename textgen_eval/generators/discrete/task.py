"""Training of the discrete GANs as runner stages.

SeqGAN variants: ``pretrain-g`` (MLE, early-stopped, best weights restored; skipped with
``gan.init_from``) → ``pretrain-d`` (D on real vs generated batches) → ``adversarial`` (one
data-free REINFORCE update of G, then ``d_steps`` D updates). LeakGAN variants pretrain D first
(G's features include D's state, GENERATORS.md §6 proposal): ``pretrain-d`` → ``pretrain-g``
(MLE on frozen D features) → ``adversarial``. A stage with no update is left out.

Logged: ``mle`` updates ``loss``; D updates ``loss``, ``d_real`` and ``d_fake`` (mean probability
of real / generated batches) and, for the relaxed models with paired rows (RelGAN, GSGAN),
``d_real_above_fake`` (mean σ(D(x_r) − D(x_f)), what the relativistic loss trains); G updates
``loss``, ``reward`` (mean per-token reward), ``baseline``, ``sample_len``. Validation:
``valid_loss`` (G's NLL per token on the validation text) and D's mean probability of validation
sentences and of a fixed-seed generated batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from textgen_eval.core.training import (
    BaseTask,
    Cycle,
    OptimizerSettings,
    RunnerConfig,
    Stage,
    StepContext,
    Update,
)
from textgen_eval.data.batching import EncodedCorpus, iterate_batches, pad, sorted_batches
from textgen_eval.generators.discrete.config import GANConfig, GANTrainConfig, MaliGANConfig, RankGANConfig
from textgen_eval.generators.discrete.cot import balanced_nll
from textgen_eval.generators.discrete.gsgan import gsgan_d_loss
from textgen_eval.generators.discrete.guo import manager_rewards
from textgen_eval.generators.discrete.nets import (
    CNNDiscriminator,
    CNNRanker,
    GANPair,
    LMDiscriminator,
    RecurrentDiscriminator,
)
from textgen_eval.generators.discrete.relax import DStepScores
from textgen_eval.generators.discrete.relgan import relgan_d_loss, relgan_d_score
from textgen_eval.generators.discrete.rewards import (
    SequenceScorer,
    cosine_matrix,
    discounted_rewards,
    dpgan_rewards,
    maligan_weights,
    policy_gradient_loss,
    rank_log_scores,
    rank_scores,
    rollout_rewards,
    sequence_rewards,
    token_mask,
)
from textgen_eval.generators.discrete.textgan import textgan_d_loss, textgan_d_score
from textgen_eval.generators.text.frozen import evaluating, frozen
from textgen_eval.generators.text.sampler import Decoder, sample_tokens

if TYPE_CHECKING:
    from textgen_eval.generators.discrete.model import DiscreteGAN

PRETRAIN_G, PRETRAIN_D, ADVERSARIAL = "pretrain-g", "pretrain-d", "adversarial"


def _probability(logits: Tensor) -> Tensor:
    return torch.sigmoid(logits)


def _recurrent(task: DiscreteGANTask) -> RecurrentDiscriminator:
    disc = task.module.disc
    assert isinstance(disc, RecurrentDiscriminator), "this credit assignment reads a per-step real/fake D"
    return disc


def _sequence_d(task: DiscreteGANTask) -> RecurrentDiscriminator | CNNDiscriminator:
    disc = task.module.disc
    assert isinstance(disc, (RecurrentDiscriminator, CNNDiscriminator)), "this credit reads a real/fake D"
    return disc


def _language_model(task: DiscreteGANTask) -> LMDiscriminator:
    disc = task.module.disc
    assert isinstance(disc, LMDiscriminator), "DPGAN's credit reads a language-model D"
    return disc


def reinforce_credit(task: DiscreteGANTask, tokens: Tensor) -> Tensor:
    """Every token gets D(y) (per-sequence D)."""
    return sequence_rewards(_probability(_sequence_d(task).sequence_logits(tokens)), token_mask(tokens))


def step_credit(task: DiscreteGANTask, tokens: Tensor) -> Tensor:
    """R_t = γ·R_{t+1} + D(y_{1:t}) (per-step D)."""
    scores = _probability(_recurrent(task).step_logits(tokens))
    return discounted_rewards(scores, token_mask(tokens), task.gan.gamma)


def rollout_credit(task: DiscreteGANTask, tokens: Tensor) -> Tensor:
    """Mean D of ``gan.rollouts`` completions of every prefix, D(y) at the end (per-sequence D)."""
    disc = _sequence_d(task)
    return rollout_rewards(
        task.rollout_policy(),
        lambda rows: _probability(disc.sequence_logits(rows)),
        tokens,
        n_rollouts=task.gan.rollouts,
    )


def maligan_credit(task: DiscreteGANTask, tokens: Tensor) -> Tensor:
    """Every token of sample i gets r_i/Σ_j r_j − 1/m, r = D/(1 − D) (per-sequence D; MaliGAN)."""
    cfg: MaliGANConfig = task.model.configs["maligan"]
    logits = _sequence_d(task).sequence_logits(tokens)  # (m,)
    return sequence_rewards(maligan_weights(logits, cfg.eps, cfg.weight), token_mask(tokens))


def dpgan_credit(task: DiscreteGANTask, tokens: Tensor) -> Tensor:
    """R_t = Σ_{k ≥ t} γ^{k−t}·s·w_k with w_k = −log D_LM(y_k | y_<k) and s its sentence mean
    (DPGAN as TextGAN-PyTorch codes it; γ = ``gan.gamma``, 1 there)."""
    mask = token_mask(tokens)
    return discounted_rewards(
        dpgan_rewards(_language_model(task).token_nll(tokens), mask), mask, task.gan.gamma
    )


def _ranker(task: DiscreteGANTask) -> CNNRanker:
    disc = task.module.disc
    assert isinstance(disc, CNNRanker), "RankGAN's credit reads a ranker"
    return disc


def rank_scorer(task: DiscreteGANTask, key: tuple[int, ...]) -> SequenceScorer:
    """R(· | U, C⁺) with the ranker in eval mode: U (``rankgan.reference_size``) and the
    comparison set C⁺ (``rankgan.comparison_size``) are real training sentences drawn by ``key``,
    featurised once; each scored row is then one CNN pass and a cosine with U."""
    cfg: RankGANConfig = task.model.configs["rankgan"]
    ranker = _ranker(task)
    with evaluating(ranker):
        refs = ranker.features(task.real_rows(cfg.reference_size, key=(*key, 1)))  # (U, F)
        alpha_c = cosine_matrix(ranker.features(task.real_rows(cfg.comparison_size, key=(*key, 2))), refs)

    def score(rows: Tensor) -> Tensor:
        with evaluating(ranker):
            return rank_scores(cosine_matrix(ranker.features(rows), refs), alpha_c, cfg.gamma)

    return score


def rankgan_credit(task: DiscreteGANTask, tokens: Tensor) -> Tensor:
    """Mean rank score R(· | U, C⁺) of ``gan.rollouts`` completions of every prefix, R(y | U, C⁺)
    at the end (RankGAN: rollout credit with the ranker in D's place; U and C⁺ drawn per update)."""
    return rollout_rewards(
        task.rollout_policy(),
        rank_scorer(task, (task.update_step,)),
        tokens,
        n_rollouts=task.gan.rollouts,
    )


#: credit assignment by name: ``(task, sampled tokens (B, L)) → rewards (B, L)``
CREDIT: dict[str, Callable[[DiscreteGANTask, Tensor], Tensor]] = {
    "reinforce": reinforce_credit,
    "step": step_credit,
    "rollout": rollout_credit,
    "maligan": maligan_credit,
    "dpgan": dpgan_credit,
    "rankgan": rankgan_credit,
    "leakgan": manager_rewards,
}
#: D's step of the relaxed models by discriminator kind: (task, real rows) → loss and its scores
RELAXED_D_LOSS: dict[str, Callable[[DiscreteGANTask, Tensor], DStepScores]] = {
    "relaxed": relgan_d_loss,
    "soft-sequence": gsgan_d_loss,
    "features": textgan_d_loss,
}
#: the credit assignments that roll out completions (``gan.rollouts``, ``gan.rollout_lag``)
ROLLOUT_CREDITS = frozenset({"rollout", "rankgan", "leakgan"})
#: the discriminator each credit assignment trains: per-sequence, per-step or a language model
D_KIND = {
    "reinforce": "sequence",
    "step": "step",
    "rollout": "sequence",
    "maligan": "sequence",
    "dpgan": "lm",
    "rankgan": "rank",
    "leakgan": "sequence",
    "cot": "mediator",
    "relgan": "relaxed",
    "gsgan": "soft-sequence",
    "textgan": "features",
}


def discriminator_loss(task: DiscreteGANTask, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Binary cross-entropy of D on real (label 1) and generated (label 0) rows; a per-step D is
    trained at every non-pad position of both. Returns the loss and the mean D(real), D(fake).
    DPGAN's language-model D instead minimises mean s(fake) − mean s(real), s the sentence's mean
    per-token NLL (TextGAN-PyTorch's loss: generated text made likely, real text unlikely, so what
    the generator repeats stops being rewarded); its "D(real)", "D(fake)" are those mean NLLs.
    RankGAN's ranker: :func:`ranker_loss`."""
    if D_KIND[task.model.credit] == "rank":
        return ranker_loss(task, real, fake)
    if D_KIND[task.model.credit] == "mediator":  # CoT: the balanced NLL of the mixture ½(P + G)
        return balanced_nll(_language_model(task), real, fake)
    if D_KIND[task.model.credit] == "lm":
        lm = _language_model(task)
        s_real, s_fake = lm.sentence_nll(real), lm.sentence_nll(fake)
        return s_fake.mean() - s_real.mean(), s_real.mean(), s_fake.mean()
    if D_KIND[task.model.credit] == "sequence":
        seq = _sequence_d(task)
        lr, lf = seq.sequence_logits(real), seq.sequence_logits(fake)
        loss = F.binary_cross_entropy_with_logits(
            lr, torch.ones_like(lr)
        ) + F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf))
        return loss, _probability(lr).mean(), _probability(lf).mean()
    disc = _recurrent(task)
    lr, lf = disc.step_logits(real), disc.step_logits(fake)  # (B, L)
    mr, mf = token_mask(real), token_mask(fake)
    bce_r = F.binary_cross_entropy_with_logits(lr, torch.ones_like(lr), reduction="none")
    bce_f = F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf), reduction="none")
    loss = (bce_r * mr).sum() / mr.sum() + (bce_f * mf).sum() / mf.sum()
    return loss, (_probability(lr) * mr).sum() / mr.sum(), (_probability(lf) * mf).sum() / mf.sum()


def ranker_loss(task: DiscreteGANTask, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """−mean log R(x | U, C⁻) + mean log R(y | U, C⁺) over real rows x and generated rows y, with
    C⁻ = ``comparison_size`` fresh generated sentences and C⁺ = as many real ones, U =
    ``reference_size`` real sentences (Lin et al. 2017, the ranker's objective in the form
    Texygen and TextBox train: log R of generated text pushed down rather than log(1 − R) up).
    Returns the loss and the mean R(real | U, C⁻), R(fake | U, C⁺)."""
    cfg: RankGANConfig = task.model.configs["rankgan"]
    ranker, key = _ranker(task), (task.update_step,)
    with torch.no_grad():
        negatives = task.sample_rows(cfg.comparison_size)  # C⁻
    refs = ranker.features(task.real_rows(cfg.reference_size, key=(*key, 1)))  # (U, F)
    alpha_pos = cosine_matrix(ranker.features(task.real_rows(cfg.comparison_size, key=(*key, 2))), refs)
    alpha_neg = cosine_matrix(ranker.features(negatives), refs)
    log_real = rank_log_scores(cosine_matrix(ranker.features(real), refs), alpha_neg, cfg.gamma)
    log_fake = rank_log_scores(cosine_matrix(ranker.features(fake), refs), alpha_pos, cfg.gamma)
    loss = -log_real.mean() + log_fake.mean()
    return loss, log_real.exp().mean(), log_fake.exp().mean()


class DiscreteGANTask(BaseTask):
    """The generator ``module.gen`` (optimizers ``mle`` and ``gen``, never in the same stage) and
    the discriminator ``module.disc`` (optimizer ``disc``)."""

    def __init__(
        self,
        model: DiscreteGAN,
        train: EncodedCorpus,
        valid: EncodedCorpus | None,
        runner_config: RunnerConfig,
    ) -> None:
        self.model, self.train, self.valid, self.runner_config = model, train, valid, runner_config
        self.gan: GANConfig = model.configs["gan"]
        self.train_config: GANTrainConfig = model.configs["train"]
        # a fixed-length token-id corpus fixes the length of every sample (and rollout)
        self.max_len: int = model.max_sample_len(model.configs["model"].max_len)
        self.module: GANPair = model.build_module()
        self.device = torch.device("cpu")
        self._opts: dict[str, torch.optim.Optimizer] = {}
        self.baseline = 0.0
        self.lagged: dict[str, Tensor] = {}  # the rollout policy's weights when gan.rollout_lag > 0
        self._lagged_pair: GANPair | None = None  # the lagged generator beside the live D
        self.update_step = 0  # the runner's global step of the update in progress (draws of real sets)
        self.stage_step = 0  # its step within the stage (RelGAN's temperature schedule)

    def setup(self, device: torch.device) -> None:
        self.device = device
        self.module = self.model.build_module().to(device)
        self._lagged_pair = None
        self.model.initialise_generator(self.module)
        cfg = self.train_config
        gen, disc = self.module.gen.parameters, self.module.disc.parameters
        self._opts = {
            "mle": torch.optim.Adam(gen(), lr=cfg.mle_lr),
            "gen": torch.optim.Adam(gen(), lr=cfg.g_lr, betas=(cfg.g_beta1, 0.999)),
            "disc": torch.optim.Adam(disc(), lr=cfg.d_lr, betas=(cfg.d_beta1, 0.999)),
        }

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        return self._opts

    def stages(self) -> Sequence[Stage]:
        gan, clip = self.gan, OptimizerSettings(grad_clip=self.train_config.g_grad_clip)
        cap = self.runner_config.time_budget
        stages: dict[str, Stage] = {}
        if gan.pretrain_epochs > 0 and gan.init_from is None:
            stages[PRETRAIN_G] = Stage(
                PRETRAIN_G,
                Cycle((Update("mle"),)),
                optimizers={"mle": clip},
                max_epochs=gan.pretrain_epochs,
                time_budget=cap,
                monitor="valid_loss" if self.valid is not None else None,
                patience=1,
                restore_best=self.valid is not None,
            )
        if gan.pretrain_d_steps > 0:
            stages[PRETRAIN_D] = Stage(PRETRAIN_D, Cycle((Update("disc"),)), max_steps=gan.pretrain_d_steps)
        if gan.adversarial_steps > 0:
            mle = self.model.interleaved_mle_steps()
            per_g = 1 + gan.d_steps + mle
            updates = (Update("gen", 1, batch=False), Update("disc", gan.d_steps))
            # interleaved MLE batches step G's adversarial Adam: one optimizer per parameter and stage
            stages[ADVERSARIAL] = Stage(
                ADVERSARIAL,
                Cycle(updates + ((Update("gen", mle),) if mle else ())),
                optimizers={"gen": clip},
                max_steps=gan.adversarial_steps * per_g,
                time_budget=cap,
                eval_every=gan.eval_every * per_g,
            )
        order = self.model.stage_order
        out = [stages[name] for name in order if name in stages]
        if not out:
            raise ValueError(
                "no training stage: pretrain_epochs, pretrain_d_steps and adversarial_steps are all 0"
            )
        return out

    def batches_per_epoch(self, stage: str) -> int:
        return math.ceil(len(self.train) / self.train_config.batch_size)

    def num_data(self) -> int:
        return len(self.train)

    def train_batches(self, stage: str, epoch: int) -> Iterator[np.ndarray]:
        # MLE: length-bucketed like the LM; D: uniformly random real batches
        bucket = 50 if stage == PRETRAIN_G else 1
        return iterate_batches(
            self.train, self.train_config.batch_size, seed=self.runner_config.seed, epoch=epoch, bucket=bucket
        )

    # -- updates -------------------------------------------------------------------------------------

    def _sample(
        self, rows: int, *, keep_graph: bool = False, generator: torch.Generator | None = None
    ) -> Any:
        return sample_tokens(
            self.model.policy(self.module),
            rows,
            max_len=self.max_len,
            generator=generator,
            device=self.device,
            keep_graph=keep_graph,
        )

    def sample_rows(self, rows: int) -> Tensor:
        """``rows`` fresh samples of the live generator ``(rows, max_len)``, without a graph."""
        return self._sample(rows).tokens

    def real_rows(self, rows: int, *, key: tuple[int, ...]) -> Tensor:
        """``rows`` training sentences (ids without BOS, PAD after EOS) ``(rows, L)``, drawn
        uniformly by a generator seeded with the run's seed and ``key`` — so a resumed run draws
        the same ones (without replacement unless the corpus is smaller than ``rows``)."""
        rng = np.random.default_rng([self.runner_config.seed, *key])
        n = len(self.train)
        index = rng.choice(n, size=rows, replace=rows > n)
        return torch.from_numpy(pad([self.train.sequences[i] for i in index])[:, 1:]).to(self.device)

    def rollout_policy(self) -> Decoder:
        """The live generator, or its lagged copy (``gan.rollout_lag``)."""
        if not self.lagged:
            return self.model.policy(self.module)
        if self._lagged_pair is None:  # built once; its generator takes the lagged weights per update
            with torch.random.fork_rng(devices=[]):  # its throw-away initialisation draws no training noise
                gen = self.model.build_module().gen.to(self.device).eval()
            self._lagged_pair = GANPair(gen, self.module.disc)
        self._lagged_pair.gen.load_state_dict(self.lagged)
        return self.model.policy(self._lagged_pair)

    def _update_lagged(self, ctx: StepContext) -> None:
        lag = self.gan.rollout_lag
        if lag == 0.0 or self.model.credit not in ROLLOUT_CREDITS:
            return
        live = {k: v.detach().clone() for k, v in self.module.gen.state_dict().items()}
        if ctx.stage_step == 0 or not self.lagged:  # the first G update: the copy starts as G
            self.lagged = live
        else:  # θ' ← lag·θ' + (1 − lag)·θ, applied before the rollouts of this update
            self.lagged = {k: lag * self.lagged[k] + (1 - lag) * v for k, v in live.items()}

    def training_step(self, batch: np.ndarray | None, ctx: StepContext) -> Mapping[str, Tensor | float]:
        self.update_step, self.stage_step = ctx.step, ctx.stage_step
        if ctx.optimizer == "mle" or (ctx.optimizer == "gen" and batch is not None):  # MLE, or interleaved
            assert batch is not None
            return self.model.mle_loss(self.module, torch.from_numpy(batch).to(self.device))
        if ctx.optimizer == "disc":
            assert batch is not None
            real = torch.from_numpy(batch[:, 1:]).to(self.device)  # drop BOS
            relaxed = RELAXED_D_LOSS.get(D_KIND[self.model.credit])
            if relaxed is not None:  # RelGAN, GSGAN: D reads relaxed generated rows
                step = relaxed(self, real)
                logged = {"loss": step.loss, "d_real": step.d_real.detach(), "d_fake": step.d_fake.detach()}
                if step.real_above_fake is not None:  # the pairs' margin: what RSGAN trains
                    logged["d_real_above_fake"] = step.real_above_fake.detach()
                return logged
            with torch.no_grad():
                fake = self._sample(real.shape[0]).tokens
            loss, d_real, d_fake = discriminator_loss(self, real, fake)
            return {"loss": loss, "d_real": d_real.detach(), "d_fake": d_fake.detach()}
        self._update_lagged(ctx)
        own = self.model.adversarial_step(self)
        if own is not None:
            return own
        with frozen(self.module.disc):  # G's loss (and a leaking G's features) never reach D
            drawn = self._sample(self.train_config.batch_size, keep_graph=True)
        mask = token_mask(drawn.tokens)
        with torch.no_grad():
            rewards = CREDIT[self.model.credit](self, drawn.tokens)
        loss = policy_gradient_loss(drawn.logprobs, rewards, mask, self.baseline)
        mean_reward = float((rewards.sum() / mask.sum()).detach())
        out: dict[str, Tensor | float] = {
            "loss": loss,
            "reward": mean_reward,
            "baseline": self.baseline,
            "sample_len": float(mask.sum(dim=1).mean()),
        }
        if self.gan.baseline == "moving-average":  # updated after use: b never depends on this sample
            decay = self.gan.baseline_decay
            self.baseline = decay * self.baseline + (1 - decay) * mean_reward
        return out

    # -- validation ----------------------------------------------------------------------------------

    @torch.no_grad()
    def validate(self, stage: str) -> Mapping[str, float]:
        if self.valid is None:
            return {}
        total, count = 0.0, 0
        d_real = []
        for _, batch in sorted_batches(self.valid.sequences, self.train_config.eval_batch_size):
            ids = torch.from_numpy(batch).to(self.device)
            nll, n = self.model.token_nll(self.module, ids)
            total, count = total + float(nll.double().sum()), count + int(n.sum())
            d_real.append(self.d_score(ids[:, 1:]))
        g = torch.Generator(device=self.device).manual_seed(self.runner_config.seed * 7919 + 29)
        fake = self._sample(self.train_config.eval_batch_size, generator=g).tokens
        loss = total / count
        return {
            "valid_loss": loss,
            "valid_ppl": math.exp(min(loss, 700.0)),
            "valid_d_real": float(torch.cat(d_real).mean()),
            "valid_d_fake": float(self.d_score(fake).mean()),
        }

    def d_score(self, tokens: Tensor) -> Tensor:
        """D's per-sentence score ``(B,)`` as validation logs it: the probability of being real,
        or, for DPGAN's language-model D, its mean per-token NLL, or, for RankGAN's ranker, the
        rank score R(s | U, C⁺) against real sets drawn by a fixed key (comparable across
        validations)."""
        if D_KIND[self.model.credit] == "rank":
            return rank_scorer(self, (2**31,))(tokens)
        if D_KIND[self.model.credit] == "relaxed":
            return relgan_d_score(self, tokens)
        if D_KIND[self.model.credit] == "features":  # TextGAN: its CNN's real/fake head
            return textgan_d_score(self, tokens)
        if D_KIND[self.model.credit] == "soft-sequence":  # GSGAN: its recurrent D on hard rows
            return _probability(_recurrent(self).sequence_logits(tokens))
        if D_KIND[self.model.credit] in ("lm", "mediator"):
            return _language_model(self).sentence_nll(tokens)
        return _probability(_sequence_d(self).sequence_logits(tokens))

    def extra_state(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "lagged": dict(self.lagged)}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.baseline = float(state.get("baseline", 0.0))
        self.lagged = {k: v.to(self.device) for k, v in dict(state.get("lagged", {})).items()}
