"""The two continuous text GANs of Semeniuta 2019 §5.4.1 (Table 5.4's Conv-Deconv and Conv-LSTM),
trained with WGAN-GP (Gulrajani et al. 2017, the "[42]" of the thesis).

A generator maps z ~ N(0, I) to a softmax over the vocabulary at each of T positions; the critic
compares these matrices with one-hot matrices of real sentences. Samples decode per position
(argmax by default) up to the first EOS or PAD. Neither model defines a likelihood.

On a fixed-length token-id corpus (a synthetic-oracle bundle) T is the corpus's length, real
rows are L ids with no EOS, the generators never emit PAD, BOS, EOS or UNK, and every sample is
exactly L ids.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from textgen_eval.core.errors import ConfigError
from textgen_eval.core.space import SearchSpace
from textgen_eval.core.training import TaskRunner, TrainResult
from textgen_eval.data.token_ids import TokenIdFormat
from textgen_eval.data.vocab import Vocab
from textgen_eval.generators.text.generator import TokenGenerator, VocabSettings, load_weights
from textgen_eval.generators.text.sampler import check_sampling_args
from textgen_eval.generators.wgan.config import (
    ConvDeconvConfig,
    ConvLSTMConfig,
    CriticConfig,
    SequenceConfig,
    WGANConfig,
    WGANTrainConfig,
)
from textgen_eval.generators.wgan.nets import (
    ConvLSTMGenerator,
    Critic,
    DeconvGenerator,
    ResNetGenerator,
    TokenMatrixGenerator,
    WGANPair,
)
from textgen_eval.generators.wgan.representation import decode_positions, sentence_ids
from textgen_eval.generators.wgan.space import CONV_DECONV_SPACE, CONV_LSTM_SPACE
from textgen_eval.generators.wgan.task import WGANTask


class TextWGAN(TokenGenerator):
    """Base of the WGAN-GP text models: vocabulary, training task, decoding, persistence."""

    supports_fixed_length = True
    generator_optimizers = frozenset({"gen"})

    def __init__(self, configs: Mapping[str, Any], *, vocab: Vocab | None = None) -> None:
        super().__init__(configs, vocab=vocab)
        self.net: WGANPair | None = None

    @property
    def sequence(self) -> SequenceConfig:
        cfg: SequenceConfig = self.configs["model"]
        return cfg

    @abstractmethod
    def build_generator(self, vocab_size: int) -> TokenMatrixGenerator:
        """The generator network for ``vocab_size`` tokens."""

    def build_module(self) -> WGANPair:
        """The generator and the critic for the current vocabulary."""
        size = len(self.require_vocab())
        return WGANPair(
            self.build_generator(size), Critic(self.configs["critic"], size, self.sequence.seq_len)
        )

    def configs_for_format(self, fmt: TokenIdFormat) -> dict[str, Any]:
        """T becomes the corpus's length L: no position is kept for EOS, none is ever padding."""
        return self._with_length(fmt, "seq_len")

    def vocab_settings(self) -> VocabSettings:
        cfg = self.sequence
        return VocabSettings(cfg.tokenizer, cfg.min_freq, cfg.max_vocab, cfg.max_len)

    def valid_max_len(self) -> int:
        return self.sequence.max_len

    def fit(
        self, train: Sequence[str], valid: Sequence[str] | None, runner: TaskRunner, *, resume: bool = False
    ) -> TrainResult:
        task, result = self.fit_task(
            lambda tr, va: WGANTask(self, tr, va, runner.config), train, valid, runner, resume=resume
        )
        self.net = task.module.eval()
        return result

    def _generator(self) -> TokenMatrixGenerator:
        if self.net is None:
            raise ConfigError("the model is not trained or loaded")
        return self.net.gen.eval()

    def sample(
        self,
        n: int,
        *,
        max_len: int = 50,
        temperature: float = 1.0,
        seed: int = 0,
        progress: Callable[[int], object] | None = None,
        batch_size: int = 500,
    ) -> list[str]:
        """Draw z ~ N(0, I) with ``seed`` and decode each generated T × V matrix (``[wgan]
        decode``); sentences longer than ``max_len`` tokens are cut there."""
        check_sampling_args(n, max_len, temperature)
        decode = self.configs["wgan"].decode
        if decode == "argmax" and temperature not in (0.0, 1.0):
            raise ConfigError(
                f"temperature {temperature}: {self.name} decodes by argmax per position ([wgan] decode = "
                "'argmax'), which no temperature changes; set --set wgan.decode=sample to draw tokens"
            )
        gen, vocab = self._generator(), self.require_vocab()
        if self.text_format is not None:
            max_len = self.text_format.length  # every sample is the corpus's L ids

        def draw(size: int, rng: torch.Generator) -> list[str]:
            with torch.no_grad():
                z = torch.randn(size, gen.noise_dim, generator=rng, device=self.device)
                ids = decode_positions(
                    gen(z), temperature=temperature, sample=decode == "sample", generator=rng
                )
            return [vocab.decode(row[:max_len]) for row in sentence_ids(ids)]

        return self.sample_in_batches(draw, n, seed=seed, batch_size=batch_size, progress=progress)

    def training_samples(
        self, module: nn.Module, size: int, length: int, generator: torch.Generator
    ) -> Tensor:
        """Decoded as :meth:`sample` decodes (``[wgan] decode``; a draw is at temperature 1)."""
        assert isinstance(module, WGANPair)
        z = torch.randn(size, module.gen.noise_dim, generator=generator, device=generator.device)
        sample = self.configs["wgan"].decode == "sample"
        ids = decode_positions(module.gen(z), temperature=1.0, sample=sample, generator=generator)
        return ids[:, :length]  # (size, T): T = length on a fixed-length corpus

    def state_dict(self) -> dict[str, Any]:
        if self.net is None:
            raise ConfigError("the model is not trained or loaded")
        return dict(self.net.state_dict())

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.net = load_weights(self.build_module(), state)


