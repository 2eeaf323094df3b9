"""The transformer LM's default search space for ``tge tune transformer-lm`` (CPU scale).

Adam's learning rate on a log scale around the rates small GPT-2-style models train with, the
width and depth of a model the size of the CPU LSTM LM's, dropout, and the batch size. Every trial
trains at most ``runner.max_epochs = 3`` epochs with early stopping, as the LSTM LM's space does,
so the two LM rows of a comparison get the same budget; AdamW with weight decay 0.01, GPT-2's
optimiser. ``examples/spaces/transformer-lm-cpu.toml`` writes this space out (a test keeps them
identical); ``examples/spaces/transformer-lm-gpu.toml`` is the GPU-scale space.
"""

from __future__ import annotations

from textgen_eval.core.space import SearchSpace, choice, loguniform, uniform

SEARCH_SPACE = SearchSpace(
    {
        "train.lr": loguniform(1e-4, 3e-3),
        "train.batch_size": choice(32, 64),
        "model.n_embd": choice(64, 128),
        "model.n_layer": choice(1, 2, 3),
        "model.n_head": choice(2, 4),
        "model.dropout": uniform(0.0, 0.3),
        "model.attn_dropout": uniform(0.0, 0.3),
    },
    fixed={
        "runner.max_epochs": 3,
        "runner.patience": 1,
        "train.optimizer": "adamw",
        "train.weight_decay": 0.01,
    },
)
