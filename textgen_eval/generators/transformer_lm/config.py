"""Configuration of the transformer LM: ``[model]`` (architecture, vocabulary or a checkpoint to
start from) and ``[train]`` (optimizer, batches; :class:`~textgen_eval.generators.text.optim.TrainConfig`);
the loop is configured by ``[runner]``."""

from __future__ import annotations

from textgen_eval.core.config import settings
from textgen_eval.data.vocab import check_vocab_settings


@settings
class TransformerLMConfig:
    """A causal transformer with GPT-2's architecture (Radford et al. 2019: pre-layer-norm blocks
    of masked multi-head self-attention and a 4×-wide GELU MLP, learned absolute positions, the
    output layer tied to the token embedding).

    Attributes:
        tokenizer / min_freq / max_vocab / max_len: the bundle vocabulary, as for ``lstm-lm``
            (training sentences with more than ``max_len`` tokens are dropped).
        n_layer, n_head, n_embd: blocks, attention heads and width (``n_embd`` divisible by
            ``n_head``); ``n_inner``: the MLP's width (``None``: 4 × ``n_embd``).
        context: the longest sequence the model reads (GPT-2's ``n_positions``), at least
            ``max_len + 1`` (BOS and the tokens; EOS is only predicted). Samples are at most this
            long; a scored sentence that does not fit is an error naming the limit.
        dropout: dropout on the embeddings and on every residual branch (GPT-2's ``embd_pdrop``
            and ``resid_pdrop``); ``attn_dropout``: on the attention weights.
        init_from: a directory written by ``save_pretrained`` holding a causal LM and its
            tokenizer (or a Hugging Face hub name, where the network allows): the model starts
            from those weights and reads and writes text with that tokenizer. The architecture
            and vocabulary fields above are then the checkpoint's, not these.
    """

    tokenizer: str = "whitespace"
    min_freq: int = 1
    max_vocab: int | None = None
    max_len: int = 100
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    n_inner: int | None = None
    context: int = 128
    dropout: float = 0.1
    attn_dropout: float = 0.1
    init_from: str | None = None

    def __post_init__(self) -> None:
        check_vocab_settings(self.min_freq, self.max_vocab)
        for name in ("n_layer", "n_head", "n_embd", "context", "max_len", "min_freq"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.n_inner is not None and self.n_inner < 1:
            raise ValueError(f"n_inner must be ≥ 1, got {self.n_inner}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        for name in ("dropout", "attn_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.init_from is None and self.context < self.max_len + 1:
            raise ValueError(
                f"context ({self.context}) must be at least max_len + 1 = {self.max_len + 1} "
                "(BOS and the longest training sentence)"
            )
        if self.init_from is not None and not self.init_from.strip():
            raise ValueError("init_from is empty: give a checkpoint directory or leave it unset")
