"""``weight-vae``: VAE-based compression of a trained classifier's parameters (Cheng et al. 2024;
IMAGES.md §6).

Two stages on the shared runner: ``target`` trains the classifier to compress (an MLP
[784,200,100,60,30,10] by default, one of the paper's four, on the labelled ``mnist`` bundle) —
skipped when ``model.target`` names an earlier ``weight-vae`` run whose classifier is reused —
then ``vae`` trains a VAE on chunks of its parameters: flatten → scale to [−1, 1] → chunks of
``chunk`` values (the last zero-padded), plus ``copies`` noisy copies (noise N(0, (noise_std ·
per-layer weight std)²), seeded by (seed, copy)); 80 % of the copies train, 20 % validate. The
VAE is 2048 → ``hidden`` → ``latent`` → ``hidden`` → 2048 with a Gaussian reconstruction of variance
``recon_var`` (the paper leaves architecture and likelihood unstated: IMAGES.md §6, inferred).

The compressed network is the posterior means of the true parameters' chunks decoded. The report
(:meth:`WeightVAE.compression_report`) gives the code-only ratio (the paper's), the ratio with the
decoder counted (the paper leaves it out), accuracy before / after / the drop, per-layer relative
error, and the controls: every chunk decoded from the *mean* code (if accuracy survives, the
decoder alone holds the network), 8-bit quantisation (4×) and magnitude pruning at the code-only
ratio.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textgen_eval.core.config import settings
from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.model import Model
from textgen_eval.core.protocols import CompressionReport
from textgen_eval.core.space import SearchSpace, choice, loguniform, uniform
from textgen_eval.core.training import (
    BaseTask,
    Cycle,
    RunnerConfig,
    Stage,
    StepContext,
    TaskRunner,
    TrainResult,
    Update,
)
from textgen_eval.data.images import ImageSplit
from textgen_eval.images.compression import (
    flatten_parameters,
    from_chunks,
    parameter_count,
    target_network,
    to_chunks,
    unflatten_parameters,
)


@settings
class WeightVAEConfig:
    """The ``[model]`` section (defaults: IMAGES.md §6 and its K1 experiment)."""

    target_arch: str = "fnn"
    target: str = ""
    target_epochs: int = 20
    target_lr: float = 1e-3
    chunk: int = 2048
    latent: int = 64
    hidden: int = 512
    copies: int = 100
    noise_std: float = 0.01
    recon_var: float = 1e-4
    beta: float = 1.0
    lr: float = 1e-3
    vae_epochs: int = 40
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.target_arch not in ("fnn", "cnn", "rnn", "lstm"):
            raise ValueError(f"target_arch must be fnn, cnn, rnn or lstm, got {self.target_arch!r}")
        for name in ("target_epochs", "chunk", "latent", "hidden", "copies", "vae_epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.copies < 5:
            raise ValueError("copies must be ≥ 5 (80 % train, 20 % validate)")
        for name in ("target_lr", "recon_var", "lr", "beta"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number, got {value}")
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be ≥ 0, got {self.noise_std}")


class ChunkVAE(nn.Module):
    """chunk → hidden → (μ, log σ²) of ``latent`` → hidden → chunk, Gaussian reconstruction."""

    def __init__(self, cfg: WeightVAEConfig) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(cfg.chunk, cfg.hidden), nn.ReLU())
        self.mu = nn.Linear(cfg.hidden, cfg.latent)
        self.logvar = nn.Linear(cfg.hidden, cfg.latent)
        self.decoder = nn.Sequential(
            nn.Linear(cfg.latent, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, cfg.chunk)
        )

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.encoder(x)
        return self.mu(h), self.logvar(h)

    def loss(self, x: Tensor, recon_var: float, beta: float) -> dict[str, Tensor]:
        """Per-row −ELBO terms: Σ (x − x̂)²/(2σ²) and KL(q ‖ N(0, I)), averaged over rows."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = (x - self.decoder(z)).pow(2).sum(1) / (2 * recon_var)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        return {"loss": (rec + beta * kl).mean(), "rec": rec.mean().detach(), "kl": kl.mean().detach()}


