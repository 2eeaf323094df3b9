"""Config sections of the latent-variable image models (``[model]``, ``[train]``).

Defaults follow Sønderby et al. (2016, §3) and the LVAE code (IMAGES.md §2–3); where the paper and
its code differ the choice is recorded in docs/training.md.
"""

from __future__ import annotations

from typing import Literal

from textgen_eval.core.config import settings

Activation = Literal["leaky_relu", "relu", "tanh"]


@settings
class LatentConfig:
    """The ``[model]`` section of ``vae`` and ``ladder-vae``.

    Attributes:
        kind: ``vae`` (bottom-up inference, eq. 5–6) or ``ladder`` (deterministic bottom-up pass,
            stochastic top-down pass with the precision-weighted merge, eq. 13–21).
        arch: ``mlp``, or ``conv`` (one stochastic layer: Conv 1→32→64, k4 s2 p1, and a mirrored
            transposed-conv decoder; IMAGES.md §2, inferred).
        layers: stochastic layers L; ``latents`` and ``hidden`` are truncated to L (a shallower
            model drops layers from the top).
        latents: latent units per layer, bottom → top (64-32-16-8-4 in the paper).
        hidden: MLP widths: the x↔z₁ MLPs use ``hidden[0]``, the maps into layer i+1 use
            ``hidden[i+1]`` (512-256-128-64-32).
        mlp_depth: dense layers per MLP (two in the paper).
        activation: ``leaky_relu`` (max(x, 0.1x), the paper's MNIST choice), ``relu``, ``tanh``.
        batch_norm: batch norm on every dense layer, never on the x output.
        bn_heads: with ``batch_norm``, also on the latent μ and σ² heads (the LVAE code; the paper
            says "all layers except the output layers"). Batch norm on μ keeps its spread over the
            data near the initial scale γ = 1, so every unit has a KL well above 0.01 until γ
            shrinks — at short budgets every unit counts as active (docs/reproductions.md).
        bn_eval: ``running`` statistics at evaluation, or ``recollect``: re-estimate them over the
            whole training split in one no-grad pass before every evaluation (the LVAE code);
            ignored without batch norm.
        share_topdown: the ladder's top-down inference MLPs are the generative ones (the NeurIPS
            version; the seed and the code default keep them separate).
        warmup_epochs: β rises linearly 0 → 1 over this many epochs (eq. 22; 0 = no warm-up).
        warmup_unit: β grows per ``epoch`` (the code) or per ``step`` (smooth).
        kl: ``auto``: the analytic KL wherever q and p condition on the same sample (every ladder
            layer, the top layer, a one-layer model), the one-sample estimate log q − log p
            elsewhere; ``sample``: the one-sample estimate everywhere (the LVAE code).
        var_eps: variance floor added after the softplus (the code's 1e-5).
        conv_channels / conv_hidden: the conv architecture's channels and dense width.
    """

    kind: Literal["vae", "ladder"] = "vae"
    arch: Literal["mlp", "conv"] = "mlp"
    layers: int = 1
    latents: tuple[int, ...] = (64, 32, 16, 8, 4)
    hidden: tuple[int, ...] = (512, 256, 128, 64, 32)
    mlp_depth: int = 2
    activation: Activation = "leaky_relu"
    batch_norm: bool = False
    bn_heads: bool = True
    bn_eval: Literal["running", "recollect"] = "running"
    share_topdown: bool = False
    warmup_epochs: float = 0.0
    warmup_unit: Literal["epoch", "step"] = "epoch"
    kl: Literal["auto", "sample"] = "auto"
    var_eps: float = 1e-5
    conv_channels: tuple[int, int] = (32, 64)
    conv_hidden: int = 256

    def __post_init__(self) -> None:
        if self.conv_hidden < 1 or any(c < 1 for c in self.conv_channels):
            raise ValueError(
                f"conv_channels and conv_hidden must be ≥ 1, got {self.conv_channels}, {self.conv_hidden}"
            )
        if self.layers < 1:
            raise ValueError(f"layers must be ≥ 1, got {self.layers}")
        if len(self.latents) < self.layers or len(self.hidden) < self.layers:
            raise ValueError(
                f"layers = {self.layers} needs ≥ {self.layers} latents and hidden widths "
                f"(got {len(self.latents)} and {len(self.hidden)})"
            )
        if min(self.latents[: self.layers]) < 1 or min(self.hidden[: self.layers]) < 1:
            raise ValueError("latent sizes and hidden widths must be ≥ 1")
        if self.mlp_depth < 1:
            raise ValueError(f"mlp_depth must be ≥ 1, got {self.mlp_depth}")
        if self.arch == "conv" and (self.layers != 1 or self.kind != "vae"):
            raise ValueError("arch = 'conv' is a one-layer VAE: set layers = 1 and kind = 'vae'")
        if self.share_topdown and self.kind != "ladder":
            raise ValueError("share_topdown applies to kind = 'ladder' only")
        if self.warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be ≥ 0, got {self.warmup_epochs}")
        if self.var_eps <= 0:
            raise ValueError(f"var_eps must be > 0, got {self.var_eps}")

    @property
    def layer_latents(self) -> tuple[int, ...]:
        return self.latents[: self.layers]

    @property
    def layer_hidden(self) -> tuple[int, ...]:
        return self.hidden[: self.layers]


@settings
class LadderConfig(LatentConfig):
    """``ladder-vae``'s ``[model]``: the paper's five-layer probabilistic ladder with batch norm."""

    kind: Literal["vae", "ladder"] = "ladder"
    layers: int = 5
    batch_norm: bool = True


@settings
class ImageTrainConfig:
    """The ``[train]`` section.

    Attributes:
        lr / batch_size: Adam's step size and the minibatch (Sønderby et al. 2016 §3: 0.001, 256).
        adam_eps: Adam's ε (the LVAE code uses 1e-4).
        mc_samples / iw_samples: the training objective's Monte-Carlo and importance samples
            (eq. 12 as a training bound; 1 / 1 is the ELBO). With ``iw_samples > 1`` the KL is the
            one-sample estimate inside each log-weight.
        binarize: grayscale data → binary per epoch: ``dynamic`` (a Bernoulli draw seeded by
            (seed, epoch)), ``threshold``, or ``none`` (binary data, or grayscale as Bernoulli means).
        eval_batch_size: images per forward pass in validation and metrics.
        valid_images: validate on this many images of the valid split (a fixed seeded subset;
            ``0``: all of it).
    """

    lr: float = 1e-3
    batch_size: int = 256
    adam_eps: float = 1e-8
    mc_samples: int = 1
    iw_samples: int = 1
    binarize: Literal["none", "dynamic", "threshold"] = "none"
    eval_batch_size: int = 500
    valid_images: int = 0

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        for name in ("batch_size", "mc_samples", "iw_samples", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.valid_images < 0:
            raise ValueError(f"valid_images must be ≥ 0, got {self.valid_images}")
        if self.adam_eps <= 0:
            raise ValueError(f"adam_eps must be > 0, got {self.adam_eps}")
