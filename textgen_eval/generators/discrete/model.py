"""The six discrete GANs of Semeniuta 2019 Table 5.4 (§5.4.2, Fig. 5.4), and the peers' MaliGAN,
DPGAN and RankGAN.

SeqGAN (Yu et al. 2017) with three credit assignments — ``seqgan-reinforce`` (D(y) for every
token), ``seqgan-step`` (discounted per-step D), ``seqgan-rollout`` (Monte-Carlo completions) —
and the thesis' LeakGAN (not Guo et al.'s hierarchical Manager/Worker model): the generator's
next-token distribution is an MLP over D's state (``leakgan-leak``), its own LSTM state
(``leakgan-noleak``) or both (``leakgan-mixed``), with per-step rewards. A variant is a name, a
credit assignment and a generator; everything else is shared.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.memory import WorkingSet, logits_rows
from textgen_eval.core.protocols import TokenScores
from textgen_eval.core.space import SearchSpace
from textgen_eval.core.training import TaskRunner, TrainResult
from textgen_eval.data.vocab import PAD_ID, Vocab
from textgen_eval.generators.discrete.config import (
    CNNConfig,
    CoTConfig,
    CoTTrainConfig,
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
    RelGANTrainConfig,
    TextGANConfig,
)
from textgen_eval.generators.discrete.cot import cot_generator_step
from textgen_eval.generators.discrete.gsgan import gsgan_generator_step
from textgen_eval.generators.discrete.guo import (
    hierarchy_mle_loss,
    hierarchy_token_nll,
    leakgan_generator_step,
)
from textgen_eval.generators.discrete.hierarchy import HierarchicalDecoder, HierarchicalGenerator
from textgen_eval.generators.discrete.nets import (
    CNNDiscriminator,
    CNNRanker,
    GANPair,
    LeakDecoder,
    LeakNet,
    LMDiscriminator,
    RecurrentDiscriminator,
    leak_token_nll,
)
from textgen_eval.generators.discrete.relgan import relgan_generator_step
from textgen_eval.generators.discrete.relnets import MultiRepDiscriminator, RelGANNet
from textgen_eval.generators.discrete.space import (
    COT_SPACE,
    DPGAN_SPACE,
    GSGAN_SPACE,
    GUO_LEAKGAN_SPACE,
    LEAKGAN_SPACE,
    MALIGAN_SPACE,
    RANKGAN_SPACE,
    RELGAN_SPACE,
    ROLLOUT_SPACE,
    SEQGAN_SPACE,
    SEQGAN_STEP_SPACE,
    TEXTGAN_SPACE,
)
from textgen_eval.generators.discrete.task import ADVERSARIAL, PRETRAIN_D, PRETRAIN_G, DiscreteGANTask
from textgen_eval.generators.discrete.textgan import (
    FeatureDiscriminator,
    LatentDecoder,
    TextGANNet,
    conditional_nll,
    marginal_nll,
    textgan_generator_step,
)
from textgen_eval.generators.lstm_lm.model import LMNet, sequence_cross_entropy, token_nll
from textgen_eval.generators.lstm_lm.pretrained import PretrainedLM, init_decoder, load_pretrained_lm
from textgen_eval.generators.text.generator import AutoregressiveGenerator, load_weights
from textgen_eval.generators.text.sampler import Decoder
from textgen_eval.generators.text.scoring import exact_token_scores


class DiscreteGAN(AutoregressiveGenerator):
    """Shared by the six variants: stages, sampling, exact likelihood, persistence."""

    #: ``reinforce``, ``step`` or ``rollout`` (``textgen_eval.generators.discrete.task.CREDIT``)
    credit: ClassVar[str]
    #: the order of the stages (a stage with no update is left out)
    stage_order: ClassVar[tuple[str, ...]] = (PRETRAIN_G, PRETRAIN_D, ADVERSARIAL)
    #: trains and samples on synthetic-oracle bundles (fixed-length token ids)
    supports_fixed_length = True
    generator_optimizers = frozenset({"mle", "gen"})

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs, vocab=vocab)
        self.net: GANPair | None = None
        self._pretrained: PretrainedLM | None = None

    @abstractmethod
    def build_generator(self, vocab_size: int) -> nn.Module:
        """The generator network for ``vocab_size`` tokens."""

    @abstractmethod
    def policy(self, pair: GANPair) -> Decoder:
        """The generator of ``pair`` as the shared sampler's one-step decoder."""

    @abstractmethod
    def token_nll(self, pair: GANPair, batch: Tensor) -> tuple[Tensor, Tensor]:
        """Summed NLL per sentence and predicted tokens of a ``[BOS] ids [EOS]`` batch."""

    def mle_loss(self, pair: GANPair, batch: Tensor) -> Mapping[str, Tensor]:
        """The loss of one maximum-likelihood update (and what to log): the NLL per token."""
        nll, count = self.token_nll(pair, batch)
        return {"loss": nll.sum() / count.sum()}

    def adversarial_step(self, task: DiscreteGANTask) -> Mapping[str, Tensor | float] | None:
        """A generator update of the model's own (``None``: the task's REINFORCE with the
        credit assignment ``credit``)."""
        return None

    def interleaved_mle_steps(self) -> int:
        """MLE updates after every adversarial iteration (0: none)."""
        return 0

    def rollout_prefixes(self, length: int) -> int:
        """Prefixes of a ``length``-token sample that the credit assignment completes with
        ``gan.rollouts`` Monte-Carlo rollouts, all at once (0: no rollouts)."""
        return length - 1 if self.credit in ("rollout", "rankgan") else 0

    def working_sets(self, longest: int) -> list[WorkingSet]:
        """The rollouts of one G update: batch × prefixes × rollouts rows, each sampled step by step
        over the vocabulary (``generators/text/sampler.rollouts``)."""
        gan: GANConfig = self.configs["gan"]
        train: GANTrainConfig = self.configs["train"]
        length = self.max_sample_len(self.configs["model"].max_len)
        prefixes = self.rollout_prefixes(length)
        if not prefixes:
            return []
        rows = train.batch_size * prefixes * gan.rollouts
        settings: tuple[str, ...] = (
            f"gan.rollouts = {gan.rollouts:,}",
            f"train.batch_size = {train.batch_size:,}",
        )
        if self.text_format is None:
            settings += (f"model.max_len = {length:,}",)
        what = f"rollouts ({train.batch_size:,} samples × {prefixes:,} prefixes × {gan.rollouts:,})"
        return [logits_rows(what, rows, len(self.require_vocab()), settings)]

    def build_module(self) -> GANPair:
        size = len(self.require_vocab())
        return GANPair(
            self.build_generator(size), RecurrentDiscriminator(self.configs["discriminator"], size)
        )

    def initialise_generator(self, pair: GANPair) -> None:
        """Load ``gan.init_from``'s LM weights into the generator (when set)."""
        if self._pretrained is not None:
            assert isinstance(pair.gen, LMNet)
            init_decoder(pair.gen, self._pretrained)

    def fit(
        self, train: Sequence[str], valid: Sequence[str] | None, runner: TaskRunner, *, resume: bool = False
    ) -> TrainResult:
        gan: GANConfig = self.configs["gan"]
        if gan.init_from is not None:
            self._pretrained = load_pretrained_lm(gan.init_from)
            if self.vocab is None:
                self.vocab = self._pretrained.vocab
        task, result = self.fit_task(
            lambda tr, va: DiscreteGANTask(self, tr, va, runner.config), train, valid, runner, resume=resume
        )
        self.net = task.module.eval()
        return result

    def _ready(self) -> GANPair:
        if self.net is None or self.vocab is None:
            raise ConfigError("the model is not trained or loaded")
        return self.net.eval()

    def decoder(self) -> Decoder:
        return self.policy(self._ready())

    def decoder_of(self, module: nn.Module) -> Decoder:
        assert isinstance(module, GANPair)
        return self.policy(module)

    def score_texts(self, texts: Sequence[str], *, batch_size: int = 256) -> TokenScores:
        """Exact per-sentence NLL in nats under the generator (EOS scored, BOS not): every variant
        is an autoregressive model whose conditionals are computed, not estimated."""
        net, vocab = self._ready(), self.require_vocab()
        return exact_token_scores(
            texts,
            vocab,
            lambda batch: self.token_nll(net, batch),
            self.device,
            batch_size=batch_size,
            fixed=self.text_format,
        )

    def state_dict(self) -> dict[str, Any]:
        return dict(self._ready().state_dict())

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.net = load_weights(self.build_module(), state)


