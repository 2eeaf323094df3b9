"""The LSTM VAE's default search space for ``tge tune lstm-vae``.

The thesis gives no ranges for its VAEs (Semeniuta 2019 §5.3, §5.5; GENERATORS.md §7): these are
this project's proposal. Word dropout takes the values of Table 5.2 (0.2, 0.5, 0.8) and 0; the KL
annealing window and the latent size are searched; sizes are CPU-scale, with at most
``runner.max_epochs = 3`` epochs and early stopping on the validation bound.
"""

from __future__ import annotations

from textgen_eval.core.space import SearchSpace, choice, integer, loguniform

LSTM_VAE_SPACE = SearchSpace(
    {
        "train.lr": loguniform(3e-4, 3e-3),
        "train.batch_size": choice(32, 64),
        "model.emb_dim": choice(64, 128),
        "model.hidden_size": choice(128, 256),
        "model.latent_size": choice(16, 32, 64),
        "vae.word_dropout": choice(0.0, 0.2, 0.5, 0.8),
        "vae.kl_end": integer(200, 2000, log=True),
    },
    fixed={"runner.max_epochs": 3, "runner.patience": 1, "vae.kl_schedule": "linear", "vae.kl_start": 0},
)

#: The hybrid VAE's space: α over the textvae grid's range, the head, KL annealing on or off.
HYBRID_VAE_SPACE = SearchSpace(
    {
        "train.lr": loguniform(3e-4, 3e-3),
        "train.batch_size": choice(32, 64),
        "model.latent_size": choice(16, 32, 64),
        "model.channels": choice(64, 128),
        "model.head": choice("none", "lstm", "bytenet"),
        "model.head_size": choice(128, 256),
        "model.bytenet_layers": choice(1, 2, 3, 5, when={"model.head": "bytenet"}),
        "vae.alpha": choice(0.0, 0.1, 0.2, 0.4, 0.6, 1.0),
        "vae.word_dropout": choice(0.0, 0.2, 0.5),
        "vae.kl_schedule": choice("linear", "constant"),
        "vae.kl_end": integer(200, 2000, log=True, when={"vae.kl_schedule": "linear"}),
    },
    fixed={"runner.max_epochs": 3, "runner.patience": 1, "vae.kl_start": 0, "model.length": 36},
)
