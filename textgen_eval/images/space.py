"""Default (CPU-sized) search spaces of ``tge tune vae`` and ``tge tune ladder-vae``.

Ranges from IMAGES.md §2–3 (this project's proposal: the papers give settings, not ranges).
CPU defaults fix a few epochs, early stopping on the validation −ELBO, halved widths for the
hierarchies, and validation on a fixed 2,000-image subset; the paper-scale spaces are
``examples/spaces/vae-paper.toml`` and ``examples/spaces/ladder-vae-paper.toml``.
"""

from __future__ import annotations

from textgen_eval.core.space import SearchSpace, choice, integer, loguniform

VAE_SPACE = SearchSpace(
    {
        "train.lr": loguniform(1e-4, 3e-3),
        "train.batch_size": choice(64, 128, 256),
        "model.latents": choice(16, 32, 64),
        "model.hidden": choice(256, 512),
        "model.activation": choice("leaky_relu", "relu", "tanh"),
        "model.batch_norm": choice(False, True),
        "model.warmup_epochs": choice(0.0, 1.0, 2.0),
    },
    fixed={"runner.max_epochs": 5, "runner.patience": 2, "train.valid_images": 2000},
)

LADDER_SPACE = SearchSpace(
    {
        "train.lr": loguniform(1e-4, 2e-3),
        "train.batch_size": choice(128, 256),
        "model.kind": choice("vae", "ladder"),
        "model.layers": integer(1, 5),
        "model.batch_norm": choice(False, True),
        "model.warmup_epochs": choice(0.0, 1.0, 2.0),
        "model.activation": choice("leaky_relu", "tanh"),
        "train.iw_samples": choice(1, 5),
        "model.share_topdown": choice(False, True, when={"model.kind": "ladder"}),
    },
    fixed={
        "runner.max_epochs": 5,
        "runner.patience": 2,
        "train.valid_images": 2000,
        "model.hidden": "256,128,64,32,16",
    },
)
