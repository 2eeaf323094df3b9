"""``vae`` and ``ladder-vae``: latent-variable models of binary images on the shared runner.

Both are :class:`LatentImageModel`; they differ in their ``[model]`` defaults (a one-layer MLP VAE
784-512-512-64 vs the paper's five-layer ladder with batch norm) and search spaces. The model
implements :class:`~textgen_eval.core.protocols.LatentVariableModel`, what the image metrics use:
seeded importance-weighted bounds vectorised over images and chunked over K, ELBO terms per layer
and unit, posterior means, and ancestral samples.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from textgen_eval.core.errors import InputError
from textgen_eval.core.model import Model
from textgen_eval.core.protocols import ElboBreakdown
from textgen_eval.core.space import SearchSpace
from textgen_eval.core.training import RunnerConfig, TaskRunner, TrainResult
from textgen_eval.data.images import ImageSplit
from textgen_eval.images.bounds import LogMeanExp
from textgen_eval.images.config import ImageTrainConfig, LadderConfig, LatentConfig
from textgen_eval.images.nets import LatentNet, build_net
from textgen_eval.images.objective import kl_terms, log_weights
from textgen_eval.images.space import LADDER_SPACE, VAE_SPACE
from textgen_eval.images.task import LatentImageTask, torch_noise

IMAGE_FILE = "image.json"
#: Rows (images × importance samples) per forward pass of the IW bound: small passes stay in
#: cache (2,048 rows was fastest of 512…65,536 on 2 CPU cores, docs/performance.md) and memory
#: stays a few MB whatever K is.
IW_ROWS = 2048


class LatentImageModel(Model[ImageSplit]):
    """A VAE or ladder VAE (``[model] kind``) with a Bernoulli likelihood from logits."""

    modality: ClassVar[str] = "image"
    config_sections: ClassVar[Mapping[str, type]] = {"model": LatentConfig, "train": ImageTrainConfig}

    def __init__(self, configs: Mapping[str, Any]) -> None:
        super().__init__(configs)
        self.cfg: LatentConfig = self.configs["model"]
        self.train_cfg: ImageTrainConfig = self.configs["train"]
        self.shape: tuple[int, int, int] | None = None
        self._net: LatentNet | None = None
        self.device = torch.device("cpu")

    @property
    def net(self) -> LatentNet:
        if self._net is None:
            raise RuntimeError(f"{self.name}: the model is neither trained nor loaded")
        return self._net

    def build_net(self, shape: tuple[int, int, int]) -> LatentNet:
        """A fresh net for images of ``shape`` (the compound VAE overrides this)."""
        return build_net(self.cfg, shape)

    def network_builder(self, train: ImageSplit) -> Callable[[], LatentNet]:
        return lambda: self.build_net(train.shape)

    def make_task(
        self, train: ImageSplit, valid: ImageSplit | None, runner_config: RunnerConfig
    ) -> LatentImageTask:
        return LatentImageTask(self.cfg, self.train_cfg, train, valid, runner_config, build=self.build_net)

    def init_net(self, shape: tuple[int, int, int], *, seed: int = 0) -> LatentNet:
        """An untrained net for images of ``shape`` (seeded initialisation), for analysis and tests."""
        torch.manual_seed(seed)
        self.shape = shape
        self._net = self.build_net(shape).to(self.device).eval()
        return self._net

    # -- training ----------------------------------------------------------------------------

    def fit(
        self, train: ImageSplit, valid: ImageSplit | None, runner: TaskRunner, *, resume: bool = False
    ) -> TrainResult:
        if not isinstance(train, ImageSplit):
            raise InputError(f"{self.name} trains on an image bundle (e.g. --data mnist-binarized)")
        if not train.binary and self.train_cfg.binarize == "none":
            raise InputError(
                f"{train.describe()}: grayscale images; a Bernoulli model needs binary pixels: set "
                "train.binarize=dynamic (a seeded draw per epoch) or train.binarize=threshold"
            )
        self.shape = train.shape
        task = self.make_task(train, valid, runner.config)
        result = runner.fit(task, resume=resume)
        self._net = task.module.to(self.device).eval()
        return result

    # -- persistence -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return dict(self.net.state_dict())

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.net.load_state_dict(state)
        self.net.eval()

    def save_extra(self, directory: Path) -> None:
        from textgen_eval.core.files import atomic_write_text

        atomic_write_text(directory / IMAGE_FILE, json.dumps({"shape": list(self.shape or ())}) + "\n")

    def load_extra(self, directory: Path) -> None:
        path = directory / IMAGE_FILE
        try:
            shape = json.loads(path.read_text(encoding="utf-8"))["shape"]
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"{path}: missing or unreadable image shape ({exc})") from None
        self.shape = (int(shape[0]), int(shape[1]), int(shape[2]))
        self._net = self.build_net(self.shape).eval()

    # -- evaluation (LatentVariableModel) ----------------------------------------------------

    def _batches(self, pixels: np.ndarray, batch_size: int) -> Iterator[torch.Tensor]:
        if pixels.ndim != 2 or pixels.shape[1] != self.net.dim:
            raise InputError(
                f"{self.name}: images of {pixels.shape[1:]} values; the model takes {self.net.dim}"
            )
        for start in range(0, len(pixels), batch_size):
            yield torch.from_numpy(np.ascontiguousarray(pixels[start : start + batch_size])).to(
                self.device, torch.float32
            )

    def log_likelihood(self, pixels: np.ndarray, *, k: int, seed: int, batch_size: int) -> np.ndarray:
        """L_K per image (float64), vectorised over ``batch_size`` images and chunked over K so a
        forward pass holds at most ``IW_ROWS`` rows; the chunks are combined by a float64
        streaming log-sum-exp. The part of the inference network that does not depend on a
        sample (the ladder's whole upward pass, q(z₁|x) of the VAE) runs once per image, not K
        times: it is the same computation (the net is in eval mode)."""
        if k < 1:
            raise ValueError(f"K must be ≥ 1, got {k}")
        noise = torch_noise(torch.Generator(device=self.device).manual_seed(seed), self.device)
        out = []
        with torch.no_grad():
            for x in self._batches(pixels, batch_size):
                acc = LogMeanExp()
                encoding = self.net.encode(x)  # the sample-free part of q, once per image
                per_pass = max(1, IW_ROWS // len(x))
                for done in range(0, k, per_pass):
                    kc = min(per_pass, k - done)
                    xs = x.repeat(kc, 1)  # (B, D) → (kc·B, D), sample-major
                    p = self.net.from_encoding(encoding, noise, copies=kc)
                    acc.add(log_weights(p, xs).view(kc, len(x)))  # (kc·B,) → (kc, B)
                out.append(acc.value().cpu().numpy())
        return np.concatenate(out)

    def kl_estimator(self) -> str:
        if self.cfg.kl == "sample":
            return "sample"
        if self.cfg.kind == "ladder" or self.cfg.layers == 1:
            return "analytic"
        return "analytic-top"

    def elbo_terms(self, pixels: np.ndarray, *, seed: int, batch_size: int, draws: int = 1) -> ElboBreakdown:
        from textgen_eval.images.distributions import bernoulli_log_likelihood

        noise = torch_noise(torch.Generator(device=self.device).manual_seed(seed), self.device)
        rec: list[np.ndarray] = []
        layers: list[list[np.ndarray]] = [[] for _ in self.net.latent_sizes]
        units = [torch.zeros(z, dtype=torch.float64) for z in self.net.latent_sizes]
        with torch.no_grad():
            for x in self._batches(pixels, batch_size):
                xs = x.repeat(draws, 1)  # (B, D) → (draws·B, D)
                p = self.net(xs, noise)
                rec.append((-bernoulli_log_likelihood(p.logits, xs)).double().view(draws, -1).mean(0).numpy())
                for i, kl in enumerate(kl_terms(p, self.cfg.kl)):
                    per_image = kl.double().view(draws, len(x), -1).mean(0)  # (draws·B, Z) → (B, Z)
                    layers[i].append(per_image.sum(-1).numpy())
                    units[i] += per_image.sum(0).cpu()
        n = len(pixels)
        return ElboBreakdown(
            rec=np.concatenate(rec),
            kl_layers=tuple(np.concatenate(layer) for layer in layers),
            kl_units=tuple((u / n).numpy() for u in units),
            kl_estimator=self.kl_estimator(),
            draws=draws,
        )

    def posterior_means(self, pixels: np.ndarray, *, batch_size: int) -> tuple[np.ndarray, ...]:
        def zero(shape: tuple[int, ...]) -> torch.Tensor:
            return torch.zeros(shape, device=self.device)

        means: list[list[np.ndarray]] = [[] for _ in self.net.latent_sizes]
        with torch.no_grad():
            for x in self._batches(pixels, batch_size):
                for i, layer in enumerate(self.net(x, zero).layers):
                    means[i].append(layer.mu_q.double().cpu().numpy())
        return tuple(np.concatenate(m) for m in means)

    def evaluation_settings(self) -> Mapping[str, object]:
        bn = "off" if not self.cfg.batch_norm else self.cfg.bn_eval
        return {"model": f"{self.name}/{self.cfg.kind}-L{self.cfg.layers}", "bn": bn}

    def sample(self, n: int, *, seed: int, binary: bool = False, batch_size: int = 1000) -> np.ndarray:
        """``(n, C, H, W)`` float32: Bernoulli means in [0, 1], or one draw of each pixel (``binary``)."""
        assert self.shape is not None
        return np.concatenate(list(self.sample_batches(n, seed=seed, binary=binary, batch_size=batch_size)))

    def sample_batches(
        self, n: int, *, seed: int, binary: bool = False, batch_size: int = 1000
    ) -> Iterator[np.ndarray]:
        """:meth:`sample` one batch at a time (``(b, C, H, W)`` each, the same draws), so a caller
        can write ``n`` images without holding them all."""
        assert self.shape is not None
        generator = torch.Generator(device=self.device).manual_seed(seed)
        noise = torch_noise(generator, self.device)
        with torch.no_grad():
            for start in range(0, n, batch_size):
                size = min(batch_size, n - start)
                probs = torch.sigmoid(self.net.sample_logits(size, noise))
                if binary:
                    probs = torch.bernoulli(probs, generator=generator)
                yield probs.float().cpu().numpy().reshape(size, *self.shape)  # (b, D) → (b, C, H, W)


class VAE(LatentImageModel):
    name = "vae"
    description = "VAE of binary images: MLP (784-512-512-64) or conv encoder/decoder, Bernoulli likelihood"
    paper = "Kingma & Welling 2014; Sønderby et al. 2016 (L = 1)"
    search_space: ClassVar[SearchSpace | None] = VAE_SPACE


class LadderVAE(LatentImageModel):
    name = "ladder-vae"
    description = "ladder VAE: precision-weighted top-down inference, warm-up, batch norm (or kind=vae)"
    paper = "Sønderby et al. 2016, How to Train Deep VAEs / Ladder Variational Autoencoders"
    config_sections: ClassVar[Mapping[str, type]] = {"model": LadderConfig, "train": ImageTrainConfig}
    search_space: ClassVar[SearchSpace | None] = LADDER_SPACE
