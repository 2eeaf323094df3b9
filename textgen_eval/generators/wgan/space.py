"""Default CPU-scale search spaces of ``tge tune wgan-conv-deconv`` and ``wgan-conv-lstm``.

The thesis gives no ranges (Semeniuta 2019 §5.6.2 names only the dimensions: Adam settings tuned
separately for generator and critic); these are this project's proposal (GENERATORS.md §7). The
generator's learning rate starts at 1e-5, not at §7's 1e-6: these models have no pretraining, so
a vanishing rate only keeps the random initialisation. λ stays at [42]'s 10. GPU-scale spaces:
``examples/spaces/wgan-*-thesis.toml``.
"""

from __future__ import annotations

from textgen_eval.core.space import SearchSpace, choice, loguniform

_SHARED = {
    "train.g_lr": loguniform(1e-5, 1e-3),
    "train.d_lr": loguniform(1e-5, 1e-3),
    "train.adam_beta1": choice(0.0, 0.5, 0.9),
    "wgan.n_critic": choice(1, 3, 5),
    "critic.channels": choice(64, 128),
}
_FIXED = {"wgan.gp_lambda": 10.0, "wgan.gen_iters": 200, "wgan.eval_every": 100}

CONV_DECONV_SPACE = SearchSpace(
    {**_SHARED, "model.channels": choice(64, 128), "model.noise_dim": choice(32, 128)},
    fixed=_FIXED,
)

CONV_LSTM_SPACE = SearchSpace(
    {
        **_SHARED,
        "model.hidden_size": choice(64, 128, 256),
        "model.emb_dim": choice(32, 64),
        "model.noise_dim": choice(32, 128),
    },
    fixed=_FIXED,
)