class TargetAndVAE(nn.Module):
    """The classifier being compressed and the VAE over its parameter chunks."""

    def __init__(self, cfg: WeightVAEConfig) -> None:
        super().__init__()
        self.target = target_network(cfg.target_arch)
        self.vae = ChunkVAE(cfg)


class WeightVAETask(BaseTask):
    def __init__(
        self, cfg: WeightVAEConfig, train: ImageSplit, valid: ImageSplit | None, runner_config: RunnerConfig,
        pretrained: dict[str, Tensor] | None,
    ) -> None:  # fmt: skip
        self.cfg, self.train, self.valid, self.runner_config = cfg, train, valid, runner_config
        self.seed, self.pretrained = runner_config.seed, pretrained
        self.module = TargetAndVAE(cfg)
        self._optimizers: dict[str, torch.optim.Optimizer] = {}
        self.device = torch.device("cpu")
        self._chunks: tuple[Tensor, Tensor] | None = None

    def setup(self, device: torch.device) -> None:
        self.device = device
        self.module = TargetAndVAE(self.cfg).to(device)
        if self.pretrained is not None:
            self.module.target.load_state_dict(self.pretrained)
        self._optimizers = {
            "target": torch.optim.Adam(self.module.target.parameters(), lr=self.cfg.target_lr),
            "vae": torch.optim.Adam(self.module.vae.parameters(), lr=self.cfg.lr),
        }

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        return self._optimizers

    def stages(self) -> Sequence[Stage]:
        vae = Stage("vae", Cycle((Update("vae"),)), max_epochs=self.cfg.vae_epochs, monitor="valid_loss",
                    restore_best=True)  # fmt: skip
        if self.pretrained is not None:
            return [vae]
        target = Stage("target", Cycle((Update("target"),)), max_epochs=self.cfg.target_epochs)
        return [target, vae]

    def num_data(self) -> int:
        return len(self.train)

    def noisy_chunks(self) -> tuple[Tensor, Tensor]:
        """(train rows, valid rows) of the scaled chunks of the noisy copies (the target is frozen by
        then, so they are computed once per process, from the seed)."""
        if self._chunks is None:
            self._chunks = make_noisy_chunks(self.module.target, self.cfg, self.seed)
        return self._chunks

    def train_batches(self, stage: str, epoch: int) -> Iterator[Any]:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch, 0 if stage == "target" else 1]))
        if stage == "target":
            assert self.train.labels is not None
            order = rng.permutation(len(self.train))
            for start in range(0, len(order), 100):
                index = order[start : start + 100]
                yield self.train.pixels[index], self.train.labels[index]
            return
        chunk_rows, _ = self.noisy_chunks()
        shuffled = torch.from_numpy(rng.permutation(len(chunk_rows)))
        for start in range(0, len(shuffled), self.cfg.batch_size):
            yield chunk_rows[shuffled[start : start + self.cfg.batch_size]]

    def training_step(self, batch: Any, ctx: StepContext) -> Mapping[str, Tensor]:
        if ctx.stage == "target":
            x = torch.from_numpy(batch[0]).to(self.device, torch.float32)
            y = torch.from_numpy(batch[1]).to(self.device, torch.int64)
            return {"loss": F.cross_entropy(self.module.target(x), y)}
        return self.module.vae.loss(batch.to(self.device), self.cfg.recon_var, self.cfg.beta)

    def validate(self, stage: str) -> Mapping[str, float]:
        with torch.no_grad():
            if stage == "target":
                if self.valid is None or self.valid.labels is None:
                    return {}
                x = torch.from_numpy(self.valid.pixels).to(self.device, torch.float32)
                logits = self.module.target(x)
                y = torch.from_numpy(self.valid.labels).to(self.device)
                return {"valid_accuracy": float((logits.argmax(1) == y).float().mean())}
            _, rows = self.noisy_chunks()
            with torch.random.fork_rng():  # fixed validation noise, training RNG untouched
                torch.manual_seed(0)
                terms = self.module.vae.loss(rows.to(self.device), self.cfg.recon_var, self.cfg.beta)
            return {"valid_loss": float(terms["loss"]), "valid_rec": float(terms["rec"])}