_SECTIONS = {"discriminator": DiscriminatorConfig, "train": GANTrainConfig, "gan": GANConfig}


class SeqGAN(DiscreteGAN):
    """SeqGAN: the LM's one-layer LSTM generator trained by REINFORCE against the recurrent D."""

    paper = "Yu et al. 2017; Semeniuta 2019 §5.4.2, Table 5.4"
    config_sections: ClassVar[Mapping[str, type]] = {"model": GANGeneratorConfig, **_SECTIONS}

    def build_generator(self, vocab_size: int) -> LMNet:
        return LMNet(self.configs["model"], vocab_size, banned=self.banned_outputs())

    def policy(self, pair: GANPair) -> Decoder:
        gen: LMNet = pair.gen  # type: ignore[assignment]
        return gen

    def token_nll(self, pair: GANPair, batch: Tensor) -> tuple[Tensor, Tensor]:
        gen: LMNet = pair.gen  # type: ignore[assignment]
        return token_nll(gen, batch)


class SeqGANReinforce(SeqGAN):
    name = "seqgan-reinforce"
    description = "SeqGAN, REINFORCE with the per-sequence reward D(y) for every token"
    credit = "reinforce"
    search_space: ClassVar[SearchSpace | None] = SEQGAN_SPACE


class SeqGANStep(SeqGAN):
    name = "seqgan-step"
    description = "SeqGAN with a per-step D and discounted rewards R_t = γR_{t+1} + D(y_1:t)"
    credit = "step"
    search_space: ClassVar[SearchSpace | None] = SEQGAN_STEP_SPACE


