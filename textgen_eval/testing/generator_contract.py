"""The contract every generator (built-in or plugin) must satisfy.

``factory()`` returns a fresh, untrained generator (use tiny sizes). Each check trains it for a
few steps per stage with the shared runner on CPU and raises ``AssertionError`` saying what was
expected. :class:`GeneratorContract` exposes the checks as pytest tests.

The checks target the bugs text generators actually have: an optimizer that moves another
network's weights (generator loss leaking into the discriminator) or none at all (a GAN whose
generator never updates), a resume that is not the uninterrupted run (in any stage, across a
stage boundary), unseeded sampling, and saved models that sample or score differently.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from textgen_eval.core.errors import TrainingInterrupted
from textgen_eval.core.training import Stage, StepContext, TrainResult
from textgen_eval.generators.base import Generator
from textgen_eval.generators.registry import load_generator
from textgen_eval.testing.metric_contract import DEFAULT_REFERENCES, DEFAULT_SAMPLES
from textgen_eval.training import Runner, RunnerConfig
from textgen_eval.training.callbacks import Callback
from textgen_eval.training.state import TrainState

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


def _runner(*, cap: int, run_dir: Path | None = None, callbacks: Sequence[Callback] = ()) -> Runner:
    config = RunnerConfig(max_epochs=100, device="cpu", seed=0, checkpoint_every=1000)
    return Runner(config, run_dir=run_dir, callbacks=callbacks, max_steps=cap, task_config={"contract": True})


def _fit(factory: GeneratorFactory, texts: Sequence[str], steps: int = 2) -> tuple[Generator, _Watch]:
    model = factory()
    watch = _Watch()
    model.fit(list(texts), list(texts[:4]), _runner(cap=steps, callbacks=[watch]))
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
    assert (original.estimate, original.importance_samples) == (again.estimate, again.importance_samples)


# -- optimizers and stages ---------------------------------------------------------------------------


def steps_to_cover(stage: Stage) -> int:
    """Updates of ``stage`` until each of its optimizers has stepped once."""
    pending = set(stage.schedule.optimizers())
    step = 0
    while pending:
        pending.discard(stage.schedule.at(step).optimizer)
        step += 1
    return step


class _Ownership(Callback):
    """Before each update, snapshot every parameter; after it, compare."""

    def __init__(self) -> None:
        self.before: dict[int, torch.Tensor] = {}
        self.ctx: StepContext | None = None
        self.problems: list[str] = []
        self.seen: set[tuple[str, str]] = set()
        self.declared: set[tuple[str, str]] = set()
        self.cover = 1

    def on_start(self, runner: Runner, state: TrainState) -> None:
        assert runner.task is not None
        together: list[frozenset[str]] = []
        for stage in runner.task.stages():
            self.declared |= {(stage.name, opt) for opt in stage.schedule.optimizers()}
            together.append(stage.schedule.optimizers())
        names = {id(p): n for n, p in runner.task.module.named_parameters()}
        owners: dict[int, list[str]] = {}
        for opt_name, opt in runner.task.optimizers().items():
            for group in opt.param_groups:
                for p in group["params"]:
                    owners.setdefault(id(p), []).append(opt_name)
        # two optimizers may share parameters only if no stage steps both (an MLE optimizer and
        # an adversarial one over the same generator); a discriminator optimizer over
        # model.parameters() that also moves the generator is the bug this catches
        shared = sorted(
            f"{names.get(i, '?')} ({', '.join(o)})"
            for i, o in owners.items()
            if any(len(set(o) & stage_opts) > 1 for stage_opts in together)
        )
        if shared:
            self.problems.append(f"parameters in more than one optimizer of a stage: {', '.join(shared[:5])}")

    def on_update_start(self, runner: Runner, ctx: StepContext) -> None:
        assert runner.task is not None
        self.ctx = ctx
        self.before = {id(p): p.detach().clone() for p in runner.task.module.parameters()}

    def on_step(self, runner: Runner, state: TrainState, losses: Mapping[str, float]) -> None:
        assert runner.task is not None and self.ctx is not None
        ctx = self.ctx
        owned = {id(p) for g in runner.task.optimizers()[ctx.optimizer].param_groups for p in g["params"]}
        names = {id(p): n for n, p in runner.task.module.named_parameters()}
        moved_own, moved_other = False, []
        for p in runner.task.module.parameters():
            changed = not torch.equal(p.detach(), self.before[id(p)])
            if changed and id(p) in owned:
                moved_own = True
            elif changed:
                moved_other.append(names.get(id(p), "?"))
        where = f"stage {ctx.stage!r}, step {ctx.step}, optimizer {ctx.optimizer!r}"
        if not moved_own:
            self.problems.append(f"{where}: none of the optimizer's own parameters changed")
        if moved_other:
            self.problems.append(f"{where}: parameters it does not own changed: {', '.join(moved_other)}")
        self.seen.add((ctx.stage, ctx.optimizer))


def check_optimizers_own_their_parameters(factory: GeneratorFactory, texts: Sequence[str]) -> None:
    """Every optimizer of every stage moves some of its own parameters and nothing else."""
    model = factory()
    watch = _Ownership()
    cap = max(6, 2 * _cover_steps(factory, texts))
    model.fit(list(texts), list(texts[:4]), _runner(cap=cap, callbacks=[watch]))
    assert not watch.problems, "; ".join(watch.problems[:5])
    missing = sorted(watch.declared - watch.seen)
    assert not missing, f"these (stage, optimizer) pairs never stepped in {cap} updates per stage: {missing}"


class _StagesOf(Callback):
    def __init__(self) -> None:
        self.cover = 1

    def on_start(self, runner: Runner, state: TrainState) -> None:
        assert runner.task is not None
        self.cover = max(steps_to_cover(s) for s in runner.task.stages())
        raise _ProbeDoneError


class _ProbeDoneError(Exception):
    """Raised by the probe once it has read the stages (nothing is trained)."""


def _cover_steps(factory: GeneratorFactory, texts: Sequence[str]) -> int:
    probe = _StagesOf()
    with contextlib.suppress(_ProbeDoneError):
        factory().fit(list(texts), list(texts[:4]), _runner(cap=1, callbacks=[probe]))
    return probe.cover


class _InterruptAt(Callback):
    def __init__(self, stage: str, stage_step: int) -> None:
        self.stage, self.stage_step = stage, stage_step

    def on_step(self, runner: Runner, state: TrainState, losses: Mapping[str, float]) -> None:
        if state.stage == self.stage and state.stage_step == self.stage_step:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does


def check_resume_in_every_stage(factory: GeneratorFactory, texts: Sequence[str]) -> None:
    """Ctrl-C after the first, a middle and the last update of each stage (the last one is the stage
    boundary), then ``--resume``: the weights, samples and step counts equal the uninterrupted run's."""
    cap = max(6, 2 * _cover_steps(factory, texts))
    with tempfile.TemporaryDirectory() as tmp:
        train, valid = list(texts), list(texts[:4])
        straight = factory()
        result: TrainResult = straight.fit(train, valid, _runner(cap=cap, run_dir=Path(tmp) / "a"))
        reference = {k: v.clone() for k, v in straight.state_dict().items()}
        expected_samples = straight.sample(5, max_len=12, seed=11)
        points = sorted({(s.name, k) for s in result.stages for k in (1, s.steps // 2, s.steps) if k >= 1})
        for i, (stage, k) in enumerate(points):
            run_dir = Path(tmp) / f"b{i}"
            try:
                stop = _InterruptAt(stage, k)
                factory().fit(train, valid, _runner(cap=cap, run_dir=run_dir, callbacks=[stop]))
            except TrainingInterrupted:
                pass
            else:
                raise AssertionError(f"Ctrl-C at step {k} of stage {stage!r} did not interrupt training")
            resumed = factory()
            again = resumed.fit(train, valid, _runner(cap=cap, run_dir=run_dir), resume=True)
            where = f"resumed after step {k} of stage {stage!r}"
            assert again.steps == result.steps, f"{where}: {again.steps} steps, uninterrupted {result.steps}"
            assert [s.steps for s in again.stages] == [s.steps for s in result.stages], where
            state = resumed.state_dict()
            for key, value in reference.items():
                assert torch.equal(value, state[key]), (
                    f"{where}: weight {key} differs from the uninterrupted run"
                )
            assert resumed.sample(5, max_len=12, seed=11) == expected_samples, f"{where}: samples differ"


GENERATOR_CHECKS: dict[str, Callable[[GeneratorFactory, Sequence[str]], None]] = {
    "finite_loss": check_finite_loss,
    "step_changes_weights": check_step_changes_weights,
    "seeded_sampling": check_seeded_sampling,
    "save_load": check_save_load,
    "optimizers_own_their_parameters": check_optimizers_own_their_parameters,
    "resume_in_every_stage": check_resume_in_every_stage,
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

    def test_optimizers_own_their_parameters(self) -> None:
        self._run("optimizers_own_their_parameters")

    def test_resume_in_every_stage(self) -> None:
        self._run("resume_in_every_stage")
