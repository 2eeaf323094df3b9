"""Configuration of the discrete text GANs: ``[model]`` (the generator), ``[discriminator]``,
``[train]`` (three Adams: MLE pretraining, adversarial generator, discriminator) and ``[gan]``
(stages, credit assignment). The thesis gives no sizes and no ranges for these models (Semeniuta
2019 §5.6.2; GENERATORS.md §0, §12); every default is tagged in docs/training.md.
"""

from __future__ import annotations

from typing import Literal

from textgen_eval.core.config import settings
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig


@settings
class GANGeneratorConfig(LSTMLMConfig):
    """The one-layer LSTM generator (Semeniuta 2019 §5.6.4, L1392), the LM's network: a saved
    ``lstm-lm`` of the same sizes initialises it (``gan.init_from``). ``max_len`` is also the
    length of the sentences the generator samples while training (CPU default 24: COCO's p99
    is 21 words)."""

    max_len: int = 24
    emb_dim: int = 64
    hidden_size: int = 128


@settings
class LeakGeneratorConfig(GANGeneratorConfig):
    """The thesis' LeakGAN generator (§5.4.2, L1177–1187): the next-token distribution is a
    one-layer MLP over D's state h_d (``leak``), G's own LSTM state h_g (``noleak``) or [h_g; h_d]
    (``mixed``).

    Attributes:
        mlp_width: hidden units of the MLP (not stated by the thesis; default: ``hidden_size``,
            GENERATORS.md §6's proposal).
    """

    mlp_width: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mlp_width is not None and self.mlp_width < 1:
            raise ValueError(f"mlp_width must be ≥ 1, got {self.mlp_width}")
        if self.num_layers != 1 or self.tie_embeddings:
            raise ValueError("the LeakGAN generator is a one-layer LSTM without tied embeddings")


@settings
class DiscriminatorConfig:
    """The recurrent discriminator of every variant (GENERATORS.md §5 proposal): an LSTM with a
    real/fake probability at every prefix (per-step D, whose state is LeakGAN's h_d), read at the
    last non-pad position as the per-sequence D, so the variants differ only in credit assignment.

    Attributes:
        emb_dim / hidden_size: sizes (CPU default 64 / 128).
    """

    emb_dim: int = 64
    hidden_size: int = 128

    def __post_init__(self) -> None:
        for name in ("emb_dim", "hidden_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")


