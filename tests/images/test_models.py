"""The VAE and ladder VAE: the image-model contract, the ladder's KL against the generative
prior, warm-up on schedule and across a resume, active units on a net with known dead units,
and the bounds of a trained model (IMAGES.md §7 sanity tests 4, 5 and the §3 pitfalls)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from textgen_eval.core.config import build_sections
from textgen_eval.core.models import model_class
from textgen_eval.images.distributions import precision_weighted_merge
from textgen_eval.images.model import LatentImageModel
from textgen_eval.images.objective import warmup_beta
from textgen_eval.metrics.registry import resolve_model_metric
from textgen_eval.testing.image_contract import TRAIN, VALID, ImageModelContract, toy_images
from textgen_eval.training import Runner, RunnerConfig

TINY = {"model.hidden": "16,12,8", "model.latents": "6,4,3", "train.batch_size": "16"}


def make(kind: str, **sets: str) -> LatentImageModel:
    cls = model_class(kind)
    overrides = {**TINY, **sets}
    configs = build_sections(dict(cls.config_sections), {}, overrides)
    model = cls(configs)
    assert isinstance(model, LatentImageModel)
    return model


class TestMLPVAEContract(ImageModelContract):
    def make_model(self) -> Any:
        return make("vae")


class TestConvVAEContract(ImageModelContract):
    def make_model(self) -> Any:
        return make("vae", **{"model.arch": "conv", "model.conv_channels": "4,6", "model.conv_hidden": "10"})


class TestLadderContract(ImageModelContract):
    def make_model(self) -> Any:
        return make(
            "ladder-vae", **{"model.layers": "3", "model.bn_eval": "recollect", "model.warmup_epochs": "2"}
        )


class TestHierarchicalVAEContract(ImageModelContract):
    def make_model(self) -> Any:
        return make("ladder-vae", **{"model.kind": "vae", "model.layers": "2", "train.iw_samples": "3"})


def test_ladder_kl_uses_the_merged_q_and_the_generative_conditional_prior() -> None:
    """AntixK/PyTorch-VAE #25 computed the KL against the bottom-up terms; ours must use p(zᵢ|zᵢ₊₁)."""
    model = make("ladder-vae", **{"model.layers": "3", "model.batch_norm": "false"})
    net = model.init_net(TRAIN.shape)
    x = torch.from_numpy(TRAIN.pixels[:5]).float()
    gen = torch.Generator().manual_seed(0)
    p = net(x, lambda shape: torch.randn(shape, generator=gen))
    for i in range(2):
        mu_p, var_p = net.prior[i](p.layers[i + 1].z)
        mu_t, var_t = net.topdown[i](p.layers[i + 1].z)
        assert torch.equal(p.layers[i].mu_p, mu_p) and torch.equal(p.layers[i].var_p, var_p)
        assert not torch.allclose(p.layers[i].mu_p, mu_t)  # separate top-down inference weights
        assert bool((p.layers[i].var_q <= torch.minimum(var_t, var_p.new_tensor(1e9)) + 1e-7).all())
    # q₁ is the merge of the top-down Gaussian t₁(z₂) and the bottom-up one d₁(x), eq. 21
    mu_d, var_d = net.up[0](x)
    mu_t, var_t = net.topdown[0](p.layers[1].z)
    mu_q, var_q = precision_weighted_merge(mu_t, var_t, mu_d, var_d)
    assert torch.allclose(p.layers[0].mu_q, mu_q) and torch.allclose(p.layers[0].var_q, var_q)
    top = p.layers[-1]
    assert torch.equal(top.mu_p, torch.zeros_like(top.mu_p)) and torch.equal(
        top.var_p, torch.ones_like(top.var_p)
    )


def test_shared_topdown_uses_the_generative_network_for_inference() -> None:
    model = make(
        "ladder-vae", **{"model.layers": "2", "model.share_topdown": "true", "model.batch_norm": "false"}
    )
    net = model.init_net(TRAIN.shape)
    assert len(net.topdown) == 0 and len(net.prior) == 1