class SeqGANRollout(SeqGAN):
    name = "seqgan-rollout"
    description = "SeqGAN with Monte-Carlo rollouts of every prefix scored by a per-sequence D"
    credit = "rollout"
    search_space: ClassVar[SearchSpace | None] = ROLLOUT_SPACE


class MaliGAN(SeqGAN):
    """MaliGAN (Che et al. 2017): SeqGAN's generator and per-sequence D, with REINFORCE weighted by
    the normalised importance weights r_i/Σ_j r_j − 1/m, r = D/(1 − D) ≈ p_data/p_θ (the
    gradient is then an estimate of the MLE gradient E_data[∇log p_θ], exactly so on the
    enumerable toy with an exact D; tests/generators/test_maligan.py). Every token of a sample gets
    its sequence's weight. The paper's "mixed MLE–Mali" training (MLE on a real prefix, sampling
    the last K tokens) is implemented by no peer and not here."""

    name = "maligan"
    description = "MaliGAN: REINFORCE with normalised importance weights D/(1−D) and the baseline 1/m"
    paper = "Che et al. 2017 (eq. 9); PEERS.md §3.1 — beyond the thesis"
    credit = "maligan"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": GANGeneratorConfig,
        **_SECTIONS,
        "maligan": MaliGANConfig,
    }
    search_space: ClassVar[SearchSpace | None] = MALIGAN_SPACE

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs, vocab=vocab)
        if configs["gan"].baseline != "none":
            raise ConfigError(
                "maligan: gan.baseline must be none — MaliGAN's weights are centred by its own baseline "
                "1/m (they sum to 0 over each batch)"
            )


class DPGAN(SeqGAN):
    """DPGAN (Xu et al. 2018) in TextGAN-PyTorch's form: SeqGAN's generator and stages with a
    language-model discriminator whose per-token NLL of a generated sentence is the reward (text
    the discriminator has not learned to expect is "novel"); the discriminator is trained to make
    generated text likely and real text unlikely, so what the generator repeats stops paying.
    One deviation from TextGAN-PyTorch, which builds the generator's training batches by
    teacher-forced argmax on real prefixes: here they are free-running samples at temperature 1,
    as every other policy-gradient model here and the paper's REINFORCE (docs/training.md)."""

    name = "dpgan"
    description = "DPGAN: REINFORCE with a language-model D whose per-token NLL is the (novelty) reward"
    paper = "Xu et al. 2018, as TextGAN-PyTorch codes it; PEERS.md §3.8 — beyond the thesis"
    credit = "dpgan"
    search_space: ClassVar[SearchSpace | None] = DPGAN_SPACE

    def build_module(self) -> GANPair:
        size = len(self.require_vocab())
        disc = LMDiscriminator(self.configs["discriminator"], size, banned=self.banned_outputs())
        return GANPair(self.build_generator(size), disc)


