"""The training objective and evaluation terms of a pass (pure functions).

log w = log p(x | z₁) + β Σᵢ [log p(zᵢ | zᵢ₊₁) − log q(zᵢ | ·)] is the per-sample log-weight of
the LVAE code (β multiplies the latent terms, so warm-up works with IW training too); with one
sample and the closed-form KL the objective is the ELBO, −L = −log p(x|z) + β·KL (eq. 10, 22).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from textgen_eval.images.bounds import iw_bound
from textgen_eval.images.distributions import bernoulli_log_likelihood
from textgen_eval.images.nets import Pass


def log_weights(p: Pass, x: Tensor, beta: float = 1.0) -> Tensor:
    """``(B,)`` log p(x, z) − log q(z | x) at the pass's samples (latent terms × β)."""
    ratio = sum(layer.log_ratio_units().sum(dim=-1) for layer in p.layers)
    return bernoulli_log_likelihood(p.logits, x) - beta * ratio


def kl_terms(p: Pass, estimator: str) -> list[Tensor]:
    """Per layer, the per-unit KL term ``(B, Zᵢ)`` (closed form where valid under ``auto``)."""
    return [layer.kl_units(estimator) for layer in p.layers]


def training_loss(p: Pass, x: Tensor, *, beta: float, estimator: str, mc: int, iw: int) -> dict[str, Tensor]:
    """The loss of one minibatch, in nats per image, and what to log.

    ``x`` and the pass hold ``mc · iw · B`` rows (the batch repeated, sample-major). With
    ``mc = iw = 1`` the loss is −(log p(x|z) − β·KL) with the chosen KL estimator; otherwise
    −mean_mc L_iw of the β-weighted log-weights (eq. 12 as a training bound).
    """
    rec = bernoulli_log_likelihood(p.logits, x)  # (mc·iw·B,)
    kls = [k.sum(dim=-1) for k in kl_terms(p, estimator)]
    kl = torch.stack(kls).sum(dim=0)
    if mc == 1 and iw == 1:
        loss = -(rec - beta * kl).mean()
    else:
        lw = log_weights(p, x, beta).view(mc, iw, -1)  # (mc·iw·B,) → (mc, iw, B)
        loss = -(torch.logsumexp(lw, dim=1) - math.log(iw)).mean()
    out = {"loss": loss, "rec": -rec.mean().detach(), "kl": kl.mean().detach()}
    for i, k in enumerate(kls):
        out[f"kl{i + 1}"] = k.mean().detach()
    return out


def warmup_beta(
    *, warmup_epochs: float, unit: str, epoch: int, batch_in_epoch: int, batches_per_epoch: int
) -> float:
    """β of deterministic warm-up (eq. 22): linear 0 → 1 over the first ``warmup_epochs`` epochs,
    growing once per epoch (``unit = "epoch"``, the LVAE code) or at every step (``"step"``).
    A pure function of the position in training, so a resumed run uses the same β."""
    if warmup_epochs <= 0:
        return 1.0
    position = float(epoch) if unit == "epoch" else epoch + batch_in_epoch / max(1, batches_per_epoch)
    return min(1.0, position / warmup_epochs)


def iw_from_pass(p: Pass, x: Tensor, k: int) -> Tensor:
    """L_K per image from a pass over ``k`` copies of the batch (sample-major): ``(B,)`` float64."""
    return iw_bound(log_weights(p, x).view(k, -1))  # (k·B,) → (k, B)