def test_warmup_beta_schedule() -> None:
    per_epoch = [
        warmup_beta(warmup_epochs=4, unit="epoch", epoch=e, batch_in_epoch=3, batches_per_epoch=10)
        for e in range(6)
    ]
    assert per_epoch == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert warmup_beta(
        warmup_epochs=4, unit="step", epoch=1, batch_in_epoch=5, batches_per_epoch=10
    ) == pytest.approx(1.5 / 4)
    assert warmup_beta(warmup_epochs=0, unit="step", epoch=0, batch_in_epoch=0, batches_per_epoch=10) == 1.0


def _betas(run_dir: Path) -> list[tuple[int, float]]:
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return [(r["step"], r["beta"]) for r in records if r.get("event") == "train"]


def test_warmup_is_identical_after_a_mid_epoch_resume(tmp_path: Path) -> None:
    from textgen_eval.core.errors import TrainingInterrupted
    from textgen_eval.testing.generator_contract import _InterruptAt

    sets = {"model.warmup_epochs": "2", "model.warmup_unit": "step", "model.layers": "2"}
    config = RunnerConfig(max_epochs=3, device="cpu", seed=0, log_every=1, checkpoint_every=1000)
    make("ladder-vae", **sets).fit(TRAIN, VALID, Runner(config, run_dir=tmp_path / "a"))
    with pytest.raises(TrainingInterrupted):
        make("ladder-vae", **sets).fit(
            TRAIN, VALID, Runner(config, run_dir=tmp_path / "b", callbacks=[_InterruptAt("train", 4)])
        )
    make("ladder-vae", **sets).fit(TRAIN, VALID, Runner(config, run_dir=tmp_path / "b"), resume=True)
    straight, resumed = _betas(tmp_path / "a"), _betas(tmp_path / "b")
    assert straight == resumed and len(straight) == 9  # 3 batches × 3 epochs; step 4 is mid-epoch 2
    assert straight[0][1] == 0.0 and straight[-1][1] == 1.0
    assert [b for _, b in straight[:6]] == pytest.approx([k / 6 for k in range(6)])


def test_active_units_are_exact_on_an_encoder_with_dead_units() -> None:
    model = make("vae", **{"model.latents": "10", "model.hidden": "16"})
    net = model.init_net(TRAIN.shape)
    head = net.up[0].head
    dead = 4
    with torch.no_grad():
        head.mu.weight[:dead] = 0.0
        head.mu.bias[:dead] = 0.0
        head.var.weight[:dead] = 0.0
        head.var.bias[:dead] = math.log(math.expm1(1.0 - model.cfg.var_eps))  # σ² = 1 exactly
        head.mu.weight[dead:] *= 20.0  # the live units move with x
    data = toy_images(40, seed=5, split="test")
    kl = resolve_model_metric("active-units-kl").compute(model, data, seed=0)
    cov = resolve_model_metric("active-units-cov").compute(model, data)
    assert kl.value == 10 - dead and kl.details["per_layer"] == [10 - dead]
    assert cov.value == 10 - dead
    assert max(kl.details["statistic_per_layer"][0][:dead]) < 1e-6


@pytest.fixture(scope="module")
def trained() -> LatentImageModel:
    model = make("ladder-vae", **{"model.layers": "2", "model.kl": "sample", "model.batch_norm": "false"})
    model.fit(TRAIN, VALID, Runner(RunnerConfig(max_epochs=30, device="cpu", seed=0, log_every=1000)))
    return model


def test_l1_equals_the_one_sample_elbo_with_the_same_noise(trained: LatentImageModel) -> None:
    x = VALID.pixels
    l1 = trained.log_likelihood(x, k=1, seed=3, batch_size=8)
    terms = trained.elbo_terms(x, seed=3, batch_size=8, draws=1)
    assert np.allclose(-l1, terms.rec + sum(terms.kl_layers), atol=1e-3)


