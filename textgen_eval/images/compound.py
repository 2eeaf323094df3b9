"""``compound-vae``: a VAE whose encoder weights are random (Su, Lin & Chen, ICASSP 2019).

p(x, z, w) = p(z) p(w) p(x|z) with a deterministic decoder; q(z, w|x) = q(z|w, x) q(w|x), w the
encoder's weights (eq. 1–2). Three encoders (§3.1), 784 → ``hidden`` → (μ, σ²) of ``latent`` units:

- ``vanilla``: deterministic layers;
- ``bnn`` ("simplified compound"): every encoder layer a Bayes-by-Backprop layer, q(w) independent
  of x;
- ``dbnn`` ("compound"): the hidden layer a Bayes-by-Backprop layer and the μ and σ² heads dynamic
  BNN layers, whose weight distribution is a linear function of the hidden vector (IMAGES.md §4:
  where the DBNN sits is inferred from the paper's ablation).

The loss of minibatch i (eq. 3–5), per image: −log p(x|z) + KL(q(z|w,x) ‖ N(0, I)) (closed form),
plus wᵢ · (KL of the static weights + Σ_b per-example KL of the dynamic weights) / B, with
wᵢ = Blundell's πᵢ, 1/M or 0 (``weight_kl_scheme``); the weight KL is logged separately, and — as
the paper's Table 1 — it is not part of the reported reconstruction + latent-KL numbers. The
importance-weighted bound samples the encoder weights once per image and K latents.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textgen_eval.core.config import settings
from textgen_eval.core.space import SearchSpace, choice, loguniform, uniform
from textgen_eval.core.training import StepContext
from textgen_eval.images.bayes import (
    BayesLinear,
    DynamicBayesLinear,
    GaussianPrior,
    ScaleMixturePrior,
    kl_weight,
)
from textgen_eval.images.config import ImageTrainConfig, LatentConfig
from textgen_eval.images.model import LatentImageModel
from textgen_eval.images.nets import Encoding, LatentNet, LayerPass, Noise, Pass, repeat_encoding
from textgen_eval.images.task import LatentImageTask


@settings
class CompoundConfig:
    """The ``[model]`` section of ``compound-vae`` (defaults: the paper's MNIST setup, §3.1)."""

    encoder: Literal["vanilla", "bnn", "dbnn"] = "dbnn"
    hidden: int = 100
    latent: int = 5
    prior: Literal["mixture", "gaussian"] = "mixture"
    prior_pi: float = 0.5
    log_sigma1: float = 0.0
    log_sigma2: float = -6.0
    rho_init: float = -5.0
    weight_kl_scheme: Literal["blundell", "uniform", "none"] = "blundell"
    batch_norm: bool = True
    var_eps: float = 1e-5

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.latent < 1:
            raise ValueError("hidden and latent must be ≥ 1")
        if not 0 < self.prior_pi < 1:
            raise ValueError(f"prior_pi must be in (0, 1), got {self.prior_pi}")
        for name in ("log_sigma1", "log_sigma2", "rho_init"):  # exp(±30) is far beyond any prior
            value = getattr(self, name)
            if not (math.isfinite(value) and abs(value) <= 30):
                raise ValueError(f"{name} must be a finite number in [-30, 30], got {value}")
        if not (self.var_eps > 0 and math.isfinite(self.var_eps)):
            raise ValueError(f"var_eps must be a finite number > 0, got {self.var_eps}")

    def weight_prior(self) -> GaussianPrior | ScaleMixturePrior:
        if self.prior == "gaussian":
            return GaussianPrior(1.0)
        return ScaleMixturePrior(self.prior_pi, math.exp(self.log_sigma1), math.exp(self.log_sigma2))


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Torch's global generator seeded for the block and restored after it."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        yield


class CompoundNet(LatentNet):
    """Encoder (vanilla, BBB or BBB + DBNN heads) and a deterministic MLP decoder."""

    def __init__(self, cfg: CompoundConfig, dim: int) -> None:
        super().__init__()
        self.cfg, self.dim = cfg, dim
        prior = cfg.weight_prior()
        h, z = cfg.hidden, cfg.latent
        self.hidden: nn.Module = (
            nn.Linear(dim, h)
            if cfg.encoder == "vanilla"
            else BayesLinear(dim, h, prior, rho_init=cfg.rho_init)
        )
        self.norm: nn.Module = nn.BatchNorm1d(h) if cfg.batch_norm else nn.Identity()
        if cfg.encoder == "vanilla":
            self.mu_head: nn.Module = nn.Linear(h, z)
            self.var_head: nn.Module = nn.Linear(h, z)
        elif cfg.encoder == "bnn":
            self.mu_head = BayesLinear(h, z, prior, rho_init=cfg.rho_init)
            self.var_head = BayesLinear(h, z, prior, rho_init=cfg.rho_init)
        else:
            self.mu_head = DynamicBayesLinear(h, z, prior, rho_offset=cfg.rho_init)
            self.var_head = DynamicBayesLinear(h, z, prior, rho_offset=cfg.rho_init)
        self.decoder = nn.Sequential(nn.Linear(z, h), nn.ReLU(), nn.Linear(h, dim))

    @property
    def latent_sizes(self) -> tuple[int, ...]:
        return (self.cfg.latent,)

    def encode(self, x: Tensor) -> Encoding:
        """q(z | w, x) for one draw of the encoder weights (one per image for DBNN heads)."""
        h = F.relu(self.norm(self.hidden(x)))
        return ((self.mu_head(h), F.softplus(self.var_head(h)) + self.cfg.var_eps),)

    def weight_kl(self) -> tuple[Tensor, Tensor]:
        """(summed KL of the static Bayesian weights, per-example KL of the dynamic ones ``(B,)``)
        at the last forward pass's samples; zeros where there are none."""
        static = sum((m.kl() for m in self.modules() if isinstance(m, BayesLinear)), torch.zeros(()))
        dynamic = [m.kl() for m in self.modules() if isinstance(m, DynamicBayesLinear)]
        return static, (torch.stack(dynamic).sum(0) if dynamic else torch.zeros(1))

    def from_encoding(self, encoding: Encoding, noise: Noise, copies: int = 1) -> Pass:
        ((mu, var),) = repeat_encoding(encoding, copies)
        z = mu + var.sqrt() * noise(tuple(mu.shape))
        layer = LayerPass(z, mu, var, torch.zeros_like(z), torch.ones_like(z), analytic=True)
        return Pass(self.decoder(z), (layer,))

    def sample_logits(self, n: int, noise: Noise) -> Tensor:
        return self.decoder(noise((n, self.cfg.latent)))


class CompoundTask(LatentImageTask):
    """The image VAE task plus the reweighted weight KL (eq. 5)."""

    def training_step(self, batch: Any, ctx: StepContext) -> Mapping[str, Tensor]:
        out = dict(super().training_step(batch, ctx))
        net = self.module
        assert isinstance(net, CompoundNet)
        static, dynamic = net.weight_kl()
        weight = kl_weight(net.cfg.weight_kl_scheme, ctx.batch_in_epoch, ctx.batches_per_epoch or 1)
        total = static + dynamic.sum()
        out["loss"] = out["loss"] + weight * total / len(batch)
        out["weight_kl"] = total.detach()
        out["weight_kl_weight"] = torch.tensor(weight)
        return out


class CompoundVAE(LatentImageModel):
    """``compound-vae``; its ``[model]`` is :class:`CompoundConfig` (the ``[train]`` section is the
    image VAEs' one)."""

    name = "compound-vae"
    description = (
        "VAE with a Bayesian (BBB) or dynamic-Bayesian (DBNN) encoder and a scale-mixture weight prior"
    )
    paper = "Su, Lin & Chen, ICASSP 2019 (compound VAE)"
    config_sections: ClassVar[Mapping[str, type]] = {"model": CompoundConfig, "train": ImageTrainConfig}
    default_metrics: ClassVar[tuple[str, ...]] = (
        "neg-elbo", "nll-iw-100", "weight-kl", "active-units-kl", "kl-per-layer",
    )  # fmt: skip
    search_space: ClassVar[SearchSpace | None] = SearchSpace(
        {
            "train.lr": loguniform(3e-4, 3e-3),
            "train.batch_size": choice(32, 64, 128),
            "model.encoder": choice("vanilla", "bnn", "dbnn"),
            "model.prior": choice("mixture", "gaussian"),
            "model.prior_pi": uniform(0.25, 0.75, when={"model.prior": "mixture"}),
            "model.log_sigma1": choice(0.0, -1.0, -2.0, when={"model.prior": "mixture"}),
            "model.log_sigma2": choice(-6.0, -7.0, -8.0, when={"model.prior": "mixture"}),
            "model.rho_init": uniform(-6.0, -3.0),
            "model.weight_kl_scheme": choice("blundell", "uniform", "none"),
            "model.batch_norm": choice(False, True),
        },
        fixed={"runner.max_epochs": 3, "runner.patience": 1, "train.valid_images": 2000},
    )

    def __init__(self, configs: Mapping[str, Any]) -> None:
        # the shared machinery reads LatentConfig fields (kl estimator, warm-up, batch norm mode)
        compound: CompoundConfig = configs["model"]
        shim = LatentConfig(
            latents=(compound.latent,), hidden=(compound.hidden,), batch_norm=compound.batch_norm
        )
        super().__init__({**configs, "model": shim})
        self.configs["model"] = compound
        self.compound = compound

    def build_net(self, shape: tuple[int, int, int]) -> LatentNet:
        return CompoundNet(self.compound, shape[0] * shape[1] * shape[2])

    def make_task(self, train: Any, valid: Any, runner_config: Any) -> LatentImageTask:
        return CompoundTask(self.cfg, self.train_cfg, train, valid, runner_config, build=self.build_net)

    def evaluation_settings(self) -> Mapping[str, object]:
        return {
            "model": f"compound-vae/{self.compound.encoder}",
            "bn": "running" if self.compound.batch_norm else "off",
            # one draw of the static (BBB) weights per batch of images, of the DBNN heads' per image
            "weight_samples": {"vanilla": "none", "bnn": "1-per-batch", "dbnn": "1-per-batch+1-per-image"}[
                self.compound.encoder
            ],
        }

    # encoder weights are drawn from torch's global generator: seed it for every evaluation
    def log_likelihood(self, pixels: Any, *, k: int, seed: int, batch_size: int) -> Any:
        with seeded(seed):
            return super().log_likelihood(pixels, k=k, seed=seed, batch_size=batch_size)

    def elbo_terms(self, pixels: Any, *, seed: int, batch_size: int, draws: int = 1) -> Any:
        with seeded(seed):
            return super().elbo_terms(pixels, seed=seed, batch_size=batch_size, draws=draws)

    def weight_kl(self, pixels: Any, *, seed: int, batch_size: int) -> tuple[float, float]:
        """(static weight KL, mean per-image dynamic weight KL) at seeded weight draws over ``pixels``
        (the static KL is a property of q and p, estimated at each batch's draw and averaged)."""
        statics: list[float] = []
        dynamics: list[float] = []
        with seeded(seed), torch.no_grad():
            for x in self._batches(pixels, batch_size):
                net = self.net
                assert isinstance(net, CompoundNet)
                net.encode(x)
                static, dynamic = net.weight_kl()
                statics.append(float(static))
                dynamics.extend(dynamic.double().tolist() if self.compound.encoder == "dbnn" else [0.0])
        return sum(statics) / len(statics), sum(dynamics) / len(dynamics)

    def posterior_means(self, pixels: Any, *, batch_size: int) -> Any:
        with seeded(0):
            return super().posterior_means(pixels, batch_size=batch_size)
