"""Training stages on the tiny adversarial model: the shipped contract (ownership of parameters,
Ctrl-C and resume in every stage and across stage boundaries), alternation, data-free updates,
per-stage records, LM initialisation, and the contract catching the bugs it exists for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.conftest import coco_lines
from tests.tiny_gan import AdversarialConfig, TinyGAN, TinyGANTask
from textgen_eval.core.models import model_registry
from textgen_eval.core.training import Cycle, Stage, StepContext, Update, Warmup
from textgen_eval.generators.lstm_lm.config import LSTMLMConfig, TrainConfig
from textgen_eval.generators.lstm_lm.model import LSTMLanguageModel
from textgen_eval.generators.text.sampler import sample_tokens
from textgen_eval.testing import GENERATOR_CHECKS, GeneratorContract
from textgen_eval.training import Runner, RunnerConfig
from textgen_eval.training.callbacks import Callback

TEXTS = [s for s in coco_lines("train")[:48] if s]


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    """Saved tiny-gan models load through the model registry, like any plugin's."""
    model_registry.register("tiny-gan", TinyGAN, origin="tests")
    yield
    model_registry.unregister("tiny-gan")


def tiny_gan(**adv: object) -> TinyGAN:
    return TinyGAN(
        {
            "model": LSTMLMConfig(emb_dim=8, hidden_size=8, max_len=20),
            "train": TrainConfig(batch_size=8, lr=1e-2),
            "adversarial": AdversarialConfig(**adv),  # type: ignore[arg-type]
        }
    )


class TestTinyGANThroughTheShippedContract(GeneratorContract):
    texts = TEXTS

    def make_generator(self) -> TinyGAN:
        return tiny_gan()


class Record(Callback):
    def __init__(self) -> None:
        self.contexts: list[StepContext] = []

    def on_update_start(self, runner, ctx) -> None:
        self.contexts.append(ctx)


def test_stages_run_in_order_with_alternation_and_data_free_updates(tmp_path: Path) -> None:
    model, record = tiny_gan(), Record()
    runner = Runner(RunnerConfig(device="cpu", seed=1, log_every=1), run_dir=tmp_path, callbacks=[record])
    result = model.fit(TEXTS, TEXTS[:8], runner)
    names = [s.name for s in result.stages]
    assert names == ["pretrain-g", "pretrain-d", "adversarial"]
    pre_g, pre_d, adv = result.stages
    assert pre_g.stopped == "max_epochs" and pre_g.epochs == 2 and pre_g.steps == 2 * 6  # 48 texts / 8
    assert (pre_d.steps, pre_d.stopped) == (3, "max_steps") and (adv.steps, adv.stopped) == (6, "max_steps")
    adversarial = [c for c in record.contexts if c.stage == "adversarial"]
    assert [c.optimizer for c in adversarial] == ["disc", "disc", "gen"] * 2
    # a data-free update consumes no batch: the batch index advances only on discriminator updates
    assert [c.batch_in_epoch for c in adversarial] == [0, 1, 2, 2, 3, 4]
    first = record.contexts[0]
    assert (first.stage, first.step, first.stage_step, first.batches_per_epoch, first.num_data) == (
        "pretrain-g",
        0,
        0,
        6,
        48,
    )
    assert [c.step for c in record.contexts] == list(range(result.steps))
    # every log record is tagged with its stage; run.json lists the stages
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    train_stages = [r["stage"] for r in log if r["event"] == "train"]
    assert train_stages == ["pretrain-g"] * 12 + ["pretrain-d"] * 3 + ["adversarial"] * 6
    assert [r["stage"] for r in log if r["event"] == "stage_end"] == names
    info = json.loads((tmp_path / "run.json").read_text())
    assert [s["name"] for s in info["stages"]] == names
    assert info["stages"][2]["schedule"] == "disc×2 gen×1(no data)"


def test_max_steps_caps_every_stage(tmp_path: Path) -> None:
    runner = Runner(RunnerConfig(device="cpu"), run_dir=tmp_path, max_steps=2)
    result = tiny_gan().fit(TEXTS, TEXTS[:8], runner)
    assert [s.steps for s in result.stages] == [2, 2, 2]
    assert json.loads((tmp_path / "run.json").read_text())["max_steps"] == 2


def test_generator_initialised_from_a_saved_lm_has_its_weights_and_samples(tmp_path: Path) -> None:
    lm = LSTMLanguageModel(
        {"model": LSTMLMConfig(emb_dim=8, hidden_size=8, max_len=20), "train": TrainConfig(batch_size=8)}
    )
    lm.fit(TEXTS, None, Runner(RunnerConfig(device="cpu", max_epochs=1)))
    lm.save(tmp_path / "lm")
    gan = tiny_gan(init_from=str(tmp_path / "lm"))
    gan.initialise()
    gen_state = {k.removeprefix("gen."): v for k, v in gan.state_dict().items() if k.startswith("gen.")}
    assert gen_state.keys() == lm.state_dict().keys()
    assert all(torch.equal(gen_state[k], v) for k, v in lm.state_dict().items())
    assert gan.sample(20, seed=5, max_len=15) == lm.sample(20, seed=5, max_len=15)
    assert gan.vocab is not None and lm.vocab is not None and gan.vocab.tokens == lm.vocab.tokens
    # trained from the LM, the model skips MLE pretraining
    result = gan.fit(TEXTS, TEXTS[:8], Runner(RunnerConfig(device="cpu")))
    assert [s.name for s in result.stages] == ["pretrain-d", "adversarial"]


