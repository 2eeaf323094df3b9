"""A causal LM saved with Hugging Face's ``save_pretrained``, as the transformer LM's starting point.

:func:`load_checkpoint` reads the model and its tokenizer from a directory (or a hub name where
the network allows) and turns every way it can fail into a :class:`ConfigError` naming the
directory. :class:`CheckpointVocab` puts the checkpoint's tokenizer behind the project's
vocabulary interface: our ids are the checkpoint's ids shifted by the four specials
(PAD, BOS, EOS, UNK → 0–3; checkpoint id ``i`` → ``i + 4``), so the shared sampler, the batching
and the exact NLL work unchanged, and :class:`CheckpointIds` maps between the two spaces inside
the network (our BOS is the checkpoint's beginning-of-text token, our EOS its end-of-text token).
Nothing here runs code from the checkpoint (``trust_remote_code`` stays off).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.hashing import text_digest
from textgen_eval.data.tokenizers import Tokenizer
from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID, SPECIALS, Vocab

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase

#: Our ids are the checkpoint's plus this offset (the four specials come first).
OFFSET = len(SPECIALS)
#: The subdirectory of a saved ``transformer-lm`` that holds the checkpoint's config and tokenizer.
CHECKPOINT_DIR = "checkpoint"
#: The files of which a saved tokenizer has at least one (fast, GPT-2 BPE, SentencePiece, WordPiece).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model", "vocab.txt")


@dataclass(frozen=True)
class Checkpoint:
    """A loaded causal LM: its config, weights and tokenizer, and where they came from."""

    source: str
    config: PretrainedConfig
    state: dict[str, Tensor]
    tokenizer: PreTrainedTokenizerBase


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _is_path(source: str) -> bool:
    return (
        Path(source).exists() or source.startswith((".", "/", "~")) or "\\" in source or source.count("/") > 1
    )


def load_checkpoint(source: str, *, option: str = "model.init_from") -> Checkpoint:
    """The causal LM and tokenizer at ``source`` (a ``save_pretrained`` directory or a hub name).

    Refused with a message naming ``source``: a missing directory, a directory without a config,
    weights or tokenizer, files that do not parse, a model that is not a causal LM, weights that
    leave parameters uninitialised, a tokenizer without an end-of-text token."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    where = f"{option}={source}"
    path = Path(source).expanduser()
    if _is_path(source):
        if not path.exists():
            raise ConfigError(f"{where}: no such directory (expected a save_pretrained checkpoint)")
        if not path.is_dir():
            raise ConfigError(f"{where}: a file, not a directory (expected a save_pretrained checkpoint)")
        if not (path / "config.json").is_file():
            raise ConfigError(f"{where}: no config.json (expected a directory written by save_pretrained)")
        source = str(path)
    # Hugging Face raises many exception types for missing, truncated or foreign files (OSError,
    # ValueError, KeyError, safetensors' own errors); at this boundary each becomes one message.
    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    except Exception as exc:  # see above
        raise ConfigError(f"{where}: the model config does not load: {_first_line(exc)}") from None
    try:
        loaded: Any = AutoModelForCausalLM.from_pretrained(
            source, config=config, trust_remote_code=False, output_loading_info=True
        )
        model, info = loaded
    except ValueError as exc:
        if "Unrecognized configuration class" in str(exc) or "does not recognize" in str(exc):
            raise ConfigError(
                f"{where}: a {config.model_type!r} model, not a causal language model "
                "(expected one that AutoModelForCausalLM loads, e.g. GPT-2)"
            ) from None
        raise ConfigError(f"{where}: the weights do not load: {_first_line(exc)}") from None
    except Exception as exc:  # see above
        raise ConfigError(f"{where}: the weights do not load: {_first_line(exc)}") from None
    missing = list(info.get("missing_keys", ())) + list(info.get("mismatched_keys", ()))
    if missing:
        shown = ", ".join(str(k) for k in missing[:3])
        raise ConfigError(
            f"{where}: the weights leave {len(missing)} parameter(s) uninitialised ({shown}…): "
            "an incomplete or different checkpoint"
        )
    if path.is_dir() and not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ConfigError(
            f"{where}: no tokenizer files ({', '.join(TOKENIZER_FILES)}); save the tokenizer beside the "
            "model with tokenizer.save_pretrained(DIR)"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except Exception as exc:  # see above
        raise ConfigError(
            f"{where}: no usable tokenizer ({_first_line(exc)}); save it beside the model with "
            "tokenizer.save_pretrained(DIR)"
        ) from None
    if isinstance(tokenizer, bool) or not hasattr(tokenizer, "convert_ids_to_tokens") or len(tokenizer) < 2:
        raise ConfigError(f"{where}: no usable tokenizer; save it with tokenizer.save_pretrained(DIR)")
    if tokenizer.eos_token_id is None:
        raise ConfigError(
            f"{where}: the tokenizer has no end-of-text token (eos_token), so sentences cannot end"
        )
    state = {k: v.detach().float().clone() for k, v in model.state_dict().items()}
    return Checkpoint(source, config, state, tokenizer)


def checkpoint_context(config: PretrainedConfig) -> int:
    """The longest sequence the checkpoint reads (GPT-2's ``n_positions``)."""
    for name in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    raise ConfigError(f"the checkpoint's config ({config.model_type}) states no context length")


def build_causal_lm(config: PretrainedConfig) -> PreTrainedModel:
    """A randomly initialised causal LM of ``config`` (weights are loaded afterwards), float32."""
    from transformers import AutoModelForCausalLM

    model: PreTrainedModel = AutoModelForCausalLM.from_config(config, trust_remote_code=False)
    return model.float()


def tokenizer_digest(tokenizer: PreTrainedTokenizerBase) -> str:
    """A digest of everything that changes how ``tokenizer`` reads text: a fast tokenizer's full
    serialisation (vocabulary, merges, normaliser, pre-tokeniser), else its vocabulary and
    special tokens."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return text_digest([backend.to_str()])
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    return text_digest([f"{t}\t{i}" for t, i in vocab] + [json.dumps(tokenizer.all_special_tokens)])


@dataclass(frozen=True)
class CheckpointIds:
    """The map between our id space and the checkpoint's.

    Attributes:
        bos, eos: the checkpoint's beginning- and end-of-text ids (GPT-2: both ``<|endoftext|>``).
        size: the model's output size (may exceed the tokenizer's, for padded vocabularies).
        banned: checkpoint ids never emitted: special tokens other than EOS and ids the tokenizer
            does not have (EOS is emitted as our EOS).
    """

    bos: int
    eos: int
    size: int
    banned: tuple[int, ...]

    @classmethod
    def of(cls, tokenizer: PreTrainedTokenizerBase, size: int) -> CheckpointIds:
        eos = int(tokenizer.eos_token_id)
        bos = tokenizer.bos_token_id
        specials = {int(i) for i in tokenizer.all_special_ids if i is not None and int(i) != eos}
        unused = set(range(len(tokenizer), size))
        return cls(int(bos) if bos is not None else eos, eos, size, tuple(sorted(specials | unused | {eos})))

    def to_model(self, ids: Tensor) -> Tensor:
        """Our ids ``(…)`` → the checkpoint's: BOS → its BOS; PAD and EOS (only ever inputs at
        padding, whose predictions are not scored) → its EOS; token ``i`` → ``i − 4``."""
        model = (ids - OFFSET).clamp_min(0)
        model = torch.where(ids == BOS_ID, torch.full_like(ids, self.bos), model)
        return torch.where((ids == PAD_ID) | (ids == EOS_ID), torch.full_like(ids, self.eos), model)

    def to_ours(self, logits: Tensor, banned: Tensor) -> Tensor:
        """The checkpoint's logits ``(…, size)`` → ours ``(…, 4 + size)``: the specials at −∞
        except EOS, which takes the checkpoint's end-of-text logit; ``banned`` checkpoint ids
        (its EOS among them: it is our EOS now) at −∞. Differentiable."""
        shifted = logits.index_fill(-1, banned, float("-inf"))
        specials = torch.full(
            (*logits.shape[:-1], OFFSET), float("-inf"), dtype=logits.dtype, device=logits.device
        )
        specials = specials.index_copy(
            -1, torch.tensor([EOS_ID], device=logits.device), logits[..., self.eos : self.eos + 1]
        )
        return torch.cat([specials, shifted], dim=-1)


class CheckpointTokenizer(Tokenizer):
    """The checkpoint's tokenizer as a project tokenizer (its pieces as tokens)."""

    name = "hf"

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.hf = tokenizer
        self.digest = tokenizer_digest(tokenizer)

    @property
    def signature(self) -> str:
        return f"hf-{self.digest}"

    def tokenize(self, text: str) -> list[str]:
        pieces: Any = self.hf.convert_ids_to_tokens(self.hf.encode(text, add_special_tokens=False))
        return [str(p) for p in pieces]

    def detokenize(self, tokens: Sequence[str]) -> str:
        return " ".join(self.hf.convert_tokens_to_string(list(tokens)).split())


