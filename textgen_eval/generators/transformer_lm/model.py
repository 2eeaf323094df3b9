"""The transformer LM: a GPT-2-architecture causal transformer trained by maximum likelihood on
the bundle's vocabulary, or fine-tuned from a saved Hugging Face checkpoint with its tokenizer.

Sampling goes through the shared sampler one token at a time with the model's key/value cache:
each step feeds only the newest token and attends to the cached keys and values of the prefix
(:meth:`TransformerNet.step`), so drawing L tokens costs O(L) token passes instead of the
O(L²) of re-reading the prefix (:class:`UncachedDecoder`, kept for the equality test and the
benchmark). The NLL is exact (:func:`~textgen_eval.generators.text.likelihood.token_nll`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.protocols import TokenScores
from textgen_eval.core.space import SearchSpace
from textgen_eval.core.training import TaskRunner, TrainResult
from textgen_eval.data.token_ids import TokenIdFormat
from textgen_eval.data.vocab import Vocab
from textgen_eval.generators.lstm_lm.model import ban
from textgen_eval.generators.text.generator import AutoregressiveGenerator, VocabSettings, load_weights
from textgen_eval.generators.text.likelihood import LikelihoodTask, token_nll
from textgen_eval.generators.text.optim import TrainConfig
from textgen_eval.generators.text.scoring import exact_token_scores
from textgen_eval.generators.transformer_lm.checkpoint import (
    CHECKPOINT_DIR,
    Checkpoint,
    CheckpointIds,
    CheckpointVocab,
    build_causal_lm,
    checkpoint_context,
    load_checkpoint,
    vocab_size_of,
)
from textgen_eval.generators.transformer_lm.config import TransformerLMConfig
from textgen_eval.generators.transformer_lm.space import SEARCH_SPACE

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel


def gpt2_config(cfg: TransformerLMConfig, vocab_size: int) -> PretrainedConfig:
    """GPT-2's config for ``cfg`` over a vocabulary of ``vocab_size`` (the bundle's, specials
    first); the model's own BOS/EOS/PAD ids are the project's."""
    from transformers import GPT2Config

    from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID

    config: PretrainedConfig = GPT2Config(
        vocab_size=vocab_size,
        n_positions=cfg.context,
        n_embd=cfg.n_embd,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_inner=cfg.n_inner,
        resid_pdrop=cfg.dropout,
        embd_pdrop=cfg.dropout,
        attn_pdrop=cfg.attn_dropout,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
        pad_token_id=PAD_ID,
    )
    return config


#: Hugging Face warnings that do not apply here: the padding is always after a sentence's tokens,
#: where causal attention keeps it out of every scored position (no attention mask is needed), and
#: the cache is passed positionally, which every version accepts.
_IRRELEVANT_WARNINGS = ("passing in an `attention_mask`", "are deprecated. Use `cache` instead")


class _DropIrrelevant(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in _IRRELEVANT_WARNINGS)


def _quiet_transformers() -> None:
    root = logging.getLogger("transformers")
    if not any(isinstance(f, _DropIrrelevant) for f in root.filters):
        root.addFilter(_DropIrrelevant())
    for handler in root.handlers:  # records of child loggers reach the root's handlers, not its filters
        if not any(isinstance(f, _DropIrrelevant) for f in handler.filters):
            handler.addFilter(_DropIrrelevant())


def _cache_of(output: Mapping[str, Any]) -> Any:
    """The key/value cache of a forward pass (``cache`` in transformers ≥ 5.2x, ``past_key_values``
    before)."""
    return output["cache"] if "cache" in output else output.get("past_key_values")


class TransformerNet(nn.Module):
    """A causal LM (``lm``) over our id space: ``forward(inputs (B, T)) → (logits (B, T, V), cache)``.

    With ``ids`` (a checkpoint's map) inputs are translated to the checkpoint's ids and its logits
    back to ours (:class:`CheckpointIds`); without, the LM's vocabulary is the bundle's and
    ``banned`` ids (a token-id corpus's specials) get −∞ as in the LSTM LM."""

    #: the new model takes the fast loss layout (no published numbers to keep bit-identical)
    contiguous_loss = True

    def __init__(
        self,
        lm: PreTrainedModel,
        context: int,
        *,
        banned: Sequence[int] | None = None,
        ids: CheckpointIds | None = None,
    ) -> None:
        super().__init__()
        _quiet_transformers()
        self.lm = lm
        self.context = context
        self.ids = ids
        self.banned: Tensor | None
        self.model_banned: Tensor | None
        self.register_buffer("banned", None if banned is None else torch.tensor(banned), persistent=False)
        model_banned = None if ids is None else torch.tensor(ids.banned, dtype=torch.long)
        self.register_buffer("model_banned", model_banned, persistent=False)

    def forward(
        self, inputs: Tensor, state: Any = None, *, use_cache: bool = False, last_only: bool = False
    ) -> tuple[Tensor, Any]:
        """Logits ``(B, T, V)`` for ``inputs (B, T)`` after the cached prefix ``state``
        (``last_only``: ``(B, 1, V)``, the last position's alone)."""
        seen = 0 if state is None else int(state.get_seq_length())
        if seen + inputs.shape[1] > self.context:
            raise ConfigError(
                f"a sequence of {seen + inputs.shape[1]} positions is longer than the model's context "
                f"({self.context})"
            )
        model_inputs = inputs if self.ids is None else self.ids.to_model(inputs)
        # the cache is the second positional argument in every transformers version
        keep = {"logits_to_keep": 1} if last_only else {}
        out = self.lm(model_inputs, state, use_cache=use_cache, **keep)
        logits: Tensor = out["logits"]  # (B, T, V_model)
        if self.ids is not None:
            assert self.model_banned is not None
            return self.ids.to_ours(logits, self.model_banned), _cache_of(out)
        return ban(logits, self.banned), _cache_of(out)

    def step(self, tokens: Tensor, state: Any) -> tuple[Tensor, Any]:
        """One decoding step with the key/value cache: ``tokens (B,)`` → logits ``(B, V)``."""
        logits, cache = self(tokens.unsqueeze(1), state, use_cache=True)  # (B, 1, V)
        return logits[:, -1], cache


class UncachedDecoder:
    """The network as a decoder that re-reads the whole prefix at every step (no cache): the
    reference the cached decoder is tested against, and the benchmark's baseline. Only the last
    position's logits are computed (as a generation loop without a cache does), so the baseline
    pays for re-reading the prefix, not for output layers it would not need."""

    def __init__(self, net: TransformerNet) -> None:
        self.net = net

    def step(self, tokens: Tensor, state: Tensor | None) -> tuple[Tensor, Tensor]:
        prefix = tokens.unsqueeze(1) if state is None else torch.cat([state, tokens.unsqueeze(1)], dim=1)
        logits, _ = self.net(prefix, last_only=True)  # (B, 1, V)
        return logits[:, -1], prefix


class TransformerTask(LikelihoodTask[TransformerNet]):
    """Maximum likelihood of the transformer (one stage, optimizer ``main``)."""


class TransformerLM(AutoregressiveGenerator):
    """A GPT-2-architecture transformer LM, from scratch or from a saved checkpoint."""

    name = "transformer-lm"
    description = "GPT-2-architecture transformer LM (from scratch, or fine-tuned from a local checkpoint)"
    paper = "Radford et al. 2019 (GPT-2); Caccia et al. 2018 (the MLE baseline) — beyond the thesis"
    config_sections: ClassVar[Mapping[str, type]] = {"model": TransformerLMConfig, "train": TrainConfig}
    search_space: ClassVar[SearchSpace | None] = SEARCH_SPACE
    supports_fixed_length = True

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs, vocab=vocab)
        self.net: TransformerNet | None = None
        #: the checkpoint's config (``model.init_from``): loaded with it or with a saved model
        self.hf_config: PretrainedConfig | None = None
        self._checkpoint_state: dict[str, Tensor] | None = None

    @property
    def cfg(self) -> TransformerLMConfig:
        cfg: TransformerLMConfig = self.configs["model"]
        return cfg

    # -- the checkpoint ------------------------------------------------------------------------

    @property
    def from_checkpoint(self) -> bool:
        return self.cfg.init_from is not None

    def use_format(self, fmt: TokenIdFormat) -> None:
        if self.from_checkpoint:
            raise ConfigError(
                f"model.init_from with {fmt.describe()}: a checkpoint's tokenizer cannot read a token-id "
                "corpus; train from scratch on it (leave model.init_from unset)"
            )
        super().use_format(fmt)

    def configs_for_format(self, fmt: TokenIdFormat) -> dict[str, Any]:
        """The context must hold BOS and the corpus's ``fmt.length`` tokens."""
        if self.cfg.context < fmt.length + 1:
            raise ConfigError(
                f"{self.name} on {fmt.describe()}: model.context ({self.cfg.context}) must be at least "
                f"{fmt.length + 1} (BOS and the corpus's {fmt.length} tokens)"
            )
        return dict(self.configs)

    def load_checkpoint(self) -> None:
        """Read ``model.init_from``: its tokenizer becomes the vocabulary and its weights the
        network's (before any training: what a learning rate of 0 leaves)."""
        if self.cfg.init_from is None:
            raise ConfigError("model.init_from is not set: there is no checkpoint to load")
        checkpoint: Checkpoint = load_checkpoint(self.cfg.init_from)
        self.hf_config = checkpoint.config
        self.vocab = CheckpointVocab(checkpoint.tokenizer, vocab_size_of(checkpoint.config))
        self._checkpoint_state = checkpoint.state
        self.net = self.build_net().eval()

    @property
    def context(self) -> int:
        return checkpoint_context(self.hf_config) if self.hf_config is not None else self.cfg.context

    # -- the network ---------------------------------------------------------------------------

    def build_net(self) -> TransformerNet:
        vocab = self.require_vocab()
        if isinstance(vocab, CheckpointVocab):
            if self.hf_config is None:
                raise ConfigError("the checkpoint's config is not loaded")
            lm = build_causal_lm(self.hf_config)
            if self._checkpoint_state is not None:
                lm.load_state_dict(self._checkpoint_state)
            return TransformerNet(lm, self.context, ids=vocab.ids)
        lm = build_causal_lm(gpt2_config(self.cfg, len(vocab)))
        return TransformerNet(lm, self.context, banned=self.banned_outputs())

    def vocab_settings(self) -> VocabSettings:
        cfg = self.cfg
        # a checkpoint's context bounds its training sentences (BOS and the tokens must fit)
        return VocabSettings(cfg.tokenizer, cfg.min_freq, cfg.max_vocab, min(cfg.max_len, self.context - 1))

    def valid_max_len(self) -> int | None:
        return self.context - 1

    def max_sample_len(self, requested: int) -> int:
        return min(super().max_sample_len(requested), self.context)

    # -- training ------------------------------------------------------------------------------

    def fit(
        self, train: Sequence[str], valid: Sequence[str] | None, runner: TaskRunner, *, resume: bool = False
    ) -> TrainResult:
        if self.from_checkpoint and self.hf_config is None:
            self.load_checkpoint()
        task, result = self.fit_task(
            lambda t, v: TransformerTask(self, t, v, runner.config), train, valid, runner, resume=resume
        )
        self.net = task.module.eval()
        return result

    # -- inference -----------------------------------------------------------------------------

    def _ready(self) -> TransformerNet:
        if self.net is None or self.vocab is None:
            raise ConfigError("the model is not trained or loaded")
        self.net.eval()
        return self.net

    def decoder(self) -> TransformerNet:
        return self._ready()

    def score_texts(self, texts: Sequence[str], *, batch_size: int = 64) -> TokenScores:
        """Per-sentence NLL in nats (EOS scored, BOS not). From a checkpoint the unit is the
        checkpoint's token, and ``words`` gives the whitespace words (+ EOS) of each sentence, the
        unit that compares with a word-level model."""
        net, vocab = self._ready(), self.require_vocab()
        scores = exact_token_scores(
            texts,
            vocab,
            lambda batch: token_nll(net, batch),
            self.device,
            batch_size=batch_size,
            fixed=self.text_format,
            max_len=self.context - 1,
            source=f"scored text (the context of {self.context} holds BOS and {self.context - 1} tokens)",
        )
        if isinstance(vocab, CheckpointVocab):
            words = np.asarray(vocab.words(texts), dtype=np.int64)
            return TokenScores(scores.nll, scores.tokens, scores.oov, unit="model-token", words=words)
        return scores

    @property
    def signature(self) -> str:
        self._ready()
        vocab = self.require_vocab()
        if self.hf_config is not None:
            c = self.hf_config
            size = f"{getattr(c, 'num_hidden_layers', '?')}x{getattr(c, 'hidden_size', '?')}"
            return f"transformer-lm-{c.model_type}-{size}-{vocab.signature}"
        cfg = self.cfg
        return f"transformer-lm-{cfg.n_layer}x{cfg.n_embd}h{cfg.n_head}-{vocab.signature}"

    # -- persistence ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return dict(self._ready().state_dict())

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._checkpoint_state = None  # the saved weights replace the checkpoint's
        self.net = load_weights(self.build_net(), state)

    def save_extra(self, directory: Path) -> None:
        vocab = self.require_vocab()
        if isinstance(vocab, CheckpointVocab):
            assert self.hf_config is not None
            vocab.save(directory)
            self.hf_config.save_pretrained(str(directory / CHECKPOINT_DIR))
            return
        super().save_extra(directory)

    def load_extra(self, directory: Path) -> None:
        if (directory / CHECKPOINT_DIR).is_dir():
            self.hf_config, self.vocab = CheckpointVocab.load_checkpoint_files(directory)
            return
        super().load_extra(directory)

    def to(self, device: str | torch.device) -> TransformerLM:
        self.device = torch.device(device)
        if self.net is not None:
            self.net.to(self.device)
        return self
