"""The LSTM language model: network, training task, sampling, scoring and features."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.protocols import TokenScores
from textgen_eval.core.space import SearchSpace
from textgen_eval.data.batching import EncodedCorpus, encode_corpus, iterate_batches, sorted_batches
from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocab
from textgen_eval.generators.base import Generator, TaskRunner
from textgen_eval.generators.lstm_lm.cells import RecurrentDropoutLSTM
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig, make_optimizer
from textgen_eval.generators.lstm_lm.space import SEARCH_SPACE


class LMNet(nn.Module):
    """Embedding → (recurrent-dropout) LSTM → optional projection → softmax layer."""

    def __init__(self, cfg: LSTMLMConfig, vocab_size: int) -> None:
        super().__init__()
        self.cfg = cfg
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
        return self.decoder(hidden)

    def forward(
        self, inputs: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        hidden, state = self.hidden(inputs, state)
        return self.logits(hidden), state


def token_nll(net: LMNet, batch: Tensor) -> tuple[Tensor, Tensor]:
    """Summed NLL (nats) per sentence and number of predicted tokens, for a padded
    ``[BOS] ids [EOS]`` batch. Padding is never counted; EOS is scored, BOS is not."""
    inputs, targets = batch[:, :-1], batch[:, 1:]
    logits, _ = net(inputs)
    nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=PAD_ID, reduction="none")
    mask = targets != PAD_ID
    return (nll * mask).sum(dim=1), mask.sum(dim=1)


class LMTask:
    """The LM as a :class:`~textgen_eval.core.protocols.TrainingTask` for the shared runner."""

    update_schedule = (("main", 1),)

    def __init__(
        self, model: LSTMLanguageModel, train: EncodedCorpus, valid: EncodedCorpus | None, seed: int
    ) -> None:
        self.model = model
        self.train = train
        self.valid = valid
        self.seed = seed
        cfg: TrainConfig = model.configs["train"]
        self.batch_size = cfg.batch_size
        # bucketing chunks hold whole batches except the last, so this is exact
        self.steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
        self.module: LMNet | None = None
        self._optimizer: Any = None
        self.device = torch.device("cpu")

    def setup(self, device: torch.device) -> None:
        self.device = device
        self.module = self.model.build_net().to(device)
        self._optimizer = make_optimizer(self.module.parameters(), self.model.configs["train"])

    def optimizers(self) -> Mapping[str, Any]:
        return {"main": self._optimizer}

    def train_batches(self, epoch: int) -> Iterator[np.ndarray]:
        return iterate_batches(self.train, self.batch_size, seed=self.seed, epoch=epoch)

    def training_step(
        self, batch: np.ndarray, *, optimizer: str, step: int, epoch: int
    ) -> Mapping[str, Tensor]:
        assert self.module is not None
        nll, count = token_nll(self.module, torch.from_numpy(batch).to(self.device))
        return {"loss": nll.sum() / count.sum()}

    def validate(self) -> Mapping[str, float]:
        if self.valid is None or self.module is None:
            return {}
        total, count = corpus_nll(
            self.module, self.valid, self.model.configs["train"].eval_batch_size, self.device
        )
        loss = total / count
        return {"valid_loss": loss, "valid_ppl": math.exp(min(loss, 700.0))}


def corpus_nll(net: LMNet, corpus: EncodedCorpus, batch_size: int, device: torch.device) -> tuple[float, int]:
    """Total NLL (float64 accumulation) and token count of ``corpus``."""
    total, count = 0.0, 0
    with torch.no_grad():
        for _, batch in sorted_batches(corpus.sequences, batch_size):
            nll, n = token_nll(net, torch.from_numpy(batch).to(device))
            total += float(nll.double().sum())
            count += int(n.sum())
    return total, count


class LSTMLanguageModel(Generator):
    """LSTM LM with recurrent dropout. A :class:`SequenceScorer` and a :class:`Featurizer`."""

    name = "lstm-lm"
    config_sections: ClassVar[Mapping[str, type]] = {"model": LSTMLMConfig, "train": TrainConfig}
    search_space: ClassVar[SearchSpace | None] = SEARCH_SPACE

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs)
        self.vocab = vocab
        self.net: LMNet | None = None
        self.device = torch.device("cpu")
        self.train_info: dict[str, Any] = {}

    @property
    def cfg(self) -> LSTMLMConfig:
        cfg: LSTMLMConfig = self.configs["model"]
        return cfg

    def build_net(self) -> LMNet:
        if self.vocab is None:
            raise ConfigError("the vocabulary must exist before the network (call fit or load)")
        return LMNet(self.cfg, len(self.vocab))

    # -- training ------------------------------------------------------------------------------

    def fit(
        self, train: Sequence[str], valid: Sequence[str] | None, runner: TaskRunner, *, resume: bool = False
    ) -> Any:
        cfg = self.cfg
        if self.vocab is None:
            self.vocab = Vocab.build(
                train, tokenizer=cfg.tokenizer, min_freq=cfg.min_freq, max_size=cfg.max_vocab
            )
        train_corpus = encode_corpus(
            train, self.vocab, max_len=cfg.max_len, long="drop", source="training text"
        )
        if len(train_corpus) == 0:
            raise InputError(f"no training sentence has at most max_len={cfg.max_len} tokens")
        valid_corpus = None
        if valid is not None:
            valid_corpus = encode_corpus(valid, self.vocab, max_len=None, source="validation text")
            if len(valid_corpus) == 0:
                raise InputError("the validation text is empty")
        task = LMTask(self, train_corpus, valid_corpus, seed=runner.config.seed)
        result = runner.fit(task, resume=resume)
        assert task.module is not None
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

    def sample(
        self,
        n: int,
        *,
        max_len: int = 50,
        temperature: float = 1.0,
        seed: int = 0,
        progress: Callable[[int], object] | None = None,
        batch_size: int = 1000,
    ) -> list[str]:
        """Ancestral sampling (``temperature`` 0: greedy); PAD and BOS are never drawn."""
        if n < 0:
            raise ConfigError(f"number of samples must be ≥ 0, got {n}")
        if max_len < 1:
            raise ConfigError(f"max_len must be ≥ 1, got {max_len}")
        if temperature < 0:
            raise ConfigError(f"temperature must be ≥ 0, got {temperature}")
        net, vocab = self._ready()
        gen = torch.Generator(device=self.device).manual_seed(seed)
        out: list[str] = []
        with torch.no_grad():
            for start in range(0, n, batch_size):
                size = min(batch_size, n - start)
                out.extend(self._sample_batch(net, vocab, size, max_len, temperature, gen))
                if progress is not None:
                    progress(size)
        return out

    def _sample_batch(
        self, net: LMNet, vocab: Vocab, size: int, max_len: int, temperature: float, gen: torch.Generator
    ) -> list[str]:
        tokens = torch.full((size, 1), BOS_ID, dtype=torch.long, device=self.device)
        state = None
        done = torch.zeros(size, dtype=torch.bool, device=self.device)
        drawn = []
        for _ in range(max_len):
            logits, state = net(tokens, state)
            logits = logits[:, -1].float()
            logits[:, PAD_ID] = -math.inf
            logits[:, BOS_ID] = -math.inf
            if temperature == 0:
                tokens = logits.argmax(dim=-1, keepdim=True)
            else:
                probs = torch.softmax(logits / temperature, dim=-1)
                tokens = torch.multinomial(probs, 1, generator=gen)
            tokens = tokens.masked_fill(done.unsqueeze(1), PAD_ID)
            drawn.append(tokens)
            done |= tokens.squeeze(1) == EOS_ID
            if bool(done.all()):
                break
        ids = torch.cat(drawn, dim=1).cpu().tolist()
        return [vocab.decode(row) for row in ids]

    def encode_for_scoring(self, texts: Sequence[str]) -> tuple[EncodedCorpus, np.ndarray]:
        _, vocab = self._ready()
        corpus = encode_corpus(texts, vocab, max_len=None, source="samples")
        oov = np.asarray([int((seq[1:-1] == UNK_ID).sum()) for seq in corpus.sequences], dtype=np.int64)
        return corpus, oov

    def score_texts(self, texts: Sequence[str], *, batch_size: int = 256) -> TokenScores:
        """Per-sentence NLL in nats (EOS scored, BOS not), token counts and OOV counts."""
        net, _ = self._ready()
        corpus, oov = self.encode_for_scoring(texts)
        nll = np.zeros(len(corpus), dtype=np.float64)
        tokens = np.zeros(len(corpus), dtype=np.int64)
        with torch.no_grad():
            for idx, batch in sorted_batches(corpus.sequences, batch_size):
                sums, counts = token_nll(net, torch.from_numpy(batch).to(self.device))
                nll[idx] = sums.double().cpu().numpy()
                tokens[idx] = counts.cpu().numpy()
        return TokenScores(nll=nll, tokens=tokens, oov=oov)

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
        net = self.build_net()
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise InputError(f"saved weights do not match the saved config: {exc}") from None
        self.net = net.eval()

    def save_extra(self, directory: Path) -> None:
        _, vocab = self._ready()
        vocab.save(directory)

    def load_extra(self, directory: Path) -> None:
        self.vocab = Vocab.load(directory)

    def to(self, device: str | torch.device) -> LSTMLanguageModel:
        self.device = torch.device(device)
        if self.net is not None:
            self.net.to(self.device)
        return self
