"""``bnn``: MAP, Bayes-by-Backprop and SG-HMC inference on the shared runner — each optimizer moves
its own parameters, kept samples survive Ctrl-C and resume, predictions are seeded and survive
save → load, and the classifier metrics agree with the predictive distribution."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from textgen_eval.core.config import build_sections
from textgen_eval.core.errors import ConfigError, TrainingInterrupted
from textgen_eval.core.models import load_model, model_class
from textgen_eval.data.images import ImageSplit, array_digest
from textgen_eval.images.classifier import BayesianClassifier, SamplerConfig
from textgen_eval.metrics.calibration import accuracy, expected_calibration_error
from textgen_eval.metrics.registry import resolve_model_metric
from textgen_eval.testing.generator_contract import _InterruptAt, _Ownership, _runner


def toy_labelled(n: int, seed: int, split: str) -> ImageSplit:
    """Two classes of 8×8 binary images: a bar in the top or the bottom half, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = rng.random((n, 8, 8)) < 0.05
    for i, y in enumerate(labels):
        images[i, rng.integers(0, 4) + 4 * y, :] = True
    pixels = images.reshape(n, 64).astype(np.uint8)
    return ImageSplit("toy", split, pixels, (1, 8, 8), True, array_digest(pixels), labels=labels)


TRAIN, VALID = toy_labelled(60, 0, "train"), toy_labelled(20, 1, "valid")
SAMPLER = {"sampler.burn_in": "4", "sampler.thin": "2", "sampler.samples": "3"}


def make(inference: str, **sets: str) -> BayesianClassifier:
    cls = model_class("bnn")
    overrides = {"model.hidden": "8", "model.classes": "2", "model.inference": inference,
                 "train.batch_size": "16", **SAMPLER, **sets}  # fmt: skip
    model = cls(build_sections(dict(cls.config_sections), {}, overrides))
    assert isinstance(model, BayesianClassifier)
    return model


@pytest.mark.parametrize("inference", ["map", "bbb", "sghmc"])
def test_each_update_moves_only_its_optimizers_parameters(inference: str) -> None:
    watch = _Ownership()
    make(inference).fit(TRAIN, VALID, _runner(cap=6, callbacks=[watch]))
    assert not watch.problems, watch.problems
    assert watch.seen


@pytest.mark.parametrize("inference", ["map", "bbb", "sghmc"])
def test_predictions_are_seeded_and_survive_save_and_load(inference: str) -> None:
    model = make(inference)
    model.fit(TRAIN, VALID, _runner(cap=12))
    probs = model.predict_proba(VALID.pixels, seed=3)
    assert probs.shape == (20, 2) and np.allclose(probs.sum(1), 1.0)
    assert np.array_equal(probs, model.predict_proba(VALID.pixels, seed=3))
    if inference == "bbb":  # weight draws: another seed, other predictions
        assert not np.array_equal(probs, model.predict_proba(VALID.pixels, seed=4))
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp)
        loaded = load_model(tmp)
    assert isinstance(loaded, BayesianClassifier)
    assert np.array_equal(loaded.predict_proba(VALID.pixels, seed=3), probs)


def test_sghmc_keeps_the_configured_samples_at_the_configured_steps() -> None:
    model = make("sghmc")
    result = model.fit(TRAIN, VALID, _runner(cap=1000))
    assert result.steps == 4 + 2 * 3 + 1 and result.stopped == "max_steps"
    assert model.samples.shape[0] == 3
    assert len({tuple(s[:5].tolist()) for s in model.samples}) == 3  # three different states


def test_kept_samples_survive_ctrl_c_and_resume() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        straight = make("sghmc")
        straight.fit(TRAIN, VALID, _runner(cap=1000, run_dir=Path(tmp) / "a"))
        for k in (3, 7):  # during burn-in, and after two samples were kept
            run_dir = Path(tmp) / f"b{k}"
            with pytest.raises(TrainingInterrupted):
                make("sghmc").fit(
                    TRAIN, VALID, _runner(cap=1000, run_dir=run_dir, callbacks=[_InterruptAt("sample", k)])
                )
            resumed = make("sghmc")
            resumed.fit(TRAIN, VALID, _runner(cap=1000, run_dir=run_dir), resume=True)
            assert torch.equal(resumed.samples, straight.samples)


def test_sghmc_refuses_clipping_and_lr_schedules() -> None:
    from textgen_eval.training import Runner, RunnerConfig

    with pytest.raises(ConfigError, match="stationary distribution"):
        make("sghmc").fit(TRAIN, VALID, Runner(RunnerConfig(grad_clip=1.0, device="cpu")))


def test_sampler_settings_map_to_the_optimizer_convention() -> None:
    eta, c = SamplerConfig(lr=1e-2, friction=0.05).optimizer_settings(7000)
    assert eta == pytest.approx((1e-2 / 7000) ** 0.5) and eta * c == pytest.approx(0.05)
    with pytest.raises(ValueError, match=r"must be in \(0, 1\)"):
        SamplerConfig(friction=1.0)


def test_classifier_metrics_agree_with_the_predictive_distribution() -> None:
    model = make("map")
    model.fit(TRAIN, VALID, _runner(cap=30))
    probs = model.predict_proba(VALID.pixels, seed=0)
    assert VALID.labels is not None
    acc = resolve_model_metric("accuracy").compute(model, VALID, seed=0)
    ece = resolve_model_metric("ece-10").compute(model, VALID, seed=0)
    assert acc.value == accuracy(probs, VALID.labels) and acc.direction == "higher"
    assert ece.value == pytest.approx(expected_calibration_error(probs, VALID.labels, bins=10))
    assert (
        "bins:10" in ece.signature and "model:bnn/map" in ece.signature and "data:toy/valid@" in ece.signature
    )
    shift = resolve_model_metric("shift-entropy").compute(model, VALID, seed=0)
    assert shift.value >= 0 and "rotation:60.0" in shift.signature
    unlabelled = ImageSplit("toy", "x", VALID.pixels, VALID.shape, True, "d")
    with pytest.raises(ConfigError, match="needs labelled images"):
        resolve_model_metric("brier").compute(model, unlabelled)
