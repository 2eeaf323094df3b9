"""Continuous relaxations for text GANs trained through the discriminator (RelGAN, Nie et al.
2019; GSGAN, Kusner & Hernández-Lobato 2016), as pure functions.

- Gumbel noise g = −log(−log(u + ε) + ε) (RelGAN's ``utils/ops.py``, ε = 1e-10).
- Gumbel-max: argmax(o + g) is an exact sample of softmax(o) — the hard token, fed back and written
  as text; the relaxed sample ŷ = softmax(β·(o + g)) (inverse temperature β = 1/τ) goes to the
  discriminator, so the generator's loss is differentiable in o.
- β schedules (RelGAN ``oracle_train.py`` ``get_fixed_temperature``): the inverse temperature at
  global adversarial step i of a horizon N, from 1 to β_max.
- Adversarial losses on D's logits of paired real and generated rows: RSGAN (RelGAN's default),
  the standard GAN loss (non-saturating G) and the hinge loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor
from torch.nn import functional as F

from textgen_eval.data.vocab import PAD_ID

GUMBEL_EPS = 1e-10


def gumbel(
    shape: tuple[int, ...],
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Standard Gumbel noise of ``shape`` (RelGAN's form, with its ε inside both logs)."""
    u = torch.rand(shape, generator=generator, device=device, dtype=dtype)
    return -torch.log(-torch.log(u + GUMBEL_EPS) + GUMBEL_EPS)


def gumbel_relax(logits: Tensor, noise: Tensor, beta: float) -> tuple[Tensor, Tensor]:
    """The hard token argmax(o + g) ``(...)`` and the relaxed one-hot softmax(β·(o + g))
    ``(..., V)`` of logits ``o (..., V)`` and noise ``g`` of the same shape."""
    perturbed = logits + noise
    return perturbed.argmax(dim=-1), torch.softmax(beta * perturbed, dim=-1)


def pad_finished(hard: Tensor, soft: Tensor, done: Tensor) -> tuple[Tensor, Tensor]:
    """Rows that already drew EOS (``done (B,)``) get PAD: the hard id ``(B,)`` and a constant
    one-hot PAD relaxed row ``(B, V)`` (no gradient), as the token rows have PAD after EOS."""
    pad = F.one_hot(torch.full_like(hard, PAD_ID), soft.shape[-1]).to(soft.dtype)
    return torch.where(done, torch.full_like(hard, PAD_ID), hard), torch.where(done.unsqueeze(1), pad, soft)


def _exp(i: int, n: int, beta_max: float) -> float:
    return beta_max ** (i / n)


def _lin(i: int, n: int, beta_max: float) -> float:
    return 1 + i / (n - 1) * (beta_max - 1)


def _log(i: int, n: int, beta_max: float) -> float:
    return 1 + (beta_max - 1) * math.log(i + 1) / math.log(n)


def _sigmoid(i: int, n: int, beta_max: float) -> float:
    z = (n / 2 - i) * 20 / n
    return (beta_max - 1) / (1 + math.exp(min(z, 700.0))) + 1


def _quad(i: int, n: int, beta_max: float) -> float:
    return (beta_max - 1) * i**2 / (n - 1) ** 2 + 1


def _sqrt(i: int, n: int, beta_max: float) -> float:
    return (beta_max - 1) * math.sqrt(i) / math.sqrt(n - 1) + 1


def _no(i: int, n: int, beta_max: float) -> float:
    return beta_max


#: RelGAN's schedules by name: (step i, horizon N, β_max) → β. ``no`` is β_max throughout
#: (RelGAN's; TextGAN-PyTorch's ``no`` is 1.0).
BETA_SCHEDULES: dict[str, Callable[[int, int, float], float]] = {
    "exp": _exp,
    "lin": _lin,
    "log": _log,
    "sigmoid": _sigmoid,
    "quad": _quad,
    "sqrt": _sqrt,
    "no": _no,
}


def inverse_temperature(schedule: str, step: int, horizon: int, beta_max: float) -> float:
    """β at adversarial step ``step`` (0-based, before the update) of ``horizon`` N steps."""
    if schedule not in BETA_SCHEDULES:
        raise ValueError(
            f"unknown temperature schedule {schedule!r}; expected one of {', '.join(BETA_SCHEDULES)}"
        )
    if horizon < 2:
        raise ValueError(f"the schedule's horizon must be ≥ 2, got {horizon}")
    return BETA_SCHEDULES[schedule](step, horizon, beta_max)


