"""The networks of the VAE and the ladder VAE (Sønderby et al. 2016, eq. 1–21).

Every net returns a :class:`Pass`: the x logits and, per stochastic layer (bottom → top), the
sample, q's and p's Gaussians and the per-unit log-densities of the sample. The objective, the
bounds and the metrics are computed from a pass by the functions of ``objective.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textgen_eval.core.errors import ConfigError
from textgen_eval.images.config import LatentConfig
from textgen_eval.images.distributions import (
    kl_normal_units,
    log_normal_units,
    precision_weighted_merge,
)

#: ``noise(shape)`` returns ε ~ N(0, I) of that shape (seeded by the caller).
Noise = Callable[[tuple[int, ...]], Tensor]

#: Per layer (μ, σ²) of the inference network that do not depend on a sample (see ``encode``).
Encoding = tuple[tuple[Tensor, Tensor], ...]


def repeat_encoding(encoding: Encoding, copies: int) -> Encoding:
    if copies == 1:
        return encoding
    return tuple((mu.repeat(copies, 1), var.repeat(copies, 1)) for mu, var in encoding)  # (B, Z) → (c·B, Z)


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
}


@dataclass(frozen=True)
class LayerPass:
    """One stochastic layer of a pass; every tensor ``(B, Z)``.

    ``analytic`` says whether q and p condition on the same, already drawn, variables, so that the
    closed-form KL is an unbiased estimate of this layer's KL term (IMAGES.md §1).
    """

    z: Tensor
    mu_q: Tensor
    var_q: Tensor
    mu_p: Tensor
    var_p: Tensor
    analytic: bool

    def log_ratio_units(self) -> Tensor:
        """log q(z|·) − log p(z|·) per unit at the drawn z (the one-sample KL estimate)."""
        return log_normal_units(self.z, self.mu_q, self.var_q) - log_normal_units(
            self.z, self.mu_p, self.var_p
        )

    def kl_units(self, estimator: str) -> Tensor:
        """Per-unit KL term: closed form where valid and ``estimator == "auto"``, else one sample."""
        if self.analytic and estimator == "auto":
            return kl_normal_units(self.mu_q, self.var_q, self.mu_p, self.var_p)
        return self.log_ratio_units()


@dataclass(frozen=True)
class Pass:
    logits: Tensor  # (B, D)
    layers: tuple[LayerPass, ...]  # bottom → top


def mlp(in_dim: int, width: int, depth: int, activation: str, batch_norm: bool) -> nn.Sequential:
    """``depth`` × (Linear → [BatchNorm] → activation)."""
    modules: list[nn.Module] = []
    for i in range(depth):
        modules.append(nn.Linear(in_dim if i == 0 else width, width))
        if batch_norm:
            modules.append(nn.BatchNorm1d(width))
        modules.append(ACTIVATIONS[activation]())
    return nn.Sequential(*modules)


class LatentNet(nn.Module, ABC):
    """What the objective, the bounds and the metrics need of a net: ``dim`` pixels, the latent
    sizes (bottom → top), ``encode`` (the sample-free part of q), ``from_encoding`` (the rest of a
    pass, for ``copies`` draws per image), ``forward`` (both) and ancestral ``sample_logits``."""

    dim: int

    @property
    @abstractmethod
    def latent_sizes(self) -> tuple[int, ...]: ...

    @abstractmethod
    def encode(self, x: Tensor) -> Encoding: ...

    @abstractmethod
    def from_encoding(self, encoding: Encoding, noise: Noise, copies: int = 1) -> Pass: ...

    def forward(self, x: Tensor, noise: Noise) -> Pass:
        return self.from_encoding(self.encode(x), noise)

    @abstractmethod
    def sample_logits(self, n: int, noise: Noise) -> Tensor: ...


class GaussianHead(nn.Module):
    """μ = Linear(h), σ² = Softplus(Linear(h)) + ε (eq. 8–9), batch norm on both heads when asked
    (as the LVAE code does); the variance bias starts at 1."""

    def __init__(self, width: int, latent: int, *, batch_norm: bool, var_eps: float) -> None:
        super().__init__()
        self.mu = nn.Linear(width, latent)
        self.var = nn.Linear(width, latent)
        self.bn_mu: nn.Module = nn.BatchNorm1d(latent) if batch_norm else nn.Identity()
        self.bn_var: nn.Module = nn.BatchNorm1d(latent) if batch_norm else nn.Identity()
        self.var_eps = var_eps
        for linear in (self.mu, self.var):
            nn.init.xavier_normal_(linear.weight)
        nn.init.zeros_(self.mu.bias)
        nn.init.constant_(self.var.bias, 1.0)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        return self.bn_mu(self.mu(h)), F.softplus(self.bn_var(self.var(h))) + self.var_eps


class Conditional(nn.Module):
    """A Gaussian conditional N(μ(v), σ²(v)): a two-layer MLP trunk and its heads."""

    def __init__(self, in_dim: int, width: int, latent: int, cfg: LatentConfig) -> None:
        super().__init__()
        self.trunk = mlp(in_dim, width, cfg.mlp_depth, cfg.activation, cfg.batch_norm)
        self.head = GaussianHead(
            width, latent, batch_norm=cfg.batch_norm and cfg.bn_heads, var_eps=cfg.var_eps
        )

    def forward(self, v: Tensor) -> tuple[Tensor, Tensor]:
        return self.head(self.trunk(v))


class HierarchyNet(LatentNet):
    """L stochastic layers with MLP maps; ``kind`` chooses the inference network.

    Generative model (eq. 1–4): p(z_L) = N(0, I), p(zᵢ | zᵢ₊₁) Gaussian, p(x | z₁) Bernoulli.
    ``vae`` inference (eq. 5–6): q(z₁ | x), q(zᵢ | zᵢ₋₁), each sampled on the way up.
    ``ladder`` inference (eq. 13–21): a deterministic pass d₁ = MLP(x), dᵢ = MLP(μ_{d,i−1}), then a
    stochastic pass down: q(z_L | x) = N(μ_{d,L}, σ²_{d,L}) and qᵢ = merge(top-down tᵢ(zᵢ₊₁),
    bottom-up dᵢ) (eq. 21).
    """

    def __init__(self, cfg: LatentConfig, dim: int) -> None:
        super().__init__()
        self.cfg, self.dim = cfg, dim
        z, h = cfg.layer_latents, cfg.layer_hidden
        self.up = nn.ModuleList(
            Conditional(dim if i == 0 else z[i - 1], h[i], z[i], cfg) for i in range(cfg.layers)
        )
        # p(zᵢ | zᵢ₊₁) for i = 1..L−1: input z[i+1], width hidden[i+1]
        self.prior = nn.ModuleList(Conditional(z[i + 1], h[i + 1], z[i], cfg) for i in range(cfg.layers - 1))
        self.topdown = nn.ModuleList(
            Conditional(z[i + 1], h[i + 1], z[i], cfg)
            for i in range(cfg.layers - 1)
            if cfg.kind == "ladder" and not cfg.share_topdown
        )
        self.decoder = mlp(z[0], h[0], cfg.mlp_depth, cfg.activation, cfg.batch_norm)
        self.output = nn.Linear(h[0], dim)  # no batch norm on the output layer

    @property
    def latent_sizes(self) -> tuple[int, ...]:
        return self.cfg.layer_latents

    def decode(self, z1: Tensor) -> Tensor:
        """x logits ``(B, D)`` from z₁."""
        return self.output(self.decoder(z1))

    def encode(self, x: Tensor) -> Encoding:
        """The Gaussians of the inference network that depend on x alone (no sample): for the
        ladder the whole deterministic upward pass (μ_{d,i}, σ²_{d,i}), i = 1..L; for the bottom-up
        VAE q(z₁ | x). Shared by all the importance samples of an image."""
        if self.cfg.kind != "ladder":
            return (self.up[0](x),)
        bottom_up: list[tuple[Tensor, Tensor]] = []
        v = x
        for i in range(self.cfg.layers):
            mu_d, var_d = self.up[i](v)
            bottom_up.append((mu_d, var_d))
            v = mu_d  # only the mean travels up (the code's only_mu_up)
        return tuple(bottom_up)

    def from_encoding(self, encoding: Encoding, noise: Noise, copies: int = 1) -> Pass:
        """The stochastic rest of a pass, for ``copies`` draws per image (rows sample-major)."""
        enc = repeat_encoding(encoding, copies)
        if self.cfg.kind == "ladder":
            return self._ladder(enc, noise)
        return self._bottom_up(enc[0], noise)

    def _bottom_up(self, first: tuple[Tensor, Tensor], noise: Noise) -> Pass:
        n_layers = self.cfg.layers
        qs: list[tuple[Tensor, Tensor, Tensor]] = []
        mu, var = first
        for i in range(n_layers):
            if i > 0:
                mu, var = self.up[i](qs[-1][0])
            qs.append((mu + var.sqrt() * noise(tuple(mu.shape)), mu, var))
        layers = []
        for i, (zi, mu, var) in enumerate(qs):
            mu_p, var_p = self._prior(i, qs[i + 1][0] if i + 1 < n_layers else None, zi)
            layers.append(LayerPass(zi, mu, var, mu_p, var_p, analytic=i == n_layers - 1))
        return Pass(self.decode(qs[0][0]), tuple(layers))

    def _ladder(self, bottom_up: Encoding, noise: Noise) -> Pass:
        n_layers = self.cfg.layers
        layers: list[LayerPass] = [None] * n_layers  # type: ignore[list-item]
        mu, var = bottom_up[n_layers - 1]
        z = mu + var.sqrt() * noise(tuple(mu.shape))
        mu_p, var_p = self._prior(n_layers - 1, None, z)
        layers[n_layers - 1] = LayerPass(z, mu, var, mu_p, var_p, analytic=True)
        for i in range(n_layers - 2, -1, -1):
            above = layers[i + 1].z
            mu_p, var_p = self.prior[i](above)
            mu_t, var_t = (mu_p, var_p) if self.cfg.share_topdown else self.topdown[i](above)
            mu, var = precision_weighted_merge(mu_t, var_t, *bottom_up[i])
            z = mu + var.sqrt() * noise(tuple(mu.shape))
            layers[i] = LayerPass(z, mu, var, mu_p, var_p, analytic=True)
        return Pass(self.decode(layers[0].z), tuple(layers))

    def _prior(self, i: int, above: Tensor | None, like: Tensor) -> tuple[Tensor, Tensor]:
        if above is None:  # the top layer: N(0, I)
            return torch.zeros_like(like), torch.ones_like(like)
        return self.prior[i](above)

    def sample_logits(self, n: int, noise: Noise) -> Tensor:
        """Ancestral sampling: z_L ~ N(0, I), zᵢ ~ p(zᵢ | zᵢ₊₁), x logits ``(n, D)``."""
        z = noise((n, self.cfg.layer_latents[-1]))
        for i in range(self.cfg.layers - 2, -1, -1):
            mu, var = self.prior[i](z)
            z = mu + var.sqrt() * noise(tuple(mu.shape))
        return self.decode(z)


class ConvNet(LatentNet):
    """A one-layer convolutional VAE (IMAGES.md §2, inferred): Conv(1→c₁, k4 s2 p1) → Conv(c₁→c₂)
    → Linear → Gaussian head; the decoder mirrors it with transposed convolutions."""

    def __init__(self, cfg: LatentConfig, shape: tuple[int, int, int]) -> None:
        super().__init__()
        channels, height, width = shape
        if height % 4 or width % 4:
            raise ConfigError(
                f"model.arch = 'conv' needs image sides divisible by 4 (two stride-2 convolutions); the "
                f"data's images are {height}×{width}: use model.arch = 'mlp', or images of another size"
            )
        self.cfg, self.shape, self.dim = cfg, shape, channels * height * width
        c1, c2 = cfg.conv_channels
        self.grid = (c2, height // 4, width // 4)
        flat = c2 * (height // 4) * (width // 4)
        act = ACTIVATIONS[cfg.activation]
        bn2 = (lambda c: nn.BatchNorm2d(c)) if cfg.batch_norm else (lambda c: nn.Identity())
        bn1 = (lambda c: nn.BatchNorm1d(c)) if cfg.batch_norm else (lambda c: nn.Identity())
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, c1, 4, 2, 1), bn2(c1), act(),
            nn.Conv2d(c1, c2, 4, 2, 1), bn2(c2), act(),
            nn.Flatten(), nn.Linear(flat, cfg.conv_hidden), bn1(cfg.conv_hidden), act(),
        )  # fmt: skip
        self.head = GaussianHead(
            cfg.conv_hidden, cfg.latents[0], batch_norm=cfg.batch_norm and cfg.bn_heads, var_eps=cfg.var_eps
        )
        self.decoder_dense = nn.Sequential(
            nn.Linear(cfg.latents[0], cfg.conv_hidden), bn1(cfg.conv_hidden), act(),
            nn.Linear(cfg.conv_hidden, flat), bn1(flat), act(),
        )  # fmt: skip
        self.decoder_conv = nn.Sequential(
            nn.ConvTranspose2d(c2, c1, 4, 2, 1), bn2(c1), act(),
            nn.ConvTranspose2d(c1, channels, 4, 2, 1),
        )  # fmt: skip

    @property
    def latent_sizes(self) -> tuple[int, ...]:
        return (self.cfg.latents[0],)

    def decode(self, z: Tensor) -> Tensor:
        h = self.decoder_dense(z).view(-1, *self.grid)  # (B, c₂·H/4·W/4) → (B, c₂, H/4, W/4)
        return self.decoder_conv(h).flatten(1)  # (B, C, H, W) → (B, D)

    def encode(self, x: Tensor) -> Encoding:
        """q(z | x)'s (μ, σ²), shared by all the importance samples of an image."""
        return (self.head(self.encoder(x.view(-1, *self.shape))),)  # (B, D) → (B, C, H, W)

    def from_encoding(self, encoding: Encoding, noise: Noise, copies: int = 1) -> Pass:
        ((mu, var),) = repeat_encoding(encoding, copies)
        z = mu + var.sqrt() * noise(tuple(mu.shape))
        layer = LayerPass(z, mu, var, torch.zeros_like(z), torch.ones_like(z), analytic=True)
        return Pass(self.decode(z), (layer,))

    def sample_logits(self, n: int, noise: Noise) -> Tensor:
        return self.decode(noise((n, self.cfg.latents[0])))


def build_net(cfg: LatentConfig, shape: tuple[int, int, int]) -> LatentNet:
    """The net of ``cfg`` for images of ``shape`` (C, H, W)."""
    if cfg.arch == "conv":
        return ConvNet(cfg, shape)
    return HierarchyNet(cfg, shape[0] * shape[1] * shape[2])
