"""``bnn``: an MLP classifier of MNIST digits with three kinds of inference (IMAGES.md §5).

- ``map``: one network, Adam with weight decay (the MAP estimate under a Gaussian prior);
- ``bbb``: Bayes-by-Backprop (Blundell et al. 2015): factorised Gaussian weights, the loss per
  minibatch mean NLL + w·KL/B with the summed weight KL and an explicit weighting w
  (``kl_scheme``: ``uniform`` 1/M, ``blundell`` πᵢ, ``none``); predictions average ``eval_samples``
  weight draws;
- ``sghmc``: SG-HMC (:class:`~textgen_eval.images.sghmc.SGHMC`) on U(θ) = −Σ log p(y|x,θ) − log p(θ)
  with the prior N(0, s²): ``burn_in`` steps, then one sample every ``thin`` steps until
  ``samples`` are kept (they are checkpointed, so Ctrl-C and resume keep them); predictions
  average the kept samples' softmaxes.

``[sampler]`` follows pybnn's parameterisation, which the search spaces of the literature use:
``lr`` is the per-datum step ℓ and ``friction`` the momentum decay α per step (0 < α < 1). With N
training images the optimizer's step is η = √(ℓ/N) and its friction C = α/η (docs/training.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from textgen_eval.core.config import settings
from textgen_eval.core.errors import ConfigError, InputError
from textgen_eval.core.model import Model
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
from textgen_eval.images.bayes import BayesLinear, GaussianPrior, ScaleMixturePrior, kl_weight
from textgen_eval.images.sghmc import SGHMC


@settings
class BNNConfig:
    """The ``[model]`` section: an MLP ``hidden`` widths, ReLU, ``classes`` outputs, and how its
    weights are inferred (``map``, ``bbb``, ``sghmc``); the prior N(0, ``prior_scale``²) (or, for
    ``bbb``, the scale mixture ``prior = mixture``); ``rho_init`` (BBB's initial ρ);
    ``eval_samples`` (BBB weight draws per prediction)."""

    hidden: tuple[int, ...] = (100, 100)
    classes: int = 10
    inference: Literal["map", "bbb", "sghmc"] = "sghmc"
    prior: Literal["gaussian", "mixture"] = "gaussian"
    prior_scale: float = 1.0
    rho_init: float = -5.0
    kl_scheme: Literal["uniform", "blundell", "none"] = "uniform"
    eval_samples: int = 20

    def __post_init__(self) -> None:
        if not self.hidden or min(self.hidden) < 1 or self.classes < 2:
            raise ValueError("hidden widths must be ≥ 1 and classes ≥ 2")
        if not (self.prior_scale > 0 and math.isfinite(self.prior_scale)):
            raise ValueError(f"prior_scale must be a positive number, got {self.prior_scale}")
        if self.prior == "mixture" and self.inference != "bbb":
            raise ValueError("prior = 'mixture' is for inference = 'bbb'")
        if self.eval_samples < 1:
            raise ValueError(f"eval_samples must be ≥ 1, got {self.eval_samples}")


@settings
class ClassifierTrainConfig:
    """The ``[train]`` section of ``map`` and ``bbb``: Adam's ``lr``, ``weight_decay`` (MAP's
    Gaussian prior), ``batch_size`` (SG-HMC's minibatch too)."""

    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 100

    def __post_init__(self) -> None:
        if not (self.lr > 0 and math.isfinite(self.lr)) or self.weight_decay < 0 or self.batch_size < 1:
            raise ValueError("lr must be a positive number, weight_decay ≥ 0 and batch_size ≥ 1")


@settings
class SamplerConfig:
    """The ``[sampler]`` section of ``sghmc`` (pybnn's parameterisation: per-datum ``lr`` ℓ and
    momentum decay ``friction`` α), ``temperature`` T, ``burn_in`` steps, one kept sample every
    ``thin`` steps, ``samples`` kept."""

    lr: float = 1e-2
    friction: float = 0.05
    temperature: float = 1.0
    burn_in: int = 2000
    thin: int = 100
    samples: int = 50

    def __post_init__(self) -> None:
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"sampler.lr must be a positive number, got {self.lr}")
        if not 0 < self.friction < 1:
            raise ValueError(
                f"sampler.friction (momentum decay per step) must be in (0, 1), got {self.friction}"
            )
        if not (self.temperature > 0 and math.isfinite(self.temperature)):
            raise ValueError(f"sampler.temperature must be a positive number, got {self.temperature}")
        if self.burn_in < 0 or self.thin < 1 or self.samples < 1:
            raise ValueError("sampler.burn_in must be ≥ 0, thin ≥ 1 and samples ≥ 1")

    def optimizer_settings(self, num_data: int) -> tuple[float, float]:
        """(η, C) of :class:`SGHMC` for N = ``num_data``: η = √(ℓ/N), C = α/η."""
        eta = math.sqrt(self.lr / num_data)
        return eta, self.friction / eta


