"""RelGAN (Nie et al. 2019; PEERS.md §3.5) and the relaxation it shares with GSGAN (§3.4):
Gumbel-max sampling against softmax by χ², the relaxed sample's limits and gradients, every β
schedule at fixed steps, the RSGAN loss at equal outputs, gradients through ŷ but not through the
fed-back hard token, the relational memory's shape and gates, the discriminator's output."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats
from torch import nn

from tests.generators.test_discrete_gan import TINY, _task
from textgen_eval.core.training import StepContext
from textgen_eval.data.vocab import BOS_ID
from textgen_eval.generators.discrete.config import MultiRepConfig
from textgen_eval.generators.discrete.relax import (
    BETA_SCHEDULES,
    GAN_LOSSES,
    gumbel,
    gumbel_relax,
    inverse_temperature,
    real_above_fake,
)
from textgen_eval.generators.discrete.relnets import MultiRepDiscriminator, RelationalMemory, relaxed_sample
from textgen_eval.generators.discrete.task import D_KIND


def test_gumbel_max_draws_are_samples_of_the_softmax() -> None:
    logits = torch.tensor([1.0, 0.2, -0.5, 2.0, 0.0], dtype=torch.float64)
    n = 100_000
    noise = gumbel((n, 5), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    hard, _ = gumbel_relax(logits.expand(n, 5), noise, 1.0)
    observed = torch.bincount(hard, minlength=5).double()
    expected = torch.softmax(logits, 0) * n
    assert stats.chisquare(observed.numpy(), expected.numpy()).pvalue > 1e-3


def test_the_relaxed_sample_goes_one_hot_and_uniform_with_finite_gradients() -> None:
    logits = torch.randn(4, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    noise = gumbel((4, 7), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    hard, cold = gumbel_relax(logits, noise, 1e4)  # β = 1/τ → ∞
    torch.testing.assert_close(cold, nn.functional.one_hot(hard, 7).double())
    _, hot = gumbel_relax(logits, noise, 1e-6)  # τ → ∞
    torch.testing.assert_close(hot, torch.full((4, 7), 1 / 7, dtype=torch.float64), atol=1e-5, rtol=0)
    for tau in (0.1, 1.0, 10.0):
        leaf = logits.clone().requires_grad_(True)
        _, soft = gumbel_relax(leaf, noise, 1 / tau)
        (grad,) = torch.autograd.grad((soft * torch.arange(7.0, dtype=torch.float64)).sum(), leaf)
        assert bool(torch.isfinite(grad).all()) and float(grad.abs().sum()) > 0


def test_every_beta_schedule_at_fixed_steps() -> None:
    n, top = 5000, 100.0
    assert inverse_temperature("exp", 0, n, top) == pytest.approx(1.0)
    assert inverse_temperature("exp", 2500, n, top) == pytest.approx(10.0)
    assert inverse_temperature("exp", 3000, n, top) == pytest.approx(15.85, abs=0.01)  # RelGAN's oracle end
    assert inverse_temperature("lin", n - 1, n, top) == pytest.approx(top)
    assert inverse_temperature("quad", n - 1, n, top) == pytest.approx(top)
    assert inverse_temperature("sqrt", n - 1, n, top) == pytest.approx(top)
    assert inverse_temperature("log", n - 1, n, top) == pytest.approx(top)
    assert inverse_temperature("sigmoid", n // 2, n, top) == pytest.approx(1 + (top - 1) / 2)
    assert inverse_temperature("no", 0, n, top) == top
    for name in BETA_SCHEDULES:  # from ~1 upwards, monotone, never past β_max
        values = [inverse_temperature(name, i, n, top) for i in range(0, n, 250)]
        assert all(b <= a + 1e-12 for a, b in zip(values[1:], values)) and max(values) <= top + 1e-9
        if name != "no":
            assert values[0] == pytest.approx(1.0, abs=0.01)
    with pytest.raises(ValueError, match="unknown temperature schedule"):
        inverse_temperature("cosine", 0, n, top)


def test_rsgan_with_equal_outputs_gives_ln2_for_both_losses() -> None:
    d = torch.randn(32, generator=torch.Generator().manual_seed(3))
    l_d, l_g = GAN_LOSSES["rsgan"](d, d)
    assert float(l_d) == pytest.approx(math.log(2)) and float(l_g) == pytest.approx(math.log(2))


def test_the_logged_margin_is_what_rsgan_trains_and_tells_pairs_apart_when_sigma_d_saturates() -> None:
    # σ(D) of both real and generated rows near 1 (RSGAN only trains the difference), yet the pairs'
    # margin still reads D's verdict: σ(10 − 8) for every pair.
    d_real, d_fake = torch.full((16,), 10.0), torch.full((16,), 8.0)
    assert float(torch.sigmoid(d_real).mean()) > 0.999 and float(torch.sigmoid(d_fake).mean()) > 0.999
    assert float(real_above_fake(d_real, d_fake)) == pytest.approx(1 / (1 + math.exp(-2.0)))
    d = torch.randn(32, generator=torch.Generator().manual_seed(5))
    assert float(real_above_fake(d, d)) == pytest.approx(0.5)
    # L_D of RSGAN is the mean −log of the margin's terms: one pair, closed form
    a, b = torch.tensor([1.3]), torch.tensor([-0.4])
    l_d, _ = GAN_LOSSES["rsgan"](a, b)
    assert float(l_d) == pytest.approx(-math.log(float(real_above_fake(a, b))))


@pytest.mark.parametrize(("name", "paired"), [("relgan", True), ("gsgan", True), ("textgan", False)])
def test_a_relaxed_models_d_step_logs_the_pairs_margin_where_rows_are_paired(name: str, paired: bool) -> None:
    task = _task(TINY[name]())
    rows = task.real_rows(8, key=(0,))  # (8, L) without BOS; the runner's batches start with it
    batch = torch.cat([torch.full((8, 1), BOS_ID), rows], dim=1).numpy()
    logged = task.training_step(batch, StepContext("adversarial", "disc", 0, 0, 0, 0, None, None))
    assert {"loss", "d_real", "d_fake"} <= set(logged)
    assert ("d_real_above_fake" in logged) == paired
    if paired:
        assert 0.0 < float(logged["d_real_above_fake"]) < 1.0


class _TwoStepNet(nn.Module):
    """Step 0's logits are the parameter ``a``; step 1's depend on the fed-back token only."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor([0.3, -0.2, 0.5, 0.1, 0.0, 0.4]))
        self.table = nn.Parameter(torch.randn(6, 6, generator=torch.Generator().manual_seed(4)))

    def step(self, tokens: torch.Tensor, state: tuple[torch.Tensor, ...] | None):  # type: ignore[no-untyped-def]
        if state is None:
            return self.a.expand(tokens.shape[0], 6), (torch.zeros(1, tokens.shape[0]),)
        return self.table[tokens], state


