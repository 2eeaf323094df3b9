"""The LSTM language model: network, training task, sampling, scoring and features."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.protocols import TokenScores
from textgen_eval.core.space import SearchSpace
from textgen_eval.core.training import TaskRunner, TrainResult
from textgen_eval.data.batching import EncodedCorpus, sorted_batches
from textgen_eval.data.vocab import PAD_ID, Vocab
from textgen_eval.generators.lstm_lm.cells import RecurrentDropoutLSTM
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
from textgen_eval.generators.lstm_lm.space import SEARCH_SPACE
from textgen_eval.generators.text.generator import AutoregressiveGenerator, load_weights
from textgen_eval.generators.text.likelihood import (
    LikelihoodTask,
    corpus_nll,
    sequence_cross_entropy,
    token_nll,
)
from textgen_eval.generators.text.scoring import encode_for_scoring, exact_token_scores

#: the likelihood functions live in :mod:`textgen_eval.generators.text.likelihood`; re-exported
#: here, where the models that build on the LSTM import them from
__all__ = ["LMNet", "LMTask", "LSTMLanguageModel", "ban", "corpus_nll", "sequence_cross_entropy", "token_nll"]


class LMNet(nn.Module):
    """Embedding → (recurrent-dropout) LSTM → optional projection → softmax layer."""

    #: the state ``(h, c)`` keeps the batch in dimension 1 (``(layers, B, H)``), so rollouts can
    #: branch from it (:class:`~textgen_eval.generators.text.sampler.BranchingDecoder`)
    state_batch_dim = 1

    def __init__(self, cfg: LSTMLMConfig, vocab_size: int, *, banned: Sequence[int] | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.banned: Tensor | None
        # ids whose logit is −∞ (a fixed-length token-id corpus: PAD, BOS, EOS, UNK); not saved
        self.register_buffer("banned", None if banned is None else torch.tensor(banned), persistent=False)
        self.embedding = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=PAD_ID)
        self.rnn = RecurrentDropoutLSTM(
            cfg.emb_dim,
            cfg.hidden_size,
            cfg.num_layers,
            recurrent_dropout=cfg.recurrent_dropout,
            kind=cfg.recurrent_dropout_kind,
            mode=cfg.recurrent_dropout_mask,
            layer_norm=cfg.layer_norm,
            inter_dropout=cfg.output_dropout,
        )
        out_dim = cfg.hidden_size
        self.projection: nn.Linear | None = None
        if cfg.tie_embeddings and cfg.hidden_size != cfg.emb_dim:
            self.projection = nn.Linear(cfg.hidden_size, cfg.emb_dim)
            out_dim = cfg.emb_dim
        self.decoder = nn.Linear(out_dim, vocab_size)
        if cfg.tie_embeddings:
            self.decoder.weight = self.embedding.weight
        if cfg.init_range is not None:
            for param in self.parameters():
                nn.init.uniform_(param, -cfg.init_range, cfg.init_range)

    def hidden(
        self, inputs: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Last-layer hidden states ``(B, T, H)`` for token ids ``(B, T)``."""
        emb = F.dropout(self.embedding(inputs), self.cfg.input_dropout, self.training)
        return self.rnn(emb, state)

    def logits(self, hidden: Tensor) -> Tensor:
        hidden = F.dropout(hidden, self.cfg.output_dropout, self.training)
        if self.projection is not None:
            hidden = self.projection(hidden)
        return ban(self.decoder(hidden), self.banned)

    def forward(
        self, inputs: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        hidden, state = self.hidden(inputs, state)
        return self.logits(hidden), state

    @property
    def contiguous_loss(self) -> bool:
        """The fast loss layout for fixed-length token-id models (new), the thesis' layout for
        the others (:func:`~textgen_eval.generators.text.likelihood.sequence_cross_entropy`)."""
        return self.banned is not None

    def step(
        self, tokens: Tensor, state: tuple[Tensor, Tensor] | None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """One decoding step (the shared sampler's :class:`Decoder`): ``tokens (B,)`` → ``(B, V)``."""
        logits, state = self(tokens.unsqueeze(1), state)  # (B, 1, V)
        return logits[:, -1], state


def ban(logits: Tensor, banned: Tensor | None) -> Tensor:
    """``logits (…, V)`` with the ``banned`` ids at −∞ (no mass, zero gradient), or as they are.
    In place: the callers pass the output layer's fresh result, which nothing else holds (and
    whose backward does not need it), so no copy of a (B, T, V) tensor is made."""
    return logits if banned is None else logits.index_fill_(logits.dim() - 1, banned, -math.inf)


class LMTask(LikelihoodTask[LMNet]):
    """The LM as a :class:`~textgen_eval.core.training.TrainingTask`: one stage configured by
    ``[runner]``, one optimizer (``main``), maximum likelihood on every batch."""


class LSTMLanguageModel(AutoregressiveGenerator):
    """LSTM LM with recurrent dropout. A :class:`SequenceScorer` and a :class:`Featurizer`."""

    name = "lstm-lm"
    description = "LSTM language model with recurrent dropout (Semeniuta, Gal or Moon variant)"
    paper = "Semeniuta 2019, ch. 3 (eq. 3.3.8–3.3.10); Semeniuta et al. 2016"
    config_sections: ClassVar[Mapping[str, type]] = {"model": LSTMLMConfig, "train": TrainConfig}
    search_space: ClassVar[SearchSpace | None] = SEARCH_SPACE
    #: the training task (a subclass changes the loss: ``jsdgan``)
    task_class: ClassVar[type[LMTask]] = LMTask

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs, vocab=vocab)
        self.net: LMNet | None = None
        self.train_info: dict[str, Any] = {}

    @property
    def cfg(self) -> LSTMLMConfig:
        cfg: LSTMLMConfig = self.configs["model"]
        return cfg

    #: trains and samples on synthetic-oracle bundles (fixed-length token ids)
    supports_fixed_length = True

    def build_net(self) -> LMNet:
        return LMNet(self.cfg, len(self.require_vocab()), banned=self.banned_outputs())

    # -- training ------------------------------------------------------------------------------

    def fit(
        self, train: Sequence[str], valid: Sequence[str] | None, runner: TaskRunner, *, resume: bool = False
    ) -> TrainResult:
        train_corpus, valid_corpus = self.prepare_corpora(train, valid)
        task = self.task_class(self, train_corpus, valid_corpus, runner.config)
        result = runner.fit(task, resume=resume)
        self.net = task.module
        self.net.eval()
        self.device = task.device
        self.train_info = {
            "train_sentences": len(train_corpus),
            "dropped_long": train_corpus.n_long,
            "train_tokens": train_corpus.n_tokens,
        }
        return result

    # -- inference -----------------------------------------------------------------------------

    def _ready(self) -> tuple[LMNet, Vocab]:
        if self.net is None or self.vocab is None:
            raise ConfigError("the model is not trained or loaded")
        self.net.eval()
        return self.net, self.vocab

    def decoder(self) -> LMNet:
        net, _ = self._ready()
        return net

    def encode_for_scoring(self, texts: Sequence[str]) -> tuple[EncodedCorpus, np.ndarray]:
        _, vocab = self._ready()
        return encode_for_scoring(texts, vocab, source="samples", fixed=self.text_format)

    def score_texts(self, texts: Sequence[str], *, batch_size: int = 256) -> TokenScores:
        """Per-sentence NLL in nats (EOS scored, BOS not), token counts and OOV counts."""
        net, vocab = self._ready()
        return exact_token_scores(
            texts,
            vocab,
            lambda batch: token_nll(net, batch),
            self.device,
            batch_size=batch_size,
            fixed=self.text_format,
        )

    def features(self, texts: Sequence[str], *, role: str = "samples", batch_size: int = 256) -> np.ndarray:
        """Mean of the last layer's hidden states after reading each token and EOS (the state
        after BOS, identical for every sentence, is left out); ``(n, hidden_size)`` float64."""
        net, _ = self._ready()
        corpus, _ = self.encode_for_scoring(texts)
        out = np.zeros((len(corpus), self.cfg.hidden_size), dtype=np.float64)
        with torch.no_grad():
            for idx, batch in sorted_batches(corpus.sequences, batch_size):
                ids = torch.from_numpy(batch).to(self.device)
                hidden, _ = net.hidden(ids)
                mask = (ids != PAD_ID).clone()
                mask[:, 0] = False  # the BOS state
                pooled = (hidden * mask.unsqueeze(-1)).sum(dim=1) / mask.sum(dim=1, keepdim=True)
                out[idx] = pooled.double().cpu().numpy()
        return out

    @property
    def signature(self) -> str:
        _, vocab = self._ready()
        c = self.cfg
        return f"lstm-lm-{c.num_layers}x{c.hidden_size}-{vocab.signature}"

    # -- persistence ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        net, _ = self._ready()
        return dict(net.state_dict())

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.net = load_weights(self.build_net(), state)

    def to(self, device: str | torch.device) -> LSTMLanguageModel:
        self.device = torch.device(device)
        if self.net is not None:
            self.net.to(self.device)
        return self
