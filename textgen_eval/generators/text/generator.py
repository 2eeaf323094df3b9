"""The bases of token-level text generators.

:class:`TokenGenerator`: the vocabulary lifecycle (built from the training text, reused when given
or loaded, saved beside the weights) and corpus encoding; every model that emits tokens of a
learned vocabulary (the LM, the VAEs, the WGANs) has it.

:class:`AutoregressiveGenerator`: a token generator that samples one token at a time through the
shared sampler. A subclass implements :meth:`~AutoregressiveGenerator.decoder` (its trained network
as a one-step :class:`~textgen_eval.generators.text.sampler.Decoder`), ``fit`` (build a task for
the runner, usually after :meth:`~TokenGenerator.prepare_corpora`) and
``state_dict``/``load_state_dict``; sampling and its argument checks come from here.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import torch
from torch import nn

from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.memory import WorkingSet
from textgen_eval.core.training import TaskRunner, TrainingTask, TrainResult
from textgen_eval.data.batching import EncodedCorpus, encode_corpus
from textgen_eval.data.token_ids import TokenIdFormat
from textgen_eval.data.tokenizers import make_tokenizer
from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID, SPECIALS, UNK_ID, Vocab
from textgen_eval.generators.base import Generator
from textgen_eval.generators.text.sampler import Decoder, check_sampling_args, sample_tokens


@dataclass(frozen=True)
class VocabSettings:
    """How the vocabulary is built from the training text and which sentences train.

    Attributes:
        tokenizer: ``whitespace``, ``char`` or ``spm:N``.
        min_freq / max_vocab: keep tokens seen ≥ ``min_freq`` times, at most ``max_vocab``.
        max_len: training sentences with more tokens are dropped.
    """

    tokenizer: str = "whitespace"
    min_freq: int = 1
    max_vocab: int | None = None
    max_len: int = 100


NetT = TypeVar("NetT", bound=nn.Module)
#: Saved beside ``vocab.json`` by a model trained on a fixed-length token-id corpus.
FORMAT_FILE = "format.json"


class DeviceTask(TrainingTask, Protocol):
    """A training task that says which device it trained on."""

    device: torch.device


TaskT = TypeVar("TaskT", bound=DeviceTask)


def load_weights(net: NetT, state: Mapping[str, Any]) -> NetT:
    """``net`` with ``state`` loaded, in eval mode; a mismatch is an input error naming how many
    weights are missing, unexpected or of another shape (a few of each), not torch's full list."""
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    reshaped = [
        k
        for k in expected
        if k in state and hasattr(state[k], "shape") and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or reshaped:

        def few(keys: list[str]) -> str:
            return ", ".join(keys[:3]) + (", …" if len(keys) > 3 else "")

        parts = [
            f"{len(keys)} {what} ({few(keys)})"
            for keys, what in (
                (missing, "missing"),
                (unexpected, "unexpected"),
                (reshaped, "of another shape"),
            )
            if keys
        ]
        raise InputError("saved weights: " + "; ".join(parts))
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(f"saved weights do not match the saved config: {exc}") from None
    return net.eval()


class TokenGenerator(Generator):
    """A text generator over a vocabulary learned from its training text."""

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs)
        self.vocab = vocab
        self.device = torch.device("cpu")
        #: set by :meth:`use_format` (a synthetic-oracle bundle) or loaded with the model
        self.text_format: TokenIdFormat | None = None

    # -- fixed-length token-id corpora -----------------------------------------------------------

    def use_format(self, fmt: TokenIdFormat) -> None:
        """Train and sample in ``fmt``: the vocabulary is the format's ids in order, sentences
        are encoded without EOS, the network's softmax never puts mass on PAD, BOS, EOS or UNK
        (:meth:`banned_outputs`), and every sample has exactly ``fmt.length`` tokens."""
        if not self.supports_fixed_length:
            super().use_format(fmt)
        self.configs = self.configs_for_format(fmt)
        if self.vocab is not None and self.vocab.tokens[len(SPECIALS) :] != fmt.tokens:
            raise ConfigError(
                f"{self.name}: the given vocabulary ({len(self.vocab):,} tokens, e.g. from gan.init_from) "
                f"is not the closed vocabulary of the corpus ({fmt.describe()}); train that model on the "
                "same bundle"
            )
        self.text_format = fmt

    def configs_for_format(self, fmt: TokenIdFormat) -> dict[str, Any]:
        """The model's configs for a corpus in ``fmt``: unchanged by default; a model with a
        structural length (the hybrid VAE's L, a WGAN's T) takes the corpus's length here, and a
        setting that cannot hold it (a length not divisible by 2^layers) is a config error naming
        the option. Called before anything is built, so the saved config is the one trained."""
        return dict(self.configs)

    def _with_length(self, fmt: TokenIdFormat, option: str) -> dict[str, Any]:
        """:meth:`configs_for_format` for a model whose ``[model] option`` is its fixed length."""
        cfg = self.configs["model"]
        try:
            updated = replace(cfg, **{option: fmt.length})
        except ValueError as exc:
            raise ConfigError(
                f"{self.name} on {fmt.describe()}: model.{option} becomes the corpus's length "
                f"{fmt.length}, but {exc}"
            ) from None
        return {**self.configs, "model": updated}

    # -- what the oracle probe needs of a generator while it trains ------------------------------------

    #: The optimizers that move the generator (the others train a discriminator or critic): where
    #: a training probe (NLL-oracle during training) counts progress.
    generator_optimizers: frozenset[str] = frozenset({"main"})

    @abstractmethod
    def training_samples(
        self, module: nn.Module, size: int, length: int, generator: torch.Generator
    ) -> torch.Tensor:
        """``size`` samples ``(size, length)`` of vocabulary ids, at temperature 1, from the
        generator inside a training task's ``module`` (the oracle probe calls this mid-training,
        with the module in evaluation mode and gradients off)."""

    def banned_outputs(self) -> tuple[int, ...] | None:
        """Ids the network must never emit (``None``: the usual vocabulary, EOS included): PAD,
        BOS, EOS and UNK for a fixed-length token-id corpus, so the model is a distribution over
        exactly the format's sequences and its NLL, training loss and samples agree."""
        return (PAD_ID, BOS_ID, EOS_ID, UNK_ID) if self.text_format is not None else None

    # -- what a subclass provides ------------------------------------------------------------------

    def vocab_settings(self) -> VocabSettings:
        """By default the ``tokenizer``/``min_freq``/``max_vocab``/``max_len`` of ``[model]``."""
        cfg = self.configs["model"]
        return VocabSettings(cfg.tokenizer, cfg.min_freq, cfg.max_vocab, cfg.max_len)

    # -- vocabulary and corpora --------------------------------------------------------------------

    def require_vocab(self) -> Vocab:
        if self.vocab is None:
            raise ConfigError("the model is not trained or loaded (it has no vocabulary yet)")
        return self.vocab

    def prepare_corpora(
        self, train: Sequence[str], valid: Sequence[str] | None
    ) -> tuple[EncodedCorpus, EncodedCorpus | None]:
        """Build the vocabulary from ``train`` (unless given or loaded) and encode both splits:
        training sentences longer than ``max_len`` are dropped, validation sentences are kept
        (up to :meth:`valid_max_len`)."""
        if self.text_format is not None:
            return self._prepare_fixed(self.text_format, train, valid)
        settings = self.vocab_settings()
        if self.vocab is None:
            self.vocab = Vocab.build(
                train, tokenizer=settings.tokenizer, min_freq=settings.min_freq, max_size=settings.max_vocab
            )
        train_corpus = encode_corpus(
            train, self.vocab, max_len=settings.max_len, long="drop", source="training text"
        )
        if len(train_corpus) == 0:
            raise InputError(f"no training sentence has at most max_len={settings.max_len} tokens")
        valid_corpus = None
        if valid is not None:
            valid_corpus = encode_corpus(
                valid, self.vocab, max_len=self.valid_max_len(), long="drop", source="validation text"
            )
            if len(valid_corpus) == 0:
                raise InputError("the validation text is empty")
        return train_corpus, valid_corpus

    def _prepare_fixed(
        self, fmt: TokenIdFormat, train: Sequence[str], valid: Sequence[str] | None
    ) -> tuple[EncodedCorpus, EncodedCorpus | None]:
        """Both splits checked against ``fmt`` (a bad line is named) and encoded as ``[BOS] ids``."""
        if self.vocab is None:
            self.vocab = Vocab(SPECIALS + fmt.tokens, make_tokenizer("whitespace"), "whitespace")
        fmt.parse(train, source="training text")
        train_corpus = encode_corpus(train, self.vocab, source="training text", eos=False)
        valid_corpus = None
        if valid is not None:
            fmt.parse(valid, source="validation text")
            valid_corpus = encode_corpus(valid, self.vocab, source="validation text", eos=False)
        return train_corpus, valid_corpus

    def fit_task(
        self,
        make_task: Callable[[EncodedCorpus, EncodedCorpus | None], TaskT],
        train: Sequence[str],
        valid: Sequence[str] | None,
        runner: TaskRunner,
        *,
        resume: bool = False,
    ) -> tuple[TaskT, TrainResult]:
        """The body of most ``fit`` methods: encode the corpora, build the task from them, train it
        with ``runner`` and remember the device; the caller keeps the task's trained module."""
        train_corpus, valid_corpus = self.prepare_corpora(train, valid)
        task = make_task(train_corpus, valid_corpus)
        result = runner.fit(task, resume=resume)
        self.device = task.device
        return task, result

    def valid_max_len(self) -> int | None:
        """Validation sentences longer than this are left out (``None``: keep all). Fixed-length
        models (the hybrid VAE) cannot score longer sentences at all."""
        return None

    def sample_in_batches(
        self,
        draw: Callable[[int, torch.Generator], list[str]],
        n: int,
        *,
        seed: int,
        batch_size: int,
        progress: Callable[[int], object] | None = None,
    ) -> list[str]:
        """``n`` sentences from ``draw(size, generator)`` in batches of ``batch_size``; one
        generator seeded with ``seed`` draws everything, and ``progress(size)`` follows each batch."""
        gen = torch.Generator(device=self.device).manual_seed(seed)
        out: list[str] = []
        for start in range(0, n, batch_size):
            size = min(batch_size, n - start)
            out.extend(draw(size, gen))
            if progress is not None:
                progress(size)
        return out

    # -- persistence ---------------------------------------------------------------------------------

    def save_extra(self, directory: Path) -> None:
        self.require_vocab().save(directory)
        if self.text_format is not None:
            (directory / FORMAT_FILE).write_text(
                json.dumps(self.text_format.to_dict()) + "\n", encoding="utf-8"
            )

    def load_extra(self, directory: Path) -> None:
        self.vocab = Vocab.load(directory)
        path = directory / FORMAT_FILE
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"{path}: not a token-id format ({exc})") from None
            self.text_format = TokenIdFormat.from_dict(data, where=str(path))

    def working_sets(self, longest: int) -> list[WorkingSet]:
        """Per-batch memory that settings multiply beyond the parameters (none by default), for
        sentences of at most ``longest`` tokens with EOS; the vocabulary is built
        (:mod:`textgen_eval.core.memory`)."""
        return []


