"""NLL-oracle during training: the curve SeqGAN's ``experiment-log.txt`` prints (PEERS.md §1.3, §4).

On a synthetic-oracle bundle, ``tge train`` (and every tuning trial) attaches an
:class:`OracleProbe`: it draws ``n`` fresh samples (default 9,984, the peers' count) from the
generator being trained and logs the oracle's per-token NLL of them to ``log.jsonl`` as
``{"event": "oracle", "stage", "step", "epoch", "updates", "index", "nll_oracle", "n"}``, on
SeqGAN's schedule (``sequence_gan.py``: ``if epoch % 5 == 0`` after training epoch ``epoch``, and
``if total_batch % 5 == 0`` after adversarial batch ``total_batch``, both counted from 0):

- before the first update (``index`` −1: the untrained generator, which SeqGAN does not log),
- after the 1st, 6th, 11th … epoch of a stage whose updates train the generator on data (MLE):
  ``index`` = epochs done − 1, SeqGAN's "epoch" column,
- after the 1st, 6th, 11th … generator update of a data-free stage (SeqGAN's adversarial
  batches): ``index`` = generator updates done − 1, SeqGAN's "total_batch",
- at the end of each such stage unless the schedule has just probed that generator (SeqGAN logs its last
  adversarial batch too).

Stages that train only a discriminator are not probed: the generator does not change there. The
samples come from their own seeded generator (seed, step), at temperature 1, with the network in
evaluation mode, so probing neither changes the training's random numbers nor depends on when a
run was resumed; a record written after the last checkpoint is dropped on resume and redone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from textgen_eval.core.training import Stage, Update
from textgen_eval.data.bundle_meta import BundleOracle
from textgen_eval.data.oracle import nll_oracle
from textgen_eval.data.vocab import SPECIALS
from textgen_eval.generators.text.generator import TokenGenerator
from textgen_eval.training.callbacks import Callback

if TYPE_CHECKING:
    from textgen_eval.training.runner import Runner
    from textgen_eval.training.state import TrainState

#: SeqGAN's evaluation size: ⌊10,000 / 64⌋ · 64 samples (``generate_samples``).
DEFAULT_PROBE_N = 9984
#: SeqGAN evaluates every 5 epochs of MLE and every 5 adversarial batches.
DEFAULT_PROBE_EVERY = 5
#: samples drawn per batch while probing
PROBE_BATCH = 1000


def _updates(stage: Stage) -> list[Update]:
    """The distinct updates of a stage's schedule (read over its first 1,000 positions, as the
    runner does to tell data stages from data-free ones)."""
    seen: list[Update] = []
    for k in range(1000):
        update = stage.schedule.at(k)
        if update not in seen:
            seen.append(update)
    return seen


class OracleProbe(Callback):
    """Logs NLL-oracle of fresh samples of the generator being trained (see the module)."""

    def __init__(
        self,
        oracle: BundleOracle,
        model: TokenGenerator,
        *,
        every: int = DEFAULT_PROBE_EVERY,
        n: int = DEFAULT_PROBE_N,
    ) -> None:
        if every < 1 or n < 1:
            raise ValueError(f"oracle probe: every and n must be ≥ 1 (got every={every}, n={n})")
        self.oracle, self.model, self.every, self.n = oracle, model, every, n

    # -- when ------------------------------------------------------------------------------------

    def _trains_generator(self, stage: Stage) -> bool:
        return bool(stage.schedule.optimizers() & self.model.generator_optimizers)

    def _generator_reads_data(self, stage: Stage) -> bool:
        """Whether the stage's generator updates take batches (MLE: probed per epoch) rather than
        being data-free (adversarial: probed per generator update, whatever D's epochs do)."""
        mine = self.model.generator_optimizers
        updates = _updates(stage)
        data_free = any(not u.batch and u.optimizer in mine for u in updates)
        # an adversarial stage with interleaved MLE batches (the original LeakGAN) is probed per
        # adversarial update, as SeqGAN's log counts them
        return not data_free and any(u.batch and u.optimizer in mine for u in updates)

    def on_start(self, runner: Runner, state: TrainState) -> None:
        if state.step == 0:
            self.probe(runner, state, "before training", index=-1)

    def on_epoch_end(self, runner: Runner, state: TrainState, stage: Stage) -> None:
        if self._generator_reads_data(stage) and (state.epoch - 1) % self.every == 0:
            self.probe(runner, state, stage.name, index=state.epoch - 1)

    def on_step(self, runner: Runner, state: TrainState, losses: object) -> None:
        stage = runner.current_stage
        if stage is None or state.stage_step == 0:
            return
        last = stage.schedule.at(state.stage_step - 1)
        if last.batch or last.optimizer not in self.model.generator_optimizers:
            return  # data stages are probed per epoch; discriminator updates change nothing
        done = self._generator_updates(stage, state.stage_step)
        if (done - 1) % self.every == 0:
            self.probe(runner, state, stage.name, updates=done, index=done - 1)

    def on_stage_end(self, runner: Runner, state: TrainState, stage: Stage) -> None:
        """The stage's last generator, unless the schedule has just probed it (decided from the
        state alone, so a resumed run decides the same)."""
        if not self._trains_generator(stage):
            return
        if self._generator_reads_data(stage):
            whole = state.batch_in_epoch == 0
            if whole and (state.epoch - 1) % self.every == 0:
                return  # on_epoch_end probed this generator
            # SeqGAN's index when the stage ended on a whole epoch, none mid-epoch (max_steps)
            self.probe(runner, state, stage.name, index=state.epoch - 1 if whole else None)
            return
        done = self._generator_updates(stage, state.stage_step)
        if done == 0 or (done - 1) % self.every == 0:
            return  # no generator update, or on_step probed the last one
        self.probe(runner, state, stage.name, updates=done, index=done - 1)

    def _generator_updates(self, stage: Stage, stage_steps: int) -> int:
        """Generator updates among the first ``stage_steps`` updates of ``stage`` (from its
        schedule, so nothing is kept that a resume would lose)."""
        mine = self.model.generator_optimizers
        return sum(
            1
            for k in range(stage_steps)
            if stage.schedule.at(k).optimizer in mine and not stage.schedule.at(k).batch
        )

    # -- what ------------------------------------------------------------------------------------

    def probe(
        self, runner: Runner, state: TrainState, stage: str, *, index: int | None, updates: int | None = None
    ) -> float:
        """Sample ``n`` sequences from the task's generator, log and return their NLL-oracle."""
        task = runner.task
        assert task is not None
        module = task.module
        was_training = module.training
        module.eval()
        try:
            ids = self.sample_ids(module, seed=runner.seed * 1_000_003 + state.step)
        finally:
            module.train(was_training)
        value = nll_oracle(self.oracle.oracle, ids)
        record = {
            "event": "oracle",
            "stage": stage,
            "step": state.step,
            "epoch": state.epoch,
            "index": index,
            "nll_oracle": value,
            "n": self.n,
            "temperature": 1.0,
        }
        if updates is not None:
            record["updates"] = updates
        runner.log.write(record)
        return value

    def sample_ids(self, module: torch.nn.Module, *, seed: int) -> np.ndarray:
        """``n`` samples of the module's generator as oracle ids ``(n, length)``."""
        device = next(module.parameters()).device
        gen = torch.Generator(device=device).manual_seed(seed)
        length = self.oracle.format.length
        rows = []
        with torch.no_grad():
            for start in range(0, self.n, PROBE_BATCH):
                size = min(PROBE_BATCH, self.n - start)
                rows.append(self.model.training_samples(module, size, length, gen).cpu().numpy())
        tokens = np.concatenate(rows)
        if tokens.shape[1] != length or (tokens < len(SPECIALS)).any():
            raise RuntimeError("oracle probe: the generator drew a special token or a short sequence")
        return tokens - len(SPECIALS)  # the closed vocabulary lists the ids in order after the specials
