"""``weight-vae``: two stages (target classifier, then the VAE over its parameter chunks) with
optimizers that move only their own network, exact resume across the stage boundary, reuse of a
trained target, and a compression report whose ratios are the closed forms."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from textgen_eval.core.config import build_sections
from textgen_eval.core.errors import TrainingInterrupted
from textgen_eval.core.models import model_class
from textgen_eval.data.images import load_mnist_labelled
from textgen_eval.images.weight_vae import WeightVAE
from textgen_eval.metrics.registry import resolve_model_metric
from textgen_eval.testing.generator_contract import _InterruptAt, _Ownership, _runner

BUNDLE = load_mnist_labelled()
TRAIN = replace(BUNDLE.train, pixels=BUNDLE.train.pixels[:300], labels=BUNDLE.train.labels[:300])
VALID = replace(BUNDLE.valid, pixels=BUNDLE.valid.pixels[:100], labels=BUNDLE.valid.labels[:100])
TEST = replace(BUNDLE.test, pixels=BUNDLE.test.pixels[:200], labels=BUNDLE.test.labels[:200])
TINY = {"model.target_epochs": "2", "model.vae_epochs": "2", "model.copies": "5", "model.hidden": "32",
        "model.latent": "8", "model.batch_size": "16"}  # fmt: skip


def make(**sets: str) -> WeightVAE:
    cls = model_class("weight-vae")
    model = cls(build_sections(dict(cls.config_sections), {}, {**TINY, **sets}))
    assert isinstance(model, WeightVAE)
    return model


def test_each_stage_moves_only_its_own_network() -> None:
    watch = _Ownership()
    make().fit(TRAIN, VALID, _runner(cap=1000, callbacks=[watch]))
    assert not watch.problems, watch.problems
    assert watch.seen == {("target", "target"), ("vae", "vae")}


def test_resume_in_either_stage_equals_the_uninterrupted_run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        straight = make()
        straight.fit(TRAIN, VALID, _runner(cap=1000, run_dir=Path(tmp) / "a"))
        reference = straight.state_dict()
        for stage, k in (("target", 3), ("vae", 2)):
            run_dir = Path(tmp) / stage
            with pytest.raises(TrainingInterrupted):
                make().fit(
                    TRAIN, VALID, _runner(cap=1000, run_dir=run_dir, callbacks=[_InterruptAt(stage, k)])
                )
            resumed = make()
            resumed.fit(TRAIN, VALID, _runner(cap=1000, run_dir=run_dir), resume=True)
            for key, value in reference.items():
                assert torch.equal(value, resumed.state_dict()[key]), f"{stage}: {key} differs"


def test_a_trained_target_is_reused_and_only_the_vae_trains(tmp_path: Path) -> None:
    first = make()
    first.fit(TRAIN, VALID, _runner(cap=1000))
    first.save(tmp_path / "first")
    second = make(**{"model.target": str(tmp_path / "first")})
    result = second.fit(TRAIN, VALID, _runner(cap=1000))
    assert [s.name for s in result.stages] == ["vae"]
    for name, value in first.state_dict().items():
        if name.startswith("target."):
            assert torch.equal(value, second.state_dict()[name])


def test_the_compression_report_and_its_metrics() -> None:
    model = make()
    model.fit(TRAIN, VALID, _runner(cap=1000))
    report = model.compression_report(TEST)
    assert report.parameters == 185_300 and report.code_floats == 91 * 8
    assert report.decoder_parameters == (8 * 32 + 32) + (32 * 2048 + 2048)
    assert report.accuracy_quantised_8bit >= report.accuracy_original - 0.02  # 8 bits barely hurt
    assert all(
        0 <= a <= 1
        for a in (report.accuracy_reconstructed, report.accuracy_mean_code, report.accuracy_pruned)
    )
    assert set(report.relative_error) == {n for n, _ in model._net().target.named_parameters()}
    ratio = resolve_model_metric("compression-ratio").compute(model, TEST)
    total = resolve_model_metric("compression-ratio-total").compute(model, TEST)
    drop = resolve_model_metric("accuracy-drop").compute(model, TEST)
    assert ratio.value == pytest.approx(185_300 / (91 * 8))
    assert total.value == pytest.approx(185_300 / (91 * 8 + report.decoder_parameters))
    assert drop.value == pytest.approx(report.accuracy_original - report.accuracy_reconstructed)
    assert "latent:8" in drop.signature and "chunk:2048" in drop.signature and drop.direction == "lower"
