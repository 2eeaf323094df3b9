"""WGAN-GP text models (Semeniuta 2019 §5.4.1; GENERATORS.md §4, §9): the gradient penalty on a
linear critic in closed form, its shape and reach, the Conv-LSTM generator's gradient against
finite differences, optimizer ownership, decoding, the n-gram JS divergence against scipy, the
generator contract for both models, and a diverging run recorded as such."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from torch import Tensor, nn

from tests.conftest import coco_lines
from textgen_eval.core.errors import ConfigError, DivergenceError
from textgen_eval.core.training import RunnerConfig, StepContext
from textgen_eval.data.vocab import BOS_ID, EOS_ID, PAD_ID
from textgen_eval.generators.text.ngram_js import js_divergence, ngram_counts
from textgen_eval.generators.wgan.config import (
    ConvDeconvConfig,
    ConvLSTMConfig,
    CriticConfig,
    WGANConfig,
    WGANTrainConfig,
)
from textgen_eval.generators.wgan.model import TextWGAN, WGANConvDeconv, WGANConvLSTM
from textgen_eval.generators.wgan.nets import ConvLSTMGenerator, DeconvGenerator, ResNetGenerator
from textgen_eval.generators.wgan.penalty import (
    critic_loss,
    gradient_penalty,
    interpolate,
    interpolation_weights,
)
from textgen_eval.generators.wgan.representation import (
    decode_positions,
    one_hot,
    real_ids,
    sentence_ids,
)
from textgen_eval.generators.wgan.task import WGANTask
from textgen_eval.testing import GeneratorContract
from textgen_eval.training import Runner

TEXTS = [s for s in coco_lines("train")[:200] if s]
T, V = 6, 9


class LinearCritic(nn.Module):
    """D(x) = ⟨W, x⟩: its gradient is W everywhere, so GP = (‖W‖_F − 1)² exactly."""

    def __init__(self, weight: Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x: Tensor) -> Tensor:
        return (x * self.weight).sum(dim=(1, 2))


def _norm_two_weight() -> Tensor:
    w = torch.randn(T, V, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return 2.0 * w / torch.linalg.vector_norm(w)


def _batch(b: int = 5) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(1)
    real = one_hot(torch.randint(0, V, (b, T), generator=g), V).double()
    fake = torch.softmax(torch.randn(b, T, V, generator=g, dtype=torch.float64), dim=-1)
    return real, fake


def test_linear_critic_penalty_is_the_closed_form() -> None:
    critic = LinearCritic(_norm_two_weight())
    real, fake = _batch()
    penalty = gradient_penalty(critic, real, fake, interpolation_weights(5).double())
    gp = float(penalty.gp.detach())
    assert gp == pytest.approx(1.0, abs=1e-12)  # (2 − 1)²
    assert torch.allclose(penalty.norms, torch.full((5,), 2.0, dtype=torch.float64), atol=1e-12)
    assert 10.0 * gp == pytest.approx(10.0, abs=1e-11)


def test_with_fake_equal_to_real_the_critic_loss_is_lambda_times_gp() -> None:
    critic = LinearCritic(_norm_two_weight() * 1.7)
    real, _ = _batch()
    penalty = gradient_penalty(critic, real, real, interpolation_weights(5).double())
    loss = critic_loss(critic(real), critic(real), penalty.gp, 10.0)
    gp = float(penalty.gp.detach())
    assert float(loss.detach()) == pytest.approx(10.0 * gp, abs=1e-12)
    assert gp == pytest.approx((3.4 - 1.0) ** 2, abs=1e-10)


def test_interpolation_weight_is_one_per_example_and_the_norm_spans_the_whole_matrix() -> None:
    eps = interpolation_weights(5)
    assert eps.shape == (5, 1, 1)
    real, fake = _batch()
    x_hat = interpolate(real, fake, eps.double())
    for i in range(5):
        assert torch.allclose(x_hat[i], real[i] + eps[i, 0, 0].double() * (fake[i] - real[i]))
    with pytest.raises(ValueError, match=r"shape \(5, 1, 1\)"):
        interpolate(real, fake, torch.rand(5, T, 1, dtype=torch.float64))
    # D(x) = ½‖x‖²: ∇D(x̂) = x̂, so each norm is the Frobenius norm of that example's T × V matrix
    penalty = gradient_penalty(lambda x: 0.5 * (x**2).sum(dim=(1, 2)), real, fake, eps.double())
    expected = torch.linalg.vector_norm(x_hat.flatten(1), dim=1)
    assert torch.allclose(penalty.norms, expected, atol=1e-12)
    assert len(set(penalty.norms.tolist())) == 5  # different ε per example


def test_the_penalty_gradient_reaches_the_critic() -> None:
    w = _norm_two_weight() * 0.8  # ‖W‖ = 1.6
    critic = LinearCritic(w.clone())
    real, fake = _batch()
    gradient_penalty(critic, real, fake, interpolation_weights(5).double()).gp.backward()
    assert critic.weight.grad is not None
    norm = torch.linalg.vector_norm(w)
    expected = 2.0 * (norm - 1.0) * w / norm  # d/dW (‖W‖ − 1)²
    assert torch.allclose(critic.weight.grad, expected, atol=1e-12)


def _lstm_generator() -> ConvLSTMGenerator:
    torch.manual_seed(3)
    cfg = ConvLSTMConfig(seq_len=T, noise_dim=4, emb_dim=5, hidden_size=7)
    return ConvLSTMGenerator(cfg, V).double()


def test_conv_lstm_output_is_differentiable_and_passes_a_finite_difference_check() -> None:
    gen = _lstm_generator()
    critic = LinearCritic(_norm_two_weight())
    z = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(4))

    def objective() -> Tensor:
        return critic(gen.probs(z)).sum()

    gen.zero_grad()
    objective().backward()
    for name in ("cell.weight_ih", "embedding", "init_state.weight"):
        param = dict(gen.named_parameters())[name]
        assert param.grad is not None and float(param.grad.abs().max()) > 1e-6, name
        flat, grad = param.data.view(-1), param.grad.view(-1)
        for index in (0, flat.numel() // 2, flat.numel() - 1):
            old = float(flat[index])
            with torch.no_grad():
                flat[index] = old + 1e-6
                up = float(objective())
                flat[index] = old - 1e-6
                down = float(objective())
                flat[index] = old
            assert (up - down) / 2e-6 == pytest.approx(float(grad[index]), rel=1e-5, abs=1e-9), (name, index)
    # feeding back argmax (one-hot of the mode) instead of the softmax cuts the gradient
    hard = one_hot(gen(z).argmax(dim=-1), V).double()
    assert not hard.requires_grad


def test_deconv_and_resnet_generators_give_t_by_v_softmax_without_bos() -> None:
    z = torch.randn(2, 4)
    for gen in (
        DeconvGenerator(ConvDeconvConfig(seq_len=8, noise_dim=4, channels=6, layers=3), V),
        ResNetGenerator(ConvDeconvConfig(seq_len=7, noise_dim=4, channels=6, layers=2, arch="resnet"), V),
        ConvLSTMGenerator(ConvLSTMConfig(seq_len=5, noise_dim=4, emb_dim=3, hidden_size=5), V),
    ):
        probs = gen.probs(z)
        assert probs.shape == (2, gen(z).shape[1], V)
        assert torch.allclose(probs.sum(-1), torch.ones(probs.shape[:2]))
        assert float(probs[..., BOS_ID].detach().abs().max()) == 0.0


def test_deconv_generator_gives_exactly_t_positions_for_any_length() -> None:
    """⌈T/2^L⌉ positions doubled L times, cropped to T when T is not divisible by 2^L."""
    z = torch.randn(2, 4)
    for seq_len, layers in ((24, 3), (20, 3), (5, 2), (2, 1)):
        gen = DeconvGenerator(ConvDeconvConfig(seq_len=seq_len, noise_dim=4, channels=6, layers=layers), V)
        assert gen(z).shape == (2, seq_len, V)
    with pytest.raises(ValueError, match=r"seq_len must be ≥ 2"):
        ConvDeconvConfig(seq_len=1)


def test_real_sentences_become_fixed_one_hot_rows_and_decode_back() -> None:
    batch = np.array([[BOS_ID, 5, 6, EOS_ID], [BOS_ID, 7, EOS_ID, PAD_ID]])
    ids = real_ids(batch, 5)
    assert ids.tolist() == [[5, 6, EOS_ID, PAD_ID, PAD_ID], [7, EOS_ID, PAD_ID, PAD_ID, PAD_ID]]
    matrix = one_hot(torch.from_numpy(ids), V)
    assert matrix.shape == (2, 5, V) and torch.equal(matrix.sum(-1), torch.ones(2, 5))
    assert sentence_ids(decode_positions(matrix.log(), temperature=1.0, sample=False)) == [[5, 6], [7]]
    assert sentence_ids(torch.tensor([[4, PAD_ID, 5, EOS_ID]])) == [[4]]  # PAD ends a sentence too
    with pytest.raises(ValueError, match="seq_len = 2"):
        real_ids(batch, 2)


def test_ngram_js_divergence_matches_scipy_on_real_captions() -> None:
    a = [s.split() for s in coco_lines("train")[:300] if s]
    b = [s.split() for s in coco_lines("test")[:300] if s]
    for n in (1, 2):
        p, q = ngram_counts(a, n), ngram_counts(b, n)
        keys = sorted(p.keys() | q.keys())
        reference = jensenshannon([p[k] for k in keys], [q[k] for k in keys], base=2) ** 2
        assert js_divergence(p, q) == pytest.approx(float(reference), abs=1e-12)
    assert js_divergence(ngram_counts(a, 3), ngram_counts(a, 3)) == 0.0
    assert js_divergence(ngram_counts([["x", "y"]], 1), ngram_counts([["z"]], 1)) == 1.0
    assert js_divergence(ngram_counts([["x"]], 2), ngram_counts(a, 2)) == 1.0  # no bigram at all


# -- the models ------------------------------------------------------------------------------------


def _configs(model: dict[str, object], **wgan: object) -> dict[str, object]:
    return {
        "critic": CriticConfig(channels=6, blocks=1),
        "train": WGANTrainConfig(g_lr=1e-3, d_lr=1e-3, batch_size=8),
        "wgan": WGANConfig(**{"n_critic": 2, "gen_iters": 4, "eval_every": 2, "eval_samples": 10, **wgan}),  # type: ignore[arg-type]
        "model": model,
    }


def tiny_deconv(**wgan: object) -> WGANConvDeconv:
    model = ConvDeconvConfig(max_vocab=40, seq_len=24, noise_dim=4, channels=6, layers=2)
    return WGANConvDeconv(_configs(model, **wgan))  # type: ignore[arg-type]


def tiny_lstm(**wgan: object) -> WGANConvLSTM:
    model = ConvLSTMConfig(max_vocab=40, seq_len=24, noise_dim=4, emb_dim=4, hidden_size=6)
    return WGANConvLSTM(_configs(model, **wgan))  # type: ignore[arg-type]


class TestResNetArchThroughTheShippedContractClass(GeneratorContract):
    """Both registered models run the contract in tests/generators/test_generators.py; these two
    classes cover the variants: [42]'s residual generator, and z fed to every LSTM step."""

    def make_generator(self) -> WGANConvDeconv:
        model = ConvDeconvConfig(max_vocab=40, seq_len=24, noise_dim=4, channels=6, layers=1, arch="resnet")
        return WGANConvDeconv(_configs(model))  # type: ignore[arg-type]


