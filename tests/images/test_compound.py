"""``compound-vae``: the image-model contract for each encoder, the weight KL in the loss and in
the log, and seeded bounds despite random encoder weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from textgen_eval.core.config import build_sections
from textgen_eval.core.models import model_class
from textgen_eval.images.compound import CompoundNet, CompoundVAE
from textgen_eval.testing.image_contract import TRAIN, VALID, ImageModelContract
from textgen_eval.training import Runner, RunnerConfig


def make(encoder: str, **sets: str) -> CompoundVAE:
    cls = model_class("compound-vae")
    overrides = {
        "model.encoder": encoder,
        "model.hidden": "12",
        "model.latent": "3",
        "train.batch_size": "16",
        **sets,
    }
    model = cls(build_sections(dict(cls.config_sections), {}, overrides))
    assert isinstance(model, CompoundVAE)
    return model


class TestVanillaEncoderContract(ImageModelContract):
    def make_model(self) -> Any:
        return make("vanilla")


class TestBayesEncoderContract(ImageModelContract):
    def make_model(self) -> Any:
        return make("bnn", **{"model.prior": "gaussian"})


class TestDynamicEncoderContract(ImageModelContract):
    def make_model(self) -> Any:
        return make("dbnn", **{"model.weight_kl_scheme": "uniform"})


@pytest.mark.parametrize("encoder", ["vanilla", "bnn", "dbnn"])
def test_the_weight_kl_is_logged_and_only_for_random_weights(encoder: str, tmp_path: Path) -> None:
    config = RunnerConfig(max_epochs=1, device="cpu", log_every=1)
    make(encoder).fit(TRAIN, VALID, Runner(config, run_dir=tmp_path))
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    train = [r for r in records if r.get("event") == "train"]
    assert len(train) == 3  # 48 images in batches of 16
    kls = [r["weight_kl"] for r in train]
    weights = [r["weight_kl_weight"] for r in train]
    if encoder == "vanilla":
        assert kls == [0.0, 0.0, 0.0]
    else:
        assert all(k > 0 for k in kls)
    assert weights == pytest.approx([4 / 7, 2 / 7, 1 / 7])  # Blundell's πᵢ for M = 3, summing to 1


def test_dbnn_heads_draw_weights_per_image() -> None:
    model = make("dbnn")
    net = model.init_net(TRAIN.shape)
    assert isinstance(net, CompoundNet)
    import torch

    x = torch.from_numpy(np.repeat(TRAIN.pixels[:1], 2, axis=0)).float()  # the same image twice
    net.train()
    ((mu, _),) = net.encode(x)
    assert not torch.allclose(mu[0], mu[1])  # same input, different weight draws per image
    static, dynamic = net.weight_kl()
    assert dynamic.shape == (2,) and static.ndim == 0


def test_bounds_are_seeded_despite_random_encoder_weights() -> None:
    model = make("dbnn")
    model.fit(TRAIN, VALID, Runner(RunnerConfig(max_epochs=2, device="cpu", log_every=1000)))
    a = model.log_likelihood(VALID.pixels, k=7, seed=4, batch_size=8)
    assert np.array_equal(a, model.log_likelihood(VALID.pixels, k=7, seed=4, batch_size=8))
    assert not np.array_equal(a, model.log_likelihood(VALID.pixels, k=7, seed=5, batch_size=8))
    assert "compound-vae/dbnn" in str(model.evaluation_settings()["model"])


def test_the_weight_kl_metric_reports_static_and_dynamic_parts() -> None:
    from textgen_eval.metrics.registry import resolve_model_metric

    for encoder in ("vanilla", "bnn", "dbnn"):
        model = make(encoder)
        model.fit(TRAIN, VALID, Runner(RunnerConfig(max_epochs=1, device="cpu", log_every=1000)))
        score = resolve_model_metric("weight-kl").compute(model, VALID, seed=1, batch_size=8)
        assert score.value == pytest.approx(score.details["static"] + score.details["dynamic_per_image"])
        if encoder == "vanilla":
            assert score.value == 0.0
        else:
            assert score.details["static"] > 0
        assert (score.details["dynamic_per_image"] != 0) == (encoder == "dbnn")
        assert (
            score.value == resolve_model_metric("weight-kl").compute(model, VALID, seed=1, batch_size=8).value
        )
