"""GSGAN (Kusner & Hernández-Lobato 2016; PEERS.md §3.4) on the discrete-GAN task: the LM's
generator is unrolled with its Gumbel-softmax sample y_t = softmax(β·(o_t + g_t)) fed back as the
next input (the mixture of the token embeddings) and passed to the recurrent discriminator,
which reads relaxed one-hot rows through its embedding matrix; the GAN loss is then
differentiable in the generator. The hard token argmax(o_t + g_t) is the sample's text (and, past
EOS, the row is PAD). At evaluation the model is its LM: sampling and likelihood feed the hard
token back (the τ → 0 limit of training), so ``score_texts`` is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID
from textgen_eval.generators.discrete.config import GSGANConfig
from textgen_eval.generators.discrete.nets import RecurrentDiscriminator
from textgen_eval.generators.discrete.relax import (
    GAN_LOSSES,
    DStepScores,
    gumbel,
    gumbel_relax,
    pad_finished,
)
from textgen_eval.generators.discrete.relgan import current_beta
from textgen_eval.generators.discrete.relnets import one_hot_rows
from textgen_eval.generators.lstm_lm.model import LMNet
from textgen_eval.generators.text.frozen import frozen

if TYPE_CHECKING:
    from textgen_eval.generators.discrete.task import DiscreteGANTask


def soft_feedback_sample(
    net: LMNet, rows: int, *, max_len: int, beta: float, generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """Unroll ``net`` feeding back the relaxed one-hot: → hard ids ``(rows, L)`` (PAD after EOS)
    and relaxed rows ``(rows, L, V)`` with their graph (one-hot PAD after EOS, constant)."""
    weight = net.embedding.weight  # (V, E)
    inputs = net.embedding(torch.full((rows,), BOS_ID, dtype=torch.long, device=device))  # (rows, E)
    state = None
    done = torch.zeros(rows, dtype=torch.bool, device=device)
    hards, softs = [], []
    for _ in range(max_len):
        hidden, state = net.rnn(inputs.unsqueeze(1), state)  # (rows, 1, H)
        logits = net.logits(hidden[:, 0])  # (rows, V)
        noise = gumbel(tuple(logits.shape), generator=generator, device=device, dtype=logits.dtype)
        hard, soft = gumbel_relax(logits, noise, beta)
        hard, soft = pad_finished(hard, soft, done)
        hards.append(hard)
        softs.append(soft)
        done = done | (hard == EOS_ID)
        inputs = soft @ weight  # (rows, E): the relaxed sample, fed back
    return torch.stack(hards, dim=1), torch.stack(softs, dim=1)


def soft_sequence_logits(disc: RecurrentDiscriminator, onehot: Tensor, tokens: Tensor) -> Tensor:
    """D's logit of (relaxed) one-hot rows ``(B, L, V)``, embedded through D's embedding matrix and
    read at each row's last non-PAD position of ``tokens (B, L)`` → ``(B,)``."""
    hidden, _ = disc.rnn(onehot @ disc.embedding.weight)  # (B, L, H)
    last = ((tokens != PAD_ID).sum(dim=1) - 1).clamp(min=0)  # (B,)
    logits = disc.out(hidden).squeeze(-1)  # (B, L)
    return logits.gather(1, last.unsqueeze(1)).squeeze(1)


def _parts(task: DiscreteGANTask) -> tuple[LMNet, RecurrentDiscriminator]:
    gen, disc = task.module.gen, task.module.disc
    assert isinstance(gen, LMNet) and isinstance(disc, RecurrentDiscriminator)
    return gen, disc


def gsgan_d_loss(task: DiscreteGANTask, real: Tensor) -> DStepScores:
    """D's loss on real rows and as many fresh relaxed generated rows, paired element-wise."""
    cfg: GSGANConfig = task.model.configs["gsgan"]
    gen, disc = _parts(task)
    beta = current_beta(task, "gsgan")
    with torch.no_grad():
        hard, soft = soft_feedback_sample(
            gen, real.shape[0], max_len=task.max_len, beta=beta, device=task.device
        )
    vocab = soft.shape[-1]
    d_real = soft_sequence_logits(disc, one_hot_rows(real, vocab, real.shape[1]), real)
    d_fake = soft_sequence_logits(disc, soft, hard)
    loss, _ = GAN_LOSSES[cfg.loss](d_real, d_fake)
    return DStepScores.paired(loss, d_real, d_fake)


def gsgan_generator_step(task: DiscreteGANTask) -> Mapping[str, Tensor | float]:
    """G's loss through the relaxed rows (D frozen), against a random real batch."""
    cfg: GSGANConfig = task.model.configs["gsgan"]
    gen, disc = _parts(task)
    beta = current_beta(task, "gsgan")
    real = task.real_rows(task.train_config.batch_size, key=(task.update_step, 4))
    with frozen(disc):
        hard, soft = soft_feedback_sample(
            gen, real.shape[0], max_len=task.max_len, beta=beta, device=task.device
        )
        d_real = soft_sequence_logits(disc, one_hot_rows(real, soft.shape[-1], real.shape[1]), real)
        d_fake = soft_sequence_logits(disc, soft, hard)
        _, loss = GAN_LOSSES[cfg.loss](d_real, d_fake)
    return {"loss": loss, "beta": beta, "d_fake": float(torch.sigmoid(d_fake.detach()).mean())}
