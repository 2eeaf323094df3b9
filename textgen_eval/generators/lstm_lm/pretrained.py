"""Initialise another generator's LSTM decoder from a saved ``lstm-lm`` (MLE pretraining done once).

SeqGAN, LeakGAN and the WGAN's LSTM generator start from a maximum-likelihood LM (Yu et al.
2017, §4; Semeniuta 2019, §5.4.2). :func:`load_pretrained_lm` reads a ``tge train lstm-lm`` run or
model directory; :func:`init_decoder` copies its vocabulary and weights into an :class:`LMNet` of
the same architecture, so the initialised generator's weights — and its samples under a seed —
are exactly the LM's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from textgen_eval.core.config import to_dict
from textgen_eval.core.errors import ConfigError
from textgen_eval.core.models import load_model
from textgen_eval.data.vocab import Vocab
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig
from textgen_eval.generators.lstm_lm.model import LMNet, LSTMLanguageModel


@dataclass(frozen=True)
class PretrainedLM:
    config: LSTMLMConfig
    vocab: Vocab
    state: dict[str, torch.Tensor]


def load_pretrained_lm(directory: str | Path) -> PretrainedLM:
    """The config, vocabulary and weights of a saved ``lstm-lm``."""
    model = load_model(directory)
    if not isinstance(model, LSTMLanguageModel):
        raise ConfigError(f"init_from {directory}: a saved {model.name!r}, expected an lstm-lm")
    vocab = model.require_vocab()
    return PretrainedLM(model.cfg, vocab, {k: v.clone() for k, v in model.state_dict().items()})


def init_decoder(net: LMNet, pretrained: PretrainedLM) -> None:
    """Load ``pretrained``'s weights into ``net``, which must have the same architecture."""
    mine, theirs = to_dict(net.cfg), to_dict(pretrained.config)
    shape_keys = ("emb_dim", "hidden_size", "num_layers", "layer_norm", "tie_embeddings")
    differ = [f"{k}: {mine[k]!r} vs the LM's {theirs[k]!r}" for k in shape_keys if mine[k] != theirs[k]]
    if differ:
        raise ConfigError(
            "init_from: the generator's architecture differs from the LM's (" + "; ".join(differ) + ")"
        )
    net.load_state_dict(pretrained.state)
