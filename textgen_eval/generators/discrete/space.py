"""Default CPU-scale search spaces of the discrete GANs (``tge tune seqgan-*`` / ``leakgan-*``).

The thesis names the dimensions — Adam settings of G and D tuned separately, and the discount γ
for models with a per-step discriminator (Semeniuta 2019 §5.6.2) — but gives no ranges; these are
this project's proposal (GENERATORS.md §7). The G learning rate reaches 1e-6, small enough that
adversarial training does next to nothing (the thesis' search favoured such values, §5.7). The
SeqGAN spaces start from a cached pretrained LM when the tuning spec fixes ``gan.init_from``;
GPU-scale spaces: ``examples/spaces/{seqgan,leakgan}-thesis.toml``; the peer models' oracle-job spaces:
``examples/spaces/MODEL-peers.toml``.
"""

from __future__ import annotations

from textgen_eval.core.space import SearchSpace, choice, loguniform, uniform

_ADVERSARIAL = {
    "train.g_lr": loguniform(1e-6, 1e-3),
    "train.d_lr": loguniform(1e-5, 1e-3),
    "train.g_beta1": choice(0.0, 0.5, 0.9),
    "train.d_beta1": choice(0.0, 0.5, 0.9),
    "gan.d_steps": choice(1, 3, 5),
}
_FIXED = {"gan.pretrain_epochs": 5, "gan.pretrain_d_steps": 100, "gan.adversarial_steps": 100}

SEQGAN_SPACE = SearchSpace(dict(_ADVERSARIAL), fixed=_FIXED)
SEQGAN_STEP_SPACE = SearchSpace({**_ADVERSARIAL, "gan.gamma": uniform(0.5, 1.0)}, fixed=_FIXED)
ROLLOUT_SPACE = SearchSpace({**_ADVERSARIAL, "gan.rollouts": choice(4, 8, 16)}, fixed=_FIXED)
LEAKGAN_SPACE = SearchSpace(
    {**_ADVERSARIAL, "gan.gamma": uniform(0.5, 1.0), "model.mlp_width": choice(64, 128, 256)}, fixed=_FIXED
)
#: MaliGAN: SeqGAN's dimensions plus the clamp ε of D (r ≤ (1 − ε)/ε), from 1e-4 to 1e-2: no peer
#: or paper gives one (PEERS.md §3.1; TextGAN-PyTorch does not clamp).
MALIGAN_SPACE = SearchSpace({**_ADVERSARIAL, "maligan.eps": loguniform(1e-4, 1e-2)}, fixed=_FIXED)
#: DPGAN: SeqGAN's dimensions plus the discount γ of its returns (TextGAN-PyTorch: 1).
DPGAN_SPACE = SearchSpace({**_ADVERSARIAL, "gan.gamma": uniform(0.8, 1.0)}, fixed=_FIXED)
#: RankGAN: SeqGAN-rollout's dimensions plus the ranking softmax's γ (the peers fix 1; the paper
#: leaves it a hyper-parameter) — 4 rollouts, as the CPU rollout default.
RANKGAN_SPACE = SearchSpace(
    {**_ADVERSARIAL, "rankgan.gamma": loguniform(0.5, 8.0)}, fixed={**_FIXED, "gan.rollouts": 4}
)
#: The original LeakGAN: SeqGAN's dimensions plus the horizon c and the rescaling's δ (the code
#: fixes c = 4, δ = 16); 4 rollouts, as the CPU rollout default.
GUO_LEAKGAN_SPACE = SearchSpace(
    {**_ADVERSARIAL, "leakgan.horizon": choice(2, 4, 8), "leakgan.delta": uniform(8.0, 24.0)},
    fixed={**_FIXED, "gan.rollouts": 4},
)
#: CoT: the two rates around the paper's (1e-3 for G, 3e-3 for the mediator) and the mediator's
#: dropout; 1,000 iterations at CPU scale (the code runs 200,000).
COT_SPACE = SearchSpace(
    {
        "train.g_lr": loguniform(1e-4, 1e-2),
        "train.d_lr": loguniform(3e-4, 3e-2),
        "mediator.dropout": choice(0.0, 0.25, 0.5),
    },
    fixed={"gan.adversarial_steps": 1000, "gan.eval_every": 200},
)
#: RelGAN: the adversarial rates around its 1e-4, β_max over the values its scripts try (1 … 1000,
#: log scale) and the schedule among exp / lin / sigmoid (PEERS.md §3.5).
RELGAN_SPACE = SearchSpace(
    {
        "train.g_lr": loguniform(1e-5, 1e-3),
        "train.d_lr": loguniform(1e-5, 1e-3),
        "relgan.beta_max": loguniform(1.0, 1000.0),
        "relgan.schedule": choice("exp", "lin", "sigmoid"),
    },
    fixed={"gan.pretrain_epochs": 5, "gan.adversarial_steps": 500, "relgan.beta_horizon": 500},
)
#: GSGAN: SeqGAN's adversarial dimensions plus the final inverse temperature (1 … 100).
GSGAN_SPACE = SearchSpace(
    {**_ADVERSARIAL, "gsgan.beta_max": loguniform(1.0, 100.0)},
    fixed={**_FIXED, "gsgan.beta_horizon": 100},
)
#: TextGAN: SeqGAN's adversarial dimensions plus D's MMD weight (TextBox 0.001) and the kernel's
#: bandwidth rule.
TEXTGAN_SPACE = SearchSpace(
    {
        **_ADVERSARIAL,
        "textgan.mmd_weight": loguniform(1e-4, 1e-1),
        "textgan.bandwidth": choice("fixed", "median"),
    },
    fixed={**_FIXED, "gan.pretrain_d_steps": 100},
)