def test_iw_nll_is_non_increasing_in_k_and_below_the_elbo(trained: LatentImageModel) -> None:
    data = toy_images(64, seed=9, split="test")
    elbo = resolve_model_metric("neg-elbo").compute(trained, data, seed=0)
    values = [
        resolve_model_metric(f"nll-iw-{k}").compute(trained, data, seed=0).value for k in (1, 10, 100, 1000)
    ]
    for a, b in itertools.pairwise(values):
        assert b <= a + 0.05
    assert values[-1] < elbo.value - 0.1
    assert abs(values[0] - elbo.value) < 4 * elbo.details["se"] + 0.5


def test_iw_bound_does_not_depend_on_how_k_is_chunked(
    trained: LatentImageModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunking changes which noise goes where, not the estimator: two chunkings agree within MC error,
    and the same chunking is bit-identical."""
    import textgen_eval.images.model as model_module

    x = VALID.pixels
    whole = trained.log_likelihood(x, k=400, seed=1, batch_size=16)
    assert np.array_equal(whole, trained.log_likelihood(x, k=400, seed=1, batch_size=16))
    monkeypatch.setattr(model_module, "IW_ROWS", 16 * 7)
    chunked = trained.log_likelihood(x, k=400, seed=1, batch_size=16)
    assert not np.array_equal(whole, chunked)
    assert abs(whole.mean() - chunked.mean()) < 0.5


def test_image_metric_signatures_name_every_setting(trained: LatentImageModel) -> None:
    data = toy_images(30, seed=2, split="test").take(20, seed=4)
    score = resolve_model_metric("nll-iw-50").compute(trained, data, seed=6)
    for part in (
        "k:50",
        "seed:6",
        "data:toy/test@",
        "[n=20,seed=4]",
        "bn:off",
        "unit:nats/image",
        "accumulate:float64",
    ):
        assert part in score.signature
    assert score.n == 20 and score.direction == "lower"


def test_recollected_batch_norm_statistics_are_the_training_set_averages() -> None:
    from textgen_eval.images.task import batch_norms, recollect_batch_norm

    model = make("vae", **{"model.batch_norm": "true", "model.bn_eval": "recollect"})
    net = model.init_net(TRAIN.shape)
    first = batch_norms(net)[0]
    recollect_batch_norm(net, TRAIN.pixels, 48, torch.device("cpu"))
    h = net.up[0].trunk[0](torch.from_numpy(TRAIN.pixels).float())  # the first dense layer's output
    assert torch.allclose(first.running_mean, h.mean(0), atol=1e-5)
    assert torch.allclose(first.running_var, h.var(0), atol=1e-4)
    assert first.momentum == 0.1 and not net.training


def test_every_builtin_image_model_and_metric_is_covered() -> None:
    from textgen_eval.core.models import model_registry
    from textgen_eval.metrics.registry import metric_class, metric_registry

    models = [
        e.name for e in model_registry.entries() if e.origin == "built-in" and e.load().modality == "image"
    ]
    # vae, ladder-vae: contract classes above; bnn: test_classifier.py; compound-vae: test_compound.py;
    # weight-vae: test_weight_vae.py
    assert sorted(models) == ["bnn", "compound-vae", "ladder-vae", "vae", "weight-vae"]
    builtin = [e.name for e in metric_registry.entries() if e.origin == "built-in"]
    metrics = [name for name in builtin if metric_class(name).modality == "image"]
    # each is exercised on a trained model here, in test_classifier.py and in tests/cli/test_image_cli.py
    assert sorted(metrics) == [
        "accuracy", "accuracy-drop", "active-units-cov", "active-units-kl", "brier", "compression-ratio",
        "compression-ratio-total", "ece", "kl-per-layer", "neg-elbo", "nll-iw", "nll-pred", "shift-entropy",
        "weight-kl",
    ]  # fmt: skip


def test_kl_per_layer_is_the_per_layer_mean_of_the_elbo_terms(trained: LatentImageModel) -> None:
    data = toy_images(20, seed=11, split="test")
    score = resolve_model_metric("kl-per-layer").compute(trained, data, seed=2, batch_size=8)
    terms = trained.elbo_terms(data.pixels, seed=2, batch_size=8, draws=1)
    assert score.details["per_layer"] == pytest.approx([float(k.mean()) for k in terms.kl_layers])
    assert len(score.details["per_layer"]) == 2 and score.value == pytest.approx(
        sum(score.details["per_layer"])
    )
    assert "kl:sample" in score.signature


def test_dynamic_binarization_resumes_exactly() -> None:
    """Grayscale data redrawn every epoch from (seed, epoch): a Ctrl-C mid-epoch and a resume give
    the uninterrupted run's weights."""
    from dataclasses import replace

    from textgen_eval.testing.image_contract import check_resume

    rng = np.random.default_rng(0)
    gray = rng.random(TRAIN.pixels.shape, dtype=np.float32) * 0.5 + 0.5 * TRAIN.pixels  # (N, D) in [0, 1]
    train = replace(TRAIN, pixels=gray, binary=False, digest="gray")
    check_resume(lambda: make("vae", **{"train.binarize": "dynamic"}), train, VALID)


def test_batch_norm_on_the_latent_heads_is_a_switch() -> None:
    with_heads = make("ladder-vae", **{"model.layers": "2"}).init_net(TRAIN.shape)
    without = make("ladder-vae", **{"model.layers": "2", "model.bn_heads": "false"}).init_net(TRAIN.shape)
    assert isinstance(with_heads.up[0].head.bn_mu, torch.nn.BatchNorm1d)
    assert isinstance(without.up[0].head.bn_mu, torch.nn.Identity)
    assert isinstance(without.up[0].trunk[1], torch.nn.BatchNorm1d)  # the dense layers keep theirs
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in without.output.modules())


