"""Training of the original LeakGAN (Guo et al. 2018, §3.2–3.3) on the discrete-GAN task.

- MLE (pretraining and the interleaved steps): the Worker's NLL of real text plus the Manager's
  pretraining loss −mean_t cos(f_{t+c} − f_t, g_t), which points goals along real feature
  transitions (eq. 13). The two losses reach disjoint parameters (goals enter the Worker
  detached), so one Adam over both is two Adams with the same rate.
- Adversarial: on a fresh batch of samples, the Manager maximises Σ_t Q_t·cos(f_{t+c} − f_t, g_t),
  Q_t the bootstrapped rescaled activation of the mean D over Monte-Carlo completions of the
  prefix that ends t's window (eqs. 10–11; windows of ``leakgan.rollout_every`` tokens); the
  Worker maximises Σ_t r^I_t·log p(y_{t+1} | y_≤t) with the intrinsic reward r^I (eq. 12). D is
  frozen; the leaked features carry no gradient.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from textgen_eval.data.vocab import PAD_ID
from textgen_eval.generators.discrete.config import GuoLeakGANConfig
from textgen_eval.generators.discrete.hierarchy import HierarchicalGenerator, Unrolled, unroll
from textgen_eval.generators.discrete.nets import CNNDiscriminator, GANPair
from textgen_eval.generators.discrete.rewards import (
    goal_cosines,
    intrinsic_rewards,
    policy_gradient_loss,
    rescaled_rewards,
    token_mask,
    window_rollout_rewards,
)
from textgen_eval.generators.lstm_lm.model import sequence_cross_entropy
from textgen_eval.generators.text.frozen import evaluating, frozen

if TYPE_CHECKING:
    from textgen_eval.generators.discrete.task import DiscreteGANTask


def parts(pair: GANPair) -> tuple[HierarchicalGenerator, CNNDiscriminator]:
    gen, disc = pair.gen, pair.disc
    assert isinstance(gen, HierarchicalGenerator) and isinstance(disc, CNNDiscriminator)
    return gen, disc


def _nll(out: Unrolled, targets: Tensor, contiguous: bool) -> tuple[Tensor, Tensor]:
    nll = sequence_cross_entropy(out.logits, targets, contiguous=contiguous)  # (B, L)
    mask = targets != PAD_ID
    return (nll * mask).sum(dim=1), mask.sum(dim=1)


def hierarchy_token_nll(pair: GANPair, batch: Tensor) -> tuple[Tensor, Tensor]:
    """Summed NLL per sentence and predicted tokens of a ``[BOS] ids [EOS]`` batch."""
    gen, disc = parts(pair)
    return _nll(unroll(gen, disc, batch[:, 1:]), batch[:, 1:], gen.banned is not None)


def manager_loss(out: Unrolled, weights: Tensor, mask: Tensor, horizon: int) -> Tensor:
    """−(1/B)·Σ_b Σ_t weight_bt·cos(f_{t+c} − f_t, g_t): its gradient reaches the goals only."""
    cos = goal_cosines(out.feats, out.goals, horizon)  # (B, L)
    return -(weights.detach() * mask * cos).sum(dim=1).mean()


def hierarchy_mle_loss(pair: GANPair, batch: Tensor, cfg: GuoLeakGANConfig) -> Mapping[str, Tensor]:
    """The Worker's NLL per token plus the Manager's pretraining loss per token (logged apart)."""
    gen, disc = parts(pair)
    targets = batch[:, 1:]
    out = unroll(gen, disc, targets)
    nll, count = _nll(out, targets, gen.banned is not None)
    mask = token_mask(targets)
    manager = manager_loss(out, torch.ones_like(mask), mask, cfg.horizon) * mask.shape[0] / mask.sum()
    worker = nll.sum() / count.sum()
    return {"loss": worker + manager, "nll": worker.detach(), "manager": manager.detach()}


def rollout_scores(task: DiscreteGANTask, tokens: Tensor) -> Tensor:
    """The mean D over ``gan.rollouts`` completions of the prefixes that end every
    ``leakgan.rollout_every`` tokens (default the horizon c, as the code), each position taking its
    window's score, D(y) at the end (D in eval mode) → ``(B, L)``, 0 at PAD."""
    cfg: GuoLeakGANConfig = task.model.configs["leakgan"]
    _, disc = parts(task.module)
    with evaluating(disc):
        return window_rollout_rewards(
            task.rollout_policy(),
            lambda rows: torch.sigmoid(disc.sequence_logits(rows)),
            tokens,
            n_rollouts=task.gan.rollouts,
            every=cfg.rollout_every or cfg.horizon,
        )


def manager_rewards(task: DiscreteGANTask, tokens: Tensor) -> Tensor:
    """Q_t: the rollout scores through the bootstrapped rescaled activation (``leakgan.rescale``)."""
    cfg: GuoLeakGANConfig = task.model.configs["leakgan"]
    scores = rollout_scores(task, tokens)
    return rescaled_rewards(scores, token_mask(tokens), cfg.delta) if cfg.rescale else scores


def leakgan_generator_step(task: DiscreteGANTask) -> Mapping[str, Tensor | float]:
    """One adversarial update of Manager and Worker on ``train.batch_size`` fresh samples."""
    cfg: GuoLeakGANConfig = task.model.configs["leakgan"]
    gen, disc = parts(task.module)
    with frozen(disc):
        with torch.no_grad():
            tokens = task.sample_rows(task.train_config.batch_size)  # (B, L)
            mask = token_mask(tokens)
            q = manager_rewards(task, tokens)
        out = unroll(gen, disc, tokens)
        logp = -sequence_cross_entropy(out.logits, tokens, contiguous=gen.banned is not None)  # (B, L)
        intrinsic = intrinsic_rewards(out.feats, out.goals.detach(), cfg.horizon) * mask
        loss = manager_loss(out, q, mask, cfg.horizon) + policy_gradient_loss(logp, intrinsic, mask)
    n = mask.sum()
    return {
        "loss": loss,
        "reward": float((q * mask).sum() / n),
        "intrinsic": float(intrinsic.sum() / n),
        "sample_len": float(mask.sum(dim=1).mean()),
    }
