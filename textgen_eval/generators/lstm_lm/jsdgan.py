"""JSDGAN (Li et al. 2019) as TextGAN-PyTorch implements it (``models/JSDGAN_G.py``; PEERS.md
§3.9): no discriminator and no sampling — the LM is trained on real batches with a per-sentence
weight that, in the paper, turns maximum likelihood into a Jensen–Shannon objective. For a batch of
B real sentences x_i with sequence probability q_i = G(x_i) and the empirical p_d = 1/B:
w_i = q_i·log(1 − p_d/(p_d + q_i)) (≤ 0, not differentiated), L = Σ_i w_i·log G(x_i).

TextGAN-PyTorch min–max normalises q over the batch (then clamps it at 1e-10) before the weight —
a stabilisation of its own (the raw q of a 20-token sentence is ~e⁻¹⁰⁰, so every weight vanishes),
which makes its estimator not the paper's; it is this model's default, labelled ``minmax``, and
``jsdgan.normalise = "none"`` gives the un-normalised weight.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

import numpy as np
import torch
from torch import Tensor

from textgen_eval.core.config import settings
from textgen_eval.core.space import SearchSpace, loguniform
from textgen_eval.core.training import RunnerConfig, StepContext
from textgen_eval.data.batching import EncodedCorpus
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
from textgen_eval.generators.lstm_lm.model import LMTask, LSTMLanguageModel, token_nll


@settings
class JSDGANConfig:
    """Attributes:
    normalise: ``minmax`` (TextGAN-PyTorch's: q ← (q − min q)/max(max q − min q, 1e-78), then
        q ← max(q, 1e-10)) or ``none`` (q as it is).
    """

    normalise: Literal["minmax", "none"] = "minmax"


def jsdgan_weights(log_q: Tensor, normalise: str = "minmax") -> Tensor:
    """w_i = q_i·log(1 − p_d/(p_d + q_i)) with p_d = 1/B, from the sentences' log-probabilities
    ``(B,)`` → ``(B,)``, every weight ≤ 0; computed in float64 (q underflows float32 for long
    sentences). ``minmax``: TextGAN-PyTorch's normalisation first (identical q: every q becomes
    1e-10, so the weights are equal)."""
    q = log_q.detach().double().exp()
    if normalise == "minmax":
        q = (q - q.min()) / (q.max() - q.min()).clamp_min(1e-78)
        q = q.clamp_min(1e-10)
    elif normalise != "none":
        raise ValueError(f"unknown JSDGAN normalisation {normalise!r}; expected minmax or none")
    p_d = 1.0 / log_q.shape[0]
    weights = q * torch.log1p(-p_d / (p_d + q))
    return weights.to(log_q.dtype)


class JSDGANTask(LMTask):
    """The LM's task with JSDGAN's weighted likelihood in place of the mean NLL."""

    def __init__(
        self,
        model: LSTMLanguageModel,
        train: EncodedCorpus,
        valid: EncodedCorpus | None,
        runner_config: RunnerConfig,
    ) -> None:
        super().__init__(model, train, valid, runner_config)
        self.jsd: JSDGANConfig = model.configs["jsdgan"]

    def training_step(self, batch: np.ndarray, ctx: StepContext) -> Mapping[str, Tensor]:
        nll, count = token_nll(self.module, torch.from_numpy(batch).to(self.device))  # (B,) summed
        weights = jsdgan_weights(-nll, self.jsd.normalise)  # (B,)
        # L = Σ_i w_i·log G(x_i): summed over the batch, as TextGAN-PyTorch's loss
        return {"loss": (weights * -nll).sum(), "nll": (nll.sum() / count.sum()).detach(),
                "weight": weights.mean().detach()}  # fmt: skip


#: TextGAN-PyTorch's rate (Adam 0.01) and a search around it; the LM's CPU-scale epochs.
JSDGAN_SPACE = SearchSpace({"train.lr": loguniform(1e-3, 3e-2)}, fixed={"runner.max_epochs": 3})


class JSDGAN(LSTMLanguageModel):
    """JSDGAN (Li et al. 2019) in TextGAN-PyTorch's form: the LM trained on real batches with the
    per-sentence Jensen–Shannon weights of :func:`jsdgan_weights` — no discriminator, no
    sampling, no pretraining."""

    name = "jsdgan"
    description = "JSDGAN (TextGAN-PyTorch's form): the LM with per-sentence JS weights on real batches"
    paper = "Li et al. 2019, as TextGAN-PyTorch codes it; PEERS.md §3.9 — beyond the thesis"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": LSTMLMConfig,
        "train": TrainConfig,
        "jsdgan": JSDGANConfig,
    }
    search_space: ClassVar[SearchSpace | None] = JSDGAN_SPACE
    task_class: ClassVar[type[LMTask]] = JSDGANTask
