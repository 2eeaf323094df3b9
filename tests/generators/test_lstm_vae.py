"""The LSTM VAE: Gaussian arithmetic against Monte Carlo and finite differences, the annealing
schedule and the β = 1 bound, the historyless decoder, and the importance-weighted bound against
the exact likelihood of a model with a one-dimensional latent (numerical quadrature)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from tests.conftest import coco_lines
from textgen_eval.data.batching import encode_corpus, pad
from textgen_eval.generators.vae.bounds import iw_log_likelihood, validation_terms
from textgen_eval.generators.vae.config import LSTMVAEConfig, TrainConfig, VAEConfig
from textgen_eval.generators.vae.gaussian import (
    gaussian_kl,
    importance_weighted_bound,
    log_normal,
    log_standard_normal,
    reparameterize,
)
from textgen_eval.generators.vae.lstm_vae import LSTMVAE, LSTMVAENet
from textgen_eval.training import Runner, RunnerConfig

TEXTS = [s for s in coco_lines("train")[:64] if s]


def tiny(**vae: object) -> LSTMVAE:
    return LSTMVAE(
        {
            "model": LSTMVAEConfig(emb_dim=8, hidden_size=12, latent_size=3, max_len=20),
            "train": TrainConfig(batch_size=8, lr=3e-3),
            "vae": VAEConfig(**vae),  # type: ignore[arg-type]
        }
    )


def test_closed_form_kl_matches_monte_carlo_and_vanishes_at_the_prior() -> None:
    g = torch.Generator().manual_seed(0)
    mu = torch.tensor([[0.7, -1.2, 0.3]], dtype=torch.float64)
    logvar = torch.tensor([[-0.5, 0.4, -1.5]], dtype=torch.float64)
    eps = torch.randn(1_000_000, 3, generator=g, dtype=torch.float64)
    z = reparameterize(mu, logvar, eps)
    monte_carlo = (log_normal(z, mu, logvar) - log_standard_normal(z)).mean()
    exact = gaussian_kl(mu, logvar)[0]
    assert abs(float(monte_carlo - exact)) / float(exact) < 0.01
    assert float(gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max()) == 0.0


def test_reparameterised_gradient_passes_a_finite_difference_check() -> None:
    eps = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def objective(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        z = reparameterize(mu, logvar, eps)
        return (torch.sin(z) * z).sum() + gaussian_kl(mu, logvar).sum()

    mu = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(objective, (mu, logvar))


def test_iw_bound_of_one_sample_is_the_elbo_and_averages_in_probability_space() -> None:
    log_w = torch.log(torch.tensor([[0.2], [0.6]]))
    assert torch.allclose(importance_weighted_bound(log_w), torch.log(torch.tensor([0.4])))
    assert torch.equal(importance_weighted_bound(log_w[:1]), log_w[0])


def test_annealing_weight_follows_its_schedule_and_the_reported_bound_uses_weight_one(tmp_path: Path) -> None:
    schedule = VAEConfig(kl_schedule="linear", kl_start=2, kl_end=6)
    assert [schedule.weight(s) for s in range(8)] == [0, 0, 0, 0.25, 0.5, 0.75, 1, 1]
    assert VAEConfig(kl_schedule="zero").weight(100) == 0.0
    assert VAEConfig(kl_schedule="constant", kl_weight=0.3).weight(0) == 0.3
    model = tiny(kl_schedule="linear", kl_start=2, kl_end=6)
    runner = Runner(RunnerConfig(device="cpu", max_epochs=1, log_every=1), run_dir=tmp_path)
    result = model.fit(TEXTS, TEXTS[:16], runner)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    weights = [r["kl_weight"] for r in log if r["event"] == "train"]
    assert weights == [schedule.weight(s) for s in range(result.steps)]  # logged at step s−1 → s
    # the validation bound is rec + KL at weight 1, per token, whatever the schedule says
    assert model.net is not None and model.vocab is not None
    corpus = encode_corpus(TEXTS[:16], model.vocab)
    totals = validation_terms(model.net, corpus, 256, torch.device("cpu"))
    valid = [r for r in log if r["event"] == "valid"][-1]
    assert valid["valid_loss"] == pytest.approx((totals["rec"] + totals["kl"]) / totals["tokens"], rel=1e-9)


def _net(word_dropout: float) -> LSTMVAENet:
    torch.manual_seed(0)
    return LSTMVAENet(LSTMVAEConfig(emb_dim=6, hidden_size=8, latent_size=2), 12, word_dropout).eval()


def test_the_historyless_decoder_ignores_its_input_tokens() -> None:
    z = torch.randn(2, 2)
    a = torch.tensor([[1, 5, 6, 7, 2], [1, 8, 9, 2, 0]])
    b = torch.tensor([[1, 9, 4, 11, 3], [1, 4, 4, 10, 0]])  # same padding, other tokens
    historyless = _net(1.0)
    assert torch.equal(historyless.decode(z, a)[0], historyless.decode(z, b)[0])
    with_history = _net(0.5)
    assert not torch.equal(with_history.decode(z, a)[0], with_history.decode(z, b)[0])


def test_iw_bound_tightens_with_k_and_never_undercuts_the_exact_likelihood() -> None:
    """With a one-dimensional latent, log p(x) = log ∫ p(x|z) N(z; 0, 1) dz is computed by
    quadrature on a fine grid; −IW_K is an upper bound on the NLL that falls towards it as K grows."""
    torch.manual_seed(3)
    net = LSTMVAENet(LSTMVAEConfig(emb_dim=6, hidden_size=8, latent_size=1), 10, 0.0).double().eval()
    with torch.no_grad():  # a posterior that is neither the prior nor the true posterior
        net.posterior.weight.mul_(3.0)
        net.latent_to_state.weight.mul_(4.0)
    batch = torch.from_numpy(
        pad([torch.tensor(s).numpy() for s in ([1, 4, 5, 2], [1, 7, 3, 8, 9, 2], [1, 6, 2])])
    )
    grid = torch.linspace(-8, 8, 4001, dtype=torch.float64).unsqueeze(1)  # (G, 1)
    with torch.no_grad():
        exact = []
        for row in batch:
            rec, _ = net.reconstruction_nll(grid, row.unsqueeze(0).repeat(len(grid), 1))
            log_joint = -rec + log_standard_normal(grid)
            exact.append(float(torch.logsumexp(log_joint, 0) + math.log(float(grid[1] - grid[0]))))
        nll = -torch.tensor(exact, dtype=torch.float64)
        gen = torch.Generator().manual_seed(0)
        draws = {
            k: torch.stack([-iw_log_likelihood(net, batch, k, gen) for _ in range(400)]) for k in (1, 10, 100)
        }
    mean = {k: d.mean(0) for k, d in draws.items()}
    se = {k: d.std(0) / math.sqrt(len(d)) for k, d in draws.items()}  # standard errors of the means
    for k in draws:  # E[−IW_K] ≥ NLL: never below it beyond 4 standard errors
        assert (mean[k] + 4 * se[k] >= nll).all(), (k, mean[k], se[k], nll)
    for small, large in ((1, 10), (10, 100)):  # E[−IW_K] is non-increasing in K
        assert (mean[small] + 4 * (se[small] + se[large]) >= mean[large]).all()
    gap_1, gap_100 = (mean[1] - nll).max(), (mean[100] - nll).abs().max()
    assert gap_1 > 0.1 and gap_100 < 0.1 * gap_1  # the bound tightens towards the exact NLL


def test_score_texts_is_a_labelled_seeded_bound() -> None:
    model = tiny(iw_samples=7)
    model.fit(TEXTS, None, Runner(RunnerConfig(device="cpu", max_steps=3)))
    scores = model.score_texts(TEXTS[:5])
    assert scores.estimate == "iw" and scores.importance_samples == 7 and scores.bound == "iw-7"
    again = model.score_texts(TEXTS[:5])
    assert (scores.nll == again.nll).all()
    assert (scores.nll > 0).all() and (scores.tokens == [len(t.split()) + 1 for t in TEXTS[:5]]).all()
    assert model.score_texts(TEXTS[:5], k=20, seed=1).importance_samples == 20


def test_samples_are_seeded_and_greedy_decoding_varies_only_with_z() -> None:
    model = tiny()
    model.fit(TEXTS, None, Runner(RunnerConfig(device="cpu", max_steps=5)))
    assert model.sample(6, seed=2) == model.sample(6, seed=2)
    assert model.sample(6, seed=2) != model.sample(6, seed=3)
    greedy = model.sample(6, seed=4, temperature=0)
    assert greedy == model.sample(6, seed=4, temperature=0)