@settings
class GANTrainConfig:
    """Optimisers: Adam for MLE pretraining, and Adam for G and for D in the adversarial phase,
    tuned separately (Semeniuta 2019 §5.6.2).

    Attributes:
        mle_lr: learning rate of G's maximum-likelihood pretraining.
        g_lr / d_lr: adversarial learning rates of G and D (0 for G: no adversarial change).
        g_beta1 / d_beta1: Adam's β₁ of G and D (β₂ = 0.999 for both).
        g_grad_clip: max-norm clipping of G's gradient in every G stage (SeqGAN's code: 5.0).
        batch_size: sentences per update (real and generated); eval_batch_size for validation.
    """

    mle_lr: float = 1e-3
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    g_beta1: float = 0.9
    d_beta1: float = 0.9
    g_grad_clip: float | None = 5.0
    batch_size: int = 64
    eval_batch_size: int = 256

    def __post_init__(self) -> None:
        if self.mle_lr <= 0 or self.d_lr <= 0 or self.g_lr < 0:
            raise ValueError("need mle_lr > 0, d_lr > 0 and g_lr ≥ 0")
        for name in ("g_beta1", "d_beta1"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.g_grad_clip is not None and self.g_grad_clip <= 0:
            raise ValueError(f"g_grad_clip must be > 0, got {self.g_grad_clip}")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError("batch sizes must be ≥ 1")


@settings
class GANConfig:
    """Stages and credit assignment.

    Attributes:
        init_from: a saved ``lstm-lm`` run or model directory to start G from (SeqGAN variants;
            its sizes must match ``[model]``); MLE pretraining is then skipped.
        pretrain_epochs: G's MLE pretraining epochs (early-stopped on the validation NLL, best
            weights restored); 0 skips it (the "no pretraining" experiment).
        pretrain_d_steps: D updates on real vs generated batches before the adversarial phase.
        adversarial_steps: G updates in the adversarial phase.
        d_steps: D updates (each on a fresh real and a fresh generated batch) after every G update.
        gamma: discount of the per-step rewards (``step`` and every LeakGAN variant).
        rollouts: Monte-Carlo completions per prefix (``rollout``; SeqGAN's code 16, LeakGAN's 4).
        rollout_lag: the rollout policy θ' ← lag·θ' + (1 − lag)·θ after every G update; 0 (default)
            rolls out with the live G, as the SeqGAN paper says (its code's 0.8 is debated:
            SeqGAN#23/#28/#29).
        baseline: ``none`` (default: the thesis' formula and SeqGAN's code) or ``moving-average``
            (b ← decay·b + (1 − decay)·mean reward, subtracted from every reward; unbiased since b
            does not depend on the current sample).
        eval_every: validate every this many G updates of the adversarial phase.
    """

    init_from: str | None = None
    pretrain_epochs: int = 10
    pretrain_d_steps: int = 100
    adversarial_steps: int = 150
    d_steps: int = 1
    gamma: float = 0.9
    rollouts: int = 4
    rollout_lag: float = 0.0
    baseline: Literal["none", "moving-average"] = "none"
    baseline_decay: float = 0.9
    eval_every: int = 50

    def __post_init__(self) -> None:
        for name in ("pretrain_epochs", "pretrain_d_steps", "adversarial_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be ≥ 0, got {getattr(self, name)}")
        for name in ("d_steps", "rollouts", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if not 0.0 <= self.rollout_lag < 1.0:
            raise ValueError(f"rollout_lag must be in [0, 1), got {self.rollout_lag}")
        if not 0.0 <= self.baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {self.baseline_decay}")


@settings
class MaliGANConfig:
    """MaliGAN's importance weights (Che et al. 2017; PEERS.md §3.1).

    Attributes:
        eps: D is clamped to [ε, 1 − ε] before r = D/(1 − D), so r ≤ (1 − ε)/ε; without it a
            confident D gives r → ∞ and one sample takes the whole batch's weight (TextGAN-PyTorch
            does not clamp). 1e-3 (r ≤ 999) is this project's proposal: no peer or paper states one.
        weight: ``ratio`` (default, the paper's r/Σr − 1/m) or ``texygen`` (Texygen's D/ΣD − 1/m,
            a different estimator offered only for parity with Texygen's numbers).
    """

    eps: float = 1e-3
    weight: Literal["ratio", "texygen"] = "ratio"

    def __post_init__(self) -> None:
        if not 0.0 < self.eps < 0.5:
            raise ValueError(f"eps must be in (0, 0.5), got {self.eps}")


@settings
class CNNConfig:
    """The CNN sentence encoder of RankGAN's ranker (Lin et al. 2017, §2.2) and of the original
    LeakGAN's discriminator, whose features leak to its generator (Guo et al. 2018, §3.1):
    embedding, one convolution per filter width with max-over-time pooling, a highway layer and
    dropout. CPU defaults follow TextBox's RankGAN (filter widths 2, 3, 4; dropout 0.25) with 100
    maps per width instead of its 200; Texygen uses widths 2, 3 with 100 / 200 maps and dropout
    0.25 (keep 0.75); LeakGAN's code widths 1–10, 15, 20 with 1,720 maps in all.

    Attributes:
        emb_dim: token embedding size.
        filter_sizes: convolution widths (a row shorter than the widest is padded with PAD).
        num_filters: feature maps per width (same length as ``filter_sizes``); y_s has their sum.
        dropout: dropout on y_s while the ranker trains (off when it scores the generator).
    """

    emb_dim: int = 64
    filter_sizes: tuple[int, ...] = (2, 3, 4)
    num_filters: tuple[int, ...] = (100, 100, 100)
    dropout: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "filter_sizes", tuple(self.filter_sizes))
        object.__setattr__(self, "num_filters", tuple(self.num_filters))
        if self.emb_dim < 1:
            raise ValueError(f"emb_dim must be ≥ 1, got {self.emb_dim}")
        if not self.filter_sizes or len(self.filter_sizes) != len(self.num_filters):
            raise ValueError(
                f"filter_sizes {list(self.filter_sizes)} and num_filters {list(self.num_filters)} must be "
                "non-empty lists of the same length"
            )
        if min(self.filter_sizes) < 1 or min(self.num_filters) < 1:
            raise ValueError("filter sizes and numbers of filters must be ≥ 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


@settings
class RankGANConfig:
    """RankGAN's ranking (Lin et al. 2017, eqs. 2–4; PEERS.md §3.2): the rank score of a sentence
    s is R(s | U, C) = mean over u ∈ U of exp(γ·cos(y_s, y_u)) / Σ_{s' ∈ C ∪ {s}} exp(γ·cos(y_s', y_u)).

    Attributes:
        gamma: γ, the inverse temperature of the ranking softmax (1 in Texygen and TextBox; the
            paper treats it as a hyper-parameter).
        reference_size: |U|, real sentences drawn afresh for every update (16 in Texygen and
            TextBox).
        comparison_size: |C|, the comparison set, drawn afresh for every update: generated
            sentences (C⁻) when the ranker ranks a real sentence, real ones (C⁺) when it ranks a
            generated sentence — in the ranker's update and in the generator's reward alike.
            64 = the peers' batch (their comparison set is the mini-batch itself).
    """

    gamma: float = 1.0
    reference_size: int = 16
    comparison_size: int = 64

    def __post_init__(self) -> None:
        if not 0.0 < self.gamma < float("inf"):
            raise ValueError(f"gamma must be a positive finite number, got {self.gamma}")
        for name in ("reference_size", "comparison_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")


@settings
class GuoLeakGANConfig:
    """The original LeakGAN's hierarchy and rewards (Guo et al. 2018; PEERS.md §3.7).

    Attributes:
        horizon: c, the Manager's horizon: the Worker's goal embedding sums the last c goals, the
            Manager's goal g_t is scored against the feature change f_{t+c} − f_t, the Worker's
            intrinsic reward averages over the last c goals (4 in the paper's code).
        goal_size: k, the dimension of the Worker's goal embedding w_t = W_ψ Σ g (16 in the code).
        delta: δ of the bootstrapped rescaled activation σ(δ·(0.5 − rank/B)) (the code's
            sigmoid(16·j/B − 8) is δ = 16).
        rescale: apply the rescaled activation to the Manager's rewards (the paper's); ``false``
            feeds it the rollouts' D probabilities as they are (TextGAN-PyTorch's choice).
        mle_steps: MLE batches of the generator after every adversarial iteration (the
            interleaved training of Guo et al. §3.3; 0 turns it off).
        rollout_every: roll out the prefixes ending every this many tokens, each position taking
            the score of its window's end (the code rolls out every c steps; 1: every prefix, as
            SeqGAN; default: the horizon c).
    """

    horizon: int = 4
    goal_size: int = 16
    delta: float = 16.0
    rescale: bool = True
    mle_steps: int = 1
    rollout_every: int | None = None

    def __post_init__(self) -> None:
        for name in ("horizon", "goal_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.mle_steps < 0:
            raise ValueError(f"mle_steps must be ≥ 0, got {self.mle_steps}")
        if self.rollout_every is not None and self.rollout_every < 1:
            raise ValueError(f"rollout_every must be ≥ 1, got {self.rollout_every}")
        if not 0.0 < self.delta < float("inf"):
            raise ValueError(f"delta must be a positive finite number, got {self.delta}")


@settings
class MediatorConfig:
    """CoT's mediator (Lu et al. 2019): a one-layer LSTM language model fitted to the mixture
    ½(P + G). The paper and its code make it twice the generator's size (code: 64/64 for a 32/32
    generator) — the default here (``None`` = twice ``[model]``'s emb_dim / hidden_size).

    Attributes:
        emb_dim / hidden_size: sizes (``None``: twice the generator's).
        dropout: dropout on its hidden output while it trains (the code's keep 0.5); its
            log-probabilities for the generator's loss are computed with dropout off.
    """

    emb_dim: int | None = None
    hidden_size: int | None = None
    dropout: float = 0.5

    def __post_init__(self) -> None:
        for name in ("emb_dim", "hidden_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be ≥ 1, got {value}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


@settings
class CoTTrainConfig(GANTrainConfig):
    """CoT's rates (Lu et al. 2019, its code): Adam 1e-3 for the generator, 3e-3 for the mediator
    (``d_lr``); no gradient clipping. (Its Adam β₂ = 0.95 is not offered: β₂ is 0.999 here.)"""

    g_lr: float = 1e-3
    d_lr: float = 3e-3
    g_grad_clip: float | None = None


@settings
class CoTConfig(GANConfig):
    """CoT's schedule: no MLE pretraining, no mediator pretraining, and iterations of one generator
    step and one mediator step (``d_steps`` = 1); 2,000 iterations at CPU scale (the code: 200,000;
    TextGAN-PyTorch: 20,000)."""

    pretrain_epochs: int = 0
    pretrain_d_steps: int = 0
    adversarial_steps: int = 2000
    d_steps: int = 1
    eval_every: int = 200


@settings
class RelGANGeneratorConfig(GANGeneratorConfig):
    """RelGAN's generator (Nie et al. 2019, §2.1): an embedding, a recurrent core and a softmax
    layer; the core is Santoro et al.'s relational memory (``rmc``, RelGAN's) or an LSTM
    (``lstm``, the option the paper compares). RelGAN's code: embedding 32, 1 memory slot, 2 heads
    of 256 (a 512-wide memory); CPU defaults: embedding 64, 2 heads of 64.

    Attributes:
        core: ``rmc`` or ``lstm`` (``hidden_size`` units).
        mem_slots / num_heads / head_size: the relational memory's size (memory width
            num_heads·head_size per slot).
    """

    core: Literal["rmc", "lstm"] = "rmc"
    mem_slots: int = 1
    num_heads: int = 2
    head_size: int = 64

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("mem_slots", "num_heads", "head_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.num_layers != 1 or self.tie_embeddings:
            raise ValueError("RelGAN's generator is one core without tied embeddings")


@settings
class MultiRepConfig:
    """RelGAN's multi-representation CNN discriminator (Nie et al. 2019, §2.3): the (relaxed)
    one-hot rows are embedded (``emb_dim``), the embedding is split into ``num_rep`` narrower
    representations that share one CNN (widths ``filter_sizes``, ``num_filters`` maps each, max
    over time, highway, dropout, a linear layer of ``hidden`` units and a logit), so D gives
    ``num_rep`` logits per sentence. RelGAN's code: emb 64, 64 representations, widths 2–5 with
    300 maps, dropout 0.25, 100 hidden; CPU defaults: 100 maps per width."""

    emb_dim: int = 64
    num_rep: int = 64
    filter_sizes: tuple[int, ...] = (2, 3, 4, 5)
    num_filters: tuple[int, ...] = (100, 100, 100, 100)
    dropout: float = 0.25
    hidden: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "filter_sizes", tuple(self.filter_sizes))
        object.__setattr__(self, "num_filters", tuple(self.num_filters))
        if self.emb_dim < 1 or self.num_rep < 1 or self.emb_dim % self.num_rep:
            raise ValueError(
                f"emb_dim ({self.emb_dim}) must be a positive multiple of num_rep ({self.num_rep})"
            )
        if not self.filter_sizes or len(self.filter_sizes) != len(self.num_filters):
            raise ValueError("filter_sizes and num_filters must be non-empty lists of the same length")
        if min(self.filter_sizes) < 1 or min(self.num_filters) < 1 or self.hidden < 1:
            raise ValueError("filter sizes, numbers of filters and hidden must be ≥ 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


@settings
class RelaxationConfig:
    """The Gumbel-softmax relaxation shared by RelGAN and GSGAN: the inverse temperature β grows
    from 1 to ``beta_max`` on ``schedule`` over ``beta_horizon`` generator updates (RelGAN's
    formulas, ``relax.BETA_SCHEDULES``), and the adversarial ``loss`` (``relax.GAN_LOSSES``).

    Attributes:
        loss: ``rsgan``, ``standard``, ``hinge`` or ``wgan-gp`` (the critic loss with Gulrajani
            et al.'s gradient penalty at interpolates of one-hot real and relaxed generated rows;
            RelGAN only).
        beta_max: the final inverse temperature (τ_min = 1/β_max).
        schedule: exp, lin, log, sigmoid, quad, sqrt or no.
        beta_horizon: N, the step at which the schedule reaches β_max.
        gp_weight: λ of the gradient penalty (``wgan-gp``; Gulrajani et al.: 10).
    """

    loss: Literal["rsgan", "standard", "hinge", "wgan-gp"] = "rsgan"
    beta_max: float = 100.0
    schedule: Literal["exp", "lin", "log", "sigmoid", "quad", "sqrt", "no"] = "exp"
    beta_horizon: int = 5000
    gp_weight: float = 10.0

    def __post_init__(self) -> None:
        if self.gp_weight < 0:
            raise ValueError(f"gp_weight must be ≥ 0, got {self.gp_weight}")
        if not 1.0 <= self.beta_max < float("inf"):
            raise ValueError(f"beta_max must be a finite number ≥ 1, got {self.beta_max}")
        if self.beta_horizon < 2:
            raise ValueError(f"beta_horizon must be ≥ 2, got {self.beta_horizon}")


@settings
class RelGANConfig(RelaxationConfig):
    """RelGAN's relaxation and loss (Nie et al. 2019; PEERS.md §3.5): RSGAN; β_max 100 (the
    script's default; the paper's table used 1 at length 20 and 2 at 40); N = 5,000, which RelGAN
    hard-codes (so its 3,000-step oracle runs end at β_max^0.6 under exp)."""


@settings
class RelGANTrainConfig(GANTrainConfig):
    """RelGAN's rates: Adam 1e-2 for MLE pretraining, 1e-4 for G and D in the adversarial phase."""

    mle_lr: float = 1e-2
    g_lr: float = 1e-4
    d_lr: float = 1e-4


@settings
class RelGANStagesConfig(GANConfig):
    """RelGAN's schedule: MLE pretraining, no D pretraining, then iterations of 1 G and 5 D steps
    (each D step on a random real batch and a fresh generated one); 1,000 iterations at CPU scale
    (RelGAN: 3,000 on the oracle, 2,000 on real data)."""

    pretrain_d_steps: int = 0
    adversarial_steps: int = 1000
    d_steps: int = 5
    eval_every: int = 100


@settings
class GSGANConfig(RelaxationConfig):
    """GSGAN's relaxation (Kusner & Hernández-Lobato 2016; PEERS.md §3.4): the Gumbel-softmax
    y_t = softmax((o_t + g_t)/τ) is fed back as the next input (its mixture of embeddings) and
    passed to D; τ = 1/β falls from 1 as β grows to ``beta_max`` = 10 over N = 1,000 updates; the
    standard GAN loss (the paper's). The paper's τ schedule was not checked; Texygen fixes τ = 10
    (β = 0.1) with the noise on the hidden state — not offered."""

    loss: Literal["rsgan", "standard", "hinge", "wgan-gp"] = "standard"
    beta_max: float = 10.0
    beta_horizon: int = 1000

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.loss == "wgan-gp":
            raise ValueError("gsgan: loss wgan-gp is RelGAN's option (its critic reads fixed-width rows)")


@settings
class TextGANConfig:
    """TextGAN (Zhang et al. 2017; PEERS.md §3.3): the latent code, the soft-argmax of the
    adversarial path, the MMD objective and the reconstruction term.

    Attributes:
        z_dim: size of the latent code z ~ N(0, I) that sets the generator's initial state.
        soft_argmax_scale: L of the soft-argmax softmax(L·o_t) fed back and passed to D (Texygen:
            1,000; large L approaches the argmax token's embedding).
        bandwidth: ``fixed`` (a mixture of Gaussian kernels with the variances ``sigmas2``) or
            ``median`` (the median heuristic: the median squared distance between the pooled
            features times 1/4, 1/2, 1, 2, 4).
        sigmas2: the kernel variances σ² of the fixed mixture.
        mmd_weight: λ_m of D's objective (D maximises MMD², the paper's sign; TextBox 0.001).
        recon_weight: λ_r of D's reconstruction of z from generated text (TextBox 0.01).
        likelihood_samples: K prior draws of z for the model's likelihood log (1/K) Σ p(y|z_k)
            (an importance-weighted bound with the prior as proposal; ``model-nll``, ``nll-test``).
    """

    z_dim: int = 16
    soft_argmax_scale: float = 100.0
    bandwidth: Literal["fixed", "median"] = "fixed"
    sigmas2: tuple[float, ...] = (1e-2, 1e-1, 1.0, 1e1, 1e2)
    mmd_weight: float = 1e-3
    recon_weight: float = 1e-2
    likelihood_samples: int = 10

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigmas2", tuple(self.sigmas2))
        if self.z_dim < 1:
            raise ValueError(f"z_dim must be ≥ 1, got {self.z_dim}")
        if not 0.0 < self.soft_argmax_scale < float("inf"):
            raise ValueError(
                f"soft_argmax_scale must be a positive finite number, got {self.soft_argmax_scale}"
            )
        if not self.sigmas2 or min(self.sigmas2) <= 0:
            raise ValueError("sigmas2 must be non-empty and positive")
        if self.mmd_weight < 0 or self.recon_weight < 0:
            raise ValueError("mmd_weight and recon_weight must be ≥ 0")
        if self.likelihood_samples < 1:
            raise ValueError(f"likelihood_samples must be ≥ 1, got {self.likelihood_samples}")