def build_mlp(cfg: BNNConfig, dim: int) -> nn.Sequential:
    prior = ScaleMixturePrior() if cfg.prior == "mixture" else GaussianPrior(cfg.prior_scale)
    sizes = [dim, *cfg.hidden, cfg.classes]
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        if cfg.inference == "bbb":
            layers.append(BayesLinear(sizes[i], sizes[i + 1], prior, rho_init=cfg.rho_init))
        else:
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def weight_kl(net: nn.Module) -> Tensor:
    return sum((m.kl() for m in net.modules() if isinstance(m, BayesLinear)), torch.zeros(()))


def gaussian_log_prior(net: nn.Module, scale: float) -> Tensor:
    """log N(θ; 0, s² I) over every parameter."""
    total = sum((p.pow(2).sum() for p in net.parameters()), torch.zeros(()))
    n = sum(p.numel() for p in net.parameters())
    return -0.5 * (total / scale**2 + n * (math.log(2 * math.pi) + 2 * math.log(scale)))


class ClassifierTask(BaseTask):
    """One stage: ``train`` (Adam; MAP or BBB) or ``sample`` (SG-HMC, a sampler stage)."""

    def __init__(
        self, cfg: BNNConfig, train_cfg: ClassifierTrainConfig, sampler: SamplerConfig,
        train: ImageSplit, valid: ImageSplit | None, runner_config: RunnerConfig,
    ) -> None:  # fmt: skip
        self.cfg, self.train_cfg, self.sampler_cfg, self.runner_config = (
            cfg,
            train_cfg,
            sampler,
            runner_config,
        )
        self.train, self.valid, self.seed = train, valid, runner_config.seed
        self.module: nn.Sequential = build_mlp(cfg, train.dim)
        self.samples: list[Tensor] = []
        self._optimizer: torch.optim.Optimizer | None = None
        self.device = torch.device("cpu")

    def setup(self, device: torch.device) -> None:
        self.device = device
        self.module = build_mlp(self.cfg, self.train.dim).to(device)
        if self.cfg.inference == "sghmc":
            eta, c = self.sampler_cfg.optimizer_settings(len(self.train))
            self._optimizer = SGHMC(
                self.module.parameters(), lr=eta, friction=c, num_data=len(self.train),
                temperature=self.sampler_cfg.temperature,
            )  # fmt: skip
        else:
            self._optimizer = torch.optim.Adam(
                self.module.parameters(), lr=self.train_cfg.lr, weight_decay=self.train_cfg.weight_decay
            )

    def optimizers(self) -> Mapping[str, torch.optim.Optimizer]:
        assert self._optimizer is not None
        return {"sampler" if self.cfg.inference == "sghmc" else "main": self._optimizer}

    def stages(self) -> Sequence[Stage]:
        if self.cfg.inference != "sghmc":
            return [self.runner_config.single_stage(Cycle((Update("main"),)))]
        if self.runner_config.grad_clip is not None or self.runner_config.lr_schedule != "constant":
            raise ConfigError(
                "inference = 'sghmc' samples: gradient clipping (runner.grad_clip) and learning-rate "
                "schedules (runner.lr_schedule) would change the stationary distribution; unset them"
            )
        s = self.sampler_cfg
        # the state after step k is collected at the start of step k + 1, hence one more step
        steps = s.burn_in + s.thin * s.samples + 1
        return [Stage("sample", Cycle((Update("sampler"),)), max_steps=steps, sampler=True)]

    def batches_per_epoch(self, stage: str) -> int:
        return math.ceil(len(self.train) / self.train_cfg.batch_size)

    def num_data(self) -> int:
        return len(self.train)

    def train_batches(self, stage: str, epoch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        assert self.train.labels is not None
        order = np.random.default_rng(np.random.SeedSequence([self.seed, epoch])).permutation(len(self.train))
        size = self.train_cfg.batch_size
        for start in range(0, len(order), size):
            rows = order[start : start + size]
            yield self.train.pixels[rows], self.train.labels[rows]

    def training_step(self, batch: tuple[np.ndarray, np.ndarray], ctx: StepContext) -> Mapping[str, Tensor]:
        x = torch.from_numpy(batch[0]).to(self.device, torch.float32)
        y = torch.from_numpy(batch[1]).to(self.device, torch.int64)
        if self.cfg.inference == "sghmc":
            self._collect(ctx.stage_step)
        nll = F.cross_entropy(self.module(x), y)
        out: dict[str, Tensor] = {"nll": nll.detach()}
        if self.cfg.inference == "bbb":
            w = kl_weight(self.cfg.kl_scheme, ctx.batch_in_epoch, ctx.batches_per_epoch or 1)
            kl = weight_kl(self.module)
            out.update(loss=nll + w * kl / len(x), weight_kl=kl.detach(), kl_weight=torch.tensor(w))
        elif self.cfg.inference == "sghmc":
            out["loss"] = nll - gaussian_log_prior(self.module, self.cfg.prior_scale) / len(self.train)
            out["kept"] = torch.tensor(float(len(self.samples)))
        else:
            out["loss"] = nll
        return out

    def _collect(self, stage_step: int) -> None:
        s = self.sampler_cfg
        after = stage_step - s.burn_in  # the state after `stage_step` updates
        if after > 0 and after % s.thin == 0 and len(self.samples) < s.samples:
            assert isinstance(self._optimizer, SGHMC)
            self.samples.append(torch.cat([p.reshape(-1) for p in self._optimizer.positions()]).cpu())

    def validate(self, stage: str) -> Mapping[str, float]:
        if self.valid is None or self.valid.labels is None:
            return {}
        with torch.no_grad():
            x = torch.from_numpy(self.valid.pixels).to(self.device, torch.float32)
            logits = self.module(x)
            y = torch.from_numpy(self.valid.labels).to(self.device, torch.int64)
            nll = float(F.cross_entropy(logits, y))
            acc = float((logits.argmax(1) == y).float().mean())
        return {"valid_loss": nll, "valid_accuracy": acc}

    def extra_state(self) -> dict[str, Any]:
        return {"samples": torch.stack(self.samples) if self.samples else torch.zeros(0)}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        kept = state.get("samples")
        self.samples = list(kept) if kept is not None and kept.numel() else []


def _space() -> SearchSpace:
    return SearchSpace(
        {
            "model.inference": choice("map", "bbb", "sghmc"),
            "model.hidden": choice(100, 400),
            "train.lr": loguniform(3e-4, 3e-3, when={"model.inference": ["map", "bbb"]}),
            "train.weight_decay": loguniform(1e-5, 1e-3, when={"model.inference": "map"}),
            "model.rho_init": uniform(-6.0, -3.0, when={"model.inference": "bbb"}),
            "model.kl_scheme": choice("uniform", "blundell", when={"model.inference": "bbb"}),
            "sampler.lr": loguniform(1e-3, 3e-2, when={"model.inference": "sghmc"}),
            "sampler.friction": uniform(0.01, 0.1, when={"model.inference": "sghmc"}),
            "sampler.temperature": loguniform(0.05, 1.0, when={"model.inference": "sghmc"}),
            "model.prior_scale": loguniform(0.1, 3.0, when={"model.inference": "sghmc"}),
        },
        fixed={"runner.max_epochs": 20, "runner.patience": 3, "sampler.burn_in": 1000, "sampler.thin": 100,
               "sampler.samples": 20},
    )  # fmt: skip


class BayesianClassifier(Model[ImageSplit]):
    """``bnn``: a classifier of the labelled ``mnist`` bundle with MAP, BBB or SG-HMC inference."""

    name = "bnn"
    modality: ClassVar[str] = "image"
    description = "MLP classifier with MAP, Bayes-by-Backprop or SG-HMC inference (predictive averaging)"
    paper = "Blundell et al. 2015; Chen et al. 2014; Milios 2025 (recipes)"
    config_sections: ClassVar[Mapping[str, type]] = {
        "model": BNNConfig,
        "train": ClassifierTrainConfig,
        "sampler": SamplerConfig,
    }
    search_space: ClassVar[SearchSpace | None] = _space()
    default_metrics: ClassVar[tuple[str, ...]] = ("accuracy", "nll-pred", "ece-15", "brier")
    default_objective: ClassVar[str] = "nll-pred"

    def __init__(self, configs: Mapping[str, Any]) -> None:
        super().__init__(configs)
        self.cfg: BNNConfig = self.configs["model"]
        self.net: nn.Sequential | None = None
        self.samples = torch.zeros(0)
        self.dim = 0

    def network_builder(self, train: ImageSplit) -> Callable[[], nn.Sequential]:
        return lambda: build_mlp(self.cfg, train.dim)

    def fit(
        self, train: ImageSplit, valid: ImageSplit | None, runner: TaskRunner, *, resume: bool = False
    ) -> TrainResult:
        if not isinstance(train, ImageSplit) or train.labels is None:
            raise InputError(f"{self.name} trains on labelled images (--data mnist)")
        self.dim = train.dim
        task = ClassifierTask(
            self.cfg, self.configs["train"], self.configs["sampler"], train, valid, runner.config
        )
        result = runner.fit(task, resume=resume)
        self.net = task.module.cpu().eval()
        self.samples = torch.stack(task.samples) if task.samples else torch.zeros(0)
        return result

    def init_net(self, dim: int) -> nn.Sequential:
        self.dim = dim
        self.net = build_mlp(self.cfg, dim).eval()
        return self.net

    def state_dict(self) -> dict[str, Any]:
        assert self.net is not None
        return {**{f"net.{k}": v for k, v in self.net.state_dict().items()}, "samples": self.samples}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        first = state["net.0.weight" if "net.0.weight" in state else "net.0.weight_mu"]
        self.init_net(int(first.shape[1]))
        assert self.net is not None
        self.net.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("net.")})
        self.samples = state["samples"]

    def evaluation_settings(self) -> Mapping[str, object]:
        draws = {"sghmc": len(self.samples), "bbb": self.cfg.eval_samples, "map": 1}[self.cfg.inference]
        return {"model": f"bnn/{self.cfg.inference}", "weight_samples": draws}

    def predict_proba(self, pixels: np.ndarray, *, seed: int, batch_size: int = 500) -> np.ndarray:
        """``(n, classes)``: the softmax of the MAP network, averaged over ``eval_samples`` seeded
        BBB weight draws, or over the kept SG-HMC samples."""
        if self.net is None:
            raise RuntimeError("bnn: the model is neither trained nor loaded")
        net = self.net
        x_all = torch.from_numpy(np.ascontiguousarray(pixels)).float()
        if pixels.ndim != 2 or pixels.shape[1] != self.dim:
            raise InputError(f"bnn: images of {pixels.shape[1:]} values; the model takes {self.dim}")
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(seed)
            if self.cfg.inference == "sghmc":
                if not len(self.samples):
                    raise InputError("bnn: no SG-HMC sample was kept (training ended during burn-in)")
                weights = list(self.samples)
            else:
                weights = [None] * (self.cfg.eval_samples if self.cfg.inference == "bbb" else 1)
            total = torch.zeros(len(x_all), self.cfg.classes, dtype=torch.float64)
            original = torch.nn.utils.parameters_to_vector(net.parameters()).clone()
            for w in weights:
                if w is not None:
                    torch.nn.utils.vector_to_parameters(w, net.parameters())
                for start in range(0, len(x_all), batch_size):
                    chunk = x_all[start : start + batch_size]
                    total[start : start + len(chunk)] += torch.softmax(net(chunk), dim=1).double()
            torch.nn.utils.vector_to_parameters(original, net.parameters())
        return (total / len(weights)).numpy()
