"""The contract every generator (built-in or plugin) must satisfy.

``factory()`` returns a fresh, untrained generator (use tiny sizes). Each check trains it for a
step or two with the shared runner on CPU and raises ``AssertionError`` saying what was
expected. :class:`GeneratorContract` exposes the checks as pytest tests.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from textgen_eval.generators.base import Generator
from textgen_eval.generators.registry import load_generator
from textgen_eval.testing.metric_contract import DEFAULT_REFERENCES, DEFAULT_SAMPLES
from textgen_eval.training import Runner, RunnerConfig
from textgen_eval.training.callbacks import Callback

GeneratorFactory = Callable[[], Generator]
TRAIN_TEXTS: tuple[str, ...] = tuple(s for s in DEFAULT_SAMPLES + DEFAULT_REFERENCES if s) * 4


class _Watch(Callback):
    def __init__(self) -> None:
        self.initial: dict[str, Any] | None = None
        self.losses: list[Mapping[str, float]] = []

    def on_start(self, runner: Runner, state: Any) -> None:
        module = runner.task.module if runner.task is not None else None
        if module is not None:
            self.initial = {k: v.detach().clone() for k, v in module.state_dict().items()}

    def on_step(self, runner: Runner, state: Any, losses: Mapping[str, float]) -> None:
        self.losses.append(dict(losses))


def _fit(factory: GeneratorFactory, texts: Sequence[str], steps: int = 2) -> tuple[Generator, _Watch]:
    model = factory()
    watch = _Watch()
    runner = Runner(RunnerConfig(max_steps=steps, max_epochs=100, device="cpu", seed=0), callbacks=[watch])
    model.fit(list(texts), list(texts[:4]), runner)
    return model, watch


def check_finite_loss(factory: GeneratorFactory, texts: Sequence[str]) -> None:
    _, watch = _fit(factory, texts)
    assert watch.losses, "fit() ran no training step through the runner"
    for record in watch.losses:
        for key, value in record.items():
            assert math.isfinite(value), f"training loss {key} is not finite: {value}"


def check_step_changes_weights(factory: GeneratorFactory, texts: Sequence[str]) -> None:
    model, watch = _fit(factory, texts, steps=1)
    assert watch.initial is not None, "the runner's task must expose its torch module as task.module"
    after = model.state_dict()
    changed = [
        k for k, v in watch.initial.items() if k in after and not bool((after[k].cpu() == v.cpu()).all())
    ]
    assert changed, "one optimizer step left every weight unchanged"


def check_seeded_sampling(factory: GeneratorFactory, texts: Sequence[str]) -> None:
    model, _ = _fit(factory, texts)
    first = model.sample(6, max_len=12, seed=7)
    second = model.sample(6, max_len=12, seed=7)
    assert isinstance(first, list) and len(first) == 6 and all(isinstance(s, str) for s in first), (
        "sample(n) must return a list of n strings"
    )
    assert first == second, "sample() with the same seed must return the same sentences"


def check_save_load(factory: GeneratorFactory, texts: Sequence[str]) -> None:
    model, _ = _fit(factory, texts)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp)
        loaded = load_generator(tmp)
    assert type(loaded) is type(model), f"load_generator returned {type(loaded).__name__}"
    assert loaded.sample(6, max_len=12, seed=3) == model.sample(6, max_len=12, seed=3), (
        "a saved and reloaded generator must sample the same sentences for the same seed"
    )
    before, after = model.state_dict(), loaded.state_dict()
    assert before.keys() == after.keys(), "reloaded weights have different names"
    for key in before:
        assert bool((before[key].cpu() == after[key].cpu()).all()), f"reloaded weight {key} differs"
    try:
        original = model.score_texts(list(texts[:4]))
    except NotImplementedError:
        return
    again = loaded.score_texts(list(texts[:4]))
    assert (original.nll == again.nll).all(), "a reloaded generator must give identical likelihoods"


GENERATOR_CHECKS: dict[str, Callable[[GeneratorFactory, Sequence[str]], None]] = {
    "finite_loss": check_finite_loss,
    "step_changes_weights": check_step_changes_weights,
    "seeded_sampling": check_seeded_sampling,
    "save_load": check_save_load,
}


def check_generator(factory: GeneratorFactory, texts: Sequence[str] = TRAIN_TEXTS) -> None:
    for check in GENERATOR_CHECKS.values():
        check(factory, texts)


class GeneratorContract:
    """Subclass with ``def make_generator(self)`` returning a fresh tiny generator."""

    texts: ClassVar[Sequence[str]] = TRAIN_TEXTS

    def make_generator(self) -> Generator:
        raise NotImplementedError

    def _run(self, name: str) -> None:
        GENERATOR_CHECKS[name](self.make_generator, self.texts)

    def test_finite_loss(self) -> None:
        self._run("finite_loss")

    def test_step_changes_weights(self) -> None:
        self._run("step_changes_weights")

    def test_seeded_sampling(self) -> None:
        self._run("seeded_sampling")

    def test_save_load(self) -> None:
        self._run("save_load")