class TestNoiseAtEveryStepThroughTheShippedContractClass(GeneratorContract):
    def make_generator(self) -> WGANConvLSTM:
        model = ConvLSTMConfig(
            max_vocab=40, seq_len=24, noise_dim=4, emb_dim=4, hidden_size=6, noise_input="state+input"
        )
        return WGANConvLSTM(_configs(model))  # type: ignore[arg-type]


def _task(model: TextWGAN) -> WGANTask:
    train, valid = model.prepare_corpora(TEXTS, TEXTS[:20])
    task = WGANTask(model, train, valid, RunnerConfig(device="cpu", seed=0))
    task.setup(torch.device("cpu"))
    return task


def _ctx(optimizer: str) -> StepContext:
    return StepContext("adversarial", optimizer, 0, 0, 0, 0, None, None)


@pytest.mark.parametrize("factory", [tiny_deconv, tiny_lstm])
def test_a_generator_update_leaves_the_critic_without_gradients(factory) -> None:
    task = _task(factory())
    task.training_step(None, _ctx("gen"))["loss"].backward()  # type: ignore[union-attr]
    assert all(p.grad is None for p in task.module.critic.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in task.module.gen.parameters())
    assert all(p.requires_grad for p in task.module.critic.parameters())  # unfrozen afterwards
    batch = next(iter(task.train_batches("adversarial", 0)))
    task.module.zero_grad(set_to_none=True)
    task.training_step(batch, _ctx("critic"))["loss"].backward()  # type: ignore[union-attr]
    assert all(p.grad is None for p in task.module.gen.parameters())  # fakes are detached