def test_init_from_a_different_architecture_is_refused(tmp_path: Path) -> None:
    from textgen_eval.core.errors import ConfigError

    lm = LSTMLanguageModel({"model": LSTMLMConfig(emb_dim=8, hidden_size=12), "train": TrainConfig()})
    lm.fit(TEXTS, None, Runner(RunnerConfig(device="cpu", max_steps=1)))
    lm.save(tmp_path / "lm")
    with pytest.raises(ConfigError, match=r"hidden_size: 8 vs the LM's 12"):
        tiny_gan(init_from=str(tmp_path / "lm")).initialise()


def test_contract_catches_a_discriminator_optimizer_that_also_moves_the_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original, original_setup = TinyGANTask.training_step, TinyGANTask.setup

    def setup(self, device):  # the classic bug: the discriminator's optimizer over every parameter
        original_setup(self, device)
        self.opts["disc"] = torch.optim.Adam(self.module.parameters(), lr=1e-2)

    def leaky_step(self, batch, ctx):  # the discriminator's loss also flows into the generator
        if ctx.optimizer == "disc":
            real = torch.from_numpy(batch)[:, 1:]
            drawn = sample_tokens(self.module["gen"], real.shape[0], max_len=8, keep_graph=True)
            d = self.module["disc"]
            loss = torch.nn.functional.softplus(-d(real)).mean() + drawn.logprobs.sum(1).mean()
            return {"loss": loss}
        return original(self, batch, ctx)

    monkeypatch.setattr(TinyGANTask, "training_step", leaky_step)
    monkeypatch.setattr(TinyGANTask, "setup", setup)
    shared = r"parameters in more than one optimizer of a stage: gen\.decoder\.bias \(gen, disc\)"
    with pytest.raises(AssertionError, match=shared):
        GENERATOR_CHECKS["optimizers_own_their_parameters"](tiny_gan, TEXTS)


def test_contract_catches_a_generator_that_never_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    original = TinyGANTask.training_step

    def frozen(self, batch, ctx):  # the generator's REINFORCE loss is detached: it never learns
        out = dict(original(self, batch, ctx))
        if ctx.stage == "adversarial" and ctx.optimizer == "gen":
            out["loss"] = out["loss"].detach().requires_grad_()
        return out

    monkeypatch.setattr(TinyGANTask, "training_step", frozen)
    frozen_gen = r"'adversarial'.*optimizer 'gen': none of the optimizer's own"
    with pytest.raises(AssertionError, match=frozen_gen):
        GENERATOR_CHECKS["optimizers_own_their_parameters"](tiny_gan, TEXTS)


def test_contract_catches_task_state_missing_from_the_checkpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TinyGANTask, "load_extra_state", lambda self, state: None)
    with pytest.raises(AssertionError, match=r"resumed after step .* of stage 'adversarial'"):
        GENERATOR_CHECKS["resume_in_every_stage"](tiny_gan, TEXTS)


def test_update_schedules_are_pure_functions_of_the_stage_step() -> None:
    cycle = Cycle((Update("critic", 3), Update("gen", 1, batch=False)))
    assert [cycle.at(i).optimizer for i in range(9)] == ["critic"] * 3 + ["gen"] + ["critic"] * 3 + [
        "gen",
        "critic",
    ]
    warm = Warmup(Cycle((Update("critic", 5), Update("gen"))), 12, cycle)
    assert [warm.at(i).optimizer for i in range(14)] == (["critic"] * 5 + ["gen"]) * 2 + ["critic", "critic"]
    assert warm.optimizers() == {"critic", "gen"}
    with pytest.raises(ValueError, match="sampler"):
        Stage(
            "sghmc", Cycle((Update("sampler"),)), max_steps=5, monitor="nll", restore_best=True, sampler=True
        )
    with pytest.raises(ValueError, match="no budget"):
        Stage("x", cycle)
    with pytest.raises(ValueError, match="repeats 0"):
        Update("gen", 0)


def test_contract_catches_an_update_that_moves_another_networks_weights(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = TinyGANTask.training_step

    def clip_wrong_net(self, batch, ctx):  # weight clipping applied to the generator in a critic step
        if ctx.optimizer == "disc":
            with torch.no_grad():
                self.module["gen"].decoder.bias.clamp_(-0.001, 0.001)
        return original(self, batch, ctx)

    monkeypatch.setattr(TinyGANTask, "training_step", clip_wrong_net)
    moved = r"optimizer 'disc': parameters it does not own changed: gen\.decoder\.bias"
    with pytest.raises(AssertionError, match=moved):
        GENERATOR_CHECKS["optimizers_own_their_parameters"](tiny_gan, TEXTS)
