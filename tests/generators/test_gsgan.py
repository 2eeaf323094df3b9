"""GSGAN (Kusner & Hernández-Lobato 2016; PEERS.md §3.4): the relaxed one-hot is fed back (so,
unlike RelGAN, gradients flow through the recurrence), the discriminator's soft path equals its
token path on exact one-hots, and the sampler's hard tokens are the Gumbel-max draws."""

from __future__ import annotations

import torch

from tests.generators.test_discrete_gan import TINY, _task
from textgen_eval.data.vocab import EOS_ID, PAD_ID
from textgen_eval.generators.discrete.config import DiscriminatorConfig
from textgen_eval.generators.discrete.gsgan import soft_feedback_sample, soft_sequence_logits
from textgen_eval.generators.discrete.nets import RecurrentDiscriminator
from textgen_eval.generators.discrete.relnets import one_hot_rows
from textgen_eval.generators.discrete.task import D_KIND
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig
from textgen_eval.generators.lstm_lm.model import LMNet


def test_the_discriminators_soft_path_equals_its_token_path_on_one_hot_rows() -> None:
    torch.manual_seed(0)
    disc = RecurrentDiscriminator(DiscriminatorConfig(emb_dim=5, hidden_size=7), 20)
    tokens = torch.tensor([[5, 6, EOS_ID, PAD_ID, PAD_ID], [7, 8, 9, 10, EOS_ID]])
    torch.testing.assert_close(
        soft_sequence_logits(disc, one_hot_rows(tokens, 20, 5), tokens), disc.sequence_logits(tokens)
    )


def test_the_relaxed_sample_is_fed_back_so_gradients_cross_time_steps() -> None:
    torch.manual_seed(1)
    net = LMNet(LSTMLMConfig(emb_dim=4, hidden_size=6), 15)
    hard, soft = soft_feedback_sample(net, 5, max_len=4, beta=2.0, generator=torch.Generator().manual_seed(2))
    assert hard.shape == (5, 4) and soft.shape == (5, 4, 15)
    # hard tokens are the argmax of their relaxed rows (the same Gumbel draw), PAD after EOS
    live = hard != PAD_ID
    assert torch.equal(soft.argmax(-1)[live], hard[live])
    # the embedding reaches step 2's relaxed row through what steps 0 and 1 fed back
    (grad,) = torch.autograd.grad((soft[:, 2] * torch.arange(15.0)).sum(), net.embedding.weight)
    assert float(grad[4:].abs().sum()) > 0  # rows of tokens never drawn as hard inputs too


def test_gsgan_is_wired_and_its_generator_step_leaves_d_untouched() -> None:
    task = _task(TINY["gsgan"]())
    assert D_KIND["gsgan"] == "soft-sequence"
    out = task.model.adversarial_step(task)
    assert out is not None
    out["loss"].backward()  # type: ignore[union-attr]
    assert all(p.grad is None for p in task.module.disc.parameters())
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in task.module.gen.parameters())
