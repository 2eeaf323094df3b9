"""JSDGAN in TextGAN-PyTorch's form (PEERS.md §3.9): the per-sentence weights against their
written-out definition, their sign, the normalisation guard, and a training step that raises the
batch's likelihood."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.conftest import coco_lines
from textgen_eval.core.training import RunnerConfig, StepContext
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
from textgen_eval.generators.lstm_lm.jsdgan import JSDGAN, JSDGANConfig, JSDGANTask, jsdgan_weights
from textgen_eval.generators.lstm_lm.model import token_nll


@pytest.mark.parametrize("normalise", ["minmax", "none"])
def test_weights_follow_their_definition_and_are_never_positive(normalise: str) -> None:
    log_q = torch.tensor([-3.0, -1.0, -2.5, -0.2, -7.0], dtype=torch.float64)
    w = jsdgan_weights(log_q, normalise)
    q = np.exp(log_q.numpy())
    if normalise == "minmax":
        q = np.maximum((q - q.min()) / max(q.max() - q.min(), 1e-78), 1e-10)
    p_d = 1 / 5
    expected = q * np.log(1 - p_d / (p_d + q))
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-12)
    assert bool((w <= 0).all())


def test_identical_sentence_probabilities_get_equal_weights_and_long_sentences_stay_finite() -> None:
    w = jsdgan_weights(torch.full((4,), -2.0))
    assert torch.equal(w, w[0].expand(4)) and bool(torch.isfinite(w).all())
    long = jsdgan_weights(torch.tensor([-300.0, -310.0, -290.0]))  # q underflows float32, not float64
    assert bool(torch.isfinite(long).all()) and float(long.min()) < 0


def test_a_training_step_raises_the_likelihood_of_the_batch() -> None:
    texts = [s for s in coco_lines("train")[:64] if s]
    configs = {"model": LSTMLMConfig(emb_dim=8, hidden_size=8), "train": TrainConfig(batch_size=16, lr=0.05)}
    model = JSDGAN({**configs, "jsdgan": JSDGANConfig()})
    train, valid = model.prepare_corpora(texts, texts[:8])
    task = JSDGANTask(model, train, valid, RunnerConfig(device="cpu", seed=0))
    task.setup(torch.device("cpu"))
    batch = next(iter(task.train_batches("train", 0)))
    ids = torch.from_numpy(batch)
    with torch.no_grad():
        before = float(token_nll(task.module, ids)[0].sum())
    out = task.training_step(batch, StepContext("train", "main", 0, 0, 0, 0, None, None))
    opt = task.optimizers()["main"]
    opt.zero_grad()
    out["loss"].backward()
    opt.step()
    with torch.no_grad():
        after = float(token_nll(task.module, ids)[0].sum())
    assert after < before and math.isfinite(after)
    assert float(out["weight"]) < 0
