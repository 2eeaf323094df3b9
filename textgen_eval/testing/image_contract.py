"""The contract every latent-variable image model (built-in or plugin) must satisfy.

``factory()`` returns a fresh, untrained model (tiny sizes); the checks train it for a few steps
with the shared runner on CPU on a small seeded set of binary images and raise ``AssertionError``
saying what was expected: a finite loss, an update that moves the optimizer's own parameters and
nothing else, seeded sampling, save → load identical (weights, samples and likelihood bounds),
and a Ctrl-C + resume equal to the uninterrupted run. :class:`ImageModelContract` exposes them as
pytest tests.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from textgen_eval.core.errors import TrainingInterrupted
from textgen_eval.core.models import load_model
from textgen_eval.data.images import ImageSplit, array_digest
from textgen_eval.testing.generator_contract import _InterruptAt, _Ownership, _runner, _Watch

ImageModelFactory = Callable[[], Any]


def toy_images(n: int = 48, *, side: int = 8, seed: int = 0, split: str = "train") -> ImageSplit:
    """``n`` binary ``side × side`` images: random bars plus pixel noise (seeded)."""
    rng = np.random.default_rng(seed)
    images = rng.random((n, side, side)) < 0.05
    for i in range(n):
        if i % 2:
            images[i, rng.integers(side), :] = True
        else:
            images[i, :, rng.integers(side)] = True
    pixels = images.reshape(n, side * side).astype(np.uint8)  # (n, H, W) → (n, H·W)
    return ImageSplit("toy", split, pixels, (1, side, side), True, array_digest(pixels))


TRAIN = toy_images(48)
VALID = toy_images(16, seed=1, split="valid")


def _fit(factory: ImageModelFactory, steps: int = 3) -> tuple[Any, _Watch]:
    model = factory()
    watch = _Watch()
    model.fit(TRAIN, VALID, _runner(cap=steps, callbacks=[watch]))
    return model, watch


def check_finite_loss(factory: ImageModelFactory) -> None:
    _, watch = _fit(factory)
    assert watch.losses, "fit() ran no training step through the runner"
    for record in watch.losses:
        for key, value in record.items():
            assert math.isfinite(value), f"training loss {key} is not finite: {value}"


def check_step_changes_weights(factory: ImageModelFactory) -> None:
    model, watch = _fit(factory, steps=1)
    assert watch.initial is not None, "the runner's task must expose its torch module as task.module"
    after = model.state_dict()
    changed = [k for k, v in watch.initial.items() if k in after and not torch.equal(after[k].cpu(), v.cpu())]
    assert changed, "one optimizer step left every weight unchanged"


def check_optimizers_own_their_parameters(factory: ImageModelFactory) -> None:
    watch = _Ownership()
    factory().fit(TRAIN, VALID, _runner(cap=4, callbacks=[watch]))
    assert not watch.problems, "; ".join(watch.problems[:5])
    assert watch.seen, "no optimizer ever stepped"


def check_seeded_sampling(factory: ImageModelFactory) -> None:
    model, _ = _fit(factory)
    first, second = model.sample(5, seed=7), model.sample(5, seed=7)
    assert first.shape == (5, *TRAIN.shape), f"sample(5) has shape {first.shape}, expected (5, {TRAIN.shape})"
    assert first.min() >= 0.0 and first.max() <= 1.0, "samples must be Bernoulli means in [0, 1]"
    assert np.array_equal(first, second), "sample() with the same seed must return the same images"
    assert not np.array_equal(first, model.sample(5, seed=8)), "different seeds gave identical samples"


def check_save_load(factory: ImageModelFactory) -> None:
    model, _ = _fit(factory)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp)
        loaded: Any = load_model(tmp)
    assert type(loaded) is type(model), f"load_model returned {type(loaded).__name__}"
    before, after = model.state_dict(), loaded.state_dict()
    assert before.keys() == after.keys(), "reloaded weights have different names"
    for key in before:
        assert torch.equal(before[key].cpu(), after[key].cpu()), f"reloaded weight {key} differs"
    assert np.array_equal(model.sample(4, seed=3), loaded.sample(4, seed=3)), "reloaded samples differ"
    x = VALID.pixels[:6]
    a = model.log_likelihood(x, k=5, seed=1, batch_size=4)
    b = loaded.log_likelihood(x, k=5, seed=1, batch_size=4)
    assert np.array_equal(a, b), "a reloaded model must give identical likelihood bounds for the same seed"


def check_resume(factory: ImageModelFactory, train: ImageSplit = TRAIN, valid: ImageSplit = VALID) -> None:
    """Ctrl-C after the first, a middle and the last update, then resume: weights and samples equal
    the uninterrupted run's (mid-epoch included: the toy set has several batches per epoch)."""
    cap = 7
    with tempfile.TemporaryDirectory() as tmp:
        straight = factory()
        result = straight.fit(train, valid, _runner(cap=cap, run_dir=Path(tmp) / "a"))
        reference = {k: v.clone() for k, v in straight.state_dict().items()}
        for i, k in enumerate(sorted({1, result.steps // 2, result.steps})):
            run_dir = Path(tmp) / f"b{i}"
            try:
                factory().fit(
                    train, valid, _runner(cap=cap, run_dir=run_dir, callbacks=[_InterruptAt("train", k)])
                )
            except TrainingInterrupted:
                pass
            else:
                raise AssertionError(f"Ctrl-C at step {k} did not interrupt training")
            resumed = factory()
            again = resumed.fit(train, valid, _runner(cap=cap, run_dir=run_dir), resume=True)
            assert again.steps == result.steps, (
                f"resumed after step {k}: {again.steps} steps, expected {result.steps}"
            )
            state = resumed.state_dict()
            for key, value in reference.items():
                assert torch.equal(value, state[key]), f"resumed after step {k}: weight {key} differs"
            assert np.array_equal(resumed.sample(3, seed=2), straight.sample(3, seed=2)), "samples differ"


IMAGE_CHECKS: dict[str, Callable[[ImageModelFactory], None]] = {
    "finite_loss": check_finite_loss,
    "step_changes_weights": check_step_changes_weights,
    "optimizers_own_their_parameters": check_optimizers_own_their_parameters,
    "seeded_sampling": check_seeded_sampling,
    "save_load": check_save_load,
    "resume": check_resume,
}


class ImageModelContract:
    """Subclass with ``def make_model(self)`` returning a fresh tiny image model."""

    checks: ClassVar[tuple[str, ...]] = tuple(IMAGE_CHECKS)

    def make_model(self) -> Any:
        raise NotImplementedError

    def test_finite_loss(self) -> None:
        check_finite_loss(self.make_model)

    def test_step_changes_weights(self) -> None:
        check_step_changes_weights(self.make_model)

    def test_optimizers_own_their_parameters(self) -> None:
        check_optimizers_own_their_parameters(self.make_model)

    def test_seeded_sampling(self) -> None:
        check_seeded_sampling(self.make_model)

    def test_save_load(self) -> None:
        check_save_load(self.make_model)

    def test_resume(self) -> None:
        check_resume(self.make_model)