@pytest.mark.parametrize(
    "sets",
    [
        {"model.layers": "3"},
        {"model.layers": "3", "model.kind": "vae"},
        {"model.layers": "1", "model.kind": "vae", "model.arch": "conv", "model.conv_channels": "4,6"},
    ],
)
def test_encoding_once_for_k_samples_equals_k_full_passes(sets: dict[str, str]) -> None:
    """The IW bound encodes each image once and draws K samples from the encoding: in eval mode that
    is exactly K passes over the repeated images with the same noise."""
    model = make("ladder-vae", **sets, **{"model.latents": "6,4,3", "model.conv_hidden": "10"})
    net = model.init_net(TRAIN.shape)
    x = torch.from_numpy(TRAIN.pixels[:5]).float()
    gens = [torch.Generator().manual_seed(3) for _ in range(2)]
    once = net.from_encoding(net.encode(x), lambda shape: torch.randn(shape, generator=gens[0]), copies=4)
    full = net(x.repeat(4, 1), lambda shape: torch.randn(shape, generator=gens[1]))
    assert torch.allclose(once.logits, full.logits, atol=1e-5)
    for a, b in zip(once.layers, full.layers, strict=True):
        assert torch.allclose(a.z, b.z, atol=1e-5) and torch.allclose(a.var_q, b.var_q, atol=1e-6)


def test_a_non_finite_bound_is_a_divergence_not_a_number() -> None:
    """A tuning trial whose model diverged is recorded as `diverged` (DivergenceError)."""
    from textgen_eval.core.errors import DivergenceError

    model = make("vae")
    net = model.init_net(TRAIN.shape)
    with torch.no_grad():
        net.output.bias[0] = float("nan")
    with pytest.raises(DivergenceError, match="not finite for 4 of 4 images"):
        resolve_model_metric("nll-iw-3").compute(model, toy_images(4, seed=1, split="test"))