class RankGAN(SeqGAN):
    """RankGAN (Lin et al. 2017): SeqGAN's generator and Monte-Carlo rollouts, with a CNN ranker in
    the discriminator's place. The ranker scores a sentence s by how it ranks among a comparison
    set C by cosine relevance to real reference sentences U, R(s | U, C) (eqs. 2–4; every
    function in ``rewards``: ``cosine_matrix``, ``rank_probabilities``, ``rank_scores``); it
    learns to rank real sentences above generated ones (C⁻ generated) and generated ones below
    real ones (C⁺ real), and the generator's per-step reward is the mean rank score of its
    rollouts among real sentences, R(· | U, C⁺). U, C⁻ and C⁺ are drawn afresh every update
    (``[rankgan]``); where the peers differ — Texygen ranks against the mean of normalised
    references, both peers use the mini-batch as the comparison set — docs/training.md says
    which source each choice follows."""

    name = "rankgan"
    description = "RankGAN: rollouts rewarded by a CNN ranker's rank of the sample among real sentences"
    paper = "Lin et al. 2017 (eqs. 2–4); PEERS.md §3.2 — beyond the thesis"
    credit = "rankgan"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": GANGeneratorConfig,
        "discriminator": CNNConfig,
        "train": GANTrainConfig,
        "gan": GANConfig,
        "rankgan": RankGANConfig,
    }
    search_space: ClassVar[SearchSpace | None] = RANKGAN_SPACE

    def build_module(self) -> GANPair:
        size = len(self.require_vocab())
        return GANPair(self.build_generator(size), CNNRanker(self.configs["discriminator"], size))


class LeakGAN(DiscreteGAN):
    """The thesis' LeakGAN: an MLP over D's and/or G's state, per-step rewards, D frozen while G
    trains; D is pretrained first so that G's MLE pretraining sees its features."""

    paper = "Semeniuta 2019 §5.4.2 (Fig. 5.4), Table 5.4; after Guo et al. 2018"
    config_sections: ClassVar[Mapping[str, type]] = {"model": LeakGeneratorConfig, **_SECTIONS}
    credit = "step"
    stage_order = (PRETRAIN_D, PRETRAIN_G, ADVERSARIAL)
    search_space: ClassVar[SearchSpace | None] = LEAKGAN_SPACE
    mode: ClassVar[str]

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs, vocab=vocab)
        if configs["gan"].init_from is not None:
            raise ConfigError(
                f"{self.name}: gan.init_from loads an lstm-lm, whose softmax layer this generator does "
                "not have (its output is an MLP over D's and/or its own state); pretrain it with "
                "gan.pretrain_epochs"
            )

    def build_generator(self, vocab_size: int) -> LeakNet:
        return LeakNet(
            self.configs["model"],
            vocab_size,
            self.mode,
            self.configs["discriminator"].hidden_size,
            banned=self.banned_outputs(),
        )

    def policy(self, pair: GANPair) -> Decoder:
        gen: LeakNet = pair.gen  # type: ignore[assignment]
        assert isinstance(pair.disc, RecurrentDiscriminator)
        return LeakDecoder(gen, pair.disc)

    def token_nll(self, pair: GANPair, batch: Tensor) -> tuple[Tensor, Tensor]:
        gen: LeakNet = pair.gen  # type: ignore[assignment]
        assert isinstance(pair.disc, RecurrentDiscriminator)
        return leak_token_nll(gen, pair.disc, batch)


class LeakGANLeak(LeakGAN):
    name = "leakgan-leak"
    description = "LeakGAN (thesis): next token from an MLP over D's state h_d only"
    mode = "leak"


