"""Configuration of the LSTM language model: ``[model]`` (architecture, vocabulary) and
``[train]`` (optimizer, batches); the loop itself is configured by ``[runner]``
(:class:`textgen_eval.training.RunnerConfig`)."""

from __future__ import annotations

from typing import Literal

from textgen_eval.core.config import settings
from textgen_eval.data.vocab import check_vocab_settings
from textgen_eval.generators.text.optim import TrainConfig, make_optimizer

__all__ = ["LSTMLMConfig", "TrainConfig", "make_optimizer"]


@settings
class LSTMLMConfig:
    """Architecture and vocabulary.

    Attributes:
        tokenizer: ``whitespace`` (words), ``char`` or ``spm:N`` (SentencePiece with ``N`` pieces
            trained on the training text; the thesis used 4k pieces for NLI data).
        min_freq / max_vocab: keep tokens seen ≥ ``min_freq`` times, at most ``max_vocab``.
        max_len: training sentences with more tokens are dropped (scoring takes any length).
        emb_dim, hidden_size, num_layers: sizes.
        input_dropout / output_dropout: forward dropout on embeddings / on LSTM outputs.
        recurrent_dropout: rate of the recurrent dropout of ``recurrent_dropout_kind``
            (``semeniuta`` eq. 3.3.10, ``gal`` eq. 3.3.8, ``moon`` eq. 3.3.9), with a mask drawn
            ``per-step`` or ``per-sequence``.
        layer_norm: layer-normalised LSTM (Ba et al. 2016).
        tie_embeddings: share input embedding and output matrix (Press & Wolf 2017); a linear
            projection maps the hidden state to ``emb_dim`` when the sizes differ.
        init_range: initialise every weight uniformly in ``[-r, r]`` (the thesis: 0.01);
            ``None`` keeps torch's defaults.
    """

    tokenizer: str = "whitespace"
    min_freq: int = 1
    max_vocab: int | None = None
    max_len: int = 100
    emb_dim: int = 128
    hidden_size: int = 256
    num_layers: int = 1
    input_dropout: float = 0.0
    output_dropout: float = 0.0
    recurrent_dropout: float = 0.0
    recurrent_dropout_kind: Literal["semeniuta", "gal", "moon"] = "semeniuta"
    recurrent_dropout_mask: Literal["per-step", "per-sequence"] = "per-step"
    layer_norm: bool = False
    tie_embeddings: bool = False
    init_range: float | None = None

    def __post_init__(self) -> None:
        check_vocab_settings(self.min_freq, self.max_vocab)
        for name in ("emb_dim", "hidden_size", "num_layers", "max_len", "min_freq"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        for name in ("input_dropout", "output_dropout", "recurrent_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.init_range is not None and self.init_range <= 0:
            raise ValueError(f"init_range must be > 0, got {self.init_range}")
