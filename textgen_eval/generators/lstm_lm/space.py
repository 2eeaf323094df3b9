"""The LSTM language model's default search space for ``tge tune lstm-lm``.

Modelled on the thesis' tuning of its language-model baseline (Semeniuta 2019, §5.6.2; the
recurrent-dropout variants of §3.3): Adam's learning rate on a log scale, sizes, forward dropout,
and recurrent dropout whose variant, mask and rate are only drawn when it is switched on.

It is sized for a CPU: every trial trains for at most ``runner.max_epochs = 3`` epochs with early
stopping on the validation split, so ``tge tune lstm-lm --data data/coco --budget 6`` finishes in
minutes. ``examples/spaces/lstm-lm-thesis.toml`` is the GPU-scale space (larger models, training
to convergence); pass it with ``--space``.
"""

from __future__ import annotations

from textgen_eval.core.space import SearchSpace, choice, loguniform, uniform

SEARCH_SPACE = SearchSpace(
    {
        "train.lr": loguniform(3e-4, 1e-2),
        "train.batch_size": choice(32, 64, 128),
        "model.emb_dim": choice(64, 128),
        "model.hidden_size": choice(64, 128, 256),
        "model.input_dropout": uniform(0.0, 0.5),
        "model.output_dropout": uniform(0.0, 0.5),
        # a switch: the recurrent-dropout settings below are drawn only when it is on
        "recurrent_dropout": choice(False, True),
        "model.recurrent_dropout": uniform(0.05, 0.5, when={"recurrent_dropout": True}),
        "model.recurrent_dropout_kind": choice("semeniuta", "gal", "moon", when={"recurrent_dropout": True}),
        "model.recurrent_dropout_mask": choice("per-step", "per-sequence", when={"recurrent_dropout": True}),
    },
    fixed={"runner.max_epochs": 3, "runner.patience": 1},
)