def test_the_generators_gradient_flows_through_the_relaxed_rows_not_the_fed_back_tokens() -> None:
    net = _TwoStepNet()
    _, soft = relaxed_sample(net, 8, max_len=2, beta=2.0, generator=torch.Generator().manual_seed(5))  # type: ignore[arg-type]
    weights = torch.arange(6.0)
    (through_step_1,) = torch.autograd.grad(
        (soft[:, 1] * weights).sum(), net.a, allow_unused=True, retain_graph=True
    )
    assert through_step_1 is None or float(through_step_1.abs().sum()) == 0.0  # the hard token: no path
    (through_step_0,) = torch.autograd.grad((soft[:, 0] * weights).sum(), net.a)
    assert bool(torch.isfinite(through_step_0).all()) and float(through_step_0.abs().sum()) > 0


def test_the_relational_memory_keeps_its_shape_and_gates_at_sigma_0_and_sigma_1() -> None:
    torch.manual_seed(0)
    rmc = RelationalMemory(input_size=5, mem_slots=1, num_heads=2, head_size=4)
    x = torch.randn(3, 5)
    memory = rmc.initial(3, torch.device("cpu"), torch.float32)
    assert memory.shape == (3, 1, 8) and float(memory[:, 0, 0].min()) == 1.0  # the identity row, padded
    out, new = rmc(x, memory)
    assert out.shape == (3, 8) and new.shape == (3, 1, 8)
    for gate in (rmc.gate_input, rmc.gate_memory):
        nn.init.zeros_(gate.weight)
        nn.init.zeros_(gate.bias)
    _, gated = rmc(x, memory)
    inp = rmc.inp(x).unsqueeze(1)
    plus = torch.cat([memory, inp], 1)
    plus = rmc.attn_norm(plus + rmc.attend(plus))
    candidate = rmc.mlp_norm(plus + rmc.mlp(plus))[:, :-1]
    expected = 0.5 * torch.tanh(candidate) + torch.sigmoid(torch.tensor(1.0)) * memory
    torch.testing.assert_close(gated, expected)


def test_the_discriminator_gives_one_logit_per_representation() -> None:
    disc = MultiRepDiscriminator(
        MultiRepConfig(emb_dim=8, num_rep=4, filter_sizes=(2, 3), num_filters=(5, 6)), 11
    )
    rows = torch.softmax(torch.randn(6, 9, 11), dim=-1)
    assert disc(rows).shape == (24,)
    assert disc(rows[:, :1]).shape == (24,)  # shorter than the widest filter: PAD rows added


def test_relgan_is_wired_and_a_generator_step_reaches_every_generator_parameter() -> None:
    task = _task(TINY["relgan"]())
    assert D_KIND["relgan"] == "relaxed"
    out = task.model.adversarial_step(task)
    assert out is not None
    out["loss"].backward()  # type: ignore[union-attr]
    gen = task.module.gen
    missing = [n for n, p in gen.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, missing
    assert all(p.grad is None for p in task.module.disc.parameters())


def test_the_wasserstein_option_adds_gulrajanis_penalty_to_the_critic() -> None:
    import dataclasses

    from textgen_eval.generators.discrete.config import GSGANConfig
    from textgen_eval.generators.discrete.relgan import relgan_d_loss

    l_d, l_g = GAN_LOSSES["wgan-gp"](torch.tensor([1.0, 2.0]), torch.tensor([0.0, 1.0]))
    assert float(l_d) == pytest.approx(-1.0) and float(l_g) == pytest.approx(-0.5)
    task = _task(TINY["relgan"]())
    task.module.eval()
    real = task.real_rows(8, key=(0,))
    cfg = task.model.configs["relgan"]
    losses = {}
    for weight in (0.0, 10.0):
        task.model.configs["relgan"] = dataclasses.replace(cfg, loss="wgan-gp", gp_weight=weight)
        torch.manual_seed(7)  # the same generated rows and interpolation weights
        losses[weight] = relgan_d_loss(task, real).loss
    assert float(losses[10.0].detach()) > float(losses[0.0].detach())  # + λ·GP, GP > 0
    losses[10.0].backward()  # double backward through the critic reaches its parameters
    assert all(torch.isfinite(p.grad).all() for p in task.module.disc.parameters() if p.grad is not None)
    assert any(p.grad is not None for p in task.module.disc.parameters())
    with pytest.raises(ValueError, match="wgan-gp is RelGAN's option"):
        GSGANConfig(loss="wgan-gp")
