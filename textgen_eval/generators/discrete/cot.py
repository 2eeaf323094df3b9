"""Cooperative training (CoT; Lu et al. 2019) on the discrete-GAN task: no discriminator and no
REINFORCE. A mediator M — a language model twice the generator's size — fits the mixture
½(P + G) by the balanced NLL ½(NLL_M(real) + NLL_M(generated)); the generator minimises, on its
own samples, the per-step KL(G(·|s_t) ‖ M(·|s_t)) over the full vocabulary (its code's loss),
with no gradient through which states were sampled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from textgen_eval.data.vocab import BOS_ID
from textgen_eval.generators.discrete.nets import LMDiscriminator
from textgen_eval.generators.discrete.rewards import cot_kl, token_mask
from textgen_eval.generators.lstm_lm.model import LMNet
from textgen_eval.generators.text.frozen import evaluating, frozen

if TYPE_CHECKING:
    from textgen_eval.generators.discrete.task import DiscreteGANTask


def mediator(task: DiscreteGANTask) -> LMDiscriminator:
    disc = task.module.disc
    assert isinstance(disc, LMDiscriminator), "CoT's second network is a language-model mediator"
    return disc


def balanced_nll(m: LMDiscriminator, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """½(NLL_M(real) + NLL_M(fake)), each the mean NLL per token of its batch: M's loss for the
    mixture ½(P + G) (Lu et al. 2019; its code's ``mediator.py``). Returns it and the two NLLs."""
    nll_r, nll_f = m.token_nll(real), m.token_nll(fake)  # (B, L), 0 at PAD
    mr, mf = token_mask(real), token_mask(fake)
    real_mean, fake_mean = (nll_r * mr).sum() / mr.sum(), (nll_f * mf).sum() / mf.sum()
    return 0.5 * (real_mean + fake_mean), real_mean, fake_mean


def cot_generator_step(task: DiscreteGANTask) -> Mapping[str, Tensor | float]:
    """One generator update on ``train.batch_size`` fresh samples: the mean over sampled states of
    KL(G(·|s_t) ‖ M(·|s_t)), M in eval mode (dropout off) and frozen."""
    gen = task.module.gen
    assert isinstance(gen, LMNet)
    m = mediator(task)
    with torch.no_grad():
        tokens = task.sample_rows(task.train_config.batch_size)  # (B, L)
        with evaluating(m):
            log_m = m.log_probs(tokens)  # (B, L, V)
    mask = token_mask(tokens)
    with frozen(m):
        bos = torch.full((tokens.shape[0], 1), BOS_ID, dtype=tokens.dtype, device=tokens.device)
        logits, _ = gen(torch.cat([bos, tokens[:, :-1]], dim=1))  # (B, L, V): G(·|y_<t) at each state
        kl = cot_kl(torch.log_softmax(logits, dim=-1), log_m)  # (B, L)
        loss = (kl * mask).sum() / mask.sum()
    return {"loss": loss, "kl": float(loss.detach()), "sample_len": float(mask.sum(dim=1).mean())}