def test_critic_batches_are_not_grouped_by_length() -> None:
    task = _task(tiny_deconv())
    spreads = [
        int((b != PAD_ID).sum(1).max() - (b != PAD_ID).sum(1).min()) for b in task.train_batches("a", 0)
    ]
    assert np.mean(spreads) > 4  # an LM's bucketed batches have a spread near 0


def test_training_logs_both_updates_validation_and_the_stage(tmp_path: Path) -> None:
    model = tiny_lstm(gen_iters=6, eval_every=3)
    runner = Runner(RunnerConfig(device="cpu", log_every=2), run_dir=tmp_path)
    result = model.fit(TEXTS, TEXTS[:20], runner)
    assert result.steps == 6 * 3 and result.stages[0].name == "adversarial"
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    train = [r for r in log if r["event"] == "train"]
    critic = [r for r in train if r["optimizer"] == "critic"]
    gen = [r for r in train if r["optimizer"] == "gen"]
    assert len(critic) == 6 and len(gen) == 3  # every 2nd update of each optimizer
    assert {"wdist", "gp", "penalty_grad_norm"} <= set(critic[0]) and {"d_fake", "fake_entropy"} <= set(
        gen[0]
    )
    valid = [r for r in log if r["event"] == "valid"]
    assert len(valid) == 2 and {"js1", "js2", "js3", "js4", "valid_wdist"} <= set(valid[0])
    assert all(0.0 <= valid[0][f"js{n}"] <= 1.0 for n in (1, 2, 3, 4))
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["stages"][0]["schedule"] == "critic×2 gen×1(no data)"