class AutoregressiveGenerator(TokenGenerator):
    """A token generator that emits one token at a time through the shared sampler."""

    @abstractmethod
    def decoder(self) -> Decoder:
        """The trained network as a one-step decoder (raises if the model is not trained or loaded)."""

    # -- sampling ------------------------------------------------------------------------------------

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
        """Ancestral sampling (``temperature`` 0: greedy) in batches of ``batch_size``; one seeded
        generator draws everything (latent codes too, for models that have them)."""
        check_sampling_args(n, max_len, temperature)
        vocab = self.require_vocab()
        max_len = self.max_sample_len(max_len)

        def draw(size: int, gen: torch.Generator) -> list[str]:
            with torch.no_grad():
                decoder = self.batch_decoder(size, gen)
            batch = sample_tokens(
                decoder, size, max_len=max_len, temperature=temperature, generator=gen, device=self.device
            )
            return [vocab.decode(row) for row in batch.tokens.cpu().tolist()]

        return self.sample_in_batches(draw, n, seed=seed, batch_size=batch_size, progress=progress)

    def training_samples(
        self, module: nn.Module, size: int, length: int, generator: torch.Generator
    ) -> torch.Tensor:
        device = next(module.parameters()).device
        decoder = self.training_decoder(module, size, generator)
        return sample_tokens(decoder, size, max_len=length, generator=generator, device=device).tokens

    def decoder_of(self, module: nn.Module) -> Decoder:
        """The generator inside a training task's ``module`` as a one-step decoder (for probes
        that sample while it trains); by default the module is the decoder."""
        decoder: Decoder = module  # type: ignore[assignment]
        return decoder

    def training_decoder(self, module: nn.Module, size: int, generator: torch.Generator) -> Decoder:
        """The decoder of one batch of ``size`` samples from a training task's ``module`` (a
        latent-variable model draws its codes with ``generator``); by default :meth:`decoder_of`."""
        return self.decoder_of(module)

    def batch_decoder(self, size: int, generator: torch.Generator) -> Decoder:
        """The decoder of one batch of ``size`` samples (a latent-variable model draws its codes
        here with ``generator``); by default :meth:`decoder`."""
        return self.decoder()

    def max_sample_len(self, requested: int) -> int:
        """The longest sample the model can draw (fixed-length models cap ``requested``); on a
        fixed-length token-id corpus, the corpus's length (EOS is never drawn, so every sample has
        exactly that many tokens)."""
        return self.text_format.length if self.text_format is not None else requested