def layer_stds(target: nn.Module) -> dict[str, float]:
    return {name: float(p.detach().std()) if p.numel() > 1 else 0.0 for name, p in target.named_parameters()}


def make_noisy_chunks(target: nn.Module, cfg: WeightVAEConfig, seed: int) -> tuple[Tensor, Tensor]:
    """Scaled chunk rows of ``copies`` noisy copies of ``target``'s parameters, split 80/20 by copy."""
    state = {n: p.detach().cpu() for n, p in target.named_parameters()}
    vector, _ = flatten_parameters(state)
    scale = float(vector.abs().max())
    stds = layer_stds(target)
    train_rows: list[Tensor] = []
    valid_rows: list[Tensor] = []
    n_train = round(0.8 * cfg.copies)
    for copy in range(cfg.copies):
        gen = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, copy]).generate_state(1)[0]))
        noisy = {
            n: p + cfg.noise_std * stds[n] * torch.randn(p.shape, generator=gen) for n, p in state.items()
        }
        chunks, _ = to_chunks(flatten_parameters(noisy)[0] / scale, cfg.chunk)
        (train_rows if copy < n_train else valid_rows).append(chunks)
    return torch.cat(train_rows), torch.cat(valid_rows)


class WeightVAE(Model[ImageSplit]):
    """``weight-vae``: a classifier and the VAE that compresses its parameters."""

    name = "weight-vae"
    modality: ClassVar[str] = "image"
    description = (
        "VAE compression of a trained classifier's parameters (code-only and decoder-inclusive ratios)"
    )
    paper = "Cheng, Guan, Taherkordi, Liu & Lan 2024"
    config_sections: ClassVar[Mapping[str, type]] = {"model": WeightVAEConfig}
    search_space: ClassVar[SearchSpace | None] = SearchSpace(
        {
            "model.latent": choice(32, 64, 128),
            "model.hidden": choice(256, 512, 1024),
            "model.lr": loguniform(1e-4, 3e-3),
            "model.noise_std": loguniform(1e-3, 3e-2),
            "model.beta": uniform(0.1, 1.0),
        },
        fixed={"model.target_epochs": 5, "model.vae_epochs": 10, "model.copies": 20},
    )
    default_metrics: ClassVar[tuple[str, ...]] = (
        "accuracy-drop",
        "compression-ratio",
        "compression-ratio-total",
    )
    default_objective: ClassVar[str] = "accuracy-drop"

    def __init__(self, configs: Mapping[str, Any]) -> None:
        super().__init__(configs)
        self.cfg: WeightVAEConfig = self.configs["model"]
        self.module: TargetAndVAE | None = None
        self.seed = 0

    def network_builder(self, train: ImageSplit) -> Callable[[], ChunkVAE]:
        """The chunk VAE (the target classifier's own sizes are fixed by ``model.target_arch``)."""
        return lambda: ChunkVAE(self.cfg)

    def fit(
        self, train: ImageSplit, valid: ImageSplit | None, runner: TaskRunner, *, resume: bool = False
    ) -> TrainResult:
        if not isinstance(train, ImageSplit) or train.labels is None or train.dim != 784:
            raise InputError(
                f"{self.name} trains its target classifier on labelled 28×28 images (--data mnist)"
            )
        pretrained = self._pretrained_target()
        task = WeightVAETask(self.cfg, train, valid, runner.config, pretrained)
        result = runner.fit(task, resume=resume)
        self.module = task.module.cpu().eval()
        self.seed = runner.config.seed
        return result

    def _pretrained_target(self) -> dict[str, Tensor] | None:
        if not self.cfg.target:
            return None
        from textgen_eval.core.models import load_model

        other = load_model(self.cfg.target)
        if not isinstance(other, WeightVAE) or other.module is None:
            raise ConfigError(
                f"model.target = {self.cfg.target}: not a weight-vae run (its classifier is reused)"
            )
        if other.cfg.target_arch != self.cfg.target_arch:
            raise ConfigError(
                f"model.target = {self.cfg.target} holds a {other.cfg.target_arch!r} classifier; "
                f"model.target_arch is {self.cfg.target_arch!r}"
            )
        return {k: v.clone() for k, v in other.module.target.state_dict().items()}

    def _net(self) -> TargetAndVAE:
        if self.module is None:
            self.module = TargetAndVAE(self.cfg)
        return self.module

    def state_dict(self) -> dict[str, Any]:
        return dict(self._net().state_dict())

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._net().load_state_dict(state)
        self._net().eval()

    def evaluation_settings(self) -> Mapping[str, object]:
        c = self.cfg
        return {
            "model": f"weight-vae/{c.target_arch}",
            "chunk": c.chunk,
            "latent": c.latent,
            "decode": "posterior-mean",
        }

    def compression_report(self, data: ImageSplit, *, seed: int = 0) -> CompressionReport:
        """Accuracies on ``data`` (labelled) of the original, reconstructed and control networks."""
        if data.labels is None:
            raise ConfigError(f"{data.describe()}: the compression report needs labelled images")
        net = self._net()
        target, vae = net.target, net.vae
        state = {n: p.detach() for n, p in target.named_parameters()}
        vector, layout = flatten_parameters(state)
        scale = float(vector.abs().max())
        chunks, pad = to_chunks(vector / scale, self.cfg.chunk)
        with torch.no_grad():
            mu, _ = vae.encode(chunks)
            decoded = vae.decoder(mu) * scale
            mean_code = vae.decoder(mu.mean(0, keepdim=True).expand_as(mu)) * scale
        restored = unflatten_parameters(from_chunks(decoded, pad), layout)
        x = torch.from_numpy(data.pixels).float()
        y = torch.from_numpy(data.labels)

        def accuracy(params: Mapping[str, Tensor]) -> float:
            clone = target_network(self.cfg.target_arch)
            clone.load_state_dict(dict(params), strict=False)
            with torch.no_grad():
                return float((clone.eval()(x).argmax(1) == y).float().mean())

        n_params = parameter_count(target)
        codes = chunks.shape[0] * self.cfg.latent
        decoder_params = parameter_count(vae.decoder)
        ratio = n_params / codes
        keep = max(1, round(n_params / ratio))
        threshold = vector.abs().kthvalue(n_params - keep + 1).values
        pruned = unflatten_parameters(
            torch.where(vector.abs() >= threshold, vector, torch.zeros_like(vector)), layout
        )
        step = (vector.max() - vector.min()) / 255
        quantised = unflatten_parameters(
            torch.round((vector - vector.min()) / step) * step + vector.min(), layout
        )
        errors = {
            name: float((restored[name] - value).norm() / value.norm()) if float(value.norm()) > 0 else 0.0
            for name, value in state.items()
        }
        return CompressionReport(
            parameters=n_params,
            code_floats=codes,
            decoder_parameters=decoder_params,
            accuracy_original=accuracy(state),
            accuracy_reconstructed=accuracy(restored),
            accuracy_mean_code=accuracy(unflatten_parameters(from_chunks(mean_code, pad), layout)),
            accuracy_quantised_8bit=accuracy(quantised),
            accuracy_pruned=accuracy(pruned),
            relative_error=errors,
        )
