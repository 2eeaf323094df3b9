"""Training of RelGAN (Nie et al. 2019, §2; PEERS.md §3.5) on the discrete-GAN task: after MLE
pretraining, iterations of one generator step and ``gan.d_steps`` discriminator steps. Every step
draws a fresh relaxed generated batch — Gumbel-max tokens fed back, softmax(β·(o + g)) to D — at
the inverse temperature β of the schedule at this iteration; the generator's step reads a random
real batch (drawn by key, so a resumed run draws the same), D's step the runner's batch; the loss
pairs real and generated rows element-wise (RSGAN by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from textgen_eval.generators.discrete.config import RelaxationConfig, RelGANConfig
from textgen_eval.generators.discrete.relax import (
    GAN_LOSSES,
    DStepScores,
    inverse_temperature,
)
from textgen_eval.generators.discrete.relnets import (
    MultiRepDiscriminator,
    RelGANNet,
    one_hot_rows,
    relaxed_sample,
)
from textgen_eval.generators.text.frozen import frozen
from textgen_eval.generators.wgan.penalty import gradient_penalty, interpolation_weights

if TYPE_CHECKING:
    from textgen_eval.generators.discrete.task import DiscreteGANTask


def parts(task: DiscreteGANTask) -> tuple[RelGANNet, MultiRepDiscriminator]:
    gen, disc = task.module.gen, task.module.disc
    assert isinstance(gen, RelGANNet) and isinstance(disc, MultiRepDiscriminator)
    return gen, disc


def current_beta(task: DiscreteGANTask, section: str = "relgan") -> float:
    """β at this adversarial iteration under the ``section``'s :class:`RelaxationConfig`
    (``relgan`` or ``gsgan``): i = generator updates so far in the stage (RelGAN's global step
    before the update)."""
    cfg: RelaxationConfig = task.model.configs[section]
    iteration = task.stage_step // (1 + task.gan.d_steps)
    return inverse_temperature(cfg.schedule, iteration, cfg.beta_horizon, cfg.beta_max)


def _relaxed_fakes(task: DiscreteGANTask, beta: float, rows: int) -> Tensor:
    gen, _ = parts(task)
    _, soft = relaxed_sample(gen, rows, max_len=task.max_len, beta=beta, device=task.device)
    return soft  # (rows, L, V)


def relgan_d_loss(task: DiscreteGANTask, real: Tensor) -> DStepScores:
    """D's loss on real rows ``(B, T)`` and a fresh relaxed generated batch; returns it, the mean
    σ(D) of real and generated rows (over every representation) and σ(D(x_r) − D(x_f)) of the pairs."""
    cfg: RelGANConfig = task.model.configs["relgan"]
    _, disc = parts(task)
    with torch.no_grad():
        fake = _relaxed_fakes(task, current_beta(task), real.shape[0])  # paired with the real rows
    vocab = fake.shape[-1]
    onehot = one_hot_rows(real, vocab, task.max_len)
    d_real = disc(onehot)
    d_fake = disc(fake)
    loss, _ = GAN_LOSSES[cfg.loss](d_real, d_fake)
    if cfg.loss == "wgan-gp":  # the penalty at interpolates of one-hot real and relaxed rows
        rows = onehot.shape[0]

        def critic(x: Tensor) -> Tensor:
            return disc(x).view(rows, -1).mean(dim=1)  # (B,): the mean over representations

        eps = interpolation_weights(rows, device=onehot.device)
        loss = loss + cfg.gp_weight * gradient_penalty(critic, onehot, fake, eps).gp
    return DStepScores.paired(loss, d_real, d_fake)


def relgan_generator_step(task: DiscreteGANTask) -> Mapping[str, Tensor | float]:
    """G's loss through the relaxed samples (D frozen), against a random real batch."""
    cfg: RelGANConfig = task.model.configs["relgan"]
    _, disc = parts(task)
    beta = current_beta(task)
    real = task.real_rows(task.train_config.batch_size, key=(task.update_step, 3))
    with frozen(disc):
        fake = _relaxed_fakes(task, beta, real.shape[0])  # (B, L, V) with its graph
        d_real = disc(one_hot_rows(real, fake.shape[-1], task.max_len))
        d_fake = disc(fake)
        _, loss = GAN_LOSSES[cfg.loss](d_real, d_fake)
    return {"loss": loss, "beta": beta, "d_fake": float(torch.sigmoid(d_fake.detach()).mean())}


def relgan_d_score(task: DiscreteGANTask, tokens: Tensor) -> Tensor:
    """σ of D's mean logit over the representations, per sentence ``(B,)``."""
    gen, disc = parts(task)
    logits = disc(one_hot_rows(tokens, gen.out.out_features, task.max_len))  # (B·R,)
    return torch.sigmoid(logits.view(tokens.shape[0], -1).mean(dim=1))