class CheckpointVocab(Vocab):
    """The checkpoint's vocabulary behind :class:`Vocab`'s interface (ids shifted by four)."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, size: int) -> None:
        super().__init__(SPECIALS, CheckpointTokenizer(tokenizer), "hf")
        self.hf = tokenizer
        self.size = size
        self.ids = CheckpointIds.of(tokenizer, size)

    def __len__(self) -> int:
        return OFFSET + self.size

    def id(self, token: str) -> int:
        found: Any = self.hf.convert_tokens_to_ids(token)
        return OFFSET + int(found)

    def encode(self, text: str) -> list[int]:
        return [OFFSET + i for i in self.hf.encode(text, add_special_tokens=False)]

    def encode_all(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(text) for text in texts]

    def oov_rate(self, texts: Sequence[str]) -> float:
        """The fraction of pieces read as the tokenizer's unknown token (0 for byte-level BPE)."""
        unk = self.hf.unk_token_id
        ids = [i for text in texts for i in self.hf.encode(text, add_special_tokens=False)]
        return sum(i == unk for i in ids) / len(ids) if ids and unk is not None else 0.0

    def decode(self, ids: Sequence[int]) -> str:
        """Our ids → text, stopping at EOS; whitespace (newlines included) collapses to single
        spaces, so a sample is one line."""
        model: list[int] = []
        for i in ids:
            if i == EOS_ID:
                break
            if i >= OFFSET:
                model.append(i - OFFSET)
        text = str(self.hf.decode(model, skip_special_tokens=True, clean_up_tokenization_spaces=False))
        return " ".join(text.split())

    def words(self, texts: Sequence[str]) -> list[int]:
        """Whitespace words of each text plus one for EOS: the unit per which an NLL compares
        with a word-level model's (whose tokens are whitespace words and EOS)."""
        return [len(t.split()) + 1 for t in texts]

    @property
    def digest(self) -> str:
        return text_digest([self.tokenizer.signature, str(self.size)])

    def save(self, directory: str | Path) -> None:
        target = Path(directory) / CHECKPOINT_DIR
        target.mkdir(parents=True, exist_ok=True)
        self.hf.save_pretrained(str(target))

    @classmethod
    def load_checkpoint_files(cls, directory: Path) -> tuple[PretrainedConfig, CheckpointVocab]:
        """The config and tokenizer saved by a ``transformer-lm`` trained from a checkpoint."""
        from transformers import AutoConfig, AutoTokenizer

        target = directory / CHECKPOINT_DIR
        try:
            config = AutoConfig.from_pretrained(str(target), trust_remote_code=False)
            tokenizer = AutoTokenizer.from_pretrained(str(target), trust_remote_code=False)
        except Exception as exc:  # Hugging Face's loaders raise many types
            raise InputError(
                f"{target}: the saved checkpoint config or tokenizer does not load: {_first_line(exc)}"
            ) from None
        size = int(getattr(config, "vocab_size", 0) or 0)
        if size < 1:
            raise InputError(f"{target}: the saved config states no vocabulary size")
        return config, cls(tokenizer, size)


def vocab_size_of(config: PretrainedConfig) -> int:
    size: Any = getattr(config, "vocab_size", None)
    if not isinstance(size, int) or size < 1:
        raise ConfigError(f"the checkpoint's config ({config.model_type}) states no vocabulary size")
    return size
