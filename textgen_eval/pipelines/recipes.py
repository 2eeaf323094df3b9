"""The fixed recipes of the model-based metrics. Changing any value changes every score that
depends on it, so each recipe has an id that goes into signatures and cache keys.

Reference LM (``lm-score``, featurizer ``lm``): word-level LSTM LM trained on the bundle's
``train.txt``; validation is ``valid.txt`` or, when the bundle has none, every 20th line of
``train.txt`` (lines 20, 40, ...; the rest is trained on). Tokens seen at least twice in the
training part form the vocabulary. Adam (lr 2e-3), batches of 64, forward dropout 0.2,
learning rate halved after every validation without improvement, early stopping after 3 such
validations, at most 20 epochs, seed 0.

Reverse LM (``reverse-lm-score``): the same network and optimisation trained on the samples with
the reference LM's vocabulary, early-stopped on the bundle's validation text; the score is the
per-token NLL of the bundle's test text (``test.txt``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from textgen_eval.core.config import to_dict
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
from textgen_eval.training import RunnerConfig

VALID_EVERY = 20
#: ``[runner]`` settings that never change a recipe's weights (the synthetic-oracle probe, which
#: draws its own random numbers and is off on plain corpora): not part of a recipe's id.
NOT_TRAINING = frozenset({"probe_samples", "probe_every"})


@dataclass(frozen=True)
class Recipe:
    name: str
    model: LSTMLMConfig
    train: TrainConfig
    runner: RunnerConfig

    def to_dict(self) -> dict[str, Any]:
        return {"model": to_dict(self.model), "train": to_dict(self.train), "runner": to_dict(self.runner)}

    @property
    def id(self) -> str:
        """A hash of every setting that changes the trained weights. Runner settings that do not
        (:data:`NOT_TRAINING`) are left out, so adding such a setting to ``[runner]`` does not
        change every id, every signature and every user's cache."""
        settings = self.to_dict()
        settings["runner"] = {k: v for k, v in settings["runner"].items() if k not in NOT_TRAINING}
        blob = json.dumps({"name": self.name, "valid_every": VALID_EVERY, **settings}, sort_keys=True)
        return f"{self.name}-{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


_MODEL = LSTMLMConfig(
    tokenizer="whitespace",
    min_freq=2,
    max_len=100,
    emb_dim=128,
    hidden_size=256,
    input_dropout=0.2,
    output_dropout=0.2,
)
_TRAIN = TrainConfig(optimizer="adam", lr=2e-3, batch_size=64)
_RUNNER = RunnerConfig(
    max_epochs=20,
    patience=2,
    lr_schedule="plateau",
    lr_divisor=2.0,
    monitor="valid_loss",
    seed=0,
    device="cpu",
    log_every=1000,
)

REFERENCE_LM = Recipe("reflm1", _MODEL, _TRAIN, _RUNNER)
REVERSE_LM = Recipe("revlm1", _MODEL, _TRAIN, _RUNNER)


def split_train_valid(lines: list[str]) -> tuple[list[str], list[str]]:
    """Carve a validation split from the training text: every ``VALID_EVERY``-th line."""
    train = [line for i, line in enumerate(lines, start=1) if i % VALID_EVERY]
    valid = [line for i, line in enumerate(lines, start=1) if not i % VALID_EVERY]
    return train, valid
