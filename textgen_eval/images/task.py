"""The training task of the latent-variable image models: one stage configured by ``[runner]``,
seeded minibatches of the training split, β warm-up from the runner's position, validation −ELBO
on a fixed subset of the valid split, and batch-norm statistics re-collected before evaluations."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping

import numpy as np
import torch
from torch import Tensor

from textgen_eval.core.training import RunnerConfig, SingleOptimizerTask, StepContext
from textgen_eval.data.images import ImageSplit, binarize
from textgen_eval.images.config import ImageTrainConfig, LatentConfig
from textgen_eval.images.nets import LatentNet, Noise, build_net
from textgen_eval.images.objective import training_loss, warmup_beta

#: Seed of the validation noise and of the batch-norm re-collection pass (fixed: every
#: evaluation of a run sees the same noise).
EVAL_SEED = 0


def torch_noise(generator: torch.Generator | None, device: torch.device) -> Noise:
    """``noise(shape)``: standard normal draws from ``generator`` (``None``: torch's global RNG)."""

    def draw(shape: tuple[int, ...]) -> Tensor:
        return torch.randn(shape, generator=generator, device=device)

    return draw


def batch_norms(module: torch.nn.Module) -> list[torch.nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def recollect_batch_norm(net: LatentNet, pixels: np.ndarray, batch_size: int, device: torch.device) -> None:
    """Re-estimate every batch norm's statistics over ``pixels`` in one no-grad pass in train mode
    (the cumulative average over the batches, ``momentum=None``), as the LVAE code does before
    each evaluation; leaves the net in eval mode with its momenta restored."""
    norms = batch_norms(net)
    momenta = [m.momentum for m in norms]
    generator = torch.Generator(device=device).manual_seed(EVAL_SEED)
    noise = torch_noise(generator, device)
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    with torch.no_grad():
        for start in range(0, len(pixels), batch_size):
            x = torch.from_numpy(pixels[start : start + batch_size]).to(device, torch.float32)
            if len(x) > 1:  # a batch of one has no variance
                net(x, noise)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    net.eval()


class LatentImageTask(SingleOptimizerTask):
    """One net, one Adam optimizer (``main``), the ELBO or an IW bound as the loss."""

    def __init__(
        self,
        cfg: LatentConfig,
        train_cfg: ImageTrainConfig,
        train: ImageSplit,
        valid: ImageSplit | None,
        runner_config: RunnerConfig,
        *,
        build: Callable[[tuple[int, int, int]], LatentNet] | None = None,
    ) -> None:
        self.cfg, self.train_cfg, self.runner_config = cfg, train_cfg, runner_config
        self.build = build or (lambda shape: build_net(cfg, shape))
        self.train, self.seed = train, runner_config.seed
        self.valid = valid.take(train_cfg.valid_images or None, EVAL_SEED) if valid is not None else None
        if self.valid is not None:
            self.valid = self.valid.binarized(train_cfg.binarize, seed=EVAL_SEED)
        self.module: LatentNet = self.build(train.shape)
        self.device = torch.device("cpu")
        self._optimizer: torch.optim.Optimizer | None = None
        self._static = (
            binarize(train.pixels, "threshold", seed=0, epoch=0)
            if train_cfg.binarize == "threshold" and not train.binary
            else train.pixels
        )

    def setup(self, device: torch.device) -> None:
        self.device = device
        self.module = self.build(self.train.shape).to(device)
        self._optimizer = torch.optim.Adam(
            self.module.parameters(), lr=self.train_cfg.lr, eps=self.train_cfg.adam_eps
        )

    def batches_per_epoch(self, stage: str) -> int:
        return math.ceil(len(self.train) / self.train_cfg.batch_size)

    def num_data(self) -> int:
        return len(self.train)

    def epoch_pixels(self, epoch: int) -> np.ndarray:
        """The training images of ``epoch``: redrawn from (seed, epoch) under dynamic binarization."""
        if self.train_cfg.binarize == "dynamic" and not self.train.binary:
            return binarize(self.train.pixels, "dynamic", seed=self.seed, epoch=epoch)
        return self._static

    def train_batches(self, stage: str, epoch: int) -> Iterator[np.ndarray]:
        pixels = self.epoch_pixels(epoch)
        order = np.random.default_rng(np.random.SeedSequence([self.seed, epoch])).permutation(len(pixels))
        size = self.train_cfg.batch_size
        for start in range(0, len(order), size):
            yield pixels[order[start : start + size]]

    def training_step(self, batch: np.ndarray, ctx: StepContext) -> Mapping[str, Tensor]:
        tc = self.train_cfg
        copies = tc.mc_samples * tc.iw_samples
        x = torch.from_numpy(batch).to(self.device, torch.float32)
        if copies > 1:
            x = x.repeat(copies, 1)  # (B, D) → (mc·iw·B, D), sample-major
        beta = warmup_beta(
            warmup_epochs=self.cfg.warmup_epochs,
            unit=self.cfg.warmup_unit,
            epoch=ctx.epoch,
            batch_in_epoch=ctx.batch_in_epoch,
            batches_per_epoch=ctx.batches_per_epoch or 1,
        )
        p = self.module(x, torch_noise(None, self.device))
        out = training_loss(p, x, beta=beta, estimator=self.cfg.kl, mc=tc.mc_samples, iw=tc.iw_samples)
        out["beta"] = torch.tensor(beta)
        return out

    def prepare_eval(self, stage: str) -> None:
        if self.cfg.batch_norm and self.cfg.bn_eval == "recollect":
            recollect_batch_norm(
                self.module, self.epoch_pixels(0), self.train_cfg.eval_batch_size, self.device
            )

    def validate(self, stage: str) -> Mapping[str, float]:
        if self.valid is None:
            return {}
        generator = torch.Generator(device=self.device).manual_seed(EVAL_SEED)
        noise = torch_noise(generator, self.device)
        rec = kl = 0.0
        with torch.no_grad():
            for start in range(0, len(self.valid), self.train_cfg.eval_batch_size):
                chunk = self.valid.pixels[start : start + self.train_cfg.eval_batch_size]
                x = torch.from_numpy(chunk).to(self.device, torch.float32)
                terms = training_loss(self.module(x, noise), x, beta=1.0, estimator=self.cfg.kl, mc=1, iw=1)
                rec += float(terms["rec"]) * len(x)
                kl += float(terms["kl"]) * len(x)
        n = len(self.valid)
        return {"valid_loss": (rec + kl) / n, "valid_rec": rec / n, "valid_kl": kl / n}