class LeakGANNoLeak(LeakGAN):
    name = "leakgan-noleak"
    description = "LeakGAN (thesis): next token from an MLP over G's own LSTM state h_g"
    mode = "noleak"


class LeakGANMixed(LeakGAN):
    name = "leakgan-mixed"
    description = "LeakGAN (thesis): next token from an MLP over [h_g; h_d]"
    mode = "mixed"


class GuoLeakGAN(DiscreteGAN):
    """The original LeakGAN (Guo et al. 2018): a Manager LSTM reads the CNN discriminator's
    leaked feature of the prefix and sets unit goals; a Worker LSTM's output matrix, multiplied by
    the embedding of the last c goals, gives the next token (``hierarchy``). The Manager learns
    from the rescaled rank of its rollouts' D (eqs. 10–11), the Worker from the intrinsic reward of
    following the goals (eq. 12), with MLE steps interleaved (§3.3; ``guo``). Unlike the thesis'
    ``leakgan-*`` variants (an MLP over D's recurrent state, per-step rewards), this is Guo et
    al.'s hierarchical model; docs/training.md compares the four."""

    name = "leakgan"
    description = "LeakGAN (Guo et al. 2018): Manager/Worker LSTMs steered by D's leaked CNN features"
    paper = "Guo et al. 2018 (eqs. 6–13); PEERS.md §3.7 — beyond the thesis"
    credit = "leakgan"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": GANGeneratorConfig,
        "discriminator": CNNConfig,
        "train": GANTrainConfig,
        "gan": GANConfig,
        "leakgan": GuoLeakGANConfig,
    }
    stage_order = (PRETRAIN_D, PRETRAIN_G, ADVERSARIAL)
    search_space: ClassVar[SearchSpace | None] = GUO_LEAKGAN_SPACE

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs, vocab=vocab)
        if configs["gan"].init_from is not None:
            raise ConfigError(
                "leakgan: gan.init_from loads an lstm-lm, which has no Manager and no goal-conditioned "
                "Worker; pretrain it with gan.pretrain_epochs"
            )

    def build_module(self) -> GANPair:
        size = len(self.require_vocab())
        disc = CNNDiscriminator(self.configs["discriminator"], size)
        gen = HierarchicalGenerator(
            self.configs["model"],
            self.configs["leakgan"],
            disc.feature_size,
            size,
            banned=self.banned_outputs(),
        )
        return GANPair(gen, disc)

    def build_generator(self, vocab_size: int) -> nn.Module:
        raise NotImplementedError("the hierarchical generator is built with its discriminator (build_module)")

    def policy(self, pair: GANPair) -> Decoder:
        gen, disc = pair.gen, pair.disc
        assert isinstance(gen, HierarchicalGenerator) and isinstance(disc, CNNDiscriminator)
        return HierarchicalDecoder(gen, disc)

    def token_nll(self, pair: GANPair, batch: Tensor) -> tuple[Tensor, Tensor]:
        return hierarchy_token_nll(pair, batch)

    def mle_loss(self, pair: GANPair, batch: Tensor) -> Mapping[str, Tensor]:
        return hierarchy_mle_loss(pair, batch, self.configs["leakgan"])

    def adversarial_step(self, task: DiscreteGANTask) -> Mapping[str, Tensor | float] | None:
        return leakgan_generator_step(task)

    def interleaved_mle_steps(self) -> int:
        cfg: GuoLeakGANConfig = self.configs["leakgan"]
        return cfg.mle_steps

    def rollout_prefixes(self, length: int) -> int:
        """The window ends ``every, 2·every, … < length`` (``guo.rollout_scores``)."""
        cfg: GuoLeakGANConfig = self.configs["leakgan"]
        return len(range(cfg.rollout_every or cfg.horizon, length, cfg.rollout_every or cfg.horizon))