def rsgan_losses(d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
    """Relativistic standard GAN (Jolicoeur-Martineau 2019; RelGAN's default): L_D = mean
    softplus(−(D(x_r) − D(x_f))), L_G = mean softplus(−(D(x_f) − D(x_r))), real and generated rows
    paired element-wise. Equal outputs give ln 2 for both."""
    return F.softplus(-(d_real - d_fake)).mean(), F.softplus(-(d_fake - d_real)).mean()


class DStepScores(NamedTuple):
    """A relaxed model's D step: its loss and what is logged beside it. ``d_real``/``d_fake`` are
    the mean σ(D) of real and generated rows; ``real_above_fake`` is the mean σ(D(x_r) − D(x_f))
    over the paired rows (:func:`real_above_fake`), or ``None`` where rows are not paired."""

    loss: Tensor
    d_real: Tensor
    d_fake: Tensor
    real_above_fake: Tensor | None

    @classmethod
    def paired(cls, loss: Tensor, d_real: Tensor, d_fake: Tensor) -> DStepScores:
        """The scores of a D step on element-wise paired real and generated logits."""
        return cls(
            loss, torch.sigmoid(d_real).mean(), torch.sigmoid(d_fake).mean(), real_above_fake(d_real, d_fake)
        )


def real_above_fake(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Mean σ(D(x_r) − D(x_f)) over element-wise paired rows: the relativistic discriminator's
    probability that a real row is more realistic than its generated partner (Jolicoeur-Martineau
    2019, eq. 7's C(x_r) − C(x_f)); L_D of RSGAN is the mean −log of its terms. Under RSGAN only
    this difference is trained, so σ(D(x_r)) and σ(D(x_f)) can both drift to 1 while it stays
    informative: 0.5 when D cannot tell the pair apart, → 1 as it can."""
    return torch.sigmoid(d_real - d_fake).mean()


def standard_losses(d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
    """The standard GAN loss for D and the non-saturating one for G (Goodfellow et al. 2014)."""
    l_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    return l_d, F.softplus(-d_fake).mean()


def hinge_losses(d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
    """The hinge loss (Lim & Ye 2017): L_D = mean relu(1 − D(x_r)) + mean relu(1 + D(x_f)),
    L_G = −mean D(x_f)."""
    return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean(), -d_fake.mean()


def wasserstein_losses(d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
    """The Wasserstein critic's losses without its gradient penalty (Gulrajani et al. 2017,
    Alg. 1): L_D = mean D(x_f) − mean D(x_r), L_G = −mean D(x_f); the penalty is added by the
    caller, which holds the critic and its inputs (``generators/wgan/penalty.py``)."""
    return d_fake.mean() - d_real.mean(), -d_fake.mean()


#: adversarial losses by name: (D's logits of real rows, of generated rows) → (L_D, L_G)
GAN_LOSSES: dict[str, Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]] = {
    "rsgan": rsgan_losses,
    "standard": standard_losses,
    "hinge": hinge_losses,
    "wgan-gp": wasserstein_losses,
}


def squared_distances(x: Tensor, y: Tensor) -> Tensor:
    """‖x_i − y_j‖² for ``(N, F)``, ``(M, F)`` → ``(N, M)``, clamped at 0 against rounding."""
    return (x.pow(2).sum(1, keepdim=True) + y.pow(2).sum(1).unsqueeze(0) - 2 * x @ y.T).clamp_min(0.0)


def gaussian_mmd2(x: Tensor, y: Tensor, sigmas2: tuple[float, ...] | Tensor) -> Tensor:
    """The (biased, V-statistic) squared maximum mean discrepancy between samples ``x (N, F)`` and
    ``y (M, F)`` under the mixture kernel k(a, b) = Σ_s exp(−‖a − b‖²/(2σ_s²)) (Gretton et al.
    2012; TextGAN's objective): mean k(x, x') + mean k(y, y') − 2 mean k(x, y). ≥ 0, and 0 for
    identical samples."""
    s2 = torch.as_tensor(sigmas2, dtype=x.dtype, device=x.device).view(-1, 1, 1)

    def k(a: Tensor, b: Tensor) -> Tensor:
        return torch.exp(-squared_distances(a, b).unsqueeze(0) / (2 * s2)).sum(0)  # (N, M)

    return k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()


def median_sigmas2(x: Tensor, y: Tensor, factors: tuple[float, ...]) -> Tensor:
    """The median heuristic: the median squared distance over the pooled samples (off-diagonal,
    not differentiated) times each factor → the variances of the kernel mixture."""
    pooled = torch.cat([x, y]).detach()
    d2 = squared_distances(pooled, pooled)
    off = d2[~torch.eye(d2.shape[0], dtype=torch.bool, device=d2.device)]
    median = off.median().clamp_min(1e-12)
    return median * torch.as_tensor(factors, dtype=x.dtype, device=x.device)