class WGANConvDeconv(TextWGAN):
    """Conv-Deconv WGAN-GP: a convolutional generator from noise (transposed convolutions, or
    [42]'s residual stack with ``model.arch = resnet``) and a convolutional critic."""

    name = "wgan-conv-deconv"
    description = "Conv-Deconv WGAN-GP: transposed-convolution (or residual) generator, conv critic"
    paper = "Semeniuta 2019 §5.4.1 (eq. 5.4.1), Table 5.4; Gulrajani et al. 2017"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": ConvDeconvConfig,
        "critic": CriticConfig,
        "train": WGANTrainConfig,
        "wgan": WGANConfig,
    }
    search_space: ClassVar[SearchSpace | None] = CONV_DECONV_SPACE

    def build_generator(self, vocab_size: int) -> TokenMatrixGenerator:
        cfg: ConvDeconvConfig = self.configs["model"]
        if cfg.arch == "resnet":
            return ResNetGenerator(cfg, vocab_size, self.banned_outputs())
        return DeconvGenerator(cfg, vocab_size, self.banned_outputs())


class WGANConvLSTM(TextWGAN):
    """Conv-LSTM WGAN-GP: an LSTM generator feeding back its softmax as an expected embedding,
    and the convolutional critic."""

    name = "wgan-conv-lstm"
    description = "Conv-LSTM WGAN-GP: LSTM generator fed its own softmax, conv critic"
    paper = "Semeniuta 2019 §5.4.1 (eq. 5.4.1), Table 5.4; Gulrajani et al. 2017"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": ConvLSTMConfig,
        "critic": CriticConfig,
        "train": WGANTrainConfig,
        "wgan": WGANConfig,
    }
    search_space: ClassVar[SearchSpace | None] = CONV_LSTM_SPACE

    def build_generator(self, vocab_size: int) -> TokenMatrixGenerator:
        return ConvLSTMGenerator(self.configs["model"], vocab_size, self.banned_outputs())