class CoT(SeqGAN):
    """Cooperative training (Lu et al. 2019): SeqGAN's generator and a mediator language model,
    twice its size, fitted to the mixture ½(P + G) by the balanced NLL; the generator minimises
    the per-step KL(G ‖ M) on its own samples over the full vocabulary — no discriminator, no
    REINFORCE, no pretraining (``cot``)."""

    name = "cot"
    description = "CoT: a mediator LM fits ½(P + G); G minimises KL(G ‖ M) per step (no D, no REINFORCE)"
    paper = "Lu et al. 2019 (Algorithm 1); PEERS.md §3.6 — beyond the thesis"
    credit = "cot"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": GANGeneratorConfig,
        "mediator": MediatorConfig,
        "train": CoTTrainConfig,
        "gan": CoTConfig,
    }
    search_space: ClassVar[SearchSpace | None] = COT_SPACE

    def mediator_sizes(self) -> DiscriminatorConfig:
        """The mediator's sizes: ``[mediator]``'s, or twice the generator's."""
        gen: GANGeneratorConfig = self.configs["model"]
        med: MediatorConfig = self.configs["mediator"]
        return DiscriminatorConfig(
            emb_dim=med.emb_dim or 2 * gen.emb_dim, hidden_size=med.hidden_size or 2 * gen.hidden_size
        )

    def build_module(self) -> GANPair:
        size = len(self.require_vocab())
        med: MediatorConfig = self.configs["mediator"]
        m = LMDiscriminator(self.mediator_sizes(), size, banned=self.banned_outputs(), dropout=med.dropout)
        return GANPair(self.build_generator(size), m)

    def adversarial_step(self, task: DiscreteGANTask) -> Mapping[str, Tensor | float] | None:
        return cot_generator_step(task)


class RelGAN(DiscreteGAN):
    """RelGAN (Nie et al. 2019): a relational-memory generator (an LSTM as an option) trained
    through its Gumbel-softmax relaxation against a multi-representation CNN discriminator with
    the relativistic standard loss, the inverse temperature growing on a schedule (``relgan``,
    ``relnets``, ``relax``). Its samples are Gumbel-max draws — exact categorical samples — so its
    text and likelihood are those of the autoregressive model it is."""

    name = "relgan"
    description = (
        "RelGAN: relational memory, Gumbel-softmax with an annealed β, multi-representation D, RSGAN"
    )
    paper = "Nie et al. 2019; PEERS.md §3.5 — beyond the thesis"
    credit = "relgan"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": RelGANGeneratorConfig,
        "discriminator": MultiRepConfig,
        "train": RelGANTrainConfig,
        "gan": RelGANStagesConfig,
        "relgan": RelGANConfig,
    }
    search_space: ClassVar[SearchSpace | None] = RELGAN_SPACE

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs, vocab=vocab)
        if configs["gan"].init_from is not None:
            raise ConfigError(
                "relgan: gan.init_from loads an lstm-lm; pretrain RelGAN with gan.pretrain_epochs"
            )

    def build_generator(self, vocab_size: int) -> RelGANNet:
        return RelGANNet(self.configs["model"], vocab_size, banned=self.banned_outputs())

    def build_module(self) -> GANPair:
        size = len(self.require_vocab())
        return GANPair(self.build_generator(size), MultiRepDiscriminator(self.configs["discriminator"], size))

    def policy(self, pair: GANPair) -> Decoder:
        gen: RelGANNet = pair.gen  # type: ignore[assignment]
        return gen

    def token_nll(self, pair: GANPair, batch: Tensor) -> tuple[Tensor, Tensor]:
        gen: RelGANNet = pair.gen  # type: ignore[assignment]
        inputs, targets = batch[:, :-1], batch[:, 1:]
        nll = sequence_cross_entropy(gen(inputs), targets, contiguous=True)
        mask = targets != PAD_ID
        return (nll * mask).sum(dim=1), mask.sum(dim=1)

    def adversarial_step(self, task: DiscreteGANTask) -> Mapping[str, Tensor | float] | None:
        return relgan_generator_step(task)