def test_a_diverging_run_raises_divergence_and_records_it(tmp_path: Path) -> None:
    model = tiny_deconv()
    model.configs["train"] = WGANTrainConfig(g_lr=1e38, d_lr=1e38, batch_size=8)
    with pytest.raises(DivergenceError, match="diverged at step"):
        model.fit(TEXTS, TEXTS[:20], Runner(RunnerConfig(device="cpu"), run_dir=tmp_path))
    events = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert any(e["event"] == "diverged" for e in events)


def test_sampling_decodes_by_argmax_and_refuses_a_temperature_it_would_ignore() -> None:
    model = tiny_deconv(gen_iters=1)
    model.fit(TEXTS, None, Runner(RunnerConfig(device="cpu")))
    argmax = model.sample(20, seed=1)
    assert argmax == model.sample(20, seed=1, temperature=0.0)
    assert all(len(s.split()) <= 24 for s in argmax)  # T positions; a row without EOS keeps all
    assert all(len(s.split()) <= 3 for s in model.sample(20, seed=1, max_len=3))
    with pytest.raises(ConfigError, match="decodes by argmax"):
        model.sample(3, temperature=0.7)
    model.configs["wgan"] = WGANConfig(decode="sample")
    drawn = model.sample(20, seed=1, temperature=0.7)
    assert drawn == model.sample(20, seed=1, temperature=0.7) and drawn != argmax


def test_default_search_spaces_draw_valid_configs() -> None:
    from textgen_eval.core.models import model_class
    from textgen_eval.pipelines.train import resolve_config

    for name in ("wgan-conv-deconv", "wgan-conv-lstm"):
        space = model_class(name).search_space
        assert space is not None
        for params in space.draw(12, seed=0):
            configs = resolve_config(name, None, {k: str(v) for k, v in space.overrides_for(params).items()})
            assert configs["wgan"].gp_lambda == 10.0


def test_g_lr_zero_keeps_the_generator_and_its_samples() -> None:
    a, b = tiny_lstm(gen_iters=3), tiny_lstm(gen_iters=1)
    a.configs["train"] = WGANTrainConfig(g_lr=0.0, d_lr=1e-3, batch_size=8)
    a.fit(TEXTS, None, Runner(RunnerConfig(device="cpu", seed=4)))
    b.fit(TEXTS, None, Runner(RunnerConfig(device="cpu", seed=4, max_steps=1)))  # one critic update
    gen_a, gen_b = a.state_dict(), b.state_dict()
    assert all(torch.equal(gen_a[k], gen_b[k]) for k in gen_a if k.startswith("gen."))
    assert a.sample(10, seed=2) == b.sample(10, seed=2)
    assert math.isfinite(float(gen_a["gen.out.bias"].sum()))
