"""Configuration of the LSTM VAE: ``[model]`` (architecture, vocabulary), ``[train]`` (optimizer,
batches), ``[vae]`` (KL schedule, word dropout, importance samples)."""

from __future__ import annotations

from typing import Literal

from textgen_eval.core.config import settings
from textgen_eval.data.vocab import check_vocab_settings
from textgen_eval.generators.text.optim import TrainConfig

__all__ = ["HybridObjectiveConfig", "HybridVAEConfig", "LSTMVAEConfig", "TrainConfig", "VAEConfig"]


@settings
class LSTMVAEConfig:
    """Architecture and vocabulary (Bowman et al. 2016; Semeniuta 2019 §5.3.1, Fig. 5.1).

    Attributes:
        tokenizer / min_freq / max_vocab / max_len: as for ``lstm-lm`` (``char`` for characters).
        emb_dim: token embedding size (encoder and decoder share the embedding).
        hidden_size: units of the encoder and of the decoder LSTM.
        latent_size: dimension of z.
        layer_norm: layer-normalised LSTMs (the thesis uses them, §5.5 L1193).
    """

    tokenizer: str = "whitespace"
    min_freq: int = 1
    max_vocab: int | None = None
    max_len: int = 100
    emb_dim: int = 128
    hidden_size: int = 256
    latent_size: int = 32
    layer_norm: bool = False

    def __post_init__(self) -> None:
        check_vocab_settings(self.min_freq, self.max_vocab)
        for name in ("emb_dim", "hidden_size", "latent_size", "max_len", "min_freq"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")


@settings
class VAEConfig:
    """The objective.

    Attributes:
        kl_schedule: ``linear`` (weight 0 before ``kl_start``, 1 after ``kl_end``, linear in
            between — Bowman et al.'s annealing), ``constant`` (``kl_weight`` throughout) or
            ``zero`` (a stochastic autoencoder: the historyless variant of §5.5.1).
        kl_start / kl_end: steps of the linear schedule (global update count).
        kl_weight: the weight of the ``constant`` schedule.
        word_dropout: probability that a decoder input token is replaced by UNK (Bowman et al.'s
            "word dropout"; §5.5, Table 5.2); 1 is the historyless decoder, which then sees UNK
            at every position at training and at sampling time.
        iw_samples: K of the importance-weighted bound that ``score_texts`` reports.
    """

    kl_schedule: Literal["linear", "constant", "zero"] = "linear"
    kl_start: int = 0
    kl_end: int = 1000
    kl_weight: float = 1.0
    word_dropout: float = 0.0
    iw_samples: int = 10

    def __post_init__(self) -> None:
        if not 0.0 <= self.word_dropout <= 1.0:
            raise ValueError(f"word_dropout must be in [0, 1], got {self.word_dropout}")
        if self.kl_start < 0 or self.kl_end < self.kl_start:
            raise ValueError(f"need 0 ≤ kl_start ≤ kl_end, got {self.kl_start}, {self.kl_end}")
        if self.kl_weight < 0:
            raise ValueError(f"kl_weight must be ≥ 0, got {self.kl_weight}")
        if self.iw_samples < 1:
            raise ValueError(f"iw_samples must be ≥ 1, got {self.iw_samples}")

    def weight(self, step: int) -> float:
        """The KL weight at update ``step`` (the reported bound always uses weight 1)."""
        from textgen_eval.core.schedules import linear_anneal

        if self.kl_schedule == "zero":
            return 0.0
        if self.kl_schedule == "constant":
            return self.kl_weight
        return linear_anneal(step, start=self.kl_start, end=self.kl_end)


@settings
class HybridVAEConfig:
    """The hybrid convolutional-deconvolutional VAE (Semeniuta 2019 §5.3.2–5.3.4, Figs. 5.2–5.3).

    Attributes:
        tokenizer / min_freq / max_vocab: as for ``lstm-lm`` (``char`` for characters).
        length: L, the fixed number of positions (tokens plus EOS, then padding); sentences with
            more than L − 1 tokens are dropped in training. Each convolution takes the length to
            ⌈length / 2⌉ and the deconvolutions' output is cropped back to L (a crop only when L is
            not divisible by 2^conv_layers). On a fixed-length token-id corpus L is the corpus's
            length (every position an id, no EOS).
        emb_dim: input embedding size of the encoder and of the autoregressive head.
        conv_layers: strided convolutions of the encoder (each halves the length), mirrored by the
            transposed convolutions of the decoder (each doubles it).
        channels: channels of the first convolution; each later one doubles them.
        kernel_size: kernel of the (transposed) convolutions (odd).
        feature_size: channels of the last deconvolution: the per-position feature the head reads.
        latent_size: dimension of z.
        head: the autoregressive head on top of the deconvolution: ``none`` (historyless,
            Fig. 5.2), ``lstm`` (Fig. 5.3a) or ``bytenet`` (masked convolutions, Fig. 5.3b).
        head_size: LSTM units, or channels of the ByteNet layers.
        bytenet_layers: N masked convolutions of kernel 2, no dilation, no skips: the head sees
            the previous N + 1 symbols (§5.5.2).
    """

    tokenizer: str = "whitespace"
    min_freq: int = 1
    max_vocab: int | None = None
    length: int = 36
    emb_dim: int = 64
    conv_layers: int = 2
    channels: int = 128
    kernel_size: int = 3
    feature_size: int = 128
    latent_size: int = 32
    head: Literal["none", "lstm", "bytenet"] = "lstm"
    head_size: int = 256
    bytenet_layers: int = 3

    def __post_init__(self) -> None:
        for name in ("head_size", "bytenet_layers"):  # used by one head each; never meaningful below 1
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        check_vocab_settings(self.min_freq, self.max_vocab)
        for name in ("length", "emb_dim", "conv_layers", "channels", "feature_size", "latent_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        if self.head == "bytenet" and self.bytenet_layers < 1:
            raise ValueError(f"bytenet_layers must be ≥ 1, got {self.bytenet_layers}")

    @property
    def max_len(self) -> int:
        """Tokens per sentence (EOS takes the last position)."""
        return self.length - 1


@settings
class HybridObjectiveConfig(VAEConfig):
    """The hybrid's objective: the VAE's plus α, the weight of the auxiliary reconstruction term
    J_aux = −E_q[Σ_t log p(x_t|z)] read from the last deconvolution (eqs. 5.3.2–5.3.4); it is a
    regulariser, reported apart from the bound. ``word_dropout`` applies to the head's inputs."""

    alpha: float = 0.2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.alpha < 0:
            raise ValueError(f"alpha must be ≥ 0, got {self.alpha}")