class GSGAN(SeqGAN):
    """GSGAN (Kusner & Hernández-Lobato 2016): the LM's generator trained through its
    Gumbel-softmax relaxation — the relaxed one-hot fed back and passed to the recurrent
    discriminator, τ = 1/β annealed — with the GAN loss (``gsgan``). Texygen's version (noise on
    the hidden state, τ = 10, no pretraining) is not the paper's and is not offered."""

    name = "gsgan"
    description = "GSGAN: the LM trained through Gumbel-softmax samples fed back and to D (τ annealed)"
    paper = "Kusner & Hernández-Lobato 2016; PEERS.md §3.4 — beyond the thesis"
    credit = "gsgan"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": GANGeneratorConfig,
        **_SECTIONS,
        "gsgan": GSGANConfig,
    }
    search_space: ClassVar[SearchSpace | None] = GSGAN_SPACE

    def adversarial_step(self, task: DiscreteGANTask) -> Mapping[str, Tensor | float] | None:
        return gsgan_generator_step(task)


class TextGAN(DiscreteGAN):
    """TextGAN (Zhang et al. 2017): an LSTM generator started from a latent code, trained by
    matching the MMD of a CNN discriminator's features through its soft-argmax path, D also
    reconstructing the code (``textgan``). Its text is sampled (never greedy); its likelihood is
    the importance-weighted bound over K prior codes (``textgan.likelihood_samples``)."""

    name = "textgan"
    description = "TextGAN: latent-code LSTM trained by feature matching (MMD²) through its soft-argmax"
    paper = "Zhang et al. 2017; PEERS.md §3.3 — beyond the thesis"
    credit = "textgan"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": GANGeneratorConfig,
        "discriminator": CNNConfig,
        "train": GANTrainConfig,
        "gan": GANConfig,
        "textgan": TextGANConfig,
    }
    search_space: ClassVar[SearchSpace | None] = TEXTGAN_SPACE

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs, vocab=vocab)
        if configs["gan"].init_from is not None:
            raise ConfigError("textgan: gan.init_from loads an lstm-lm, whose state no latent code sets")

    def build_generator(self, vocab_size: int) -> TextGANNet:
        cfg: TextGANConfig = self.configs["textgan"]
        return TextGANNet(self.configs["model"], cfg.z_dim, vocab_size, banned=self.banned_outputs())

    def build_module(self) -> GANPair:
        size = len(self.require_vocab())
        cfg: TextGANConfig = self.configs["textgan"]
        return GANPair(
            self.build_generator(size), FeatureDiscriminator(self.configs["discriminator"], size, cfg.z_dim)
        )

    def policy(self, pair: GANPair) -> Decoder:
        gen: TextGANNet = pair.gen  # type: ignore[assignment]
        return LatentDecoder(gen)

    def batch_decoder(self, size: int, generator: torch.Generator) -> Decoder:
        gen: TextGANNet = self._ready().gen  # type: ignore[assignment]
        return LatentDecoder(gen, generator)

    def training_decoder(self, module: nn.Module, size: int, generator: torch.Generator) -> Decoder:
        assert isinstance(module, GANPair)
        gen: TextGANNet = module.gen  # type: ignore[assignment]
        return LatentDecoder(gen, generator)

    def token_nll(self, pair: GANPair, batch: Tensor) -> tuple[Tensor, Tensor]:
        """−log p(y | z) with one code z from the prior per sentence (MLE's and validation's)."""
        gen: TextGANNet = pair.gen  # type: ignore[assignment]
        z = torch.randn(batch.shape[0], gen.z_dim, device=batch.device)
        return conditional_nll(gen, batch, z, contiguous=gen.banned is not None)

    def score_texts(self, texts: Sequence[str], *, batch_size: int = 256) -> TokenScores:
        """−log (1/K) Σ_k p(y | z_k) over K prior codes (seed 0): the importance-weighted bound
        with the prior as proposal, an upper bound on the NLL in expectation."""
        net, vocab = self._ready(), self.require_vocab()
        gen: TextGANNet = net.gen  # type: ignore[assignment]
        k = self.configs["textgan"].likelihood_samples
        codes = torch.Generator().manual_seed(0)
        scores = exact_token_scores(
            texts, vocab, lambda batch: marginal_nll(gen, batch, k, codes), self.device,
            batch_size=batch_size, fixed=self.text_format,
        )  # fmt: skip
        return dataclasses.replace(scores, estimate="iw", importance_samples=k)

    def adversarial_step(self, task: DiscreteGANTask) -> Mapping[str, Tensor | float] | None:
        return textgan_generator_step(task)
