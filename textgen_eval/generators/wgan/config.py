"""Configuration of the WGAN-GP text models: ``[model]`` (vocabulary, sequence, generator),
``[critic]``, ``[train]`` (two Adam optimizers) and ``[wgan]`` (objective and schedule).

Every default is tagged in docs/training.md: [42] = Gulrajani et al. 2017's released
``gan_language.py``; CPU = this project's CPU-scale choice (GENERATORS.md §10). The thesis
(Semeniuta 2019 §5.4.1) gives no sizes, no n_critic and no λ for these models.
"""

from __future__ import annotations

from typing import Literal

from textgen_eval.core.config import settings
from textgen_eval.data.vocab import check_vocab_settings


def _positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value < 1:
            raise ValueError(f"{name} must be ≥ 1, got {value}")


@settings
class SequenceConfig:
    """The fixed-length token matrix both WGANs generate and the critic reads.

    Attributes:
        tokenizer / min_freq / max_vocab: the vocabulary (CPU default: the 2,000 most frequent
            tokens + UNK, GENERATORS.md §10; V enters the critic's first layer and every
            generated softmax).
        seq_len: T, positions per sentence including its EOS: training sentences with more than
            T − 1 tokens are dropped, shorter ones are followed by EOS and then PAD up to T, and
            the generator must produce that padding too (as [42] pads characters).
        noise_dim: dimension of z ~ N(0, I) ([42]: 128).
    """

    tokenizer: str = "whitespace"
    min_freq: int = 1
    max_vocab: int | None = 2000
    seq_len: int = 24
    noise_dim: int = 128

    def __post_init__(self) -> None:
        check_vocab_settings(self.min_freq, self.max_vocab)
        _positive(self, "min_freq", "noise_dim")
        if self.seq_len < 2:
            raise ValueError(f"seq_len must be ≥ 2 (a token and its EOS), got {self.seq_len}")

    @property
    def max_len(self) -> int:
        """Tokens per training sentence (T − 1: the last position is kept for EOS)."""
        return self.seq_len - 1


@settings
class ConvDeconvConfig(SequenceConfig):
    """The Conv-Deconv generator (Semeniuta 2019 §5.4.1, L1157, L1163).

    Attributes:
        arch: ``deconv`` (default; the thesis' "stack of transposed convolutions": z → linear →
            ``channels`` × T/2^layers → ``layers`` transposed convolutions of stride 2, each
            doubling the length) or ``resnet`` ([42]'s released code: z → linear →
            ``channels`` × T → ``layers`` residual blocks); both end in a 1×1 convolution to V
            logits per position.
        channels: feature maps of every layer.
        layers: transposed convolutions (``deconv``) or residual blocks (``resnet``).
        kernel_size: odd kernel of every convolution ([42]: 5).
        residual_scale: a residual block adds ``scale × branch`` ([42]: 0.3).
    """

    arch: Literal["deconv", "resnet"] = "deconv"
    channels: int = 128
    layers: int = 3
    kernel_size: int = 5
    residual_scale: float = 0.3

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(self, "channels", "layers", "kernel_size")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (length-preserving padding), got {self.kernel_size}")
        if self.residual_scale < 0:
            raise ValueError(f"residual_scale must be ≥ 0, got {self.residual_scale}")


@settings
class ConvLSTMConfig(SequenceConfig):
    """The Conv-LSTM generator (Semeniuta 2019 §5.4.1, L1163): a one-layer LSTM whose next input
    is the expected embedding Σ_v p_t(v)·E_v of its own softmax (differentiable end to end).

    Attributes:
        emb_dim / hidden_size: sizes of the embedding E and of the LSTM.
        noise_input: how z enters, which the thesis does not state — ``state`` (default,
            GENERATORS.md's proposal): (h₀, c₀) = tanh(W z + b); ``state+input``: also
            concatenated to the input at every step.
    """

    emb_dim: int = 64
    hidden_size: int = 128
    noise_input: Literal["state", "state+input"] = "state"

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(self, "emb_dim", "hidden_size")


@settings
class CriticConfig:
    """The convolutional critic both models share (Semeniuta 2019 §5.4.1: "a stack of 1-D
    convolutions"; layout of [42]): 1×1 conv V → ``channels``, ``blocks`` residual blocks, flatten,
    linear → one score. No normalisation layer: the per-example penalty assumes none couples the
    examples of a batch.

    Attributes:
        channels / blocks / kernel_size / residual_scale: as the names say ([42]: 512, 5, 5, 0.3;
            CPU default 128, 2).
    """

    channels: int = 128
    blocks: int = 2
    kernel_size: int = 5
    residual_scale: float = 0.3

    def __post_init__(self) -> None:
        _positive(self, "channels", "kernel_size")
        if self.blocks < 0:
            raise ValueError(f"blocks must be ≥ 0, got {self.blocks}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        if self.residual_scale < 0:
            raise ValueError(f"residual_scale must be ≥ 0, got {self.residual_scale}")


@settings
class WGANTrainConfig:
    """Two Adam optimizers, tuned separately (Semeniuta 2019 §5.6.2).

    Attributes:
        g_lr / d_lr: learning rates of the generator and of the critic ([42]: 1e-4 both).
        adam_beta1 / adam_beta2: Adam's β, shared ([42]: 0.5, 0.9).
        batch_size: sentences per critic and per generator update ([42]: 64).
        eval_batch_size: sentences per batch when validating.
    """

    g_lr: float = 1e-4
    d_lr: float = 1e-4
    adam_beta1: float = 0.5
    adam_beta2: float = 0.9
    batch_size: int = 64
    eval_batch_size: int = 256

    def __post_init__(self) -> None:
        if self.g_lr < 0 or self.d_lr <= 0:
            raise ValueError(f"need g_lr ≥ 0 and d_lr > 0, got {self.g_lr}, {self.d_lr}")
        for name in ("adam_beta1", "adam_beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        _positive(self, "batch_size", "eval_batch_size")


@settings
class WGANConfig:
    """The objective and its schedule.

    Attributes:
        gp_lambda: λ, the penalty weight ([42]: 10).
        n_critic: critic updates (each on a fresh real batch) before every generator update
            ([42]: 10, "5 also works"; CPU default 5).
        gen_iters: generator updates; the stage has ``gen_iters × (n_critic + 1)`` updates.
        eval_every: validate every this many generator updates.
        eval_samples: sentences generated from a fixed noise batch at each validation, for the
            n-gram JS divergences to the training text ([42] tracks n = 1…4).
        decode: how a generated T × V matrix becomes a sentence — ``argmax`` per position (the
            thesis and [42]; ``temperature`` must then be 1 or 0) or ``sample`` (a token per
            position from softmax(logits / temperature)). Either stops at the first EOS or PAD.
    """

    gp_lambda: float = 10.0
    n_critic: int = 5
    gen_iters: int = 300
    eval_every: int = 50
    eval_samples: int = 500
    decode: Literal["argmax", "sample"] = "argmax"

    def __post_init__(self) -> None:
        if self.gp_lambda < 0:
            raise ValueError(f"gp_lambda must be ≥ 0, got {self.gp_lambda}")
        _positive(self, "n_critic", "gen_iters", "eval_every", "eval_samples")
